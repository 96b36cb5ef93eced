"""The kpis table in memory, for population runs too big for moto: ``DynamoKpis``' answers, stored
items and metered requests, without the wire.

Keys, chunking and row parsing are ``DynamoKpis``' own static methods; what is left here is what a
transaction does to the items (markers put if absent, cells' ``n`` added), all or nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from touchpoint.aws.dynamo import to_item
from touchpoint.aws.kpis import DynamoKpis, _epoch
from touchpoint.aws.tables import TTL_ATTRIBUTE
from touchpoint.engine.kpi.values import Cell, Marker
from touchpoint.errors import Unstorable
from touchpoint.local.memory.store import Item, Table, number


class MemoryKpis:
    """``DynamoKpis`` over a ``Table(meter, "pk", "sk")``."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def count(self, marker: Marker, cells: Mapping[Cell, int], expires_at: dt.datetime) -> bool:
        return self.count_many([(marker, cells, expires_at)])[0]

    def count_many(self, entries: Sequence[tuple[Marker, Mapping[Cell, int], dt.datetime]]) -> list[bool]:
        """The transactions ``DynamoKpis`` sends, each metered: one cancelled because markers exist
        drops those entries (duplicates) and the rest is sent again. No conflicts in memory."""
        result = [False] * len(entries)
        remaining = list(range(len(entries)))
        while remaining:
            chunk, cells = DynamoKpis._chunk(entries, remaining)
            self.table.request("TransactWriteItems", items=len(chunk) + len(cells))
            keys = [DynamoKpis.marker_key(entries[i][0]) for i in chunk]
            if len(set(keys)) < len(keys):
                raise Unstorable(
                    "ValidationException: Transaction request cannot include multiple operations on one item"
                )
            existing = {i for i, key in zip(chunk, keys, strict=True) if self.table.peek(*key) is not None}
            if existing:
                remaining = [i for i in remaining if i not in existing]
                continue
            for i, (pk, sk) in zip(chunk, keys, strict=True):
                self.table.put({"pk": pk, "sk": sk, TTL_ATTRIBUTE: _epoch(entries[i][2])})
            for cell, n in cells.items():
                pk, sk = DynamoKpis.cell_key(cell)
                item = self.table.peek(pk, sk) or {"pk": pk, "sk": sk}
                self.table.put({**item, "n": number(item.get("n", 0)) + n})
            for i in chunk:
                result[i] = True
            done = set(chunk)
            remaining = [i for i in remaining if i not in done]
        return result

    def _query(self, pk: str, first: str | None = None, last: str | None = None) -> list[Item]:
        self.table.request("Query")
        return self.table.query(pk, first, last)

    def read(self, journey_id: str, period: str) -> list[tuple[Cell, int]]:
        items = self._query(f"KPI#{journey_id}", f"{period}#", f"{period}#~")
        return DynamoKpis._rows(journey_id, [to_item(i) for i in items])

    def read_days(self, journey_id: str, first: dt.date, last: dt.date) -> list[tuple[Cell, int]]:
        items = self._query(f"KPI#{journey_id}", f"{first.isoformat()}#", f"{last.isoformat()}#~")
        return DynamoKpis._rows(journey_id, [to_item(i) for i in items])

    def alert_states(self, journey_id: str) -> dict[str, str]:
        return {str(i["sk"]): str(i["state"]) for i in self._query(f"ALERT#{journey_id}") if "state" in i}

    def save_alert_state(self, journey_id: str, kpi: str, state: str, at: dt.datetime) -> None:
        self.table.request("PutItem")
        self.table.put(
            {
                "pk": f"ALERT#{journey_id}",
                "sk": kpi,
                "state": state,
                "since": at.astimezone(dt.UTC).isoformat(),
            }
        )
