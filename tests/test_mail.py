"""Mail goes to the outbox folder by default and through a real SMTP server when configured."""

from __future__ import annotations

import email
import socket
from email import policy

import pytest

from crm.mail import build_message, deliver


def test_outbox_by_default(app):
    with app.test_request_context():
        message = build_message(
            to="staff@example.test",
            subject="跟进提醒：宜宾长盈",
            text="明天到期",
            html="<p>明天到期</p>",
        )
        where = deliver(message)
    with open(where, "rb") as fh:
        parsed = email.message_from_binary_file(fh, policy=policy.default)
    assert parsed["Subject"] == "跟进提醒：宜宾长盈"
    assert parsed["Message-ID"] == message["Message-ID"]
    assert parsed.get_body(("plain",)).get_content().strip() == "明天到期"
    assert "<p>明天到期</p>" in parsed.get_body(("html",)).get_content()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_smtp_delivery_to_a_real_server(app):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    received = []

    class Recorder(Sink):
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            received.append(envelope)
            return "250 OK"

    port = _free_port()
    controller = Controller(Recorder(), hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config[k] for k in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    try:
        with app.test_request_context():
            message = build_message(to=["leader@example.test"], subject="月通报", text="排名已发布")
            assert deliver(message) == f"smtp://127.0.0.1:{port}"
    finally:
        app.config.update(saved)
        controller.stop()
    assert len(received) == 1
    assert received[0].rcpt_tos == ["leader@example.test"]
    parsed = email.message_from_bytes(received[0].original_content, policy=policy.default)
    assert parsed["Subject"] == "月通报"


def test_smtp_refusal_raises(app):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    class Refuser(Sink):
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            return "550 mailbox unavailable"

    port = _free_port()
    controller = Controller(Refuser(), hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config[k] for k in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    try:
        with app.test_request_context(), pytest.raises(Exception) as info:
            deliver(build_message(to="x@example.test", subject="s", text="t"))
    finally:
        app.config.update(saved)
        controller.stop()
    assert "550" in str(info.value)
