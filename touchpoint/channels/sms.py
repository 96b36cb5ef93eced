"""SMS text: segment counting and the Chinese signature and opt-out suffix (the providers that
send it are in touchpoint/aws/messaging.py)."""

from __future__ import annotations

import math
from typing import Literal

_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


def segments(body: str) -> tuple[Literal["GSM-7", "UCS-2"], int]:
    """Encoding and number of segments a carrier bills for ``body`` (GSM-7 160/153, UCS-2 70/67)."""
    if all(ch in _GSM7 or ch in _GSM7_EXTENDED for ch in body):
        septets = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in body)
        return "GSM-7", 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(body.encode("utf-16-le")) // 2  # characters outside the BMP take two units
    return "UCS-2", 1 if units <= 70 else math.ceil(units / 67)


def compose(body: str, phone: str, marketing: bool, signature_cn: str, opt_out_cn: str) -> str:
    """Mainland China (+86) marketing SMS carry the sender signature and an opt-out instruction."""
    if not phone.startswith("+86"):
        return body
    text = body if not signature_cn or body.startswith(signature_cn) else f"{signature_cn}{body}"
    if marketing and opt_out_cn and not text.endswith(opt_out_cn):
        text = f"{text}{opt_out_cn}"
    return text
