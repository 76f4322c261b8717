"""An SMTP server on loopback that appends one JSON line per accepted message to a file.

Run as its own process by bench_load.py, so a worker killed mid-send or a
restarted broker cannot take the record of what was received with it:

    python bench/load/smtp_sink.py --port 2525 --out received.jsonl
"""

from __future__ import annotations

import argparse
import email
import json
import signal
import threading
import time
from email import policy


def main() -> None:
    from aiosmtpd.controller import Controller

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    lock = threading.Lock()
    out = open(args.out, "a", encoding="utf-8")  # noqa: SIM115 - open for the process's life

    class Handler:
        async def handle_DATA(self, _server, _session, envelope):  # noqa: N802
            message = email.message_from_bytes(envelope.original_content, policy=policy.default)
            line = {
                "at": time.time(),
                "message_id": message["Message-ID"],
                "to": envelope.rcpt_tos,
                "subject": str(message["Subject"]),
            }
            # Written and flushed before the 250: what the client hears as accepted is on disk.
            with lock:
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                out.flush()
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=args.port)
    controller.start()
    print(f"smtp sink listening on 127.0.0.1:{args.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    out.close()


if __name__ == "__main__":
    main()
