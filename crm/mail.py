"""Outgoing mail: SMTP when MAIL_SERVER is set, else an .eml file per message in the outbox folder.

The outbox is the embedded default, so a fresh installation "sends" mail that
can be read on disk, and the same code path runs with and without a server.
"""

from __future__ import annotations

import os
import smtplib
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from flask import current_app


def build_message(
    *,
    to: list[str] | str,
    subject: str,
    text: str,
    html: str | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """A UTF-8 message with a plain-text part (and an HTML alternative when given).

    ``message_id`` lets a retried send carry the same Message-ID, so a receiver
    can recognise a duplicate.
    """
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = ", ".join([to] if isinstance(to, str) else to)
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id or make_msgid(domain=_domain())
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def _domain() -> str:
    sender = current_app.config["MAIL_FROM"]
    return sender.rpartition("@")[2].strip(">") or "localhost"


def deliver(message: EmailMessage) -> str:
    """Send or file the message; returns where it went (SMTP host or outbox file)."""
    config = current_app.config
    if config.get("MAIL_SERVER"):
        return _send_smtp(message, config)
    return str(_write_outbox(message, Path(config["MAIL_OUTBOX"])))


# One open SMTP connection per thread (a worker process sends one message after
# another): connecting, EHLO and QUIT for every message cost more than the message.
_connections = threading.local()
FRESH_SECONDS = 5


def connect(config, timeout: float = 30) -> smtplib.SMTP:
    """A logged-in connection to MAIL_SERVER, as sending uses it (``crm check`` too)."""
    # MAIL_USE_SSL: TLS from the first byte (port 465); MAIL_USE_TLS: STARTTLS (port 587).
    make = smtplib.SMTP_SSL if config.get("MAIL_USE_SSL") else smtplib.SMTP
    smtp = make(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout)
    try:
        if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
    except Exception:
        close_quietly(smtp)
        raise
    return smtp


def close_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _open_connection(config) -> smtplib.SMTP:
    """The thread's connection to this server if it still answers NOOP, else a new one.

    The check happens before the message is handed over, so a server that dropped
    an idle connection costs a reconnect, never a message sent twice. A connection
    used in the last FRESH_SECONDS is trusted without the NOOP round trip; if the
    server went away meanwhile, the send fails before anything was accepted and is
    retried like any unreachable server.
    """
    key = tuple(
        config.get(name)
        for name in ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_SSL", "MAIL_USE_TLS", "MAIL_USERNAME")
    )
    cached = getattr(_connections, "smtp", None)
    if cached is not None:
        smtp, cached_key, last_used = cached
        if cached_key == key:
            if time.monotonic() - last_used < FRESH_SECONDS:
                return smtp
            try:
                if smtp.noop()[0] == 250:
                    return smtp
            except (smtplib.SMTPException, OSError):
                pass
        close_quietly(smtp)
        _connections.smtp = None
    smtp = connect(config)
    _connections.smtp = (smtp, key, time.monotonic())
    return smtp


def close_connections() -> None:
    """Close this thread's SMTP connection (tests; a worker process simply exits)."""
    cached = getattr(_connections, "smtp", None)
    if cached is not None:
        close_quietly(cached[0])
        _connections.smtp = None


def _send_smtp(message: EmailMessage, config) -> str:
    smtp = _open_connection(config)
    try:
        smtp.send_message(message)
    except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
        # A refusal (4xx/5xx) leaves the session usable: RSET it so the next message
        # starts clean (or drop it when even that fails).
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            close_connections()
        raise
    except Exception:
        close_connections()
        raise
    _smtp, key, _last_used = _connections.smtp
    _connections.smtp = (smtp, key, time.monotonic())
    return f"smtp://{config['MAIL_SERVER']}:{config['MAIL_PORT']}"


def _write_outbox(message: EmailMessage, outbox: Path) -> Path:
    outbox.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = outbox / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
    # Written to a temporary name and renamed, so a reader never sees half a message.
    fd, tmp = tempfile.mkstemp(dir=outbox, suffix=".part")
    with os.fdopen(fd, "wb") as fh:
        fh.write(message.as_bytes())
    os.replace(tmp, target)
    return target
