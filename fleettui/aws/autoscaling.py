"""Typed access to EC2 Auto Scaling through the gateway."""
from __future__ import annotations

from typing import Any

from fleettui.aws.ec2 import chunks, template_key
from fleettui.aws.gateway import Gateway
from fleettui.errors import AwsError, FleetError

PINNED_ONLY = "a launch template version number (never $Latest or $Default: a rollback must return to it)"


class AutoScaling:
    def __init__(self, gw: Gateway, region: str):
        self.gw, self.region = gw, region

    async def group(self, name: str) -> dict[str, Any]:
        found = await self.find(name)
        if found is None:
            raise FleetError(f"Auto Scaling group {name} not found in {self.region}")
        return found

    async def find(self, name: str) -> dict[str, Any] | None:
        resp = await self.gw.call("autoscaling", self.region, "describe_auto_scaling_groups",
                                  AutoScalingGroupNames=[name])
        return resp["AutoScalingGroups"][0] if resp["AutoScalingGroups"] else None

    async def groups(self, names: list[str] | None = None,
                     tags: dict[str, str] | None = None, tag_keys: list[str] | None = None) -> list[dict[str, Any]]:
        """The named groups (chunks of 50), or the groups carrying ``tags`` and ``tag_keys`` (server-side filters)."""
        out: list[dict[str, Any]] = []
        if names is not None:
            queries = [dict(AutoScalingGroupNames=chunk) for chunk in chunks(sorted(names), 50)]
        else:
            filters = [{"Name": f"tag:{k}", "Values": [v]} for k, v in (tags or {}).items()]
            filters += [{"Name": "tag-key", "Values": [k]} for k in tag_keys or ()]
            queries = [dict(Filters=filters)]
        for query in queries:
            async for page in self.gw.paginate("autoscaling", self.region, "describe_auto_scaling_groups", **query):
                out.extend(page.get("AutoScalingGroups", ()))
        return out

    async def create_group(self, name: str, *, launch_template: str, version: str, min_size: int, max_size: int,
                           desired: int, subnets: list[str], target_groups: list[str], tags: dict[str, str]) -> None:
        """A generation's group, pinned to one launch template version, its tags propagated to its instances."""
        if not str(version).isdigit():
            raise FleetError(f"refusing to create {name} from launch template version {version!r} (allowed: "
                             f"{PINNED_ONLY})")
        params: dict[str, Any] = dict(
            AutoScalingGroupName=name, LaunchTemplate={template_key(launch_template): launch_template,
                                                       "Version": str(version)},
            MinSize=min_size, MaxSize=max_size, DesiredCapacity=desired, TargetGroupARNs=list(target_groups),
            Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in tags.items()])
        if subnets:
            params["VPCZoneIdentifier"] = ",".join(subnets)
        await self.gw.call("autoscaling", self.region, "create_auto_scaling_group", **params)

    async def set_capacity(self, name: str, *, min_size: int | None = None, max_size: int | None = None,
                           desired: int | None = None) -> None:
        """UpdateAutoScalingGroup for capacity only: min, max and desired; nothing else of a group is ever changed
        (its launch template version stays the one its generation was launched from)."""
        sizes = {"MinSize": min_size, "MaxSize": max_size, "DesiredCapacity": desired}
        sizes = {k: int(v) for k, v in sizes.items() if v is not None}
        if not sizes:
            return
        await self.gw.call("autoscaling", self.region, "update_auto_scaling_group", AutoScalingGroupName=name,
                           **sizes)

    async def delete_group(self, name: str) -> None:
        """Delete an empty group (never ForceDelete: its instances must be gone first). Gone already: done."""
        try:
            await self.gw.call("autoscaling", self.region, "delete_auto_scaling_group", AutoScalingGroupName=name)
        except AwsError:
            if await self.find(name) is not None:
                raise

    async def set_desired(self, name: str, desired: int) -> None:
        await self.gw.call("autoscaling", self.region, "set_desired_capacity", AutoScalingGroupName=name,
                           DesiredCapacity=desired, HonorCooldown=False)

    async def terminate_instance(self, instance_id: str) -> None:
        """Terminate one host through its group, decrementing the desired capacity."""
        await self.gw.call("autoscaling", self.region, "terminate_instance_in_auto_scaling_group",
                           InstanceId=instance_id, ShouldDecrementDesiredCapacity=True)


def health_of(groups: list[dict[str, Any]]) -> dict[str, str]:
    return {inst["InstanceId"]: inst.get("HealthStatus", "Healthy")
            for group in groups for inst in group.get("Instances", ())}


def alive(group: dict[str, Any]) -> list[dict[str, Any]]:
    """The group's instances that are not terminating."""
    return [i for i in group.get("Instances", ()) if not i["LifecycleState"].startswith("Terminat")]


def ready(group: dict[str, Any]) -> list[str]:
    """Ids of the group's instances that are InService and Healthy."""
    return [i["InstanceId"] for i in group.get("Instances", ())
            if i["LifecycleState"] == "InService" and i.get("HealthStatus", "Healthy") == "Healthy"]
