"""Signed unsubscribe links: HMAC-SHA256 over (user, channel, journey, issue time), so a link
cannot be forged to unsubscribe somebody else, and needs no lookup to verify."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from urllib.parse import urlencode

MAX_AGE_SECONDS = 2 * 365 * 86400  # links in old emails keep working for two years


@dataclass(frozen=True)
class Unsubscribe:
    user_id: str
    channel: str
    journey_id: str
    issued_at: int


class InvalidToken(ValueError):  # noqa: N818 - reads as the condition it is
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_B64 = re.compile(r"[A-Za-z0-9_-]+")


def _unb64(text: str) -> bytes:
    """Strict: the URL-safe alphabet only, unpadded, and the one canonical spelling of the bytes
    (a lenient decoder ignores stray characters and unused trailing bits, so one MAC would have
    many accepted spellings)."""
    if not _B64.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not unpadded URL-safe base64")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("not the canonical spelling")
    return data


def sign(secret: str, request: Unsubscribe) -> str:
    payload = _b64(
        json.dumps(
            {"u": request.user_id, "c": request.channel, "j": request.journey_id, "t": request.issued_at},
            separators=(",", ":"),
        ).encode()
    )
    mac = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def link(base_url: str, secret: str, request: Unsubscribe) -> str:
    return f"{base_url}{'&' if '?' in base_url else '?'}{urlencode({'t': sign(secret, request)})}"


def verify(secret: str, token: str, now: int) -> Unsubscribe:
    """The request a token carries; InvalidToken when it was not signed with ``secret`` or expired."""
    if not secret:
        raise InvalidToken("no signing key configured")
    if len(token) > 2048:
        raise InvalidToken("too long")
    try:
        payload, mac = token.split(".", 1)
        expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise InvalidToken("bad signature")
        data = json.loads(_unb64(payload))
        request = Unsubscribe(str(data["u"]), str(data["c"]), str(data["j"]), int(data["t"]))
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidToken(str(error) or "malformed token") from error
    if request.channel not in ("email", "sms"):
        raise InvalidToken("unknown channel")
    if not 0 <= now - request.issued_at <= MAX_AGE_SECONDS:
        raise InvalidToken("expired")
    return request
