"""The step registry itself: StepKind, StepContext, @kind and @precheck (see the package docstring)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from fleettui.aws.autoscaling import AutoScaling
from fleettui.aws.ec2 import Ec2
from fleettui.aws.elbv2 import Elbv2
from fleettui.aws.gateway import Gateway
from fleettui.clock import SYSTEM, Clock
from fleettui.domain.plan import Plan, Step
from fleettui.domain.rollout import Controls, controls_at
from fleettui.errors import FleetError

PLAN_TAG = "fleettui:plan"
STEP_TAG = "fleettui:step"

Handler = Callable[["StepContext"], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class StepKind:
    name: str
    description: str
    run: Handler


STEPS: dict[str, StepKind] = {}
CHECKS: dict[str, Handler] = {}


class WorldMoved(FleetError):
    """A step's precondition no longer holds in AWS."""


class Stopped(FleetError):
    """A rollout stopped: aborted by its analysis (``external`` False: this process rolled back and journals it)
    or by an operator's abort (``external`` True: the operator's fleettui rolls back and journals it)."""

    def __init__(self, message: str, *, external: bool, evidence: dict[str, Any] | None = None):
        super().__init__(message)
        self.external, self.evidence = external, evidence or {}


def precheck(*names: str) -> Callable[[Handler], Handler]:
    """Register ``fn`` as the precondition of the step kinds ``names``."""
    def register(fn: Handler) -> Handler:
        for name in names:
            assert name not in CHECKS, name
            CHECKS[name] = fn
        return fn
    return register


def kind(name: str, description: str) -> Callable[[Handler], Handler]:
    """Register a step handler under ``name``."""
    def register(fn: Handler) -> Handler:
        assert name not in STEPS, name
        STEPS[name] = StepKind(name, description, fn)
        return fn
    return register


@dataclass
class StepContext:
    """What a step handler works with: the plan, its step, AWS, and the plan's memory across re-runs."""

    gw: Gateway
    plan: Plan
    step: Step
    memo: dict[str, dict[str, Any]]
    journal_note: Callable[[Plan, Step, dict[str, Any]], None]
    poll: float = 5.0
    timeout: float = 900.0
    controls: Callable[[], list[dict[str, Any]]] = lambda: []     # this plan's rollout_control events
    heartbeat: Callable[[], Awaitable[None]] | None = None        # renew the service lock (long waits)
    clock: Clock = SYSTEM                                         # polls, bakes, re-checks: never the wall itself
    _adapters: dict[str, Any] = field(default_factory=dict)

    @property
    def params(self):
        return self.step.params

    @property
    def region(self) -> str:
        return self.step.region

    @property
    def ec2(self) -> Ec2:
        return self._adapters.setdefault("ec2", Ec2(self.gw, self.region))

    @property
    def elbv2(self) -> Elbv2:
        return self._adapters.setdefault("elbv2", Elbv2(self.gw, self.region))

    @property
    def autoscaling(self) -> AutoScaling:
        return self._adapters.setdefault("autoscaling", AutoScaling(self.gw, self.region))

    def remembered(self, step_id: str | None = None) -> dict[str, Any]:
        return self.memo.get(step_id or self.step.id, {})

    def note(self, **note: Any) -> None:
        """Remember ``note`` for this step in the journal *before* acting on it: a re-run reads it back."""
        self.journal_note(self.plan, self.step, note)
        self.memo.setdefault(self.step.id, {}).update(note)

    async def launched(self, step_id: str) -> list[dict[str, Any]]:
        """Hosts that launch step ``step_id`` of this plan started (found by their plan/step tags)."""
        return await self.ec2.tagged({PLAN_TAG: self.plan.id, STEP_TAG: step_id}, states=["pending", "running"])

    async def launched_ids(self) -> list[str]:
        return [i["InstanceId"] for i in await self.launched(self.params["launch_step"])]

    async def target_groups(self) -> list[str]:
        """The step's target groups: by ARN, and by name (created by an earlier step of the plan)."""
        arns = list(self.params.get("target_groups") or ())
        names = list(self.params.get("target_group_names") or ())
        if names:
            arns += await self.elbv2.target_group_arns(names)
        return arns

    async def wait_for(self, what: str, check: Callable[[], Awaitable[bool]]) -> None:
        """Read back until ``check`` is true (bounded): used where AWS offers no waiter."""
        deadline = self.clock.monotonic() + self.timeout
        while not await check():
            if self.clock.monotonic() > deadline:
                raise FleetError(f"gave up after {self.timeout:g}s waiting for {what}")
            await self.clock.sleep(self.poll)


# -- a rollout's operator controls, as the steps of a rollout plan read them ----------------------------------

def controls(ctx: StepContext) -> Controls:
    c = controls_at(ctx.controls(), int(ctx.params.get("stage", 0)))
    if c.abort:
        raise Stopped(f"aborted by {c.abort}", external=True)
    return c


def promoted_past(ctx: StepContext, c: Controls) -> dict[str, Any] | None:
    """With promote-full, every step before the last stage's shift is skipped (the shift to 100% is still read
    back, and the last stage still bakes and is analysed)."""
    p = ctx.params
    if c.promote_full and int(p.get("stage", 0)) < int(p.get("stages", 0)):
        ctx.note(skipped=f"promote-full by {c.promote_full}")
        return {"skipped": f"promote-full by {c.promote_full}"}
    return None
