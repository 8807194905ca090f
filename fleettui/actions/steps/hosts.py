"""Steps on bare EC2 hosts: launch (idempotent through plan/step tags), wait running, terminate."""
from __future__ import annotations

from collections import Counter
from typing import Any

from fleettui.actions.steps.base import PLAN_TAG, STEP_TAG, StepContext, kind
from fleettui.aws.ec2 import template_key
from fleettui.errors import FleetError


@kind("launch", "launch instances from the launch template, tagged with plan and step ids")
async def launch(ctx: StepContext) -> dict[str, Any]:
    """Launches are idempotent without ClientToken (which emulators ignore): every launched instance is tagged
    with ``fleettui:plan`` and ``fleettui:step``, and the step first counts what it already launched."""
    p, plan, st = ctx.params, ctx.plan, ctx.step
    existing = await ctx.launched(st.id)
    need = int(p["count"]) - len(existing)
    if need > 0:
        subnets = list(p.get("subnets") or ()) or [None]
        per_subnet = Counter(subnets[(len(existing) + k) % len(subnets)] for k in range(need))
        template = p["launch_template"]
        lt = {template_key(template): template, "Version": str(p["version"])}
        tags = dict(p.get("tags") or {})
        tags.update({"Name": p.get("name") or plan.service, PLAN_TAG: plan.id, STEP_TAG: st.id})
        spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
        for n, (subnet, count) in enumerate(sorted(per_subnet.items(), key=lambda kv: str(kv[0]))):
            kwargs: dict[str, Any] = dict(LaunchTemplate=lt, MinCount=count, MaxCount=count,
                                          TagSpecifications=spec,
                                          ClientToken=f"{plan.id}-{st.id}-{len(existing)}-{n}")
            if subnet:
                kwargs["SubnetId"] = subnet
            await ctx.ec2.run_instances(**kwargs)
    return await _trim_launch(ctx)


async def _name_hosts(ctx: StepContext, hosts: list[dict[str, Any]]) -> None:
    """Name each launched host ``<name>-<id tail>`` like the rest of its generation (the id is known only now)."""
    prefix = ctx.params.get("name") or ctx.plan.service
    for inst in hosts:
        name = f"{prefix}-{inst['InstanceId'][-4:]}"
        if {t["Key"]: t["Value"] for t in inst.get("Tags") or ()}.get("Name") != name:
            await ctx.ec2.create_tags(inst["InstanceId"], {"Name": name})


async def _trim_launch(ctx: StepContext) -> dict[str, Any]:
    """Reconcile to exactly ``count``: a RunInstances retried by botocore after its response was lost is
    deduplicated by ClientToken on AWS, but not by every emulator; surplus hosts this step just launched
    (never registered anywhere) are terminated, newest first."""
    count = int(ctx.params["count"])
    mine = await ctx.launched(ctx.step.id)
    mine.sort(key=lambda i: (i["LaunchTime"], i["InstanceId"]))
    surplus = [i["InstanceId"] for i in mine[count:]]
    if surplus:
        await ctx.ec2.terminate(surplus)
    await _name_hosts(ctx, mine[:count])
    kept = [i["InstanceId"] for i in mine[:count]]
    return {"instances": kept, **({"surplus_terminated": surplus} if surplus else {})}


@kind("wait_running", "wait until the launched instances are running")
async def wait_running(ctx: StepContext) -> dict[str, Any]:
    ids = await ctx.launched_ids()
    if not ids:
        raise FleetError("no instances from the launch step were found")
    await ctx.ec2.wait_running(ids, delay=ctx.poll, timeout=ctx.timeout)
    return {"instances": ids}


@kind("terminate", "terminate instances")
async def terminate(ctx: StepContext) -> dict[str, Any]:
    ids = list(ctx.params["instance_ids"])
    alive = await ctx.ec2.by_ids(ids)
    todo = [i["InstanceId"] for i in alive if i["State"]["Name"] not in ("shutting-down", "terminated")]
    if todo:
        await ctx.ec2.terminate(todo)
    return {"terminated": todo}
