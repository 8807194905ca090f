"""Steps on target groups: create/delete a generation's group, register, wait healthy, drain."""
from __future__ import annotations

from typing import Any

from fleettui.actions.steps.base import StepContext, kind


@kind("create_target_group", "create (or reuse) the generation's target group")
async def create_target_group(ctx: StepContext) -> dict[str, Any]:
    p = ctx.params
    arn, reused = await ctx.elbv2.create_target_group(p["name"], p["copy_from"], dict(p.get("tags") or {}))
    return {"target_group": arn, **({"reused": True} if reused else {})}


@kind("delete_target_group", "delete a target group")
async def delete_target_group(ctx: StepContext) -> None:
    await ctx.elbv2.delete_target_group(ctx.params["target_group"])


@kind("register", "register instances in a target group")
async def register(ctx: StepContext) -> dict[str, Any]:
    ids = await ctx.launched_ids()
    for arn in await ctx.target_groups():
        await ctx.elbv2.register(arn, ids)
    return {"instances": ids}


@kind("wait_healthy", "wait until the targets are healthy")
async def wait_healthy(ctx: StepContext) -> None:
    ids = await ctx.launched_ids()
    for arn in await ctx.target_groups():
        await ctx.elbv2.wait_in_service(arn, ids, delay=ctx.poll, timeout=ctx.timeout)


@kind("deregister", "deregister targets and wait for draining")
async def deregister(ctx: StepContext) -> None:
    ids = set(ctx.params["instance_ids"])
    for arn in await ctx.target_groups():
        present = [d["Target"] for d in await ctx.elbv2.targets(arn)
                   if d["Target"]["Id"] in ids and d["TargetHealth"]["State"] != "draining"]
        if present:
            await ctx.elbv2.deregister(arn, present)

        async def drained(arn=arn) -> bool:
            return not any(i in ids and state != "unused" for i, state in (await ctx.elbv2.target_health(arn)).items())

        await ctx.wait_for("targets to drain", drained)
