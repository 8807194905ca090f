"""Steps of a rollout: bake (its deadline journaled when it starts: a resume waits only what is left) and analysis
(target health, alarms, canary vs live; failing → all traffic back to the stable generation, with the evidence).
Both obey the operator's controls, read from the journal while they wait; unwatched, nothing advances."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from fleettui.actions.steps.base import StepContext, Stopped, controls, kind, promoted_past
from fleettui.actions.steps.listener import set_weights
from fleettui.aws.cloudwatch import CloudWatch
from fleettui.aws.signals import matching_alarms, rollout_signals
from fleettui.domain.plan import Step
from fleettui.domain.rollout import FAIL, HOLD, analyze, bake_remaining
from fleettui.domain.signals import judge
from fleettui.errors import FleetError
from fleettui.store import LockLost

HEARTBEAT_S = 60.0          # renew the service lock this often while a step waits
RECHECK_S = 30.0            # a hold for too little traffic measures again this often


class Waiter:
    """Sleep in ``poll`` slices, renewing the lock every HEARTBEAT_S; an abort seen in the journal stops. A renewal
    that fails for want of the lock's store (the team table unreachable, throttled, answering garbage) holds the
    rollout where it is -- :attr:`holding` says why, the step notes it (``lock_hold``: the journal, ``rollout
    status`` and the banner show it) -- and is retried every RECHECK_S until it succeeds; then the hold is lifted
    (noted empty) and the step goes on. Only a lock another operator took (LockLost) stops it."""

    def __init__(self, ctx: StepContext):
        self.ctx = ctx
        self.clock = ctx.clock
        self.renewed = self.clock.monotonic()
        self.holding: str | None = None
        self._retry_at = 0.0

    async def tick(self, at_most: float | None = None) -> None:
        wait = self.ctx.poll if self.holding or at_most is None else min(self.ctx.poll, at_most)
        await self.clock.sleep(max(0.01, wait))
        now = self.clock.monotonic()
        due = now >= self._retry_at if self.holding else now - self.renewed > HEARTBEAT_S
        if self.ctx.heartbeat is None or not due:
            return
        try:
            await self.ctx.heartbeat()
        except LockLost:
            controls(self.ctx)           # taken over by an abort: say so
            raise
        except FleetError as e:          # the lock's store cannot be used now: hold here, retry
            self._retry_at = self.clock.monotonic() + RECHECK_S
            if self.holding is None:
                self.holding = (f"the lock could not be renewed ({' '.join(str(e).split())}): holding at "
                                f"{self.ctx.params.get('weight', '?')}%, retrying every {RECHECK_S:g}s")
                self.ctx.note(lock_hold=self.holding)
            return
        self.renewed = self.clock.monotonic()
        if self.holding is not None:
            self.holding = None
            self.ctx.note(lock_hold="")       # the store is back: the step goes on


@kind("bake", "wait the bake time at a rollout step (deadline journaled: a resume waits only the rest)")
async def bake(ctx: StepContext) -> dict[str, Any]:
    c = controls(ctx)
    skip = promoted_past(ctx, c)
    if skip:
        return skip
    seconds = float(ctx.params["seconds"])
    memo = ctx.remembered()
    resumed = "deadline" in memo
    if resumed:
        deadline = datetime.fromisoformat(memo["deadline"])
    else:
        deadline = ctx.clock.now() + timedelta(seconds=seconds)
        ctx.note(deadline=deadline.isoformat(), seconds=seconds)
    waiter = Waiter(ctx)
    while True:
        c = controls(ctx)
        if c.promote or c.promote_full:
            return {"promoted_by": c.promote or c.promote_full, "resumed": resumed}
        left = bake_remaining(deadline, c.pauses, ctx.clock.now())
        if left is not None and left <= 0 and not waiter.holding:
            return {"baked_s": seconds, "resumed": resumed}
        await waiter.tick(left)


async def _measure(ctx: StepContext) -> Any:
    p = ctx.params
    health: Counter[str] = Counter()
    for arn in p["canary_groups"]:
        health.update((await ctx.elbv2.target_health(arn)).values())
    region = p["listener_arn"].split(":")[3]
    others = set(p.get("other_dims") or ())     # an alarm on another generation's target group is about that one
    alarms = matching_alarms(tuple(p.get("alarm_prefixes") or ()), set(p.get("alarm_dims") or ()),
                             [a for a in await CloudWatch(ctx.gw, region).alarms()
                              if not {d.get("Value") for d in a.get("Dimensions") or ()} & others])
    firing = [f"{a.name} ({a.reason})" if a.reason else a.name for a in alarms if a.firing]
    state, reason = None, ""
    if p.get("compare", True):
        sig = await rollout_signals(ctx.gw, p["listener_arn"], {p["canary"]: list(p["canary_groups"]),
                                                                 p["stable"]: list(p["stable_groups"])},
                                    float(p["window_s"]), float(p["period_s"]), str(p["latency_stat"]),
                                    now=ctx.clock.now())
        if p["canary"] in sig and p["stable"] in sig:
            v = judge(sig[p["canary"]], sig[p["stable"]])
            state, reason = v.state, v.reason
    return analyze(p["canary"], dict(health), firing, state, reason, compare=bool(p.get("compare", True)))


async def roll_back(ctx: StepContext) -> None:
    """All traffic to the stable generation: one change of every rule that serves the service, read back."""
    for n, params in enumerate(ctx.params["abort"], 1):
        sub = StepContext(ctx.gw, ctx.plan, Step(f"{ctx.step.id}-abort{n}", "set_weights", ctx.region,
                                                 "all traffic to the stable generation", params),
                          ctx.memo, lambda *a: None, poll=ctx.poll, timeout=ctx.timeout, clock=ctx.clock)
        await set_weights(sub)


@kind("analysis", "judge a rollout step: target health, alarms, canary vs live (failing: roll back)")
async def analysis(ctx: StepContext) -> dict[str, Any]:
    """Pass: on to the next step. Fail: roll back (auto-abort) or, with auto-abort off, hold. Too little traffic
    (or AWS unreadable): hold, measuring again every RECHECK_S seconds — on once a verdict can be made, or when
    the operator promotes; never on a guess. ``--pause-at``: hold after a pass until promoted."""
    p = ctx.params
    c = controls(ctx)
    skip = promoted_past(ctx, c)
    if skip:
        return skip
    clock = ctx.clock
    waiter = Waiter(ctx)
    result, held, measure_at, last = None, "", 0.0, None
    while True:
        c = controls(ctx)
        if measure_at is not None and clock.monotonic() >= measure_at:
            try:
                result, error = await _measure(ctx), None
            except FleetError as e:   # no reading, no verdict: hold rather than guess
                result, error = None, f"analysis could not read AWS: {e}"
            if result is not None and result.to_dict() != last:
                ctx.note(analysis=result.to_dict())      # the evidence, journaled before acting on it
                last = result.to_dict()
            measure_at = clock.monotonic() + RECHECK_S
            if result is not None and result.state == FAIL:
                why = "; ".join(ch.text for ch in result.failing)
                if p.get("auto_abort", True):
                    evidence = {"checks": [ch.to_dict() for ch in result.failing], "to": p["stable"]}
                    await roll_back(ctx)
                    raise Stopped(f"auto-abort at {p['weight']}%: {why}: all traffic back to {p['stable']}",
                                  external=False, evidence=evidence)
                reason, measure_at = f"analysis failed (auto-abort is off): {why}", None
            elif result is not None and result.state == HOLD:
                reason = next(ch.text for ch in result.checks if ch.state == HOLD)
            elif result is None:
                reason = error
            elif p.get("pause"):
                reason, measure_at = f"paused at {p['weight']}% (--pause-at): waiting for promote", None
            else:
                reason = ""
            if not reason and not waiter.holding:
                break
        if (c.promote or c.promote_full) and not waiter.holding:
            break
        if reason != held:
            ctx.note(holding=f"{reason} — promote or abort")
            held = reason
        await waiter.tick()
    detail: dict[str, Any] = {"analysis": result.to_dict() if result else None}
    if c.promote or c.promote_full:
        detail["promoted_by"] = c.promote or c.promote_full
    return detail
