"""Steps through EC2 Auto Scaling: surge a group, wait for its new hosts, terminate old hosts through it; create,
size, wait for, empty and delete a generation's own group."""
from __future__ import annotations

from typing import Any

from fleettui.actions.steps.base import StepContext, kind
from fleettui.aws.autoscaling import ready as group_ready
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


# -- one Auto Scaling group per generation (fleettui.domain.asg) ------------------------------------------------

@kind("asg_create", "create a generation's Auto Scaling group, pinned to its launch template version")
async def asg_create(ctx: StepContext) -> dict[str, Any]:
    """Safe to run again: a group of that name that already exists is reused when it is pinned to the same
    launch template version, refused otherwise (never changed)."""
    p = ctx.params
    found = await ctx.autoscaling.find(p["asg"])
    if found is not None:
        pinned = str((found.get("LaunchTemplate") or {}).get("Version"))
        if pinned != str(p["version"]):
            raise FleetError(f"{p['asg']} already exists with launch template version {pinned}, not "
                             f"{p['version']}: decommission it or launch another version")
        return {"asg": p["asg"], "reused": True}
    target_groups = await ctx.elbv2.target_group_arns([p["target_group_name"]]) if p.get("target_group_name") else []
    try:
        await ctx.autoscaling.create_group(
            p["asg"], launch_template=p["launch_template"], version=str(p["version"]), min_size=int(p["min_size"]),
            max_size=int(p["max_size"]), desired=int(p["desired"]), subnets=list(p.get("subnets") or ()),
            target_groups=target_groups, tags=dict(p.get("tags") or {}))
    except AwsError:
        # a retried CreateAutoScalingGroup whose first response was lost finds the group (AlreadyExists)
        if await ctx.autoscaling.find(p["asg"]) is None:
            raise
    return {"asg": p["asg"], "target_groups": target_groups}


@kind("asg_set_capacity", "set an Auto Scaling group's min / max / desired capacity")
async def asg_set_capacity(ctx: StepContext) -> dict[str, Any]:
    p = ctx.params
    group = await ctx.autoscaling.group(p["asg"])
    want = {"min_size": p.get("min_size"), "max_size": p.get("max_size"), "desired": p.get("desired")}
    have = {"min_size": group["MinSize"], "max_size": group["MaxSize"], "desired": group["DesiredCapacity"]}
    change = {k: int(v) for k, v in want.items() if v is not None and int(v) != int(have[k])}
    await ctx.autoscaling.set_capacity(p["asg"], **change)
    return {k: int(v) for k, v in want.items() if v is not None}


@kind("asg_wait_ready", "wait until the group's hosts are InService, healthy, and healthy in its target group")
async def asg_wait_ready(ctx: StepContext) -> dict[str, Any]:
    p = ctx.params
    want = int(p["count"])
    arns = await ctx.target_groups()
    seen: list[str] = []

    async def ready() -> bool:
        ids = group_ready(await ctx.autoscaling.group(p["asg"]))
        for arn in arns:
            health = await ctx.elbv2.target_health(arn)
            ids = [i for i in ids if health.get(i) == "healthy"]
        seen[:] = ids
        return len(ids) >= want

    await ctx.wait_for(f"{want} healthy hosts in {p['asg']}", ready)
    return {"instances": sorted(seen)}


@kind("asg_wait_empty", "wait until the Auto Scaling group has no instances left")
async def asg_wait_empty(ctx: StepContext) -> None:
    p = ctx.params

    async def empty() -> bool:
        group = await ctx.autoscaling.find(p["asg"])
        return group is None or not group.get("Instances")

    await ctx.wait_for(f"the instances of {p['asg']} to terminate", empty)


@kind("asg_delete", "delete an empty Auto Scaling group")
async def asg_delete(ctx: StepContext) -> None:
    await ctx.autoscaling.delete_group(ctx.params["asg"])
