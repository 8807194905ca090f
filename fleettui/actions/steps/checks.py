"""Preconditions: what a step depends on, re-read from AWS right before the executor runs it (fresh or resumed).
A plan cut off and resumed later, or confirmed minutes after it was made, must not act on a world that moved:
old hosts are drained and terminated only while the replacements this plan launched are running and healthy;
a decommission drains only a generation that still takes no traffic; listener weights are changed only from the
weights the plan expects (the plan's own previous step, or what it was made from).
"""
from __future__ import annotations

from typing import Any

from fleettui.actions.steps.base import PLAN_TAG, STEP_TAG, StepContext, WorldMoved, precheck
from fleettui.aws.autoscaling import ready as group_ready
from fleettui.aws.elbv2 import tg_name_of
from fleettui.domain.plan import Step
from fleettui.format import format_weight


def _before(ctx: StepContext, *kinds: str) -> Step | None:
    """The last step of one of ``kinds`` before the current one in the plan."""
    found = None
    for st in ctx.plan.steps:
        if st.id == ctx.step.id:
            return found
        if st.kind in kinds:
            found = st
    return found


def _stop(ctx: StepContext, why: str) -> WorldMoved:
    return WorldMoved(f"{why}: {ctx.step.id} not run; `fleettui resume --abandon {ctx.plan.id}` lists what this "
                      "plan left behind")


async def _running(ctx: StepContext, launch: Step) -> list[str]:
    """The hosts ``launch`` started, all running, or WorldMoved naming those that are gone."""
    want = int(launch.params["count"])
    tags = {PLAN_TAG: ctx.plan.id, STEP_TAG: launch.id}
    running = [i["InstanceId"] for i in await ctx.ec2.tagged(tags, states=["pending", "running"])]
    if len(running) < want:
        gone = [f"{i['InstanceId']} {i['State']['Name']}" for i in await ctx.ec2.tagged(
            tags, states=["shutting-down", "terminated", "stopping", "stopped"])]
        raise _stop(ctx, f"{want - len(running)} of the {want} hosts launched by {launch.id} are no longer running"
                         + (f" ({', '.join(gone)})" if gone else ""))
    return running


async def _target_groups(ctx: StepContext, st: Step) -> list[str]:
    arns = list(st.params.get("target_groups") or ())
    names = list(st.params.get("target_group_names") or ())
    return arns + (await ctx.elbv2.target_group_arns(names) if names else [])


@precheck("register", "wait_healthy")
async def launched_hosts_running(ctx: StepContext) -> None:
    launch = next(s for s in ctx.plan.steps if s.id == ctx.params["launch_step"])
    await _running(ctx, launch)


@precheck("deregister", "terminate", "asg_terminate")
async def old_hosts_may_go(ctx: StepContext) -> None:
    """Replace: the replacements are running and healthy. Decommission: the generation takes no traffic."""
    launch = _before(ctx, "launch")
    if launch is not None:
        ids = await _running(ctx, launch)
        register = next((s for s in ctx.plan.steps if s.kind == "register"
                         and s.params.get("launch_step") == launch.id), None)
        for arn in await _target_groups(ctx, register) if register else ():
            health = await ctx.elbv2.target_health(arn)
            bad = [f"{i} {health.get(i, 'not registered')}" for i in ids if health.get(i) != "healthy"]
            if bad:
                raise _stop(ctx, f"the replacement hosts are not healthy in {tg_name_of(arn)} ({', '.join(bad)})")
        return
    scale = _before(ctx, "asg_scale_out")
    if scale is not None:
        old = set(scale.params["replacing"])
        group = await ctx.autoscaling.group(scale.params["asg"])
        fresh = [i for i in group["Instances"] if i["InstanceId"] not in old
                 and i["LifecycleState"] == "InService" and i.get("HealthStatus", "Healthy") == "Healthy"]
        if len(fresh) < int(scale.params["add"]):
            raise _stop(ctx, f"{scale.params['asg']} has {len(fresh)} new hosts in service, "
                             f"{scale.params['add']} were launched to replace the old")
        return
    await _no_traffic(ctx)


async def _no_traffic(ctx: StepContext) -> None:
    """Decommission: the generation (the target groups its listener_remove step names) takes no traffic."""
    remove = next((s for s in ctx.plan.steps if s.kind == "listener_remove"), None)
    if remove is not None:
        traffic = await ctx.elbv2.traffic_model(remove.params["listener_arn"])
        mine = set(remove.params["target_groups"])
        busy = [(a, fwd.weight(a)) for fwd in (traffic.forwards if traffic else ()) for a in fwd.target_groups
                if a in mine and fwd.weight(a)]
        if busy:
            raise _stop(ctx, f"{tg_name_of(busy[0][0])} takes traffic again (weight {busy[0][1]})")


@precheck("asg_set_capacity")
async def group_may_shrink(ctx: StepContext) -> None:
    """A decommission empties a generation's group only while it still takes no traffic."""
    if ctx.plan.verb == "decommission":
        await _no_traffic(ctx)


def _same_rule_before(ctx: StepContext) -> Step | None:
    """The previous set_weights step of the plan on the same listener rule (a ramp's earlier step; not one a
    rollout's promote-full skipped)."""
    found = None
    for st in ctx.plan.steps:
        if st.id == ctx.step.id:
            return found
        if st.kind == "set_weights" and (st.params["listener_arn"], st.params.get("rule_arn")) == \
                (ctx.params["listener_arn"], ctx.params.get("rule_arn")) and "skipped" not in ctx.remembered(st.id):
            found = st
    return found


def _percents(weights: dict[str, int], generations: dict[str, Any]) -> dict[str, int]:
    total = sum(weights.values())
    return {v: round(100 * sum(weights.get(a, 0) for a in arns) / total) if total else 0
            for v, arns in generations.items()}


@precheck("set_weights")
async def listener_as_planned(ctx: StepContext) -> None:
    """The listener still forwards to the plan's target groups with the weights the plan expects: those its
    previous listener step set, or those it was made from (or, on a re-run, this step's own)."""
    p = ctx.params
    warm = _before(ctx, "asg_wait_ready")      # a cold rollback: the group it scaled up must still be ready
    if warm is not None:
        ready = group_ready(await ctx.autoscaling.group(warm.params["asg"]))
        if len(ready) < int(warm.params["count"]):
            raise _stop(ctx, f"{warm.params['asg']} has {len(ready)} hosts in service, {warm.params['count']} are "
                             "needed before traffic moves to it")
    wanted = {a: int(w) for a, w in p["weights"].items()}
    rule = p.get("rule_arn")
    fwd = await ctx.elbv2.forward(p["listener_arn"], rule)
    now = dict(fwd.groups)
    # a rule other than the default action holds only the groups it sends traffic to (the step adds the others)
    missing = [tg_name_of(a) for a in wanted if a not in now] if rule is None else []
    if missing:
        raise _stop(ctx, f"the listener changed since this plan was made ({', '.join(missing)} removed)")
    added = [tg_name_of(a) for a, w in fwd.groups if a not in wanted and w]
    if added:
        raise _stop(ctx, f"the listener changed since this plan was made ({', '.join(added)} takes traffic)")
    if all(now.get(a, 0) == w for a, w in wanted.items()):
        return                                      # already applied (a re-run after a lost response)
    prev = _same_rule_before(ctx)
    if prev is not None:
        expected = {a: int(w) for a, w in prev.params["weights"].items()}
        if all(now.get(a, 0) == w for a, w in expected.items()):
            return
        moved = [f"{tg_name_of(a)} {now.get(a, 0)} (expected {w})" for a, w in expected.items() if now.get(a, 0) != w]
    else:
        generations = p.get("generations")
        if not generations or rule is not None:
            return                                  # nothing to compare with (weights_before is the default action's)
        before = dict(ctx.plan.weights_before)
        current = _percents(now, generations)
        moved = [f"{v} {current[v]}% (planned from {format_weight(before.get(v, 0))})" for v in generations
                 if abs(current[v] - int(before.get(v, 0))) > 1]
        if not moved:
            return
    raise _stop(ctx, f"the listener's weights changed since this plan was made: {', '.join(moved)}")
