"""Schedule runs (the profiles scanned a page at a time, each further page a queue message) and the
date sweep (users whose local date is due), both entering through ``Entering``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from touchpoint.clock import iso
from touchpoint.conditions import evaluate
from touchpoint.engine.trigger.actions import Outcome
from touchpoint.engine.trigger.dates import due_day, due_local_days, leap_year
from touchpoint.engine.trigger.entering import Entering
from touchpoint.errors import TransientError
from touchpoint.events import JourneyEvent
from touchpoint.journey.model import DateTrigger
from touchpoint.profiles import Profile

#: Profiles per page of a schedule run.
SCAN_PAGE = 500


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
        """Date triggers whose local time falls in this sweep's window, per user time zone."""
        now = self.clock.now()
        window = dt.timedelta(minutes=self.settings.date_sweep_minutes)
        outcome = Outcome("processed")
        emitted: list[JourneyEvent] = []
        for journey in self.registry.journeys.values():
            if not isinstance(journey.trigger, DateTrigger):
                continue
            spec = journey.trigger.date
            shift = dt.timedelta(seconds=(spec.before or 0) - (spec.after or 0))
            users: set[str] = set()
            for sweep_day in due_local_days(now, spec.at, window):
                day = sweep_day + shift
                keys = {day.strftime("%m-%d") if spec.yearly else day.isoformat()}
                if spec.yearly and day.month == 2 and day.day == 28 and not leap_year(day.year):
                    keys.add("02-29")  # leap-day dates are celebrated on 28 February
                for key in keys:
                    users.update(self.state.users_on(spec.attribute, key))
            for user_id in sorted(users):
                profile = Profile(self.profiles.get(user_id))
                if not profile.exists:
                    continue
                local_day = due_day(profile, journey, now, window)
                if local_day is None:
                    continue
                user = self.state.user_state(user_id)
                event_id = f"date:{journey.id}:{local_day.isoformat()}"
                outcome.decisions += self._enter([journey], profile, user, event_id, "date", now, emitted)
        self.bus.put(emitted)
        return outcome
