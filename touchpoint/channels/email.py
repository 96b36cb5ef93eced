"""Email as a MIME message we build ourselves (SES v2 sends it raw: touchpoint/aws/messaging.py):
text and HTML alternatives, an RFC 2047 subject for Chinese, and RFC 8058 one-click unsubscribe
headers."""

from __future__ import annotations

import binascii
import secrets
from email.header import Header
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from touchpoint.errors import SendFailed


def build_message(
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    unsubscribe_url: str,
    domain: str = "touchpoint",
) -> bytes:
    """Written line by line with the standard library's encoders rather than through EmailMessage,
    whose header registry parses and refolds every header (~4 ms, most of a send's CPU) and
    RFC 2047-encodes a long List-Unsubscribe URL, which RFC 2369 readers such as one-click
    unsubscribe do not decode. SendFailed when a value cannot be a header (a line break in it)."""
    try:
        return _write(sender, recipient, subject, text, html, unsubscribe_url, domain)
    except UnicodeEncodeError:
        raise SendFailed("the message has text that is not valid Unicode (a lone surrogate)") from None


def _write(
    sender: str, recipient: str, subject: str, text: str, html: str, unsubscribe_url: str, domain: str
) -> bytes:
    parts = (_part("plain", text), _part("html", html))
    boundary = _boundary(parts)
    lines = [
        _header("From", _address(sender)),
        _header("To", _address(recipient)),
        _header("Subject", _words(subject)),
        _header("Date", formatdate(localtime=False)),
        _header("Message-ID", make_msgid(domain=domain)),
        _header("List-Unsubscribe", f"<{_ascii(unsubscribe_url, 'the unsubscribe URL')}>"),
        _header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
    ]
    for headers, body in parts:
        lines += [f"--{boundary}", *headers, "", body]
    lines += [f"--{boundary}--", ""]
    return CRLF.join(lines).encode("ascii")


CRLF = "\r\n"
MAX_LINE = 998  # RFC 5322 §2.1.1, without the CRLF
FOLD_AT = 78  # ... and the length it recommends


def _one_line(value: str, what: str) -> str:
    if value.splitlines() != [value] and value:
        raise SendFailed(f"{what} contains a line break: it cannot be an email header")
    return value


def _ascii(value: str, what: str) -> str:
    if not _one_line(value, what).isascii():
        raise SendFailed(f"{what} is not ASCII: percent-encode it (or punycode the domain)")
    return value


def _address(value: str) -> str:
    """A display name outside ASCII is RFC 2047-encoded; the address itself must be ASCII."""
    name, address = parseaddr(_one_line(value, "an address"))
    if not address or "@" not in address:
        raise SendFailed("an address header has no address in it")
    return formataddr((name, _ascii(address, "an email address")), charset="utf-8")


def _words(value: str, name: str = "Subject") -> str:
    """Unstructured text. Printable ASCII with single spaces is folded at its spaces, which
    unfolding restores exactly; anything else (or text that would read as an encoded word)
    becomes RFC 2047 base64 words."""
    _one_line(value, f"the {name.lower()}")
    if value.isascii() and value.isprintable() and "=?" not in value and value == " ".join(value.split()):
        lines, line, width = [], "", len(name) + 2
        for word in value.split(" "):
            if line and width + 1 + len(word) > FOLD_AT:
                lines.append(line)
                line, width = word, 1 + len(word)
            else:
                line, width = f"{line} {word}" if line else word, width + len(word) + (1 if line else 0)
        lines.append(line)
        return f"{CRLF} ".join(lines)
    return Header(value, "utf-8", header_name=name).encode(linesep=CRLF)


def _header(name: str, value: str) -> str:
    line = f"{name}: {value}"
    if max(len(part) for part in line.split(CRLF)) > MAX_LINE:
        raise SendFailed(f"the {name} header is longer than {MAX_LINE} characters and cannot be folded")
    return line


def _part(subtype: str, body: str) -> tuple[list[str], str]:
    """Canonical CRLF text, sent as 7bit when it is short-lined ASCII, otherwise as the shorter of
    quoted-printable (mostly-Latin text) and base64 (mostly-CJK text)."""
    data = CRLF.encode().join(body.encode("utf-8").splitlines()) + CRLF.encode()
    headers = [f'Content-Type: text/{subtype}; charset="utf-8"']
    if data.isascii() and max(len(line) for line in data.split(CRLF.encode())) <= FOLD_AT:
        return [*headers, "Content-Transfer-Encoding: 7bit"], data.decode("ascii")
    quoted = binascii.b2a_qp(data, istext=True)
    packed = CRLF.encode().join(
        binascii.b2a_base64(data[i : i + 57], newline=False) for i in range(0, len(data), 57)
    )
    if len(quoted) <= len(packed):
        return [*headers, "Content-Transfer-Encoding: quoted-printable"], quoted.decode("ascii")
    return [*headers, "Content-Transfer-Encoding: base64"], packed.decode("ascii")


def _boundary(parts: tuple[tuple[list[str], str], ...]) -> str:
    """Random, and checked against the bodies as the standard library's generator does."""
    while True:
        boundary = f"=_tp_{secrets.token_hex(12)}"
        if not any(f"--{boundary}" in body for _, body in parts):
            return boundary
