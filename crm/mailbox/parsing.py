"""Reading one incoming message from its raw bytes, as untrusted input.

Every header is decoded (RFC 2047) by the standard library's `email` package, then made one
line without control characters and cut to a bounded length. The HTML body is kept only after
sanitising with nh3 (the Ammonia sanitiser): no scripts, styles, images or remote resources.
The new part of a reply is cut from the quoted history by mail-parser-reply, which knows the
"On … wrote:" / "Den … skrev:" lines and Outlook's "From:/Från:" blocks in both our languages.

A message that cannot be read safely raises Unreadable with a reason; nothing else raises.
"""

import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses

import nh3
from mailparser_reply import EmailReplyParser

from crm.mail.services import single_line, valid_address

MAX_SUBJECT = 500
MAX_NAME = 200
MAX_MESSAGE_ID = 250
MAX_REFERENCES = 50
MAX_ADDRESSES = 100
MAX_ATTACHMENTS = 20
# Headers beyond this are not looked at when a message is quarantined for its size.
_HEADER_PEEK = 64 * 1024

_MESSAGE_ID = re.compile(r"^<[^<>\s@]{1,200}@[^<>\s@]{1,200}>$")
_IDS_IN = re.compile(r"<[^<>\s@]{1,200}@[^<>\s@]{1,200}>")
_AUTOMATIC_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_DAEMONS = ("mailer-daemon@", "postmaster@")

# Only inline structure and links survive; images never (a remote image tells the sender
# the message was opened), nor styles, forms or frames.
_SAFE_TAGS = {
    "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "li", "ol", "p", "pre", "span", "strong", "table", "tbody", "td", "th",
    "thead", "tr", "u", "ul",
}  # fmt: skip
_BLOCK_END = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h[1-6]|/blockquote|hr)\b[^>]*>", re.IGNORECASE)

_reply_parser = EmailReplyParser(languages=["sv", "en"])


class Unreadable(Exception):
    """A message that cannot be stored as mail: quarantined with `reason`."""

    def __init__(self, reason, *, message_id, subject="", from_address=""):
        super().__init__(reason)
        self.reason = reason
        self.message_id = message_id
        self.subject = subject
        self.from_address = from_address


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMessage:
    message_id: str
    size: int
    subject: str = ""
    from_address: str = ""
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    in_reply_to: str | None = None
    # Message-IDs of the thread, oldest first.
    references: list[str] = field(default_factory=list)
    sent_at: datetime | None = None
    auto_submitted: str = ""
    precedence: str = ""
    return_path: str | None = None
    list_id: str = ""
    list_unsubscribe: str = ""
    is_report: bool = False
    auto_reply_header: bool = False
    body_text: str = ""
    body_html: str | None = None
    reply_text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    # Addresses named in forwarded headers inside the body ("From: …", "Från: …").
    forwarded_addresses: list[str] = field(default_factory=list)

    @property
    def is_automatic(self):
        """An auto-reply, bounce or list message: never an enquiry, never a receipt."""
        auto = self.auto_submitted.split(";")[0].strip().lower()
        return bool(
            (auto and auto != "no")
            or self.precedence.lower() in _AUTOMATIC_PRECEDENCE
            or (self.return_path is not None and self.return_path.strip() in ("<>", ""))
            or self.list_id
            or self.list_unsubscribe
            or self.is_report
            or self.auto_reply_header
            or self.from_address.startswith(_DAEMONS)
        )

    @property
    def addresses(self):
        return list(dict.fromkeys([self.from_address, *self.to, *self.cc]))


def made_up_message_id(raw):
    return f"<{hashlib.sha256(raw).hexdigest()}@crm.invalid>"


def clean(value, limit):
    """A header value as one line of text, without control characters, at most `limit` long."""
    return single_line(str(value or ""), limit)


def parse_message(raw, *, max_bytes):
    """The message in `raw` as a ParsedMessage; Unreadable when it cannot be read safely."""
    if not isinstance(raw, bytes | bytearray) or not raw:
        raise Unreadable("empty message", message_id=made_up_message_id(bytes(raw or b"")))
    raw = bytes(raw)
    if max_bytes and len(raw) > max_bytes:
        message_id, subject, sender = _peek_headers(raw)
        raise Unreadable(
            f"too large: {len(raw)} bytes (the limit is {max_bytes})",
            message_id=message_id,
            subject=subject,
            from_address=sender,
        )
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as error:  # the parser is lenient; anything it throws is a malformed message
        raise Unreadable(
            f"malformed: {type(error).__name__}", message_id=made_up_message_id(raw)
        ) from None
    message_id = _message_id(message, raw)
    try:
        parsed = _read(message, raw, message_id)
    except Unreadable:
        raise
    except Exception as error:
        raise Unreadable(
            f"malformed: {type(error).__name__}: {clean(error, 200)}", message_id=message_id
        ) from None
    return parsed


def _peek_headers(raw):
    try:
        headers = BytesHeaderParser(policy=policy.default).parsebytes(raw[:_HEADER_PEEK])
        return (
            _message_id(headers, raw),
            clean(_header(headers, "Subject"), MAX_SUBJECT),
            _addresses(headers, "From")[0][0] if _addresses(headers, "From") else "",
        )
    except Exception:
        return made_up_message_id(raw), "", ""


def _header(message, name):
    """A header's decoded text, or "" when it is missing or cannot be decoded."""
    try:
        value = message.get(name)
    except Exception:
        return ""
    return "" if value is None else str(value)


def _message_id(message, raw):
    value = _header(message, "Message-ID").strip()
    return value if _MESSAGE_ID.match(value) else made_up_message_id(raw)


def _addresses(message, name):
    """[(address, display name)] of the header's valid addresses, lower case, no repeats."""
    try:
        values = message.get_all(name) or []
    except Exception:
        return []
    found = {}
    for value in values:
        try:
            pairs = [(item.addr_spec, item.display_name) for item in value.addresses]
        except Exception:
            pairs = [(address, display) for display, address in getaddresses([str(value)])]
        for address, display in pairs:
            address = clean(address, 254).lower()
            if valid_address(address) and address not in found:
                found[address] = clean(display, MAX_NAME)
            if len(found) >= MAX_ADDRESSES:
                break
    return list(found.items())


def _date(message):
    try:
        value = message.get("Date")
        moment = value.datetime if value is not None else None
    except Exception:
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _read(message, raw, message_id):
    if not message.keys():
        raise Unreadable("malformed: no headers", message_id=message_id)
    senders = _addresses(message, "From")
    from_address, from_name = senders[0] if senders else ("", "")
    subject = clean(_header(message, "Subject"), MAX_SUBJECT)
    in_reply_to = _IDS_IN.findall(_header(message, "In-Reply-To"))
    references = _IDS_IN.findall(_header(message, "References"))[-MAX_REFERENCES:]
    return_path = message.get("Return-Path")
    parsed = ParsedMessage(
        message_id=message_id,
        size=len(raw),
        subject=subject,
        from_address=from_address,
        from_name=from_name,
        to=[address for address, _name in _addresses(message, "To")],
        cc=[address for address, _name in _addresses(message, "Cc")],
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=references,
        sent_at=_date(message),
        auto_submitted=clean(_header(message, "Auto-Submitted"), 100),
        precedence=clean(_header(message, "Precedence"), 100),
        return_path=None if return_path is None else clean(return_path, 300),
        list_id=clean(_header(message, "List-Id"), 300),
        list_unsubscribe=clean(_header(message, "List-Unsubscribe"), 300),
        is_report=message.get_content_type() == "multipart/report",
        auto_reply_header=bool(message.get("X-Autoreply") or message.get("X-Autorespond")),
    )
    try:
        _read_body(message, parsed)
    except (LookupError, UnicodeError) as error:
        raise Unreadable(
            f"undecodable: {type(error).__name__}: {clean(error, 200)}",
            message_id=message_id,
            subject=subject,
            from_address=from_address,
        ) from None
    return parsed


def _read_body(message, parsed):
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    html_text = _content_text(rich) if rich is not None else None
    if html_text is not None:
        parsed.body_html = sanitise_html(html_text)
    if plain is not None:
        parsed.body_text = _content_text(plain)
    elif html_text is not None:
        parsed.body_text = html_to_text(html_text)
    parsed.body_text = parsed.body_text.replace("\r\n", "\n").replace("\r", "\n").strip()
    parsed.reply_text = reply_part(parsed.body_text)
    for part in message.iter_attachments():
        if len(parsed.attachments) >= MAX_ATTACHMENTS:
            break
        if part.get_content_type() == "message/rfc822":
            _note_forwarded(part, parsed)
        data = part.get_payload(decode=True)
        if not data:
            continue
        filename = clean(part.get_filename() or "", 200)
        parsed.attachments.append(Attachment(filename, part.get_content_type(), data))
    parsed.forwarded_addresses = list(
        dict.fromkeys([*parsed.forwarded_addresses, *forwarded_addresses(parsed.body_text)])
    )[:MAX_ADDRESSES]


def _content_text(part):
    """A text part's content as str; LookupError for an unknown charset."""
    content = part.get_content()
    if isinstance(content, bytes):
        content = content.decode("utf-8", errors="replace")
    return str(content)


def _note_forwarded(part, parsed):
    try:
        inner = part.get_content()
    except Exception:  # a broken forwarded message: its addresses are simply not matched
        return
    for name in ("From", "To", "Cc"):
        parsed.forwarded_addresses += [address for address, _n in _addresses(inner, name)]


_FORWARDED_HEADER = re.compile(
    r"^\s*>?\s*\*?(?:From|To|Cc|Från|Till|Kopia)\s*:\*?\s*(.+)$", re.IGNORECASE | re.MULTILINE
)


def forwarded_addresses(text):
    """Addresses on the header lines of messages forwarded in the body, lower case."""
    found = []
    for line in _FORWARDED_HEADER.findall(text or ""):
        for _display, address in getaddresses([line]):
            address = clean(address, 254).lower()
            if valid_address(address):
                found.append(address)
    return list(dict.fromkeys(found))[:MAX_ADDRESSES]


def sanitise_html(text):
    """The HTML with only safe tags and link targets kept: no scripts, styles, images, event
    handlers or javascript: links; links open with rel="noopener noreferrer"."""
    return nh3.clean(
        text,
        tags=_SAFE_TAGS,
        attributes={"a": {"href", "title"}, "td": {"colspan", "rowspan"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def html_to_text(text):
    """The readable text of an HTML body (scripts and styles dropped with their content)."""
    marked = _BLOCK_END.sub("\n", text)
    stripped = nh3.clean(marked, tags=set(), strip_comments=True)
    lines = [" ".join(line.split()) for line in html.unescape(stripped).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def reply_part(text):
    """The new part of a reply, with quoted history cut; the whole text if nothing is cut."""
    if not text:
        return ""
    try:
        reply = _reply_parser.parse_reply(text=text)
    except Exception:
        reply = None
    reply = (reply or "").strip()
    return reply or text
