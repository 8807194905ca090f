"""Read an AWS account for `fleettui init`: everything a fleet is made of, per region, read-only, through the gateway.

Per region: DescribeInstances (every live host), DescribeAutoScalingGroups, DescribeLaunchTemplates and, per template,
DescribeLaunchTemplateVersions of its default version and of the versions its groups pin, DescribeImages of the
images hosts run and those versions name, DescribeLoadBalancers, DescribeListeners per load balancer, DescribeRules
per listener, DescribeTargetGroups, their DescribeTags and DescribeTargetHealth; once: GetCallerIdentity and
GetInstanceProfile per instance profile a default template version names. Without regions given: DescribeRegions.

Nothing here is fatal: a read that fails (access denied, a region down) is recorded as :class:`Unreadable` and the
scan goes on with what it could read. The interpretation is pure (:mod:`fleettui.domain.discovery`).
"""
from __future__ import annotations

import asyncio
from typing import Any

from fleettui.aws.autoscaling import AutoScaling
from fleettui.aws.ec2 import Ec2
from fleettui.aws.elbv2 import Elbv2
from fleettui.aws.gateway import Gateway
from fleettui.domain.discovery import RegionScan, Scan, Unreadable
from fleettui.errors import AwsError

DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")

# Partitions never mix: an account of one sees no region of the others (an emulator may list them all).
_PARTITION_PREFIXES = ("cn-", "us-gov-", "us-iso-", "us-isob-", "eu-isoe-", "us-isof-")


def _partition_of(region: str) -> str:
    return next((p for p in _PARTITION_PREFIXES if region.startswith(p)), "")


class _Reads:
    """Runs reads, recording each failure instead of raising it."""

    def __init__(self) -> None:
        self.unreadable: list[Unreadable] = []

    async def run(self, region: str | None, what: str, coro, default):
        try:
            return await coro
        except AwsError as e:
            self.unreadable.append(Unreadable(region=region, what=what, error=str(e)))
            return default


async def regions_of_account(gw: Gateway, region: str) -> list[str]:
    """The regions enabled for the account (DescribeRegions, asked in ``region``), of ``region``'s partition."""
    resp = await gw.call("ec2", region, "describe_regions")
    names = [r["RegionName"] for r in resp.get("Regions", ()) if r.get("OptInStatus") != "not-opted-in"]
    return sorted(n for n in names if _partition_of(n) == _partition_of(region))


async def _items(pages, key: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async for page in pages:
        out.extend(page.get(key, ()))
    return out


async def _scan_region(gw: Gateway, region: str, reads: _Reads) -> RegionScan:
    scan = RegionScan(region=region)
    ec2, elb = Ec2(gw, region), Elbv2(gw, region)

    async def load_balancers() -> None:
        scan.load_balancers = await reads.run(region, "elbv2:DescribeLoadBalancers", _items(
            gw.paginate("elbv2", region, "describe_load_balancers"), "LoadBalancers"), [])

        async def listeners_of(lb: dict[str, Any]) -> None:
            items = await reads.run(region, "elbv2:DescribeListeners", _items(gw.paginate(
                "elbv2", region, "describe_listeners", LoadBalancerArn=lb["LoadBalancerArn"]), "Listeners"), [])
            scan.listeners.extend(items)
            rules = await asyncio.gather(*(reads.run(region, "elbv2:DescribeRules", _items(gw.paginate(
                "elbv2", region, "describe_rules", ListenerArn=li["ListenerArn"]), "Rules"), []) for li in items))
            scan.rules.update({li["ListenerArn"]: r for li, r in zip(items, rules)})

        await asyncio.gather(*(listeners_of(lb) for lb in scan.load_balancers))

    async def target_groups() -> None:
        groups = await reads.run(region, "elbv2:DescribeTargetGroups", _items(
            gw.paginate("elbv2", region, "describe_target_groups"), "TargetGroups"), [])
        scan.target_groups = groups
        arns = [g["TargetGroupArn"] for g in groups]

        async def health(arn: str) -> None:
            scan.targets[arn] = await reads.run(region, "elbv2:DescribeTargetHealth", elb.target_health(arn), {})

        if arns:
            tags, *_ = await asyncio.gather(reads.run(region, "elbv2:DescribeTags", elb.tags(arns), {}),
                                            *(health(a) for a in arns))
            scan.target_group_tags = tags

    async def templates() -> None:
        scan.launch_templates = await reads.run(region, "ec2:DescribeLaunchTemplates", _items(
            gw.paginate("ec2", region, "describe_launch_templates"), "LaunchTemplates"), [])

    async def instances() -> None:
        scan.instances = await reads.run(region, "ec2:DescribeInstances", ec2.instances([]), [])

    async def groups() -> None:
        scan.groups = await reads.run(region, "autoscaling:DescribeAutoScalingGroups",
                                      AutoScaling(gw, region).groups(tags={}), [])

    await asyncio.gather(load_balancers(), target_groups(), templates(), instances(), groups())

    # the versions that matter: each template's default, and every version a group pins
    pinned: dict[str, set[str]] = {t["LaunchTemplateId"]: {"$Default"} for t in scan.launch_templates}
    by_name = {t["LaunchTemplateName"]: t["LaunchTemplateId"] for t in scan.launch_templates}
    for g in scan.groups:
        spec = RegionScan.group_template(g)
        lt_id = spec.get("LaunchTemplateId") or by_name.get(spec.get("LaunchTemplateName", ""))
        version = str(spec.get("Version") or "")
        if lt_id in pinned and version.isdigit():
            pinned[lt_id].add(version)

    async def versions(lt_id: str, wanted: set[str]) -> None:
        scan.lt_versions[lt_id] = await reads.run(region, "ec2:DescribeLaunchTemplateVersions",
                                                  ec2.launch_template_versions(lt_id, sorted(wanted)), [])

    await asyncio.gather(*(versions(lt_id, wanted) for lt_id, wanted in pinned.items()))
    image_ids = {i["ImageId"] for i in scan.instances if i.get("ImageId")}
    image_ids |= {(v.get("LaunchTemplateData") or {}).get("ImageId") for vs in scan.lt_versions.values() for v in vs}
    image_ids.discard(None)
    if image_ids:
        scan.images = await reads.run(region, "ec2:DescribeImages", ec2.images(sorted(image_ids)), {})
    return scan


async def _instance_profiles(gw: Gateway, region: str, names: set[str], reads: _Reads) -> dict[str, list[str]]:
    """instance profile name -> its role names (IAM is global: asked once, in ``region``)."""
    async def one(name: str) -> tuple[str, list[str] | None]:
        resp = await reads.run(None, "iam:GetInstanceProfile", gw.call(
            "iam", region, "get_instance_profile", InstanceProfileName=name), None)
        if resp is None:
            return name, None
        return name, [r["RoleName"] for r in (resp.get("InstanceProfile") or {}).get("Roles", ())]

    found = await asyncio.gather(*(one(n) for n in sorted(names)))
    return {name: roles for name, roles in found if roles is not None}


async def scan_account(gw: Gateway, regions: list[str] | tuple[str, ...] | None, home_region: str) -> Scan:
    """Read the account in ``regions`` (None: every enabled region, from DescribeRegions asked in ``home_region``; only
    ``home_region`` when that is denied). Raises AwsError only when DescribeRegions fails otherwise (no answer, no
    credentials); every other failure is an :class:`Unreadable`."""
    reads = _Reads()
    if not regions:
        try:
            regions = await regions_of_account(gw, home_region)
        except AwsError as e:
            if e.code not in DENIED:
                raise           # no answer, no credentials: there is no account to read
            reads.unreadable.append(Unreadable(region=home_region, what="ec2:DescribeRegions", error=str(e)))
            regions = [home_region]
    regions = list(dict.fromkeys(regions))
    ident, *scans = await asyncio.gather(
        reads.run(None, "sts:GetCallerIdentity", gw.caller_identity(regions[0]), {}),
        *(_scan_region(gw, r, reads) for r in regions))
    profiles = {p for s in scans for p in s.default_profiles()}
    roles = await _instance_profiles(gw, regions[0], profiles, reads) if profiles else {}
    return Scan(regions=tuple(regions), account=ident.get("Account"), caller_arn=ident.get("Arn"),
                region_scans=tuple(scans), profile_roles=roles, unreadable=tuple(reads.unreadable))
