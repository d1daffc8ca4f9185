"""Real RFC 5322 messages for the mailbox tests, built with email.message.EmailMessage."""

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid


def message(
    *,
    sender="Anna Andersson <anna@acme.example>",
    to="office@example.org",
    cc=None,
    subject="A question about collaboration",
    body="Hello, we would like to know more about working with you.",
    html=None,
    message_id=None,
    headers=None,
    attachments=(),
    date=None,
):
    """The bytes of a message; `headers` adds raw headers, `attachments` (name, type, bytes)."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    if cc:
        mail["Cc"] = cc
    mail["Subject"] = subject
    mail["Date"] = format_datetime(date or datetime(2026, 3, 3, 10, 12, tzinfo=UTC))
    mail["Message-ID"] = message_id or make_msgid(domain="acme.example")
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(body)
    if html is not None:
        mail.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(mail)
