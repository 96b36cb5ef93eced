"""What a simulation would be billed for, request by request: one home for the counting rules,
fed by the botocore hook (moto backend) and by the in-memory adapters alike."""

from __future__ import annotations

from collections import Counter
from typing import Any


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
        """A request as botocore is about to send it."""
        self.count(service, operation, _items(operation, params), sms="PhoneNumber" in params)

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
    strongly consistent reads cost one unit, transactions two per item."""
    match operation:
        case "GetItem" | "Query" | "Scan":
            return 1, 0
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
