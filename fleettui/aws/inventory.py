"""Fetch the fleet concurrently (per service and region) and build an immutable Snapshot.

Requests per refresh: per region one paginated DescribeInstances for all services whose selectors differ in one
tag's value (1000 per page, exact server-side tag filters; see ``_instance_queries``); per service and region
one DescribeLaunchTemplateVersions; per region DescribeImages (chunks of 100 ids) and
DescribeAutoScalingGroups (chunks of 50 names; per ``kind = "asg"`` service and region one more, by tag, which also
finds its generations' groups at 0); per load balancer DescribeListeners and one DescribeRules per listener,
DescribeTags and one DescribeTargetHealth per target group; one GetCallerIdentity per gateway.
No per-instance calls.

One region that cannot be read does not hide the others: each per-region call that fails records one error for its
region (:class:`RegionErrors`) and the snapshot is built from the regions that answered, with
``Snapshot.errors`` naming each region that did not. Only when no region answered does the refresh fail.
"""
from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

from fleettui.aws.autoscaling import AutoScaling, health_of
from fleettui.aws.ec2 import Ec2
from fleettui.aws.elbv2 import Elbv2, region_of, tg_name_of
from fleettui.aws.gateway import Gateway
from fleettui.config import Config, ServiceConfig
from fleettui.domain.build import RawService, build_snapshot
from fleettui.domain.model import RegionError, Snapshot
from fleettui.domain.traffic import traffic_of
from fleettui.errors import AwsError

MAX_FILTER_VALUES = 200     # values per EC2 filter


async def gather(*coros):
    """Run concurrently; on the first failure cancel the rest and raise that failure (not an ExceptionGroup)."""
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(c) for c in coros]
    except BaseExceptionGroup as eg:
        first = eg.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
    return [t.result() for t in tasks]


class RegionErrors:
    """The first failure of each region in one refresh; later calls to a failed region are skipped."""

    def __init__(self) -> None:
        self.failed: dict[str, AwsError] = {}
        self.tried: set[str] = set()

    async def guard(self, region: str, coro, default=None):
        self.tried.add(region)
        if region in self.failed:
            coro.close()
            return default
        try:
            return await coro
        except AwsError as e:
            self.failed.setdefault(region, e)
            return default


async def _listeners(gw: Gateway, raw: RawService) -> None:
    """The service's load balancer: its listeners and rules (all traffic), and every target group they forward
    to, with tags and target health."""
    arn = raw.config.listener_arn
    elb = Elbv2(gw, region_of(arn))
    raw.listener, raw.listeners, raw.rules = await elb.traffic(arn)
    if raw.listener is None:
        raw.warnings.append(f"listener {arn} not found")
        return
    arns = list(traffic_of(arn, [raw.listener, *raw.listeners], raw.rules).target_groups)
    groups: dict[str, dict[str, Any]] = {a: {"name": tg_name_of(a), "tags": {}, "health": {}} for a in arns}
    raw.target_groups = groups
    if not arns:
        return

    async def health(a: str) -> None:
        groups[a]["health"] = await elb.target_health(a)

    async def tags() -> None:
        for a, t in (await elb.tags(arns)).items():
            groups[a]["tags"] = t

    await gather(*(health(a) for a in arns), tags())


def _instance_queries(wanted: list[ServiceConfig]) -> list[tuple[str, list[dict], list[int]]]:
    """Plan the DescribeInstances calls of a refresh: (region, tag filters, indexes of the services it serves).

    Services of one region whose selectors have the same tag keys and agree on all of them but one share a call
    (``tag:<that key>`` lists each service's value), so that a refresh costs ~ceil(hosts / 1000) calls per region
    rather than one per service and region. The filters stay exact: no host outside those services is fetched.
    A service with a wildcard (``*``/``?``) in its selector keeps a call of its own."""
    per_region: dict[str, list[int]] = defaultdict(list)
    for idx, svc in enumerate(wanted):
        for region in svc.regions:
            per_region[region].append(idx)
    plans: list[tuple[str, list[dict], list[int]]] = []
    for region, idxs in per_region.items():
        by_keys: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for idx in idxs:
            sel = wanted[idx].selector
            if any(c in v for _, v in sel for c in "*?"):
                plans.append((region, [{"Name": f"tag:{k}", "Values": [v]} for k, v in sel], [idx]))
            else:
                by_keys[tuple(sorted(k for k, _ in sel))].append(idx)
        for keys, members in by_keys.items():
            sels = {idx: dict(wanted[idx].selector) for idx in members}
            # the key whose value differs most between the services varies; all others must be equal
            vary = max(keys, key=lambda k: len({sel[k] for sel in sels.values()}), default=None)
            groups: dict[tuple, list[int]] = defaultdict(list)
            for idx, sel in sels.items():
                groups[tuple((k, sel[k]) for k in keys if k != vary)].append(idx)
            for fixed, group in groups.items():
                values = sorted({sels[idx][vary] for idx in group}) if vary else []
                for start in range(0, max(1, len(values)), MAX_FILTER_VALUES):
                    chunk = values[start:start + MAX_FILTER_VALUES]
                    filters = [{"Name": f"tag:{k}", "Values": [v]} for k, v in fixed]
                    if vary:
                        filters.append({"Name": f"tag:{vary}", "Values": chunk})
                    plans.append((region, filters, [i for i in group if not vary or sels[i][vary] in chunk]))
    return plans


async def _fetch_instances(gw: Gateway, wanted: list[ServiceConfig],
                           regions: RegionErrors) -> list[dict[str, list[dict[str, Any]]]]:
    """The hosts of each wanted service by region: the planned DescribeInstances calls, all concurrent."""
    out: list[dict[str, list[dict[str, Any]]]] = [defaultdict(list) for _ in wanted]

    async def run(region: str, filters: list[dict], members: list[int]) -> None:
        insts = await regions.guard(region, Ec2(gw, region).instances(filters), [])
        if len(members) == 1:
            out[members[0]][region].extend(insts)
            return
        selectors = [(idx, wanted[idx].selector) for idx in members]
        for inst in insts:
            tags = {t["Key"]: t["Value"] for t in inst.get("Tags") or ()}
            for idx, sel in selectors:
                if all(tags.get(k) == v for k, v in sel):
                    out[idx][region].append(inst)

    await gather(*(run(*plan) for plan in _instance_queries(wanted)))
    return out


async def _fetch_service(gw: Gateway, svc: ServiceConfig, regions: RegionErrors) -> RawService:
    """Everything of one service but its hosts (fetched per region for all services: :func:`_fetch_instances`)."""
    raw = RawService(config=svc)

    async def per_region(region: str) -> None:
        raw.lt_versions[region] = (await regions.guard(region, Ec2(gw, region).launch_template_versions(
            svc.launch_template), []) if svc.launch_template else [])
        if svc.kind == "asg":   # its generation groups, the cold ones (no hosts) included
            groups = await regions.guard(region, AutoScaling(gw, region).groups(
                tags=dict(svc.selector), tag_keys=[svc.generation_tag]), [])
            raw.asg_groups.extend({**g, "_region": region} for g in groups)

    jobs = [per_region(r) for r in svc.regions]

    if svc.listener_arn:
        jobs.append(regions.guard(region_of(svc.listener_arn), _listeners(gw, raw)))
    await gather(*jobs)
    if svc.launch_template and svc.launch_template.startswith("lt-"):
        # an id names a template in one region: elsewhere the template of the same name is the service's
        name = next((v.get("LaunchTemplateName") for vs in raw.lt_versions.values() for v in vs), None)
        missing = [r for r in svc.regions if not raw.lt_versions.get(r)]
        if name and missing:
            found = await gather(*(Ec2(gw, r).launch_template_versions(name) for r in missing))
            raw.lt_versions.update(zip(missing, found))
    return raw


async def _groups_by_name(gw: Gateway, region: str, names: list[str]) -> list[dict[str, Any]]:
    return [{**g, "_region": region} for g in await AutoScaling(gw, region).groups(names)]


def group_images(raw: RawService) -> list[tuple[str, str]]:
    """(region, image id) of the launch template version each generation group of the service is pinned to."""
    out = []
    for g in raw.asg_groups:
        lt = g.get("LaunchTemplate") or {}
        for v in raw.lt_versions.get(g["_region"], ()):
            if v["LaunchTemplateId"] == lt.get("LaunchTemplateId") and str(v["VersionNumber"]) == str(lt.get("Version")):
                image = (v.get("LaunchTemplateData") or {}).get("ImageId")
                if image:
                    out.append((g["_region"], image))
    return out


async def fetch_snapshot(gw: Gateway, config: Config, services: list[str] | None = None,
                         now: datetime | None = None) -> Snapshot:
    """One full refresh. Raises AwsError (one line) when AWS cannot be read at all (no region answered)."""
    wanted = [s for s in config.services if services is None or s.name in services]
    region0 = (config.regions or ("us-east-1",))[0]

    async def identity() -> dict[str, Any]:
        try:
            return await gw.caller_identity(region0)
        except AwsError:
            return {}  # shown as "unknown account"; the inventory calls report real problems

    regions = RegionErrors()
    ident, hosts, *raws = await gather(identity(), _fetch_instances(gw, wanted, regions),
                                       *(_fetch_service(gw, s, regions) for s in wanted))
    for raw, by_region in zip(raws, hosts):
        for region in raw.config.regions:
            raw.instances.extend(by_region.get(region, ()))

    # images and ASG health are fetched once per region for all services
    image_ids: dict[str, set[str]] = defaultdict(set)
    asg_names: dict[str, set[str]] = defaultdict(set)
    for raw in raws:
        for inst in raw.instances:
            image_ids[inst["_region"]].add(inst["ImageId"])
            for t in inst.get("Tags") or ():
                if t["Key"] == "aws:autoscaling:groupName":
                    asg_names[inst["_region"]].add(t["Value"])
        for region, image_id in group_images(raw):      # a cold generation's image: its pinned template version's
            image_ids[region].add(image_id)
    image_results, asg_results = await gather(
        gather(*(regions.guard(r, Ec2(gw, r).images(list(ids)), {}) for r, ids in image_ids.items())),
        gather(*(regions.guard(r, _groups_by_name(gw, r, list(n)), []) for r, n in asg_names.items())),
    )
    if regions.failed and not regions.tried - set(regions.failed):
        raise next(iter(regions.failed.values()))
    images: dict[str, dict[str, Any]] = {}
    for part in image_results:
        images.update(part)
    asg_health: dict[str, str] = {}
    named: list[dict[str, Any]] = []
    for part in asg_results:
        asg_health.update(health_of(part))
        named.extend(part)
    for raw in raws:
        raw.images = images
        raw.asg_health = asg_health
        known = {(g["_region"], g["AutoScalingGroupName"]) for g in raw.asg_groups}
        raw.asg_groups.extend(g for g in named if (g["_region"], g["AutoScalingGroupName"]) not in known
                              and g["_region"] in raw.config.regions)
    return build_snapshot(
        list(raws), now=now or datetime.now(timezone.utc), regions=config.regions, profile=config.aws.profile,
        account=ident.get("Account"), caller_arn=ident.get("Arn"),
        errors=tuple(RegionError(r, str(e)) for r, e in sorted(regions.failed.items())),
    )
