"""How a claimed email leaves: SMTP (LHN_MAIL_SERVER set) or, in development, a file in instance/mail/."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol

from lhn.database import utcnow


@dataclass(frozen=True)
class Letter:
    """A claimed outbox row as plain data: the worker sends it with no database session open."""

    id: int
    claim_token: str
    to_address: str
    subject: str
    text_body: str
    html_body: str | None
    headers: dict[str, str]
    message_id: str
    attempts: int  # including this one


def build_message(letter: Letter, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = letter.to_address
    message["Subject"] = letter.subject
    message["Message-ID"] = letter.message_id
    message["Date"] = format_datetime(utcnow())
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to us
    for name, value in letter.headers.items():
        message[name] = value
    message.set_content(letter.text_body)
    if letter.html_body:
        message.add_alternative(letter.html_body, subtype="html")
    return message


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...

    def close(self) -> None: ...


class SMTPTransport:
    """One connection reused for a batch (opened on the first send), as a mail server expects."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.host = config["MAIL_SERVER"]
        self.port = int(config.get("MAIL_PORT") or 25)
        self.username = config.get("MAIL_USERNAME")
        self.password = config.get("MAIL_PASSWORD")
        self.use_ssl = str(config.get("MAIL_USE_SSL", "")).lower() in ("1", "true", "yes")
        self.use_tls = str(config.get("MAIL_USE_TLS", "")).lower() in ("1", "true", "yes")
        self.timeout = float(config.get("MAIL_TIMEOUT", 10))
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self.use_ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                  context=ssl.create_default_context())  # fmt: skip
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.use_tls:
                smtp.starttls(context=ssl.create_default_context())
        if self.username:
            smtp.login(self.username, self.password or "")
        return smtp

    def send(self, message: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(message)
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()  # the next send opens a new connection
            raise

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


class DirectoryTransport:
    """Development: each email is a .eml file in instance/mail/, listed at /dev/mail."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = message["Message-ID"].strip("<>").split("@")[0]
        path = self.directory / f"{utcnow():%Y%m%dT%H%M%S}-{name}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(bytes(message))
        tmp.replace(path)  # readers never see half a file

    def close(self) -> None:
        pass


def mail_directory(config: dict[str, Any], instance_path: str) -> Path:
    """Where development mail goes: LHN_MAIL_DIRECTORY, else instance/mail (test servers each get their own)."""
    return Path(config.get("MAIL_DIRECTORY") or Path(instance_path) / "mail")


def transport_for(config: dict[str, Any], instance_path: str) -> Transport:
    if config.get("MAIL_SERVER"):
        return SMTPTransport(config)
    return DirectoryTransport(mail_directory(config, instance_path))
