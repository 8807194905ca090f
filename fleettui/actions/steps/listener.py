"""Steps on a listener's traffic: add a generation at weight 0, set weights (read back), remove a generation."""
from __future__ import annotations

from typing import Any

from fleettui.actions.steps.base import StepContext, controls, kind, promoted_past
from fleettui.aws.elbv2 import tg_name_of
from fleettui.errors import FleetError


@kind("listener_add", "add a target group to the listener at weight 0")
async def listener_add(ctx: StepContext) -> None:
    p = ctx.params
    arn = (await ctx.elbv2.target_group_arns([p["target_group_name"]]))[0]
    fwd = await ctx.elbv2.forward(p["listener_arn"])
    if arn not in fwd.target_groups:
        await ctx.elbv2.write(fwd.with_weights({arn: 0}))


@kind("set_weights", "set the forward weights of a listener's default action or rule, and read them back")
async def set_weights(ctx: StepContext) -> dict[str, Any]:
    p = ctx.params
    if "stage" in p:     # a rollout's shift: its operator's abort and promote-full apply
        skip = promoted_past(ctx, controls(ctx))
        if skip:
            return skip
    wanted = {a: int(w) for a, w in p["weights"].items()}
    rule = p.get("rule_arn")

    async def read():
        return await ctx.elbv2.forward(p["listener_arn"], rule)

    fwd = await read()
    unknown = [tg_name_of(a) for a, w in fwd.groups if a not in wanted and w]
    if unknown:
        raise FleetError(f"{'the listener' if rule is None else fwd.where} changed since this plan was made "
                         f"(target group {', '.join(unknown)} takes traffic): make a new plan")
    # every group of the rule gets its wanted weight (0 when not named); a group not in the rule yet joins it only
    # when it is to receive traffic
    new = fwd.with_weights({**{a: 0 for a in fwd.target_groups},
                            **{a: w for a, w in wanted.items() if w or a in fwd.target_groups}})
    if new.groups != fwd.groups:
        await ctx.elbv2.write(new)

    async def applied() -> bool:
        now = await read()
        return all(now.weight(a) == w for a, w in wanted.items())

    await ctx.wait_for("the listener to report the new weights", applied)
    return {"weights": {tg_name_of(a): w for a, w in wanted.items()}}


@kind("listener_remove", "remove target groups from a listener's default action or rule")
async def listener_remove(ctx: StepContext) -> None:
    p = ctx.params
    remove = set(p["target_groups"])
    fwd = await ctx.elbv2.forward(p["listener_arn"], p.get("rule_arn"))
    busy = [(a, w) for a, w in fwd.groups if a in remove and w]
    if busy:
        raise FleetError(f"{tg_name_of(busy[0][0])} takes traffic again (weight {busy[0][1]}): not removing it")
    kept = fwd.without(remove)
    if kept.groups != fwd.groups:
        if not kept.groups:
            raise FleetError(f"refusing to leave {fwd.where} without a target group")
        await ctx.elbv2.write(kept)
