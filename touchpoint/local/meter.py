"""What a simulation would be billed for, request by request: one home for the counting rules,
fed by the botocore hook (moto backend) and by the in-memory adapters alike."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

#: DynamoDB bills reads per 4 KB (a strongly consistent unit; half a unit when eventually consistent).
READ_UNIT_BYTES = 4096


class Meter:
    """Counts AWS API requests per service and operation, and what they bill for."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.units: Counter[str] = Counter()

    def reset(self) -> None:
        """Forget what was counted (the deployment's own requests: CloudFormation's, not the bill's)."""
        self.calls.clear()
        self.units.clear()

    def record(self, service: str, operation: str, params: dict[str, Any]) -> None:
        """A request as botocore is about to send it. Events put on the default bus stand for AWS
        services' own (SES, End User Messaging, Step Functions): no request of ours, and free."""
        if service == "events" and operation == "PutEvents":
            entries = [e for e in params.get("Entries", []) if e.get("EventBusName", "default") != "default"]
            if not entries:
                return
            params = {**params, "Entries": entries}
        self.count(service, operation, _items(operation, params), sms="PhoneNumber" in params)

    def scanned(self, items: Iterable[Mapping[str, Any]], consistent: bool = False) -> None:
        """The read units of one Scan page: the size of every item it read (in DynamoDB's wire
        form), rounded up to 4 KB once for the page, at least one unit; halves are counted apart
        (``dynamodb_read_half``) so the units stay integers."""
        chunks = max(1, math.ceil(sum(item_size(i) for i in items) / READ_UNIT_BYTES))
        self.units["dynamodb_read" if consistent else "dynamodb_read_half"] += chunks

    def count(self, service: str, operation: str, items: int = 1, sms: bool = False) -> None:
        """A request touching ``items`` items (keys of a batch, entries of a PutEvents)."""
        self.calls[(service, operation)] += 1
        if service == "dynamodb":
            reads, writes = _dynamodb_units(operation, items)
            self.units["dynamodb_read"] += reads
            self.units["dynamodb_write"] += writes
        elif service == "events" and operation == "PutEvents":
            self.units["events"] += items
        elif service == "sesv2" and operation == "SendEmail":
            self.units["emails"] += 1
        elif service == "sns" and operation == "Publish" and sms:
            self.units["sms"] += 1
        elif service == "sqs":
            self.units["sqs"] += 1
        elif service == "scheduler" and operation == "CreateSchedule":
            self.units["schedules"] += 1

    def service_requests(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for (service, _), count in self.calls.items():
            totals[service] += count
        return dict(sorted(totals.items()))


def _items(operation: str, params: dict[str, Any]) -> int:
    match operation:
        case "BatchGetItem":
            return sum(len(t["Keys"]) for t in params.get("RequestItems", {}).values())
        case "BatchWriteItem":
            return sum(len(t) for t in params.get("RequestItems", {}).values())
        case "TransactWriteItems" | "TransactGetItems":
            return len(params.get("TransactItems", []))
        case "PutEvents":
            return len(params.get("Entries", []))
    return 1


def _dynamodb_units(operation: str, items: int) -> tuple[int, int]:
    """Request units, assuming items under 1 KB (writes) and 4 KB (reads), as Touchpoint's are;
    strongly consistent reads cost one unit, transactions two per item. A Scan reads whole pages
    of profiles, which are not small: its units come from the items' size (``Meter.scanned``)."""
    match operation:
        case "GetItem" | "Query":
            return 1, 0
        case "Scan":  # by the size of what it read: Meter.scanned
            return 0, 0
        case "BatchGetItem":
            return items, 0
        case "PutItem" | "UpdateItem" | "DeleteItem":
            return 0, 1
        case "BatchWriteItem":
            return 0, items
        case "TransactWriteItems":
            return 0, 2 * items
        case "TransactGetItems":
            return 2 * items, 0
    return 0, 0


def item_size(item: Mapping[str, Any]) -> int:
    """An item's size as DynamoDB bills it ("DynamoDB item sizes and formats", developer guide):
    attribute names and values in UTF-8; numbers one byte per two significant digits plus one;
    binary its raw bytes; null and Boolean one byte; lists and maps 3 bytes plus one per element."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    (kind, v), *_ = value.items()
    match kind:
        case "S":
            return len(str(v).encode())
        case "N":
            return _number_size(str(v))
        case "B":
            return len(bytes(v))
        case "BOOL" | "NULL":
            return 1
        case "SS":
            return sum(len(str(s).encode()) for s in v)
        case "NS":
            return sum(_number_size(str(n)) for n in v)
        case "BS":
            return sum(len(bytes(b)) for b in v)
        case "L":
            return 3 + sum(1 + _value_size(e) for e in v)
        case "M":
            return 3 + sum(1 + len(k.encode()) + _value_size(e) for k, e in v.items())
    raise ValueError(f"not a DynamoDB attribute value: {kind}")


def _number_size(text: str) -> int:
    digits = Decimal(text).normalize().as_tuple().digits
    significant = "".join(map(str, digits)).strip("0") or "0"
    return math.ceil(len(significant) / 2) + 1
