"""Launch controls (R13): pause, resume and stop a journey at once, for users already inside it.

Pause holds every send at the gate and every tag, set and emit step (the state machine waits on
its task token; nothing is dropped); resume wakes what was held; stop makes the gate skip and
stops every running execution. Pause and stop answer only once trigger_eval's entries see the
flag (touchpoint/engine/flags.py): from their answer on, the journey takes no entry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from touchpoint.clock import Clock, pause
from touchpoint.engine.flags import FLAGS_TTL_SECONDS
from touchpoint.engine.ports import ExecutionsPort, OperationsStatePort, WakeupsPort
from touchpoint.settings import Settings

RESUME_DELAY_SECONDS = 60


class Operations:
    def __init__(
        self,
        settings: Settings,
        state: OperationsStatePort,
        executions: ExecutionsPort,
        wakeups: WakeupsPort,
        clock: Clock,
        wait: Callable[[float], object] = pause,
    ) -> None:
        """``wait``: how pause and stop let FLAGS_TTL_SECONDS pass (real time, but for a
        simulation's clock, which stands still while a handler runs)."""
        self.settings, self.state, self.executions, self.wakeups, self.clock = (
            settings,
            state,
            executions,
            wakeups,
            clock,
        )
        self.wait = wait

    def status(self, journey_id: str) -> str:
        return self.state.flags([journey_id]).get(journey_id, "active")

    def pause(self, journey_id: str, by: str, reason: str) -> dict[str, Any]:
        self.state.set_flag(journey_id, "paused", by, reason, self.clock.now())
        self.wait(FLAGS_TTL_SECONDS)  # until no entry is decided with the flag read before
        return {"journey_id": journey_id, "status": "paused"}

    def resume(self, journey_id: str, by: str, reason: str) -> dict[str, Any]:
        self.state.set_flag(journey_id, "active", by, reason, self.clock.now())
        wake = self.clock.now() + dt.timedelta(seconds=RESUME_DELAY_SECONDS)
        holds = self.state.holds(journey_id)
        for hold in holds:
            target = str(hold.pop("function_arn"))
            name = self.wakeups.schedule(
                wake, target, hold, f"resume:{hold['execution']}:{hold['step_id']}:{wake}"
            )
            self.state.put_wakeup_ref(str(hold["user_id"]), name, wake)
        return {"journey_id": journey_id, "status": "active", "woken": len(holds)}

    def stop(self, journey_id: str, by: str, reason: str) -> dict[str, Any]:
        self.state.set_flag(journey_id, "stopped", by, reason, self.clock.now())
        self.wait(FLAGS_TTL_SECONDS)  # so an execution entered with the flag read before is stopped too
        running = self.executions.running(self.settings.state_machine_arn(journey_id))
        for arn in running:
            self.executions.stop(arn, f"journey stopped: {reason}")
        return {"journey_id": journey_id, "status": "stopped", "stopped_executions": len(running)}
