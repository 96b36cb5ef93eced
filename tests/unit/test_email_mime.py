"""The MIME writer, held to the standard library's strict parser (email.policy.default): whatever
goes in comes back out, every line is CRLF-ended and short enough for SMTP, and nothing that
could become a second header gets through."""

from __future__ import annotations

import email
import email.policy
import secrets
from email.message import EmailMessage

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from touchpoint.channels import email as mime
from touchpoint.errors import SendFailed

URL = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws/?t=" + "eyJ1Ijoi" * 20


def build(**overrides: str) -> bytes:
    values = {
        "sender": "Touchpoint <news@example.com>",
        "recipient": "u1@example.com",
        "subject": "Welcome",
        "text": "Hello",
        "html": "<p>Hello</p>",
        "unsubscribe_url": URL,
    }
    return mime.build_message(**{**values, **overrides})


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert [part.defects for part in message.walk()] == [[], [], []]
    return message


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None
    return str(part.get_content())


def canonical(text: str) -> str:
    """What a reader gets back: the text with CRLF line ends and one at the end."""
    return (b"".join(line + b"\r\n" for line in text.encode().splitlines()) or b"\r\n").decode()


def assert_wire_safe(raw: bytes) -> None:
    """ASCII, CRLF only, SMTP's line limit, and headers of printable characters (RFC 5322 §2.2)."""
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"\r" not in raw.replace(b"\r\n", b"")
    lines = raw.decode().split("\r\n")
    assert max(len(line) for line in lines) <= 998
    headers = lines[: lines.index("")]
    assert all(line.isprintable() for line in headers), headers
    folded = [line for line in headers if " " in line.split(": ", 1)[-1].strip()]  # more than one word
    assert all(len(line) <= 78 for line in folded), headers


# Any one line: as the renderer hands it over (whitespace collapsed), raw, and ASCII words that
# must fold at their spaces.
unicode = st.characters(codec="utf-8")  # anything but lone surrogates
line = st.text(unicode, max_size=200).filter(lambda s: s.splitlines() in ([s], []))
subjects = st.one_of(
    line.map(lambda s: " ".join(s.split())),
    line,
    st.lists(st.text(st.sampled_from('ab;,.:()<>@"=?-_'), max_size=90), max_size=20).map(" ".join),
)
bodies = st.text(unicode, max_size=600)


@settings(max_examples=400, deadline=None)
@given(subject=subjects, text=bodies, html=bodies)
@example(subject="=?utf-8?q?hi?= there", text="", html="")
@example(subject="word;" * 30, text="a", html="b")
@example(subject="x" * 75 + " y", text="a", html="b")
@example(subject="x" * 68 + " y", text="a", html="b")  # one past 78 with the space
@example(subject=" leading and trailing ", text="a", html="b")
@example(subject="x" * 68 + "  two spaces at the fold", text="a", html="b")
def test_what_goes_in_comes_back_out(subject: str, text: str, html: str) -> None:
    raw = build(subject=subject, text=text, html=html)
    assert_wire_safe(raw)
    message = parse(raw)
    assert str(message["Subject"]) == subject
    assert body(message, "plain") == canonical(text)
    assert body(message, "html") == canonical(html)
    assert message.get_content_type() == "multipart/alternative"


def test_the_unsubscribe_headers_are_what_rfc_2369_and_8058_readers_parse() -> None:
    """A long URL stays one bracketed URL: never folded inside, never an RFC 2047 encoded word."""
    raw = build()
    assert f"\r\nList-Unsubscribe: <{URL}>\r\n".encode() in raw
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert parse(raw)["List-Unsubscribe"] == f"<{URL}>"


def test_chinese_names_and_subjects_are_encoded_words_that_decode_back() -> None:
    raw = build(sender="Touchpoint 咖啡 <news@example.com>", subject="林，欢迎加入 Touchpoint 咖啡！")
    assert b"=?utf-8?b?" in raw
    message = parse(raw)
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Touchpoint 咖啡", "news@example.com")
    assert str(message["Subject"]) == "林，欢迎加入 Touchpoint 咖啡！"
    assert message["To"].addresses[0].addr_spec == "u1@example.com"
    assert message["Message-ID"].endswith("@touchpoint>")
    assert message["Date"].datetime is not None


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Hello\nthere", "7bit"),
        ("Hello " * 40, "quoted-printable"),  # one line longer than 78
        ("Café, naïve façade, a few accents in a mostly Latin text.", "quoted-printable"),
        ("你好，欢迎加入！这是一封中文邮件，几乎每个字都不是 ASCII。" * 3, "base64"),
    ],
)
def test_each_body_goes_in_the_shortest_safe_encoding(text: str, encoding: str) -> None:
    message = parse(build(text=text))
    part = message.get_body(("plain",))
    assert part is not None
    assert part["Content-Transfer-Encoding"] == encoding
    assert body(message, "plain") == canonical(text)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("subject", "Hi\r\nBcc: victim@example.com", "the subject contains a line break"),
        ("subject", "Hi\nBcc: victim@example.com", "the subject contains a line break"),
        ("subject", "Hi\u2028Bcc: victim@example.com", "the subject contains a line break"),
        ("sender", "News <news@example.com>\r\nBcc: victim@example.com", "an address contains a line break"),
        ("recipient", "u1@example.com\nBcc: victim@example.com", "an address contains a line break"),
        ("recipient", "用户@example.com", "an email address is not ASCII"),
        ("recipient", "Nobody", "an address header has no address in it"),
        ("unsubscribe_url", URL + "\r\nBcc: victim@example.com", "the unsubscribe URL contains a line break"),
        ("unsubscribe_url", "https://example.com/" + "a" * 1000, "the List-Unsubscribe header is longer"),
        ("text", "lone \ud800 surrogate", "not valid Unicode"),
        ("subject", "lone \udfff surrogate", "not valid Unicode"),
    ],
)
def test_a_value_that_cannot_be_written_fails_the_send_without_echoing_it(
    field: str, value: str, reason: str
) -> None:
    with pytest.raises(SendFailed, match=reason) as raised:
        build(**{field: value})
    assert "victim" not in str(raised.value)
    assert "u1@" not in str(raised.value)


def test_the_boundary_is_never_a_line_of_the_body(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter(["a" * 24, "b" * 24])
    monkeypatch.setattr(secrets, "token_hex", lambda _: next(draws))
    message = parse(build(text=f"a line\n--=_tp_{'a' * 24}\nanother"))
    assert message.get_content_type() == "multipart/alternative"
    assert f'boundary="=_tp_{"b" * 24}"' in message["Content-Type"]
    assert body(message, "plain") == canonical(f"a line\n--=_tp_{'a' * 24}\nanother")
