"""trigger_eval's domain: what one event, schedule run or date sweep does.

Every step is safe to repeat. A redelivered event is recognised by its dedupe marker and changes
the profile only once; entries, exits, conversions and resumes are all idempotent (deterministic
execution names, conditional writes), so a retry after a crash finishes the work instead of
doing it twice. Journey lifecycle events carry deterministic ids so kpi_rollup counts them once.

Modules: ``actions`` (what it is asked and what it reports), ``base`` (what every part shares),
``entering`` (entry decisions and starts), ``reacting`` (events, feedback, ended executions),
``schedule`` (schedule runs and the date sweep), ``dates`` (pure date rules), ``steps`` (what the
state machines ask), ``service`` (``TriggerEval``: the dispatch)."""

from __future__ import annotations

from touchpoint.engine.trigger.service import TriggerEval

__all__ = ["TriggerEval"]
