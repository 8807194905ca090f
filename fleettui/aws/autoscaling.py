"""Typed access to EC2 Auto Scaling through the gateway."""
from __future__ import annotations

from typing import Any

from fleettui.aws.ec2 import chunks
from fleettui.aws.gateway import Gateway
from fleettui.errors import FleetError


class AutoScaling:
    def __init__(self, gw: Gateway, region: str):
        self.gw, self.region = gw, region

    async def group(self, name: str) -> dict[str, Any]:
        resp = await self.gw.call("autoscaling", self.region, "describe_auto_scaling_groups",
                                  AutoScalingGroupNames=[name])
        if not resp["AutoScalingGroups"]:
            raise FleetError(f"Auto Scaling group {name} not found in {self.region}")
        return resp["AutoScalingGroups"][0]

    async def health(self, names: list[str]) -> dict[str, str]:
        """instance id -> HealthStatus ("Healthy"/"Unhealthy") of every instance of the named groups."""
        out: dict[str, str] = {}
        for chunk in chunks(sorted(names), 50):
            async for page in self.gw.paginate("autoscaling", self.region, "describe_auto_scaling_groups",
                                               AutoScalingGroupNames=chunk):
                for group in page.get("AutoScalingGroups", ()):
                    for inst in group.get("Instances", ()):
                        out[inst["InstanceId"]] = inst.get("HealthStatus", "Healthy")
        return out

    async def set_desired(self, name: str, desired: int) -> None:
        await self.gw.call("autoscaling", self.region, "set_desired_capacity", AutoScalingGroupName=name,
                           DesiredCapacity=desired, HonorCooldown=False)

    async def terminate_instance(self, instance_id: str) -> None:
        """Terminate one host through its group, decrementing the desired capacity."""
        await self.gw.call("autoscaling", self.region, "terminate_instance_in_auto_scaling_group",
                           InstanceId=instance_id, ShouldDecrementDesiredCapacity=True)
