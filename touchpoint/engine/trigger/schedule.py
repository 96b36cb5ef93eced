"""Schedule runs (the profiles scanned a page at a time, each further page a queue message) and the
date sweep (users whose local date is due), both entering through ``Entering``."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from touchpoint.clock import iso
from touchpoint.conditions import evaluate
from touchpoint.engine.ports import SweepCursor
from touchpoint.engine.trigger.actions import Outcome
from touchpoint.engine.trigger.dates import due_day, due_local_days, leap_year
from touchpoint.engine.trigger.entering import Entering
from touchpoint.errors import TransientError
from touchpoint.events import JourneyEvent
from touchpoint.journey.model import DateTrigger
from touchpoint.profiles import Profile
from touchpoint.registry import RegistryEntry

#: Profiles per page of a schedule run.
SCAN_PAGE = 500
#: Users a date sweep takes per invocation; the rest are a queued page of their own.
DATE_PAGE = 500
#: How far back a stopped sweep is caught up: a greeting days late is worse than none.
CATCH_UP = dt.timedelta(days=3)


def _fired_at(run_id: str) -> dt.datetime | None:
    """The fire time a schedule run carries as its id (``<aws.scheduler.scheduled-time>``)."""
    try:
        moment = dt.datetime.fromisoformat(run_id.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


class Scheduled(Entering):
    # ------------------------------------------------------------------ schedules and dates

    def run_schedule(self, journey_id: str, run_id: str, start: dict[str, Any] | None = None) -> Outcome:
        """One page of a schedule-triggered journey's run; the next page is queued, so a run over
        millions of profiles never hits the Lambda time limit. For schedule triggers "triggered"
        counts the profiles in the audience, not every profile scanned."""
        journey = self.registry.journeys.get(journey_id)
        if journey is None:
            return Outcome("ignored", f"no journey {journey_id}")
        now = self.clock.now()
        fired = _fired_at(run_id) or now
        window = journey.effective
        if window and ((window.from_ and fired < window.from_) or (window.until and fired >= window.until)):
            # a campaign stage's cron covers whole days or months around its window (Scheduler's
            # StartDate cannot lie in the past, so the stack sets none): outside it, no scan
            return Outcome("ignored", f"{journey_id} admits no entries at {iso(fired)} (effective)")
        items, next_start = self.profiles.scan(start, SCAN_PAGE)
        outcome = Outcome("processed")
        emitted: list[JourneyEvent] = []
        event_id = f"schedule:{journey_id}:{run_id}"
        for index, item in enumerate(items):
            profile = Profile(item)
            # The audience is checked on the scanned item first: a schedule considers every profile,
            # but only the ones it could enter cost a state read and a journey.entry event.
            if not profile.exists or (
                journey.audience is not None and not evaluate(journey.audience, profile, now)
            ):
                continue
            try:
                user = self.state.user_state(profile.user_id)
                outcome.decisions += self._enter([journey], profile, user, event_id, "schedule", now, emitted)
            except TransientError:
                if index == 0:
                    raise  # no progress to keep: the invocation is retried
                # Keep the progress: what entered so far is reported, and the rest of the page
                # continues from this profile on, as a page of its own (a retried page would
                # redo every entry: idempotent, but on a throttled table it might never finish).
                next_start = {"user_id": items[index - 1]["user_id"]}
                break
        self.bus.put(emitted)
        if next_start is not None:
            self.queue.send(
                {"action": "schedule", "journey_id": journey_id, "run_id": run_id, "start": next_start}
            )
        return outcome

    def run_dates(self) -> Outcome:
        """Date triggers due since the last sweep, per user time zone, a window at a time from
        each journey's cursor: a sweep that failed, timed out or never ran is caught up by the
        next (up to ``CATCH_UP`` back), and at most ``DATE_PAGE`` users are taken per invocation,
        the rest queued as a further page, so however many fall due together each is entered
        once (entries are idempotent on the user's local date)."""
        now = self.clock.now()
        window = dt.timedelta(minutes=self.settings.date_sweep_minutes)
        outcome = Outcome("processed")
        emitted: list[JourneyEvent] = []
        journeys = sorted(
            (j for j in self.registry.journeys.values() if isinstance(j.trigger, DateTrigger)),
            key=lambda j: j.id,
        )
        stored = self.state.sweep_cursors()
        cursors = {j.id: self._cursor(j.id, stored.get(j.id), now, window, outcome) for j in journeys}
        budget = DATE_PAGE
        try:
            for journey in journeys:
                budget = self._sweep(journey, cursors, now, window, budget, outcome, emitted)
                if budget == 0:
                    break
        finally:  # what was entered is kept, even when an entry failed
            self.bus.put(emitted)
            if cursors != stored:
                self.state.save_sweep_cursors(cursors)
        if budget == 0 and any(c.until < now for c in cursors.values()):
            self.queue.send({"action": "dates"})
        return outcome

    def _cursor(
        self,
        journey_id: str,
        cursor: SweepCursor | None,
        now: dt.datetime,
        window: dt.timedelta,
        outcome: Outcome,
    ) -> SweepCursor:
        """A journey's cursor: a new journey's first window ends now; one further back than
        ``CATCH_UP`` starts there, and the outcome (logged by the handler) says what was skipped."""
        if cursor is None:
            return SweepCursor(now - window)
        if cursor.until < now - CATCH_UP:
            skipped = f"{journey_id}: dates due from {iso(cursor.until)} to {iso(now - CATCH_UP)} not swept"
            outcome.reason = f"{outcome.reason}; {skipped}" if outcome.reason else skipped
            return SweepCursor(now - CATCH_UP)
        return cursor

    def _sweep(
        self,
        journey: RegistryEntry,
        cursors: dict[str, SweepCursor],
        now: dt.datetime,
        window: dt.timedelta,
        budget: int,
        outcome: Outcome,
        emitted: list[JourneyEvent],
    ) -> int:
        """The journey's windows from its cursor up to now, each user due in one entered; what
        is left of the budget (0: stopped part way, the cursor saying where)."""
        cursor = cursors[journey.id]
        while cursor.until < now:
            end = cursor.window_end or min(cursor.until + window, now)
            span = end - cursor.until
            users = sorted((digest(u), u) for u in self._due_users(journey, end, span))
            for position, user_id in users:
                if cursor.after is not None and position <= cursor.after:
                    continue
                if budget == 0:
                    return 0
                budget -= 1
                profile = Profile(self.profiles.get(user_id))
                local_day = due_day(profile, journey, end, span) if profile.exists else None
                if local_day is not None:
                    user = self.state.user_state(user_id)
                    event_id = f"date:{journey.id}:{local_day.isoformat()}"
                    outcome.decisions += self._enter([journey], profile, user, event_id, "date", now, emitted)
                cursor = cursors[journey.id] = SweepCursor(cursor.until, end, position)
            cursor = cursors[journey.id] = SweepCursor(end)
        return budget

    def _due_users(self, journey: RegistryEntry, end: dt.datetime, span: dt.timedelta) -> set[str]:
        """Users whose date key is due in the window ``(end - span, end]`` in some time zone."""
        assert isinstance(journey.trigger, DateTrigger)
        spec = journey.trigger.date
        shift = dt.timedelta(seconds=(spec.before or 0) - (spec.after or 0))
        users: set[str] = set()
        for sweep_day in due_local_days(end, spec.at, span):
            day = sweep_day + shift
            keys = {day.strftime("%m-%d") if spec.yearly else day.isoformat()}
            if spec.yearly and day.month == 2 and day.day == 28 and not leap_year(day.year):
                keys.add("02-29")  # leap-day dates are celebrated on 28 February
            for key in keys:
                users.update(self.state.users_on(spec.attribute, key))
        return users


def digest(user_id: str) -> str:
    """A user's place in a sweep's order, which the cursor can keep without keeping the id."""
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:32]
