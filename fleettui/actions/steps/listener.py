"""Steps on a listener's traffic: add a generation at weight 0, set weights (read back), remove a generation."""
from __future__ import annotations

from typing import Any

from fleettui.actions.steps import StepContext, kind
from fleettui.aws.elbv2 import tg_name_of
from fleettui.errors import FleetError


@kind("listener_add", "add a target group to the listener at weight 0")
async def listener_add(ctx: StepContext) -> None:
    p = ctx.params
    arn = (await ctx.elbv2.target_group_arns([p["target_group_name"]]))[0]
    fwd = await ctx.elbv2.default_forward(p["listener_arn"])
    if arn not in fwd.target_groups:
        await ctx.elbv2.write(fwd.with_weights({arn: 0}))


@kind("set_weights", "set the listener's forward weights and read them back")
async def set_weights(ctx: StepContext) -> dict[str, Any]:
    p = ctx.params
    wanted = {a: int(w) for a, w in p["weights"].items()}
    fwd = await ctx.elbv2.default_forward(p["listener_arn"])
    unknown = [tg_name_of(a) for a, w in fwd.groups if a not in wanted and w]
    if unknown:
        raise FleetError(f"the listener changed since this plan was made (target group {', '.join(unknown)} "
                         "takes traffic): make a new plan")
    new = fwd.with_weights({**{a: 0 for a in fwd.target_groups}, **wanted})
    if new.groups != fwd.groups:
        await ctx.elbv2.write(new)

    async def applied() -> bool:
        now = await ctx.elbv2.default_forward(p["listener_arn"])
        return all(now.weight(a) == w for a, w in wanted.items())

    await ctx.wait_for("the listener to report the new weights", applied)
    return {"weights": {tg_name_of(a): w for a, w in wanted.items()}}


@kind("listener_remove", "remove a target group from the listener")
async def listener_remove(ctx: StepContext) -> None:
    p = ctx.params
    remove = set(p["target_groups"])
    fwd = await ctx.elbv2.default_forward(p["listener_arn"])
    busy = [(a, w) for a, w in fwd.groups if a in remove and w]
    if busy:
        raise FleetError(f"{tg_name_of(busy[0][0])} takes traffic again (weight {busy[0][1]}): not removing it")
    kept = fwd.without(remove)
    if kept.groups != fwd.groups:
        if not kept.groups:
            raise FleetError("refusing to leave the listener without a target group")
        await ctx.elbv2.write(kept)
