"""A real SMTP server on loopback (aiosmtpd) for tests and benchmarks.

It answers each DATA as told (``answer``: "250 OK", a 4xx "try later", a 5xx
"refused"), may take ``delay`` seconds to answer (a slow server, so that a
batch is in flight), can be stopped and started again on the same port, and
records every message it accepted with the moment it accepted it.
"""

from __future__ import annotations

import asyncio
import email
import socket
import threading
import time
from email import policy


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _message_id(envelope) -> str | None:
    return email.message_from_bytes(envelope.original_content, policy=policy.default)["Message-ID"]


class Server:
    """A real SMTP server; ``answer`` is what it says to the next DATA."""

    def __init__(self, port: int | None = None):
        self.answer = "250 OK"
        self.answers: dict[str, str] = {}  # a recipient's own answer, e.g. a 5xx for one mailbox
        self.delay = 0.0
        self.in_flight: dict[int, str] = {}  # Message-IDs received and not answered yet
        self.received = []  # envelopes, in the order they were accepted
        self.accepted_at: list[float] = []  # time.monotonic() of each acceptance
        self.refused = 0  # DATA answered with anything but 250
        self.port = port or free_port()
        self.controller = None
        self._lock = threading.Lock()
        server = self

        class Handler:
            async def handle_DATA(self, _server, _session, envelope):  # noqa: N802
                answer = next(
                    (server.answers[r] for r in envelope.rcpt_tos if r in server.answers),
                    server.answer,
                )
                token = id(envelope)
                with server._lock:
                    # A 250 is kept as soon as the data is in, as a real server queues it
                    # before it answers: a client that dies before it hears the 250 (a
                    # slow server) has still had its message accepted.
                    if answer.startswith("250"):
                        server.received.append(envelope)
                        server.accepted_at.append(time.monotonic())
                    server.in_flight[token] = _message_id(envelope)
                try:
                    if server.delay:
                        await asyncio.sleep(server.delay)
                finally:
                    with server._lock:
                        server.in_flight.pop(token, None)
                if not answer.startswith("250"):
                    with server._lock:
                        server.refused += 1
                return answer

        self.handler = Handler()

    def start(self):
        from aiosmtpd.controller import Controller

        # A stopped controller cannot start again: a new one on the same port.
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def env(self) -> dict[str, str]:
        """The settings that point a worker process at this server."""
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(self.port)}

    def messages(self):
        with self._lock:
            received = list(self.received)
        return [
            email.message_from_bytes(e.original_content, policy=policy.default) for e in received
        ]

    def message_ids(self) -> list[str]:
        """The Message-ID of every accepted message, duplicates included."""
        return [message["Message-ID"] for message in self.messages()]

    def flying(self) -> list[str]:
        """Message-IDs the server has received but not answered yet (see ``delay``)."""
        with self._lock:
            return list(self.in_flight.values())

    def count(self) -> int:
        with self._lock:
            return len(self.received)

    def wait_for(self, count: int, timeout: float) -> bool:
        """Wait until at least ``count`` messages were accepted."""
        deadline = time.monotonic() + timeout
        while self.count() < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True
