"""The operator's controls of a running rollout, from any fleettui (another terminal, another TUI): status,
promote, promote-full, pause, resume — journal events the driving process reads while it waits — and abort, the
emergency path: it takes the service's lock over (journaled, with who), sends all traffic back to the rollout's
stable generation in one listener change (a plan of its own), and marks the rollout aborted. Idempotent: with
no rollout running it does nothing and says so."""
from __future__ import annotations

from datetime import datetime

from fleettui.actions.api import check_reason
from fleettui.clock import SYSTEM
from fleettui.domain.history import EventKind, PlanRecord, PlanStatus
from fleettui.domain.plan import Plan, Step, new_plan_id
from fleettui.domain.rollout import CONTROLS, RolloutView, rollout_view
from fleettui.errors import ConfigError, FleetError
from fleettui.store import LockHeld


def _stage(rec: PlanRecord) -> int:
    current = next((s for s in rec.plan.steps if s.id not in rec.done), rec.plan.steps[-1])
    return int(current.params.get("stage", 0))


async def running(actions, service: str) -> PlanRecord | None:
    """The newest unfinished rollout of ``service`` in this AWS (None: none runs)."""
    actions.config.service(service)          # unknown service: one-line ConfigError
    recs = [r for r in await actions.unfinished(driven=True)
            if r.plan.verb == "rollout" and r.plan.service == service]
    return recs[-1] if recs else None


def last(journal, service: str) -> PlanRecord | None:
    recs = [r for r in journal.records().values() if r.plan.verb == "rollout" and r.plan.service == service]
    return recs[-1] if recs else None


def view(journal, service: str, now: datetime | None = None) -> RolloutView | None:
    """The newest rollout of ``service`` in ``journal`` (running or not) as the banner and ``rollout status``
    show it."""
    rec = last(journal, service)
    if rec is None:
        return None
    events = [e for e in journal.events() if e.get("plan_id") == rec.plan.id]
    watched = journal.driver(rec.plan.id, others=False) is not None
    return rollout_view(rec, events, now or SYSTEM.now(), watched)


async def control(actions, service: str, action: str, reason: str = "") -> str:
    """Journal ``action`` (promote | promote_full | pause | resume) for the running rollout of ``service``; the
    process driving it acts on it within a poll. ConfigError when no rollout runs."""
    if action not in CONTROLS or action == "abort":
        raise ConfigError(f"rollout: unknown control {action!r}")
    check_reason(reason)
    rec = await running(actions, service)
    if rec is None:
        raise ConfigError(f"no rollout of {service} is running: nothing to {action.replace('_', '-')}")
    if actions.read_only:
        raise FleetError("read-only mode: cannot control a rollout")
    who = await actions.who()
    actions.journal.append(EventKind.ROLLOUT_CONTROL, rec.plan.id, action=action, stage=_stage(rec), who=who,
                           reason=reason, service=service)
    return f"{service}: {action.replace('_', '-')} sent to rollout {rec.plan.id} (stage {_stage(rec)})"


def abort_plan(rec: PlanRecord, created: datetime) -> Plan:
    """All traffic back to the rollout's stable generation: the abort weights it planned, one change per rule."""
    analysis = next(s for s in rec.plan.steps if s.kind == "analysis")
    stable = analysis.params["stable"]
    # the emergency path: whatever the weights are now (no comparison with the rollout's plan-time weights)
    steps = tuple(Step(f"s{n}", "set_weights", analysis.region, f"all traffic back to {stable}",
                       {k: v for k, v in params.items() if k != "generations"})
                  for n, params in enumerate(analysis.params["abort"], 1))
    return Plan(id=new_plan_id(), verb="rollback", service=rec.plan.service,
                summary=f"{rec.plan.service}: abort rollout {rec.plan.id} of {rec.plan.generation} → {stable} gets 100%",
                steps=steps, weights_before={}, weights_after={stable: 100}, generation=stable,
                created_at=created.isoformat(timespec="seconds"))


async def abort(actions, service: str, reason: str = "", on_event=None) -> tuple[str, int]:
    """(message, exit code): 0 aborted or nothing to abort, 1 the rollback failed (run abort again)."""
    check_reason(reason)
    rec = await running(actions, service)
    if rec is None:
        return f"nothing to abort: no rollout of {service} is running", 0
    if actions.read_only:
        raise FleetError("read-only mode: cannot abort a rollout")
    who = await actions.who()
    plan = rec.plan
    actions.journal.append(EventKind.ROLLOUT_CONTROL, plan.id, action="abort", stage=_stage(rec), who=who,
                           reason=reason, service=service)
    cfg = actions.config.service(service)
    lock = actions.lock(actions.gw, cfg, who, plan.id, clock=actions.clock)
    holder = await lock.holder()
    if holder is not None:               # the driver's (or a stale) lock: taken over, on the record
        try:
            await lock.clear(holder)
        except LockHeld:
            if await lock.holder() is not None:
                raise                    # another operator's lock now: not ours to take
            holder = None                # the driver saw the abort and let go of it meanwhile: nothing to take over
    if holder is not None:
        actions.journal.append(EventKind.LOCK_CLEARED, holder.plan_id or "-", service=service, who=who,
                               reason=f"rollout abort {plan.id}" + (f": {reason}" if reason else ""),
                               holder=holder.record)
    back = abort_plan(rec, actions.clock.now())
    outcome = await actions.execute(back, reason or f"abort rollout {plan.id}", on_event=on_event)
    if not outcome.ok:
        return (f"abort of rollout {plan.id} failed: {outcome.error}; run `fleettui rollout abort {service}` "
                "again"), 1
    actions.journal.append(EventKind.PLAN_FINISHED, plan.id, status=PlanStatus.ABORTED.value, who=who,
                           error=f"aborted by {who}", rollback_plan=back.id)
    return f"{service}: rollout {plan.id} aborted: all traffic back to {back.generation} (plan {back.id})", 0
