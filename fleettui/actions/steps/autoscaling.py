"""Steps through EC2 Auto Scaling: surge a group, wait for its new hosts, terminate old hosts through it."""
from __future__ import annotations

from typing import Any

from fleettui.actions.steps.base import StepContext, kind
from fleettui.errors import AwsError, FleetError


def _alive(group: dict[str, Any]) -> set[str]:
    return {i["InstanceId"] for i in group["Instances"] if not i["LifecycleState"].startswith("Terminat")}


@kind("asg_scale_out", "raise an Auto Scaling group's desired capacity")
async def asg_scale_out(ctx: StepContext) -> dict[str, Any]:
    p = ctx.params
    group = await ctx.autoscaling.group(p["asg"])
    target = ctx.remembered().get("desired")
    if target is None:
        target = int(group["DesiredCapacity"]) + int(p["add"])
        ctx.note(desired=target)   # remembered before acting: a re-run sets the same value
    if target > int(group["MaxSize"]):
        raise FleetError(f"{p['asg']} MaxSize {group['MaxSize']} is below the {target} hosts needed to surge; "
                         "raise MaxSize first")
    if int(group["DesiredCapacity"]) != target:
        await ctx.autoscaling.set_desired(p["asg"], target)
    return {"desired": target}


@kind("asg_wait_in_service", "wait until the Auto Scaling group's new instances are in service")
async def asg_wait_in_service(ctx: StepContext) -> None:
    p = ctx.params
    old = set(p["replacing"])
    target = int(ctx.remembered(p["scale_step"]).get("desired", 0))

    async def ready() -> bool:
        group = await ctx.autoscaling.group(p["asg"])
        fresh = [i for i in group["Instances"] if i["InstanceId"] not in old
                 and i["LifecycleState"] == "InService" and i.get("HealthStatus", "Healthy") == "Healthy"]
        return len(fresh) >= target - len(old)

    await ctx.wait_for(f"new hosts in {p['asg']}", ready)


@kind("asg_terminate", "terminate instances through Auto Scaling (decrementing desired capacity)")
async def asg_terminate(ctx: StepContext) -> dict[str, Any]:
    p = ctx.params
    members = _alive(await ctx.autoscaling.group(p["asg"]))
    done = []
    for iid in p["instance_ids"]:
        if iid in members:
            try:
                await ctx.autoscaling.terminate_instance(iid)
            except AwsError:
                # botocore's retry of a call whose response was lost finds the host already gone from the
                # group (AWS: ValidationError): read back, and only a host still in service is a failure
                if iid in _alive(await ctx.autoscaling.group(p["asg"])):
                    raise
            done.append(iid)
    return {"terminated": done}
