"""The results of a run, assembled once the clock stops: the messages, executions, journey KPIs,
rejected events, alerts, AWS usage and cost, faults, trace and what the providers reported.

``assemble_results`` is the one place the results dict is built (its keys are what the terminal,
the HTML report and the JSON output read)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

from touchpoint import contract
from touchpoint.clock import iso
from touchpoint.compiler.build import compile_journey
from touchpoint.compiler.lower import guarded_sends, step_of
from touchpoint.durations import format_duration
from touchpoint.engine.kpi.campaign import campaign_report
from touchpoint.engine.kpi.rates import compute_rates, goal_report, judge, totals
from touchpoint.engine.kpi.values import GOAL_CONVERTED, GOAL_CONVERTED_HELD_OUT, PERIOD_ALL
from touchpoint.journey.steps import resolve, walk
from touchpoint.local import pricing
from touchpoint.local.asl.execution import HistoryEvent
from touchpoint.local.journey_cost import Run, measured
from touchpoint.local.results import SimulationResults
from touchpoint.local.simulator.world import World
from touchpoint.registry import RegistryEntry

SNS_NOTE = "SMS through SNS reports no delivery: sms delivered and bounced counts stay 0"


def assemble_results(world: World) -> SimulationResults:
    """The run's results in the typed contract: a renamed or missing key fails here, at once."""
    return SimulationResults.model_validate(_document(world))


def _document(world: World) -> dict[str, Any]:
    scenario, cloud, seen = world.scenario, world.cloud, world.seen
    executions = _executions(world)
    rejected = _rejected(world)
    journeys = _journey_reports(world)
    units = cloud.meter.units
    entered = sum(1 for e in executions)
    lambda_invocations = sum(cloud.invocations.values())
    cost = pricing.estimate(
        transitions=cloud.usage.state_transitions,
        invocations=cloud.invocations,
        dynamodb_reads=units["dynamodb_read"] + units["dynamodb_read_half"] / 2,
        dynamodb_writes=units["dynamodb_write"],
        events=units["events"],
        schedules=units["schedules"],
        sqs=units["sqs"],
        emails=units["emails"],
        sms_cn=seen.segments["cn"],
        sms_other=seen.segments["other"],
    )
    document: dict[str, Any] = {
        "scenario": {
            "start": iso(scenario.start),
            "end": iso(scenario.end),
            "start_local": scenario.start.isoformat(),  # as the scenario wrote it
            "end_local": scenario.end.isoformat(),
            "seed": scenario.seed,
            "users": len(world.people) + len(world.scripted),
            "scripted_users": sorted(world.scripted),
            "journeys": sorted(world.registry.journeys),
        },
        "messages": sorted(
            seen.messages, key=lambda m: (m["at"], m["user_id"], m["journey_id"], m["step_id"])
        ),
        "executions": executions,
        "journeys": journeys,
        "rejected_events": rejected,
        "alerts": seen.alerts,
        "aws": {
            "state_transitions": cloud.usage.state_transitions,
            "lambda_invocations": lambda_invocations,
            "dynamodb_requests": cloud.meter.service_requests().get("dynamodb", 0),
            "ses_messages": units["emails"],
            "sms_messages": units["sms"],
            "events_put": units["events"],
            "estimated_cost_usd": cost["total"],
            "cost_per_1000_user_journeys_usd": round(cost["total"] / entered * 1000, 4) if entered else 0.0,
            "cost_usd": cost,
            "requests": cloud.meter.service_requests(),
            "invocations": dict(sorted(cloud.invocations.items())),
            "by_journey": _journey_costs(world),
        },
        **({"faults": _fault_report(world, executions)} if world.faults is not None else {}),
        "trace": seen.trace,
        "providers": _providers(world),
    }
    if world.registry.campaigns:
        document["campaigns"] = _campaign_reports(world)
    return document


def _journey_costs(world: World) -> dict[str, dict[str, Any]]:
    """Per journey, what its executions billed for: their transitions and Task attempts as the
    executor recorded them, priced by ``journey_cost.measured`` (as ``touchpoint cost`` prices a
    path), so the figure sits next to ``cost``'s range for the same journey (D27)."""
    out = {}
    executor = world.cloud.executor
    for journey_id in sorted(world.registry.journeys):
        arn = world.cloud.settings.state_machine_arn(journey_id)
        runs, running = [], 0
        for execution_arn in executor.list_executions(arn):
            run = executor.execution(execution_arn)
            attempts = tuple(
                e.state for e in run.history if e.type == "TaskScheduled" and e.state is not None
            )
            runs.append(Run(run.transitions, attempts))
            running += run.status == "RUNNING"
        usage = measured(compile_journey(world.journeys[journey_id]).machine, runs)
        cost = {k: round(v, 6) for k, v in usage.cost().items()}
        out[journey_id] = {
            "user_journeys": len(runs),
            "running": running,
            "state_transitions": usage.transitions,
            "lambda_invocations": sum(usage.invocations.values()),
            "cost_usd": cost,
            "cost_per_1000_user_journeys_usd": round(cost["total"] / len(runs) * 1000, 4) if runs else 0.0,
        }
    return out


def _rejected(world: World) -> list[dict[str, Any]]:
    """The events the simulator refused (scripted feedback about no message), then those
    trigger-eval rejected, day by day as the state table keeps them."""
    scenario, state = world.scenario, world.cloud.state()
    day, rejected = scenario.start.date() - dt.timedelta(days=1), list(world.seen.rejected)
    while day <= scenario.end.date():
        for item in state.rejected(day):
            raw = json.loads(item["event"]) if item["event"].startswith("{") else item["event"]
            if isinstance(raw, dict):
                raw = {k: v for k, v in raw.items() if k not in ("id", "account", "region")}
            rejected.append({"event": raw, "reason": item["reason"]})
        day += dt.timedelta(days=1)
    return rejected


def _steps(history: list[HistoryEvent], guarded: dict[str, str]) -> list[str]:
    """The step ids an execution went through, in order. A guarded send's state is its ``if`` and
    its send, unless its condition was false (it called back ``condition_false``, or its
    ``Touchpoint.ConditionFalse`` was caught into the ``else`` side): then it is the ``if`` alone."""
    path: list[str] = []
    for event in history:
        name = event.state
        if name is None:
            continue
        if event.type.endswith("StateEntered"):
            for step in (step_of(name), guarded.get(name)):
                if step is not None and (not path or path[-1] != step):
                    path.append(step)
        elif event.type == "TaskStateExited" and name in guarded and _condition_false(event):
            path.remove(guarded[name])
    return path


def _condition_false(exited: HistoryEvent) -> bool:
    if exited.detail.get("caught") == contract.CONDITION_FALSE_ERROR:
        return True
    last = json.loads(exited.detail["output"]).get("last") or {}
    return isinstance(last, dict) and last.get("reason") == contract.CONDITION_FALSE


def _executions(world: World) -> list[dict[str, Any]]:
    out = []
    executor = world.cloud.executor
    for journey_id in sorted(world.registry.journeys):
        arn = world.cloud.settings.state_machine_arn(journey_id)
        guarded = guarded_sends(world.journeys[journey_id])
        for execution_arn in executor.list_executions(arn):
            described = executor.describe_execution(execution_arn)
            payload = json.loads(described["input"])
            path = _steps(executor.execution(execution_arn).history, guarded)
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


def _journey_reports(world: World) -> dict[str, Any]:
    store = world.cloud.kpis()
    reports = {}
    first, last = world.scenario.start.date() - dt.timedelta(days=1), world.scenario.end.date()
    for journey_id, entry in sorted(world.registry.journeys.items()):
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


def _campaign_reports(world: World) -> dict[str, Any]:
    store, registry = world.cloud.kpis(), world.registry
    reports = {}
    for campaign_id, campaign in sorted(registry.campaigns.items()):
        counts = {j: totals(store.read(j, PERIOD_ALL)) for j in campaign.journeys if j in registry.journeys}
        reports[campaign_id] = campaign_report(campaign, registry.journeys, counts)
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


def _providers(world: World) -> dict[str, Any]:
    """What the message providers reported, and what they cannot (SNS: no delivery)."""
    cloud = world.cloud
    ses, sms_voice = cloud.ses_messages, cloud.sms_voice
    sms: dict[str, Any]
    if cloud.settings.sms_adapter == "sns":
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


def _fault_report(world: World, executions: list[dict[str, Any]]) -> dict[str, Any]:
    """What the scenario's faults did, and what the engine did about them (docs/reliability.md)."""
    assert world.faults is not None
    cloud, seen = world.cloud, world.seen
    fallbacks = {
        journey_id: {
            n.id
            for node in walk(resolve(journey.steps))
            for b in node.branches
            if b.label == "fallback"
            for n in walk(b.nodes)
        }
        for journey_id, journey in world.journeys.items()
    }
    statuses = Counter(m["status"] for m in seen.messages)
    kinds = Counter(t["kind"] for t in seen.trace)
    reconciled = kinds["reconciled"]
    # the provider took it but had published nothing about it yet when the scenario ended (a
    # delayed delivery, a soft bounce SES still retries): nothing to act on yet
    in_flight = len(seen.unanswered)
    return {
        "injected": dict(sorted(world.faults.injected.items())),
        "faults": world.faults.describe(),
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
