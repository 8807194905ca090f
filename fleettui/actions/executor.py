"""Drive a Plan step by step against AWS, journaling every step. Each step is idempotent (see
:mod:`fleettui.actions.steps`), so a plan cut off anywhere (crash, Ctrl-C, network loss) is resumed by running
the steps not yet marked succeeded again. The executor owns the loop, the journal, progress events and the
lock heartbeat; what a step does lives in its step module.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from fleettui.actions import steps
from fleettui.actions.steps import PLAN_TAG, STEP_TAG, StepContext, Stopped  # noqa: F401  (PLAN_TAG: re-exported)
from fleettui.aws.gateway import Gateway
from fleettui.clock import SYSTEM, Clock
from fleettui.domain.history import EventKind, PlanRecord, PlanStatus
from fleettui.domain.plan import Plan, Step
from fleettui.errors import FleetError
from fleettui.store import EventLog, LockLost


@dataclass
class StepEvent:
    """Progress for a UI: ``state`` is started | succeeded | failed | skipped."""

    plan: Plan
    step: Step
    index: int
    state: str
    error: str | None = None


@dataclass
class Outcome:
    plan: Plan
    status: str                          # succeeded | failed | aborted (a rollout rolled back)
    failed_step: Step | None = None
    error: str | None = None
    done: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


class Executor:
    def __init__(self, gw: Gateway, journal: EventLog, *, who: str, poll_seconds: float = 5.0,
                 timeout_seconds: float = 900.0,
                 on_event: Callable[[StepEvent], Awaitable[None] | None] | None = None,
                 heartbeat: Callable[[], Awaitable[None]] | None = None, clock: Clock = SYSTEM):
        self.gw = gw
        self.journal = journal
        self.who = who
        self.poll = poll_seconds
        self.timeout = timeout_seconds
        self.on_event = on_event
        self.heartbeat = heartbeat      # e.g. refresh the service lock between steps
        self.clock = clock

    # -- driving --------------------------------------------------------------------------------------------
    def start(self, plan: Plan, reason: str) -> PlanRecord:
        if not plan.runnable:
            raise FleetError(f"plan {plan.id} cannot run: {plan.refusal or 'it has no steps'}")
        region = plan.steps[0].region
        self.journal.append(EventKind.PLAN_CREATED, plan.id, service=plan.service, verb=plan.verb, who=self.who,
                            reason=reason, region=region, plan=plan.to_dict())
        return PlanRecord(plan=plan, who=self.who, reason=reason, created="")

    async def run(self, plan: Plan, reason: str = "") -> Outcome:
        return await self.resume(self.start(plan, reason))

    async def resume(self, record: PlanRecord) -> Outcome:
        plan = record.plan
        for index, st in enumerate(plan.steps):
            if st.id in record.done:
                await self._emit(StepEvent(plan, st, index, "skipped"))
                continue
            self.journal.append(EventKind.STEP_STARTED, plan.id, step=st.id, kind=st.kind, region=st.region)
            await self._emit(StepEvent(plan, st, index, "started"))
            mark = len(self.gw.mutations)
            try:
                detail = await self.step(plan, st, record.memo)
            except Stopped as e:         # a rollout aborted: by its analysis (journaled here) or by an operator
                self.journal.append(EventKind.STEP_FAILED, plan.id, step=st.id, error=str(e),
                                    request_ids=self._request_ids(mark))
                if not e.external:
                    self.journal.append(EventKind.PLAN_FINISHED, plan.id, status=PlanStatus.ABORTED.value,
                                        error=str(e), failed_step=st.id, **e.evidence)
                await self._emit(StepEvent(plan, st, index, "failed", str(e)))
                return Outcome(plan, PlanStatus.ABORTED.value, st, str(e), tuple(record.done))
            except Exception as e:  # noqa: BLE001 - journaled and shown, never a traceback
                msg = str(e) if isinstance(e, FleetError) else f"internal error: {e.__class__.__name__}: {e}"
                self.journal.append(EventKind.STEP_FAILED, plan.id, step=st.id, error=msg,
                                    request_ids=self._request_ids(mark))
                self.journal.append(EventKind.PLAN_FINISHED, plan.id, status=PlanStatus.FAILED.value,
                                    failed_step=st.id)
                await self._emit(StepEvent(plan, st, index, "failed", msg))
                return Outcome(plan, "failed", st, msg, tuple(record.done))
            except asyncio.CancelledError:
                # Ctrl-C / app exit: no plan_finished, so the plan is offered for resume
                self.journal.append(EventKind.STEP_FAILED, plan.id, step=st.id, error="interrupted",
                                    request_ids=self._request_ids(mark))
                raise
            self.journal.append(EventKind.STEP_SUCCEEDED, plan.id, step=st.id, request_ids=self._request_ids(mark),
                                **({"detail": detail} if detail else {}))
            record.done.add(st.id)
            await self._emit(StepEvent(plan, st, index, "succeeded"))
            if self.heartbeat is not None and index + 1 < len(plan.steps):
                try:
                    await self.heartbeat()
                except LockLost:         # another operator has the service now: stop before the next step
                    raise
                except FleetError as e:  # the lock just expires later; the plan goes on
                    self.journal.append(EventKind.WARNING, plan.id, step=st.id, message=f"lock refresh failed: {e}")
        self.journal.append(EventKind.PLAN_FINISHED, plan.id, status=PlanStatus.SUCCEEDED.value)
        return Outcome(plan, "succeeded", done=tuple(record.done))

    async def step(self, plan: Plan, st: Step, memo: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        """Run one step (its handler from the step registry) and return its detail for the journal; its
        precondition first, if its kind has one (re-read what it depends on: the world may have moved)."""
        ctx = StepContext(self.gw, plan, st, memo, self._note, poll=self.poll, timeout=self.timeout,
                          controls=lambda: self.controls(plan.id), heartbeat=self.heartbeat,
                          clock=self.clock)
        kinds = steps.load()
        check = steps.CHECKS.get(st.kind)
        if check is not None:
            await check(ctx)
        return await kinds[st.kind].run(ctx)

    def controls(self, plan_id: str) -> list[dict[str, Any]]:
        return [e for e in self.journal.events()
                if e.get("plan_id") == plan_id and e.get("event") == EventKind.ROLLOUT_CONTROL]

    def _request_ids(self, mark: int) -> list[str]:
        return [f"{op} {rid}" for op, rid in self.gw.mutations[mark:]]

    async def _emit(self, event: StepEvent) -> None:
        if self.on_event is not None:
            result = self.on_event(event)
            if asyncio.iscoroutine(result):
                await result

    def _note(self, plan: Plan, st: Step, note: dict[str, Any]) -> None:
        self.journal.append(EventKind.STEP_NOTE, plan.id, step=st.id, note=note)
