"""Typed access to Elastic Load Balancing v2 through the gateway: a load balancer's traffic (listeners and their
rules, read and written as :class:`~fleettui.domain.traffic.Forward` values), target groups, health and tags."""
from __future__ import annotations

import asyncio
from typing import Any

from fleettui.aws.ec2 import chunks
from fleettui.aws.gateway import Gateway
from fleettui.domain.traffic import Forward, Traffic, forwards_of_listener, forwards_of_rules, traffic_of
from fleettui.errors import AwsError, FleetError

NOT_FOUND = ("TargetGroupNotFound", "TargetGroupNotFoundException", "InvalidTarget")
TG_SETTINGS = ("Protocol", "Port", "VpcId", "HealthCheckProtocol", "HealthCheckPort", "HealthCheckEnabled",
               "HealthCheckPath", "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds",
               "HealthyThresholdCount", "UnhealthyThresholdCount", "TargetType", "Matcher")


def region_of(arn: str) -> str:
    return arn.split(":")[3]


def tg_name_of(arn: str) -> str:
    return arn.split("/")[-2]


def lb_arn_of(listener_arn: str) -> str:
    """arn:…:listener/app/NAME/LB-ID/LISTENER-ID -> arn:…:loadbalancer/app/NAME/LB-ID"""
    head, _, path = listener_arn.partition(":listener/")
    return f"{head}:loadbalancer/{path.rsplit('/', 1)[0]}"


class Elbv2:
    def __init__(self, gw: Gateway, region: str):
        self.gw, self.region = gw, region

    # -- traffic ----------------------------------------------------------------------------------------------
    async def listener(self, arn: str) -> dict[str, Any] | None:
        resp = await self.gw.call("elbv2", self.region, "describe_listeners", ListenerArns=[arn])
        return (resp.get("Listeners") or [None])[0]

    async def traffic(self, listener_arn: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]],
                                                        dict[str, list[dict[str, Any]]]]:
        """Everything that forwards traffic on the configured listener's load balancer: (the configured listener
        or None when it does not exist, the balancer's other listeners, listener ARN -> its rules). One
        DescribeListeners for the balancer and one DescribeRules per listener."""
        try:
            listeners = await self._paged("describe_listeners", "Listeners", LoadBalancerArn=lb_arn_of(listener_arn))
        except AwsError as e:
            if e.code not in ("LoadBalancerNotFound", "ListenerNotFound"):
                raise
            return None, [], {}
        primary = next((li for li in listeners if li["ListenerArn"] == listener_arn), None)
        if primary is None:
            return None, [], {}
        rules = dict(zip([li["ListenerArn"] for li in listeners], await asyncio.gather(
            *(self._paged("describe_rules", "Rules", ListenerArn=li["ListenerArn"]) for li in listeners))))
        return primary, [li for li in listeners if li is not primary], rules

    async def traffic_model(self, listener_arn: str) -> Traffic | None:
        """The load balancer's traffic as one value (None when the configured listener does not exist)."""
        listener, others, rules = await self.traffic(listener_arn)
        return None if listener is None else traffic_of(listener_arn, [listener, *others], rules)

    async def _paged(self, operation: str, key: str, **params) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        async for page in self.gw.paginate("elbv2", self.region, operation, **params):
            out.extend(page.get(key, ()))
        return out

    async def forward(self, listener_arn: str, rule_arn: str | None = None) -> Forward:
        """The forward action of a listener's default action (``rule_arn`` None) or of one of its rules."""
        if rule_arn is None:
            resp = await self.gw.call("elbv2", self.region, "describe_listeners", ListenerArns=[listener_arn])
            listener = (resp.get("Listeners") or [None])[0]
            forwards = forwards_of_listener(listener) if listener else []
        else:
            resp = await self.gw.call("elbv2", self.region, "describe_rules", RuleArns=[rule_arn])
            forwards = forwards_of_rules(listener_arn, resp.get("Rules") or [])
        if not forwards:
            raise FleetError(f"{rule_arn or listener_arn} has no forward action")
        return forwards[0]

    async def write(self, fwd: Forward) -> None:
        """Send ``fwd``'s target groups and weights to AWS: the listener's default action or its rule."""
        if fwd.is_default:
            await self.gw.call("elbv2", self.region, "modify_listener", ListenerArn=fwd.listener_arn, DefaultActions=[fwd.action()])
        else:
            await self.gw.call("elbv2", self.region, "modify_rule", RuleArn=fwd.rule_arn, Actions=[fwd.action()])

    # -- target groups ----------------------------------------------------------------------------------------
    async def target_health(self, arn: str) -> dict[str, str]:
        """instance id -> target state (healthy, unhealthy, draining, unused, initial…)."""
        resp = await self.gw.call("elbv2", self.region, "describe_target_health", TargetGroupArn=arn)
        return {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in resp.get("TargetHealthDescriptions", ())}

    async def target_health_of(self, arn: str, instance_id: str) -> dict[str, Any] | None:
        """One host's TargetHealth in target group ``arn`` (State, and when not healthy Reason and Description,
        e.g. ``Target.FailedHealthChecks``), or None when AWS lists nothing for it."""
        resp = await self.gw.call("elbv2", self.region, "describe_target_health", TargetGroupArn=arn,
                                  Targets=[{"Id": instance_id}])
        return next((d.get("TargetHealth") or {} for d in resp.get("TargetHealthDescriptions", ())
                     if d["Target"]["Id"] == instance_id), None)

    async def targets(self, arn: str) -> list[dict[str, Any]]:
        resp = await self.gw.call("elbv2", self.region, "describe_target_health", TargetGroupArn=arn)
        return list(resp.get("TargetHealthDescriptions", ()))

    async def tags(self, arns: list[str]) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}

        async def one(chunk: list[str]) -> None:
            resp = await self.gw.call("elbv2", self.region, "describe_tags", ResourceArns=chunk)
            for d in resp.get("TagDescriptions", ()):
                out[d["ResourceArn"]] = {t["Key"]: t["Value"] for t in d.get("Tags", ())}

        await asyncio.gather(*(one(c) for c in chunks(arns, 20)))
        return out

    async def add_tags(self, arn: str, tags: dict[str, str]) -> None:
        await self.gw.call("elbv2", self.region, "add_tags", ResourceArns=[arn], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])

    async def remove_tags(self, arn: str, keys: list[str]) -> None:
        await self.gw.call("elbv2", self.region, "remove_tags", ResourceArns=[arn], TagKeys=keys)

    async def target_group_arn(self, name: str) -> str | None:
        try:
            resp = await self.gw.call("elbv2", self.region, "describe_target_groups", Names=[name])
        except AwsError as e:
            if e.code not in NOT_FOUND:
                raise
            return None
        return resp["TargetGroups"][0]["TargetGroupArn"] if resp.get("TargetGroups") else None

    async def target_group_arns(self, names: list[str]) -> list[str]:
        resp = await self.gw.call("elbv2", self.region, "describe_target_groups", Names=names)
        return [g["TargetGroupArn"] for g in resp["TargetGroups"]]

    async def create_target_group(self, name: str, copy_from: str, tags: dict[str, str]) -> tuple[str, bool]:
        """(ARN, reused): the group named ``name``, created with ``copy_from``'s settings unless it exists."""
        existing = await self.target_group_arn(name)
        if existing:
            return existing, True
        src = (await self.gw.call("elbv2", self.region, "describe_target_groups", TargetGroupArns=[copy_from]))["TargetGroups"][0]
        settings = {k: src[k] for k in TG_SETTINGS if src.get(k) is not None}
        try:
            resp = await self.gw.call("elbv2", self.region, "create_target_group", Name=name,
                                    Tags=[{"Key": k, "Value": v} for k, v in tags.items()], **settings)
        except AwsError as e:
            # the call went through but its response was lost, and botocore's retry found the name taken
            # (AWS itself answers a repeat with the same settings with the same group; emulators do not)
            if e.code != "DuplicateTargetGroupName":
                raise
            existing = await self.target_group_arn(name)
            if existing is None:
                raise
            return existing, True
        return resp["TargetGroups"][0]["TargetGroupArn"], False

    async def delete_target_group(self, arn: str) -> None:
        try:
            await self.gw.call("elbv2", self.region, "delete_target_group", TargetGroupArn=arn)
        except AwsError as e:
            if e.code not in NOT_FOUND:
                raise

    async def register(self, arn: str, ids: list[str]) -> None:
        await self.gw.call("elbv2", self.region, "register_targets", TargetGroupArn=arn, Targets=[{"Id": i} for i in ids])

    async def deregister(self, arn: str, targets: list[dict[str, Any]]) -> None:
        try:
            await self.gw.call("elbv2", self.region, "deregister_targets", TargetGroupArn=arn, Targets=targets)
        except AwsError as e:
            # a retry after a lost response: the targets are already gone (AWS accepts the repeat, emulators
            # answer InvalidTarget); the caller reads back what is really there
            if e.code != "InvalidTarget":
                raise

    async def wait_in_service(self, arn: str, ids: list[str], *, delay: float, timeout: float) -> None:
        await self.gw.wait("elbv2", self.region, "target_in_service", TargetGroupArn=arn,
                           Targets=[{"Id": i} for i in ids], delay=delay, timeout=timeout)
