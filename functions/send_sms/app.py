"""send_sms: the gated, idempotent SMS send of a journey step (touchpoint/engine/send.py)."""

from touchpoint.aws.send_handler import send_handler

handler = send_handler("sms")
