"""Reading incoming mail as untrusted input: headers, bodies, HTML, quoted history."""

import pytest

from crm.mailbox import parsing
from tests.mailbox_messages import message


def parse(raw, max_bytes=10_000_000):
    return parsing.parse_message(raw, max_bytes=max_bytes)


def test_the_headers_and_body_are_read():
    raw = message(
        sender="=?utf-8?q?=C3=85sa_=C3=96berg?= <Asa@Acme.Example>",
        cc="Bo <bo@acme.example>, not an address",
        message_id="<abc@acme.example>",
        headers={
            "In-Reply-To": "<x1@crm.example>",
            "References": "<x0@crm.example> <x1@crm.example>",
        },
    )

    parsed = parse(raw)

    assert parsed.message_id == "<abc@acme.example>"
    assert parsed.from_address == "asa@acme.example"
    assert parsed.from_name == "Åsa Öberg"
    assert parsed.to == ["office@example.org"]
    assert parsed.cc == ["bo@acme.example"]
    assert parsed.in_reply_to == "<x1@crm.example>"
    assert parsed.references == ["<x0@crm.example>", "<x1@crm.example>"]
    assert parsed.sent_at.year == 2026
    assert parsed.body_text.startswith("Hello, we would like")
    assert not parsed.is_automatic


def test_a_missing_or_invalid_message_id_is_made_up_from_the_bytes():
    raw = message(message_id="not an id")

    parsed = parse(raw)

    assert parsed.message_id.endswith("@crm.invalid>")
    assert parsed.message_id == parse(raw).message_id


def test_header_injection_is_flattened_and_bounded():
    raw = (
        b"From: Eve <eve@evil.example>\r\nTo: office@example.org\r\n"
        b"Subject: =?utf-8?q?Hi=0D=0ABcc:_victim@example.org?=" + b"x" * 5000 + b"\r\n"
        b"Message-ID: <inj@evil.example>\r\n\r\nBody\r\n"
    )

    parsed = parse(raw)

    assert "\r" not in parsed.subject and "\n" not in parsed.subject
    assert len(parsed.subject) <= parsing.MAX_SUBJECT
    assert parsed.to == ["office@example.org"]


def test_hostile_html_is_sanitised_and_its_text_kept():
    html = (
        "<p onclick='x()'>Hej <b>där</b></p><script>alert(1)</script>"
        "<style>p{color:red}</style><img src='https://tracker.example/p.gif' onerror='x()'>"
        "<a href='javascript:alert(1)'>click</a> <a href='https://acme.example/'>site</a>"
        "<iframe src='https://evil.example'></iframe>"
    )
    raw = message(body="plain", html=html)

    parsed = parse(raw)

    clean = parsed.body_html
    for bad in ("<script", "alert", "<style", "<img", "onerror", "onclick", "javascript:",
                "tracker.example", "<iframe", "evil.example"):  # fmt: skip
        assert bad not in clean, bad
    assert 'href="https://acme.example/"' in clean
    assert "noopener noreferrer" in clean
    assert parsed.body_text == "plain"


def test_an_html_only_message_gives_its_text_without_scripts():
    raw = message(body="x", html="<p>Hello</p><script>steal()</script><p>there &amp; here</p>")
    parsed_message = parsing.BytesParser(policy=parsing.policy.default).parsebytes(raw)
    # Keep only the HTML part.
    html_part = parsed_message.get_body(preferencelist=("html",))
    html_only = bytes(html_part)
    html_only = b"From: a@acme.example\r\nMessage-ID: <h@acme.example>\r\n" + html_only

    parsed = parse(html_only)

    assert "steal" not in parsed.body_text
    assert "Hello" in parsed.body_text and "there & here" in parsed.body_text


@pytest.mark.parametrize(
    ("text", "new"),
    [
        (
            "Thanks, sounds good.\n\nOn Tue, 3 Mar 2026 at 10:12, Office <office@example.org> "
            "wrote:\n> old stuff\n",
            "Thanks, sounds good.",
        ),
        (
            "Tack, det låter bra.\n\nDen 3 mars 2026 kl. 10:12 skrev Office "
            "<office@example.org>:\n> gammalt\n",
            "Tack, det låter bra.",
        ),
        (
            "Sure.\n\nFrom: Office <office@example.org>\nSent: Tuesday, March 3, 2026\n"
            "To: Anna\nSubject: RE: x\n\nold\n",
            "Sure.",
        ),
        (
            "Javisst.\n\nFrån: Office <office@example.org>\nSkickat: den 3 mars 2026\n"
            "Till: Anna\nÄmne: SV: x\n\ngammalt\n",
            "Javisst.",
        ),
    ],
)
def test_quoted_history_is_cut_in_swedish_and_english(text, new):
    assert parsing.reply_part(text) == new


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"Precedence": "junk"},
        {"Return-Path": "<>"},
        {"List-Id": "News <news.acme.example>"},
    ],
)
def test_automatic_mail_is_recognised(headers):
    assert parse(message(headers=headers)).is_automatic


def test_auto_submitted_no_is_a_person():
    assert not parse(message(headers={"Auto-Submitted": "no"})).is_automatic


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"x" * 2000, "too large"),
        (
            b"From: a@acme.example\r\nMessage-ID: <u@acme.example>\r\n"
            b"Content-Type: text/plain; charset=no-such-charset\r\n\r\nHej\r\n",
            "undecodable",
        ),
        (b"\r\n\r\njust a body without headers", "malformed"),
    ],
)
def test_unreadable_messages_raise_unreadable_with_a_reason(raw, reason):
    with pytest.raises(parsing.Unreadable) as caught:
        parse(raw, max_bytes=1000)

    assert caught.value.reason.startswith(reason)
    assert caught.value.message_id.startswith("<")
