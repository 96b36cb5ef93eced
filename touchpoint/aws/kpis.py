"""The kpis table (``pk``/``sk``, TTL attribute ``ttl``), EMF metrics and KPI alerts, for kpi_rollup.

Key design::

    KPI#<journey>   <yyyy-mm-dd>#<counter>#<channel|->#<step|->   n (ADD)   counters by UTC day, kept
    KPI#<journey>   all#<counter>#<channel|->#<step|->            n (ADD)   lifetime counters, kept
    KPI#<journey>   <yyyy-mm-dd>#goal_converted[_held_out]#-#-    n (ADD)   conversions by ENTRY day

One partition per journey, days in sort-key order: the rollup reads any range of days with one
query (a day-partitioned layout would need a query per day, and spreads no more write load).
    EVENT#<sha256(event id)>     EVENT                            ttl       counted events (15 days)
    SEEN#<message id>            opened | clicked | complained    ttl       unique per message (90 d)
                                 outcome                          ttl       its one final outcome (90 d)
    ALERT#<journey>              <kpi>                            state     ok | below_floor | above_ceiling

Event ids embed user ids (``entry:<journey>:<user>:<event>``), so their markers store a hash: the
kpis table holds no personal data and needs no erasure.

A count is a TransactWriteItems: the markers ``Put`` (``attribute_not_exists(pk)``) of up to a
batch of events and the summed ``ADD`` of their cells (``count_many``; at most 100 items, so a big
batch takes a few). The transaction is all-or-nothing, and botocore sends the same ``ClientRequestToken`` on
its own retries (DynamoDB then answers a committed transaction with success, not a second commit),
so a count is applied exactly once however often the input is delivered (docs in
``touchpoint/engine/kpi/``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from botocore.exceptions import ClientError
from pydantic import ValidationError

from touchpoint import metrics
from touchpoint.aws.dynamo import THROTTLING, code
from touchpoint.aws.failures import REFUSED_DATA
from touchpoint.aws.tables import TTL_ATTRIBUTE
from touchpoint.clock import pause
from touchpoint.engine.kpi.alerts import alert_body, alert_event, alert_subject
from touchpoint.engine.kpi.parsing import send_steps_of
from touchpoint.engine.kpi.values import Alert, Cell, Marker, MetricBlob
from touchpoint.errors import TransientError, Unstorable
from touchpoint.journey.model import Journey
from touchpoint.journey.source import SourceError, read_source

#: Attempts of a count transaction that conflicts with another one on the same (hot) counter items.
CONFLICT_ATTEMPTS = 8
TRANSACTION_ITEMS = 100  # DynamoDB's limit per TransactWriteItems
_RETRYABLE_REASONS = frozenset({"TransactionConflict", *THROTTLING})


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


class DynamoKpis:
    def __init__(self, client: Any, table: str) -> None:
        self.client, self.table = client, table

    # ------------------------------------------------------------------ keys

    @staticmethod
    def marker_key(marker: Marker) -> tuple[str, str]:
        if marker.kind == "seen":
            return f"SEEN#{marker.key}", marker.what
        return f"EVENT#{hashlib.sha256(marker.key.encode()).hexdigest()[:40]}", "EVENT"

    @staticmethod
    def cell_key(cell: Cell) -> tuple[str, str]:
        return f"KPI#{cell.journey_id}", f"{cell.period}#{cell.counter}#{cell.channel}#{cell.step}"

    # ------------------------------------------------------------------ counting

    def count(self, marker: Marker, cells: Mapping[Cell, int], expires_at: dt.datetime) -> bool:
        return self.count_many([(marker, cells, expires_at)])[0]

    def count_many(self, entries: Sequence[tuple[Marker, Mapping[Cell, int], dt.datetime]]) -> list[bool]:
        """Markers and summed counter ADDs in transactions of at most 100 items. A transaction is
        all-or-nothing: when it is cancelled because some markers exist, those entries are
        duplicates (nothing of theirs was added) and the rest is written again without them."""
        result = [False] * len(entries)
        remaining = list(range(len(entries)))
        conflicts = 0
        while remaining:
            chunk, cells = self._chunk(entries, remaining)
            items = [self._marker_put(entries[i][0], entries[i][2]) for i in chunk]
            items += [self._cell_add(cell, n) for cell, n in sorted(cells.items())]
            try:
                self.client.transact_write_items(TransactItems=items)
            except ClientError as error:
                cancelled = code(error) == "TransactionCanceledException"
                reasons = [str(r.get("Code", "")) for r in error.response.get("CancellationReasons", [])]
                existing = {
                    chunk[k] for k, r in enumerate(reasons[: len(chunk)]) if r == "ConditionalCheckFailed"
                }
                if cancelled and existing:
                    remaining = [i for i in remaining if i not in existing]  # duplicates: counted before
                    continue
                retryable = code(error) in THROTTLING or (cancelled and set(reasons) & _RETRYABLE_REASONS)
                if not retryable or conflicts >= CONFLICT_ATTEMPTS:
                    if retryable:
                        raise TransientError("the counters stayed contended; the batch is retried") from error
                    if code(error) in REFUSED_DATA or (cancelled and "ValidationError" in reasons):
                        message = error.response.get("Error", {}).get("Message", "")
                        raise Unstorable(f"{code(error)}: {message}") from error
                    raise
                conflicts += 1
                pause(random.uniform(0, 0.02 * 2**conflicts))
                continue
            for i in chunk:
                result[i] = True
            remaining = [i for i in remaining if i not in set(chunk)]
        return result

    @staticmethod
    def _chunk(
        entries: Sequence[tuple[Marker, Mapping[Cell, int], dt.datetime]], remaining: list[int]
    ) -> tuple[list[int], dict[Cell, int]]:
        chunk: list[int] = []
        cells: dict[Cell, int] = {}
        for i in remaining:
            merged = set(cells) | set(entries[i][1])
            if chunk and len(chunk) + 1 + len(merged) > TRANSACTION_ITEMS:
                break
            chunk.append(i)
            for cell, n in entries[i][1].items():
                cells[cell] = cells.get(cell, 0) + n
        return chunk, cells

    def _marker_put(self, marker: Marker, expires_at: dt.datetime) -> dict[str, Any]:
        pk, sk = self.marker_key(marker)
        return {
            "Put": {
                "TableName": self.table,
                "Item": {"pk": {"S": pk}, "sk": {"S": sk}, TTL_ATTRIBUTE: {"N": str(_epoch(expires_at))}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _cell_add(self, cell: Cell, n: int) -> dict[str, Any]:
        pk, sk = self.cell_key(cell)
        return {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
                "UpdateExpression": "ADD #n :n",
                "ExpressionAttributeNames": {"#n": "n"},
                "ExpressionAttributeValues": {":n": {"N": str(n)}},
            }
        }

    # ------------------------------------------------------------------ reading

    def _query(self, pk: str, first: str | None = None, last: str | None = None) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": True,
        }
        if first is not None and last is not None:
            request["KeyConditionExpression"] += " AND sk BETWEEN :first AND :last"
            request["ExpressionAttributeValues"].update({":first": {"S": first}, ":last": {"S": last}})
        items: list[dict[str, Any]] = []
        while True:
            try:
                response = self.client.query(**request)
            except ClientError as error:
                if code(error) in THROTTLING:
                    raise TransientError(code(error)) from error
                raise
            items += response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return items
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def read(self, journey_id: str, period: str) -> list[tuple[Cell, int]]:
        return self._rows(journey_id, self._query(f"KPI#{journey_id}", f"{period}#", f"{period}#~"))

    def read_days(self, journey_id: str, first: dt.date, last: dt.date) -> list[tuple[Cell, int]]:
        """Every day's counters from ``first`` to ``last`` (UTC), in one query."""
        return self._rows(
            journey_id, self._query(f"KPI#{journey_id}", f"{first.isoformat()}#", f"{last.isoformat()}#~")
        )

    @staticmethod
    def _rows(journey_id: str, items: list[dict[str, Any]]) -> list[tuple[Cell, int]]:
        rows = []
        for item in items:
            period, counter, channel, step = item["sk"]["S"].split("#", 3)
            n = int(item.get("n", {}).get("N", "0"))
            rows.append((Cell(journey_id, period, counter, channel, step), n))
        return rows

    def alert_states(self, journey_id: str) -> dict[str, str]:
        return {i["sk"]["S"]: i["state"]["S"] for i in self._query(f"ALERT#{journey_id}") if "state" in i}

    def save_alert_state(self, journey_id: str, kpi: str, state: str, at: dt.datetime) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": f"ALERT#{journey_id}"},
                "sk": {"S": kpi},
                "state": {"S": state},
                "since": {"S": at.astimezone(dt.UTC).isoformat()},
            },
        )


class EmfMetrics:
    """CloudWatch EMF through Powertools: one document per blob, printed to stdout (the Lambda log)."""

    def __init__(self, namespace: str = metrics.NAMESPACE) -> None:
        self.namespace = namespace

    def emit(self, blobs: Sequence[MetricBlob]) -> None:
        for blob in blobs:
            emf = EphemeralMetrics(namespace=self.namespace)
            emf.service = ""  # no "service" dimension (POWERTOOLS_SERVICE_NAME): the sets are exactly ours
            first, *more = blob.dimension_sets
            for name in first:
                emf.add_dimension(name=name, value=blob.dimensions[name])
            for dimension_set in more:
                emf.add_dimensions(**{name: blob.dimensions[name] for name in dimension_set})
            for name, value in blob.values.items():
                emf.add_metric(name=name, unit=MetricUnit.Count, value=value)
            emf.flush_metrics()


class KpiAlerts:
    """An alert is an SNS message to the alert topic (when configured) and a bus event."""

    def __init__(self, sns: Any, topic_arn: str | None, events: Any, bus_name: str) -> None:
        self.sns, self.topic_arn, self.events, self.bus_name = sns, topic_arn, events, bus_name

    def publish(self, alert: Alert) -> None:
        try:
            if self.topic_arn:
                self.sns.publish(
                    TopicArn=self.topic_arn, Subject=alert_subject(alert), Message=alert_body(alert)
                )
            response = self.events.put_events(Entries=[{**alert_event(alert), "EventBusName": self.bus_name}])
        except ClientError as error:
            if code(error) in {"ThrottlingException", "Throttled", "InternalError", "InternalException"}:
                raise TransientError(code(error)) from error
            raise
        if response.get("FailedEntryCount"):
            raise TransientError("EventBridge refused the KPI alert event")


def load_send_steps(journeys_dir: Path, journey_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """journey → step → channel of every send step, from the journey sources in the bundle
    (``journeys/<id>.yaml``): ``journey.step_failed`` does not say which channel failed, or whether
    the step was a send at all (a ``wait_for`` that cannot register fails the same way)."""
    steps = {}
    for journey_id in journey_ids:
        path = journeys_dir / f"{journey_id}.yaml"
        try:
            journey = Journey.model_validate(read_source(path).data)
        except (OSError, SourceError, ValidationError):
            continue  # its failed sends are then reported as ignored, with the reason, in the log
        steps[journey_id] = send_steps_of(journey)
    return steps
