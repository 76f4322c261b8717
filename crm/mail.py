"""Outgoing mail: SMTP when MAIL_SERVER is set, else an .eml file per message in the outbox folder.

The outbox is the embedded default, so a fresh installation "sends" mail that
can be read on disk, and the same code path runs with and without a server.
"""

from __future__ import annotations

import os
import smtplib
import tempfile
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


def _send_smtp(message: EmailMessage, config) -> str:
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
        smtp.send_message(message)
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
