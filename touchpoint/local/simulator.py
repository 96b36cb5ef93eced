"""``touchpoint simulate``: a scenario, run on the local cloud, measured.

The simulator only does what the outside world does in AWS: apps put events on the bus, SES and
End User Messaging publish feedback, EventBridge Scheduler fires, time passes. Everything else —
entries, sends, waits, exits, KPIs — is the compiled state machines and the real handlers."""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

from touchpoint import registry as registry_module
from touchpoint.aws import wiring
from touchpoint.channels import tags as message_tags
from touchpoint.clock import iso
from touchpoint.compiler.build import compile_journey, outputs, write
from touchpoint.compiler.lower import step_of
from touchpoint.durations import format_duration
from touchpoint.engine.kpi import (
    GOAL_CONVERTED,
    GOAL_CONVERTED_HELD_OUT,
    KPI_ALERT,
    PERIOD_ALL,
    compute_rates,
    goal_report,
    judge,
    totals,
)
from touchpoint.engine.trigger import date_keys
from touchpoint.journey.loader import load_project
from touchpoint.journey.model import DateTrigger, Journey, ScheduleTrigger
from touchpoint.journey.steps import resolve, walk
from touchpoint.journey.violations import Violation
from touchpoint.local import pricing, provider_events
from touchpoint.local.clock import VirtualClock
from touchpoint.local.cloud import ACCOUNT, REGION, LocalCloud, local_settings
from touchpoint.local.faults import Accepted, Injector
from touchpoint.local.population import Person, PlannedEvent, carrier_opted_out, generate, react
from touchpoint.local.results import SimulationResults
from touchpoint.local.scenario import Operation, Scenario, ScenarioError, ScriptedUser
from touchpoint.profiles import consent_key
from touchpoint.registry import RegistryEntry
from touchpoint.schedules import Cron, parse_schedule

ALERT_FIELDS = ("journey_id", "kpi", "status", "condition", "value", "threshold", "sample", "period")
ROLLUP_EVERY = dt.timedelta(days=1)  # the stack runs it hourly; daily keeps simulations fast

Progress = Callable[[float, str], None]


@dataclass
class Sent:
    user_id: str
    journey_id: str
    step_id: str
    channel: str
    message_id: str
    at: dt.datetime


@dataclass
class Run:
    """What the simulator saw, as it happened."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    trace: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    sent: dict[tuple[str, str, str], Sent] = field(default_factory=dict)
    segments: Counter[str] = field(default_factory=Counter)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    observed: set[str] = field(default_factory=set)  # event ids: the bus delivers at least once
    #: message ids of unconfirmed sends the provider took, about which it has published nothing yet
    unanswered: set[str] = field(default_factory=set)


class Simulation:
    def __init__(self, scenario: Scenario, base: Path, progress: Progress | None = None) -> None:
        self.scenario, self.base, self.progress = scenario, base, progress
        self.run_state = Run()
        self.people: dict[str, Person] = {}
        self.scripted: dict[str, ScriptedUser] = {u.id: u for u in scenario.users}
        self.journeys: dict[str, Journey] = {}
        self.phones: dict[str, str] = {}
        self.faults: Injector | None = None

    # ------------------------------------------------------------------ entry point

    def run(self) -> SimulationResults:
        with tempfile.TemporaryDirectory(prefix="touchpoint-sim-") as tmp:
            bundle = self._bundle(Path(tmp))
            self.registry = registry_module.load(bundle / "statemachines" / "registry.json")
            settings = local_settings(bundle, dict(self.scenario.settings))
            self.clock = VirtualClock(self.scenario.start)
            self.faults = (
                Injector(tuple(self.scenario.faults), self.scenario.seed, self.scenario.start, self.clock.now)
                if self.scenario.faults
                else None
            )
            with LocalCloud(
                settings, self.clock, self.scenario.seed, self.scenario.backend, self.faults
            ) as cloud:
                self.cloud = cloud
                cloud.send_listeners.append(self._send_attempt)
                self._populate()
                cloud.arm_faults()
                self._schedule_everything()
                self._run_clock()
                cloud.disarm_faults()
                return SimulationResults.model_validate(self._results())

    # ------------------------------------------------------------------ setup

    def _bundle(self, root: Path) -> Path:
        """Compile the scenario's journeys into a deployment bundle, as CDK would package it."""
        paths = self.scenario.journey_paths(self.base)
        project = load_project(paths, cwd=self.base)
        if project.errors():
            raise ScenarioError(project.errors())
        if not project.journeys:
            raise ScenarioError([Violation(str(paths[0]), 1, "journeys", "no journeys found")])
        compiled = [compile_journey(j) for _, j in project.valid()]
        self.journeys = {c.journey.id: c.journey for c in compiled}
        write(root / "statemachines", outputs(compiled))
        # journeys/ as the code asset ships it: templates, profile.yaml and the journeys themselves
        # (kpi_rollup reads which channel each send step uses), only the scenario's journeys
        directory = next(iter(project.contexts))
        shutil.copytree(directory, root / "journeys", ignore=shutil.ignore_patterns("*.yaml", "*.yml"))
        profile = directory / "profile.yaml"
        if profile.exists():
            shutil.copy(profile, root / "journeys" / "profile.yaml")
        for loaded, journey in project.valid():
            shutil.copy(loaded.path, root / "journeys" / f"{journey.id}.yaml")
        return root

    def _populate(self) -> None:
        """Existing users are imported (as a team backfills its customer base); new ones register."""
        scenario = self.scenario
        population = scenario.population
        sale_days = frozenset(
            j.campaign.date for j in self.journeys.values() if j.campaign and j.campaign.stage == "sustain"
        )
        if population is not None:
            for person in generate(population, scenario.seed, scenario.start, scenario.end, sale_days):
                self.people[person.user_id] = person
        items = [p.existing for p in self.people.values() if p.existing]
        start = iso(scenario.start)
        for user in scenario.users:
            item: dict[str, Any] = {"user_id": user.id, "created_at": start, "updated_at": start}
            profile = user.profile
            for key in ("email", "phone", "timezone", "locale"):
                if getattr(profile, key):
                    item[key] = getattr(profile, key)
            item.update({k: _dynamo(v) for k, v in profile.attributes.items()})
            if profile.tags:
                item["tags"] = set(profile.tags)
            for channel, granted in profile.consent.items():
                item[consent_key(channel)] = {"granted": granted, "at": start, "source": "scenario"}
            items.append(item)
        profiles, state = self.cloud.profiles(), self.cloud.state()
        dated = sorted(
            {
                j.trigger.date.attribute
                for j in self.registry.journeys.values()
                if isinstance(j.trigger, DateTrigger)
            }
        )
        for item in items:
            profiles.put(item)
            for attribute in dated:
                if item.get(attribute) is not None:
                    state.index_date(attribute, date_keys(item[attribute]), item["user_id"], add=True)
            if item.get("phone"):
                self.phones[item["user_id"]] = str(item["phone"])
        for person in self.people.values():
            for event in person.events:
                if event.profile and event.profile.get("phone"):
                    self.phones[person.user_id] = str(event.profile["phone"])
        self._carrier_opt_outs()

    def _schedule_everything(self) -> None:
        scenario, clock = self.scenario, self.clock
        for user in scenario.users:
            for scripted in user.events:
                at = scenario.start + dt.timedelta(seconds=scripted.at)
                planned = PlannedEvent(
                    at,
                    scripted.type,
                    dict(scripted.properties),
                    scripted.profile,
                    scripted.consent,
                    event_id=scripted.event_id,
                )
                copies = [at] * scripted.deliveries
                copies += [at + dt.timedelta(seconds=after) for after in scripted.redeliver_after]
                for arrival in copies:  # every delivery of the same event: one event id
                    clock.call_at(
                        arrival, partial(self._scripted, user.id, planned), label=f"script {user.id}"
                    )
        for person in self.people.values():
            for event in person.events:
                clock.call_at(
                    event.at,
                    partial(self._app_event, person.user_id, event),
                    label=f"{person.user_id} {event.type}",
                )
        for journey in self.registry.journeys.values():
            if isinstance(journey.trigger, ScheduleTrigger):
                for at in _fire_times(journey, scenario.start, scenario.end):
                    clock.call_at(
                        at,
                        partial(  # as the stack's schedule: its run id is the scheduled time
                            self.cloud.invoke_retried,
                            "trigger-eval",
                            {"action": "schedule", "journey_id": journey.id, "run_id": _scheduled_time(at)},
                        ),
                        label=f"schedule {journey.id}",
                    )
        if any(isinstance(j.trigger, DateTrigger) for j in self.registry.journeys.values()):
            every = self.cloud.settings.date_sweep_minutes
            sweep = scenario.start.astimezone(dt.UTC)
            sweep = sweep.replace(minute=sweep.minute - sweep.minute % every, second=0, microsecond=0)
            while sweep < scenario.end:
                if sweep >= scenario.start:
                    clock.call_at(
                        sweep,
                        lambda: self.cloud.invoke_retried("trigger-eval", {"action": "dates"}),
                        label="date sweep",
                    )
                sweep += dt.timedelta(minutes=every)
        for operation in scenario.operations:
            at = scenario.start + dt.timedelta(seconds=operation.at)
            clock.call_at(at, partial(self._operate, operation), label=f"operator {operation.command}")
        rollup = scenario.start + ROLLUP_EVERY
        while rollup <= scenario.end:
            clock.call_at(
                rollup,
                lambda: self.cloud.invoke_retried("kpi-rollup", {"action": "rollup"}),
                label="rollup",
            )
            rollup += ROLLUP_EVERY

    # ------------------------------------------------------------------ the run

    def _run_clock(self) -> None:
        end, total = self.scenario.end, (self.scenario.end - self.scenario.start).total_seconds()
        last = -1.0
        while True:
            upcoming = self.clock.next_time()
            if upcoming is None or upcoming > end:
                break
            self.clock.step()
            if self.cloud.pending():
                for event in self.cloud.drain():
                    self._observe(event)
            if self.progress is not None:
                done = (self.clock.now() - self.scenario.start).total_seconds() / total
                if done - last >= 0.005:
                    last = done
                    self.progress(min(done, 1.0), self._local(self.clock.now()))
        if self.progress is not None:
            self.progress(1.0, self._local(end))

    def _operate(self, operation: Operation) -> None:
        """An operator pausing, resuming or stopping a journey, through the same operations the
        CLI runs against a deployment."""
        command, journey_id = operation.command
        operations = wiring.operations(self.cloud.settings, self.cloud.clients, self.clock)
        getattr(operations, command)(journey_id, "scenario", operation.reason)
        self._trace("scenario", journey_id, self.clock.now(), "operation", {"command": command})
        self.cloud.wake_scheduled()  # a resume schedules the held sends and steps

    def _local(self, moment: dt.datetime) -> str:
        """A time as the scenario wrote its start (its offset), for the progress bar."""
        return moment.astimezone(self.scenario.start.tzinfo).strftime("%Y-%m-%d %H:%M")

    def _app_event(self, user_id: str, planned: PlannedEvent, source: str = "shop.web") -> None:
        detail: dict[str, Any] = {
            "event_id": planned.event_id or _event_id(self.scenario.seed, user_id, planned),
            "user_id": user_id,
            "occurred_at": iso(planned.at),
            "properties": planned.properties,
        }
        if planned.profile is not None:
            detail["profile"] = planned.profile
        if planned.consent is not None:
            detail["consent"] = planned.consent
        entry = {
            "EventBusName": self.cloud.settings.event_bus_name,
            "Source": source,
            "DetailType": planned.type,
            "Detail": json.dumps(detail, sort_keys=True),
            "Time": planned.at,
        }
        now = self.clock.now()
        copies = self.faults.copies(now) if self.faults is not None else [now]
        self.cloud.put_app_events([entry])
        for arrival in copies[1:]:  # EventBridge delivering it again, maybe days later
            self.clock.call_at(arrival, partial(self.cloud.put_app_events, [entry]), label="redelivery")

    def _scripted(self, user_id: str, planned: PlannedEvent) -> None:
        if not planned.type.startswith(("email.", "sms.")):
            self._app_event(user_id, planned, source="qa.script")
            return
        journey_id, step_id = planned.properties.get("journey_id"), planned.properties.get("step_id")
        sent = self.run_state.sent.get((user_id, str(journey_id), str(step_id)))
        event = {
            "type": planned.type,
            "user_id": user_id,
            "at": iso(planned.at),
            "properties": planned.properties,
        }
        if sent is None:
            self.run_state.rejected.append(
                {
                    "event": event,
                    "reason": f"{user_id} was sent no message by {journey_id}/{step_id} before this",
                }
            )
            return
        kind = planned.type.split(".", 1)[1]
        if kind == "unsubscribed":
            self._unsubscribe(sent)
        elif kind in ("delivered", "opened", "clicked", "bounced", "complained", "failed"):
            detail, problem = _scripted_detail(sent.channel, kind, planned.properties)
            if problem is None and sent.channel == "sms" and self.cloud.settings.sms_adapter == "sns":
                problem = "SMS through SNS reports no delivery: SNS publishes no events to feed back"
            if problem is not None:
                self.run_state.rejected.append({"event": event, "reason": problem})
            else:
                self._feedback(sent, kind, planned.at, detail)
        else:
            self.run_state.rejected.append(
                {"event": event, "reason": f"{planned.type} is not message feedback"}
            )

    def _observe(self, event: dict[str, Any]) -> None:
        detail, kind = event["detail"], event["detail-type"]
        if kind == KPI_ALERT:  # a journey's KPI crossed a floor or ceiling at the rollup
            alert = {k: detail["properties"].get(k) for k in ALERT_FIELDS}
            self.run_state.alerts.append({**alert, "at": detail["occurred_at"]})
            return
        # A re-emitted event (a replayed entry, a retried step) has the id of the first: it is
        # one fact, as kpi_rollup counts it once.
        if detail["event_id"] in self.run_state.observed:
            return
        self.run_state.observed.add(detail["event_id"])
        properties, user_id = detail["properties"], detail["user_id"]
        at = dt.datetime.fromisoformat(detail["occurred_at"].replace("Z", "+00:00"))
        journey_id = properties.get("journey_id")
        if kind == "journey.message" and properties.get("reconciled"):
            # an unconfirmed send that SES or End User Messaging showed went out: not a new message
            self._trace(user_id, journey_id, at, "reconciled", {"step_id": properties["step_id"]})
            return
        if kind == "journey.message":
            self.run_state.messages.append(
                {
                    "user_id": user_id,
                    "journey_id": journey_id,
                    "step_id": properties["step_id"],
                    "channel": properties["channel"],
                    "template": properties["template"],
                    "status": properties["status"],
                    "reason": properties.get("reason"),
                    "at": detail["occurred_at"],
                }
            )
            self._trace(
                user_id,
                journey_id,
                at,
                "send",
                {
                    k: properties.get(k)
                    for k in (
                        "step_id",
                        "channel",
                        "template",
                        "status",
                        "reason",
                        "template_file",
                        "segments",
                    )
                },
            )
            message_id: str | None = None
            if properties["status"] == "sent":
                message_id = properties["message_id"]
                if properties["channel"] == "sms":
                    phone = self.phones.get(user_id, "")
                    self.run_state.segments["cn" if phone.startswith("+86") else "other"] += int(
                        properties.get("segments") or 1
                    )
            elif properties["status"] == "sent_unconfirmed":
                accepted = self._accepted(str(properties.get("execution")), properties["step_id"])
                if accepted is not None:  # the provider took it: the user has it, its events follow
                    message_id = accepted.message_id
                    self.run_state.unanswered.add(message_id)
            if message_id is not None:
                sent = Sent(user_id, journey_id, properties["step_id"], properties["channel"], message_id, at)
                self.run_state.sent[(user_id, journey_id, sent.step_id)] = sent
                self._react(sent)
        elif kind == "journey.entry":
            self._trace(
                user_id,
                journey_id,
                at,
                "entry",
                {k: properties.get(k) for k in ("entered", "eligible", "reason", "holdout", "trigger")},
            )
        elif kind in ("journey.exited", "journey.converted", "journey.step_failed", "journey.unsubscribed"):
            self._trace(
                user_id,
                journey_id,
                at,
                kind.removeprefix("journey."),
                {k: v for k, v in properties.items() if k not in ("journey_id", "execution")},
            )

    def _accepted(self, execution: str, step_id: str) -> Accepted | None:
        """The message a provider took for this send although the engine never learned its id
        (a fault after the provider accepted): found by the send's tag, as reconciliation finds it."""
        if self.faults is None:
            return None
        digest = message_tags.send_digest(f"{execution}:{step_id}")
        for accepted in self.faults.unanswered:
            request = accepted.request
            tags = {t["Name"]: t["Value"] for t in request.get("EmailTags", [])}
            tags.update(request.get("Context") or {})
            if tags.get(message_tags.SEND) == digest:
                return accepted
        return None

    def _send_attempt(self, name: str, payload: dict[str, Any], result: Any) -> None:
        if isinstance(result, dict) and result.get("status") == "deferred":
            self._trace(
                payload["user_id"],
                payload["journey_id"],
                self.clock.now(),
                "deferral",
                {"step_id": payload["step_id"], "reason": result.get("reason"), "until": result.get("until")},
            )

    def _trace(
        self, user_id: str, journey_id: str | None, at: dt.datetime, kind: str, detail: dict[str, Any]
    ) -> None:
        self.run_state.trace.append(
            {"user_id": user_id, "journey_id": journey_id, "at": iso(at), "kind": kind, "detail": detail}
        )

    # ------------------------------------------------------------------ feedback

    def _react(self, sent: Sent) -> None:
        if sent.user_id in self.scripted:  # scripted users: delivered, and only what their script says
            self.clock.call_at(
                sent.at + dt.timedelta(seconds=30),
                lambda: self._feedback(sent, "delivered", None),
                label="delivered",
            )
            return
        population = self.scenario.population
        if population is None or sent.user_id not in self.people:
            return
        journey = self.registry.journeys.get(sent.journey_id)
        for reaction in react(
            population.behaviour,
            self.scenario.seed,
            sent.user_id,
            f"{sent.journey_id}:{sent.step_id}",
            sent.channel,
            sent.at,
            journey,
        ):
            if reaction.kind == "convert" and reaction.event is not None:
                self.clock.call_at(
                    reaction.at, partial(self._app_event, sent.user_id, reaction.event), label="convert"
                )
            elif reaction.kind == "unsubscribe":
                self.clock.call_at(reaction.at, lambda: self._unsubscribe(sent), label="unsubscribe")
            else:
                self.clock.call_at(
                    reaction.at,
                    partial(self._feedback, sent, reaction.kind, reaction.at, reaction.detail),
                    label=reaction.kind,
                )

    def _feedback(self, sent: Sent, kind: str, at: dt.datetime | None, detail: str | None = None) -> None:
        """The event SES or End User Messaging publishes about this message, in AWS's shape
        (``provider_events``); SNS publishes none, and carriers report delivery, not clicks."""
        when = at or self.clock.now()
        if sent.channel == "email":
            envelope = self._ses_event(sent, kind, when, detail)
        elif kind in ("delivered", "failed", "pending"):
            envelope = self._sms_event(sent, kind, when, detail)
        else:
            envelope = None
        if envelope is not None:
            self.run_state.unanswered.discard(sent.message_id)
            self.cloud.put_default_bus([provider_events.entry(envelope)])

    def _ses_event(self, sent: Sent, kind: str, at: dt.datetime, detail: str | None) -> dict[str, Any] | None:
        """SES's event, when its configuration set publishes it: a message sent without one, or
        an event type its event destination does not take (DeliveryDelay), reaches no bus."""
        ledger = self.cloud.ses_messages
        message = ledger.messages.get(sent.message_id)
        if message is None or not message.configuration_set:
            return None
        envelope = provider_events.ses_event(message, kind, at, ACCOUNT, REGION, detail)
        return envelope if ledger.publishes(envelope) else None

    def _sms_event(self, sent: Sent, kind: str, at: dt.datetime, detail: str | None) -> dict[str, Any] | None:
        """End User Messaging's status event (a final one, or ``pending``: not final yet)."""
        sms_voice = self.cloud.sms_voice
        message = sms_voice.messages.get(sent.message_id)
        if message is None:  # sent through SNS, which publishes no status events
            return None
        status = detail or ("TEXT_DELIVERED" if kind == "delivered" else "TEXT_INVALID")
        envelope = provider_events.sms_event(message, status, kind != "pending", at, ACCOUNT, REGION)
        sms_voice.published[provider_events.label(envelope)] += 1
        return envelope

    def _unsubscribe(self, sent: Sent) -> None:
        """The user clicks the unsubscribe link of the email they got (the real token, the real
        endpoint), or replies STOP to the SMS, which End User Messaging turns into an opt-out of
        the number (SNS keeps its own list, which the simulator does not model)."""
        if sent.channel == "sms":
            message = self.cloud.sms_voice.messages.get(sent.message_id)  # None: sent through SNS
            if message is not None:
                self.cloud.sms_voice.opt_out(message.destination)
            return
        accepted = self.cloud.ses_messages.messages.get(sent.message_id)
        headers = {name.lower(): value for name, value in accepted.headers} if accepted else {}
        if "list-unsubscribe" not in headers:
            return
        url = headers["list-unsubscribe"].strip().strip("<>")
        token = parse_qs(urlparse(url).query)["t"][0]
        # a click that fails (a throttled table) is clicked again, as a user would
        self.cloud.invoke_retried("unsubscribe", _function_url_post(token, self.clock.now()))

    def _carrier_opt_outs(self) -> None:
        """Synthetic users' numbers on End User Messaging's opt-out list before the scenario starts
        (through SNS the list is never asked)."""
        population = self.scenario.population
        if population is None:
            return
        for user_id in self.people:
            phone = self.phones.get(user_id)
            if phone and carrier_opted_out(population.behaviour, self.scenario.seed, user_id):
                self.cloud.sms_voice.opt_out(phone)

    def _providers(self) -> dict[str, Any]:
        """What the message providers reported, and what they cannot (SNS: no delivery)."""
        ses, sms_voice = self.cloud.ses_messages, self.cloud.sms_voice
        sms: dict[str, Any]
        if self.cloud.settings.sms_adapter == "sns":
            sms = {"adapter": "sns", "delivery_feedback": False, "note": SNS_NOTE}
        else:
            sms = {
                "adapter": "end-user-messaging",
                "delivery_feedback": True,
                "events": dict(sorted(sms_voice.published.items())),
                "refused": dict(sorted(sms_voice.refused.items())),
            }
        return {
            "email": {
                "adapter": "ses",
                "delivery_feedback": True,
                "events": dict(sorted(ses.published.items())),
                "not_published": dict(sorted(ses.not_published.items())),
            },
            "sms": sms,
        }

    def _fault_report(self, executions: list[dict[str, Any]]) -> dict[str, Any]:
        """What the scenario's faults did, and what the engine did about them (docs/reliability.md)."""
        assert self.faults is not None
        cloud = self.cloud
        fallbacks = {
            journey_id: {
                n.id
                for node in walk(resolve(journey.steps))
                for b in node.branches
                if b.label == "fallback"
                for n in walk(b.nodes)
            }
            for journey_id, journey in self.journeys.items()
        }
        statuses = Counter(m["status"] for m in self.run_state.messages)
        kinds = Counter(t["kind"] for t in self.run_state.trace)
        reconciled = kinds["reconciled"]
        # the provider took it but had published nothing about it yet when the scenario ended (a
        # delayed delivery, a soft bounce SES still retries): nothing to act on yet
        in_flight = len(self.run_state.unanswered)
        return {
            "injected": dict(sorted(self.faults.injected.items())),
            "faults": self.faults.describe(),
            "retried": {
                "step_attempts": cloud.usage.task_retries,
                "sqs_records": cloud.recovery["records_redelivered"],
                "scheduled_invocations": cloud.recovery["invocations_retried"],
            },
            "deferred": kinds["deferral"],
            "fell_back": sum(1 for e in executions if fallbacks.get(e["journey_id"], set()) & set(e["path"])),
            "unconfirmed": statuses["sent_unconfirmed"],
            "reconciled": reconciled,
            "unconfirmed_in_flight": in_flight,
            "act_on": {
                "failed_steps": kinds["step_failed"],
                "unconfirmed_not_reconciled": statuses["sent_unconfirmed"] - reconciled - in_flight,
                "dead_lettered": len(cloud.dead_letters),
            },
            "dead_letters": cloud.dead_letters,
        }

    # ------------------------------------------------------------------ results

    def _results(self) -> dict[str, Any]:
        scenario, cloud = self.scenario, self.cloud
        state = cloud.state()
        executions = self._executions()
        day, rejected = scenario.start.date() - dt.timedelta(days=1), list(self.run_state.rejected)
        while day <= scenario.end.date():
            for item in state.rejected(day):
                raw = json.loads(item["event"]) if item["event"].startswith("{") else item["event"]
                if isinstance(raw, dict):
                    raw = {k: v for k, v in raw.items() if k not in ("id", "account", "region")}
                rejected.append({"event": raw, "reason": item["reason"]})
            day += dt.timedelta(days=1)
        journeys = self._journey_reports()
        units = cloud.meter.units
        entered = sum(1 for e in executions)
        lambda_invocations = sum(cloud.invocations.values())
        cost = pricing.estimate(
            transitions=cloud.usage.state_transitions,
            lambda_invocations=lambda_invocations,
            dynamodb_reads=units["dynamodb_read"],
            dynamodb_writes=units["dynamodb_write"],
            events=units["events"],
            schedules=units["schedules"],
            sqs=units["sqs"],
            emails=units["emails"],
            sms_cn=self.run_state.segments["cn"],
            sms_other=self.run_state.segments["other"],
        )
        return {
            "scenario": {
                "start": iso(scenario.start),
                "end": iso(scenario.end),
                "start_local": scenario.start.isoformat(),  # as the scenario wrote it
                "end_local": scenario.end.isoformat(),
                "seed": scenario.seed,
                "users": len(self.people) + len(self.scripted),
                "scripted_users": sorted(self.scripted),
                "journeys": sorted(self.registry.journeys),
            },
            "messages": sorted(
                self.run_state.messages, key=lambda m: (m["at"], m["user_id"], m["journey_id"], m["step_id"])
            ),
            "executions": executions,
            "journeys": journeys,
            "rejected_events": rejected,
            "alerts": self.run_state.alerts,
            "aws": {
                "state_transitions": cloud.usage.state_transitions,
                "lambda_invocations": lambda_invocations,
                "dynamodb_requests": cloud.meter.service_requests().get("dynamodb", 0),
                "ses_messages": units["emails"],
                "sms_messages": units["sms"],
                "events_put": units["events"],
                "estimated_cost_usd": cost["total"],
                "cost_per_1000_user_journeys_usd": round(cost["total"] / entered * 1000, 4)
                if entered
                else 0.0,
                "cost_usd": cost,
                "requests": cloud.meter.service_requests(),
                "invocations": dict(sorted(cloud.invocations.items())),
            },
            **({"faults": self._fault_report(executions)} if self.faults is not None else {}),
            "trace": self.run_state.trace,
            "providers": self._providers(),
        }

    def _executions(self) -> list[dict[str, Any]]:
        out = []
        executor = self.cloud.executor
        for journey_id in sorted(self.registry.journeys):
            arn = self.cloud.settings.state_machine_arn(journey_id)
            for execution_arn in executor.list_executions(arn):
                described = executor.describe_execution(execution_arn)
                payload = json.loads(described["input"])
                path: list[str] = []
                for name in executor.path(execution_arn):
                    step = step_of(name)
                    if step is not None and (not path or path[-1] != step):
                        path.append(step)
                status = described["status"]
                output = json.loads(described.get("output") or "{}")
                if status == "SUCCEEDED":
                    reason: str | None = (output.get("exit") or {}).get("reason", "completed")
                elif status == "RUNNING":
                    reason = None
                else:
                    reason = described.get("cause") or status.lower()
                stopped = described.get("stopDate")
                out.append(
                    {
                        "user_id": payload["user_id"],
                        "journey_id": journey_id,
                        "status": status,
                        "entered_at": iso(described["startDate"]),
                        "ended_at": iso(stopped) if stopped else None,
                        "path": path,
                        "exit_reason": reason,
                        "holdout": bool(payload.get("holdout")),
                    }
                )
        return sorted(out, key=lambda e: (e["entered_at"], e["user_id"], e["journey_id"]))

    def _journey_reports(self) -> dict[str, Any]:
        store = self.cloud.kpis()
        reports = {}
        first, last = self.scenario.start.date() - dt.timedelta(days=1), self.scenario.end.date()
        for journey_id, entry in sorted(self.registry.journeys.items()):
            counts = totals(store.read(journey_id, PERIOD_ALL))
            cohorts = totals(store.read_days(journey_id, first, last))  # conversions by entry day
            rates = {name: r["value"] for name, r in compute_rates(counts).items()}
            targets: dict[str, Any] = {}
            for judgement in judge(entry.kpis, counts, counts, live_before_last_day=True):
                spec = judgement.spec
                value = None if judgement.value is None else round(judgement.value, 4)
                targets[judgement.kpi] = {
                    "value": value,
                    "target": spec.target,
                    "floor": spec.floor,
                    "ceiling": spec.ceiling,
                    "met": judgement.target_met,
                    "breached": judgement.status in ("below_floor", "above_ceiling"),
                    "sample": judgement.sample,
                }
            reports[journey_id] = {
                "name": entry.name,
                "campaign": entry.campaign.model_dump(mode="json") if entry.campaign else None,
                "kpis": {"counts": dict(sorted(counts.items())), "rates": rates, "targets": targets},
                "goal": _goal(entry, counts, cohorts),
            }
        return reports


def _goal(entry: RegistryEntry, counts: dict[str, int], cohorts: dict[str, int]) -> dict[str, Any] | None:
    """The rollup's goal report over everyone who entered during the scenario: entrants near the
    end had less time, as in a live journey's latest cohorts."""
    if entry.goal is None:
        return None
    cohort = {
        "entered": counts.get("entered", 0),
        "held_out": counts.get("held_out", 0),
        GOAL_CONVERTED: cohorts.get(GOAL_CONVERTED, 0),
        GOAL_CONVERTED_HELD_OUT: cohorts.get(GOAL_CONVERTED_HELD_OUT, 0),
    }
    report = goal_report(entry.goal, cohort, [])
    rounded = {name: None if report[name] is None else round(report[name], 4) for name in ("rate", "lift")}
    holdout = report["holdout"]
    return {
        "event": report["event"],
        "within": format_duration(report["within_seconds"]),
        "target": report["target"],
        "baseline": report["baseline"],
        "entered": report["entered"],
        "converted": report["converted"],
        "actual": rounded["rate"],
        "met": report["met"],
        "holdout_entered": holdout["entered"],
        "holdout_actual": None if holdout["rate"] is None else round(holdout["rate"], 4),
        "lift": rounded["lift"],
    }


def _fire_times(journey: RegistryEntry, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """When EventBridge Scheduler fires this journey's schedule (in the journey's time zone)."""
    assert isinstance(journey.trigger, ScheduleTrigger)
    schedule = parse_schedule(journey.trigger.schedule)
    zone = ZoneInfo(journey.timezone)
    times: list[dt.datetime] = []
    if isinstance(schedule, Cron):
        cursor = start.astimezone(zone) - dt.timedelta(minutes=1)
        while (nxt := schedule.next_after(cursor)) is not None and nxt.astimezone(dt.UTC) < end:
            times.append(nxt.astimezone(dt.UTC))
            cursor = nxt
    else:
        moment = start
        while moment < end:
            times.append(moment)
            moment = schedule.next_after(moment, start)
    return times


def _scheduled_time(at: dt.datetime) -> str:
    """``<aws.scheduler.scheduled-time>`` as EventBridge Scheduler fills it in."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _event_id(seed: int, user_id: str, planned: PlannedEvent) -> str:
    rng = random.Random(f"{seed}:{user_id}:{planned.type}:{iso(planned.at)}")
    return f"sim-{rng.getrandbits(64):016x}"


def _dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value


SNS_NOTE = "SMS through SNS reports no delivery: sms delivered and bounced counts stay 0"
#: What a scripted email.bounced may name (SES's bounceType; the subtype defaults as shown).
_SCRIPTED_BOUNCES = {"permanent": "General", "transient": "General", "undetermined": "Undetermined"}


def _scripted_detail(channel: str, kind: str, properties: dict[str, Any]) -> tuple[str | None, str | None]:
    """What a scripted feedback event asks the provider to report: a bounce's ``bounce_type`` /
    ``bounce_subtype`` (SES's names; Permanent/General by default), a failed SMS's final
    ``status`` (TEXT_INVALID by default). Returns (detail, problem)."""
    if channel == "email" and kind == "bounced":
        bounce_type = str(properties.get("bounce_type", "permanent")).lower()
        if bounce_type not in _SCRIPTED_BOUNCES:
            return None, f"bounce_type must be one of {', '.join(_SCRIPTED_BOUNCES)}"
        subtype = str(properties.get("bounce_subtype", _SCRIPTED_BOUNCES[bounce_type]))
        detail = f"{bounce_type.capitalize()}/{subtype}"
        if detail not in provider_events.BOUNCES:
            return None, f"SES reports no {detail} bounce; one of {', '.join(provider_events.BOUNCES)}"
        return detail, None
    if channel == "sms" and kind == "failed":
        status = str(properties.get("status", "TEXT_INVALID"))
        if status not in provider_events.SMS_FAILURES:
            failures = ", ".join(sorted(provider_events.SMS_FAILURES))
            return None, f"status must be a final failure End User Messaging reports: {failures}"
        return status, None
    return None, None


def _function_url_post(token: str, at: dt.datetime) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": f"t={token}",
        "queryStringParameters": {"t": token},
        "headers": {"content-type": "application/x-www-form-urlencoded"},
        "isBase64Encoded": False,
        "body": "List-Unsubscribe=One-Click",
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": "unsubscribe.local",
            "domainPrefix": "unsubscribe",
            "requestId": f"r-{int(at.timestamp())}",
            "routeKey": "$default",
            "stage": "$default",
            "time": at.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(at.timestamp() * 1000),
            "http": {
                "method": "POST",
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "mail-client",
            },
        },
    }
