"""Raw AWS descriptions -> immutable Snapshot (grouping, weights, roles, drift and age findings). Pure."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from fleettui.config import ServiceConfig
from fleettui.domain import rules
from fleettui.domain.asg import is_generation_group, parse_group, retention
from fleettui.domain.traffic import traffic_of
from fleettui.domain.model import (
    DAY, AsgGroup, Generation, Image, Instance, LaunchTemplateVersion, Role, Service, Snapshot, freeze_tags,
)


@dataclass
class RawService:
    """What the inventory fetched for one service (AWS response dicts, unmodified)."""

    config: ServiceConfig
    instances: list[dict[str, Any]] = field(default_factory=list)       # EC2 Instance dicts + "_region"
    images: dict[str, dict[str, Any]] = field(default_factory=dict)     # image id -> DescribeImages item
    lt_versions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # region -> LT version items
    listener: dict[str, Any] | None = None                              # DescribeListeners item (configured)
    listeners: list[dict[str, Any]] = field(default_factory=list)       # the load balancer's other listeners
    rules: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # listener ARN -> DescribeRules items
    target_groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    # ^ arn -> {"name": str, "tags": {k: v}, "health": {instance_id: state}}
    asg_health: dict[str, str] = field(default_factory=dict)            # instance id -> "Healthy"/"Unhealthy"
    asg_groups: list[dict[str, Any]] = field(default_factory=list)      # DescribeAutoScalingGroups items + "_region"
    warnings: list[str] = field(default_factory=list)


SERVICE_TAG = "fleettui:service"     # on a target group: the service whose generation it carries


def _tags(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or ()}


def _as_dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _profile_name(arn_or_name: str | None) -> str | None:
    if not arn_or_name:
        return None
    return arn_or_name.rsplit("/", 1)[-1]


def parse_image(image_id: str, raw: dict[str, Any] | None, version_tag: str, now: datetime) -> Image:
    if raw is None:
        return Image(id=image_id, name=None, version=image_id, created=None, state="missing")
    tags = _tags(raw.get("Tags"))
    dep = _as_dt(raw.get("DeprecationTime"))
    return Image(
        id=image_id,
        name=raw.get("Name"),
        version=tags.get(version_tag) or raw.get("Name") or image_id,
        created=_as_dt(raw.get("CreationDate")),
        state=raw.get("State", "available"),
        deprecated=dep is not None and dep <= now,
        deprecation_time=dep,
    )


def parse_lt_version(raw: dict[str, Any]) -> LaunchTemplateVersion:
    data = raw.get("LaunchTemplateData") or {}
    sgs = set(data.get("SecurityGroupIds") or ())
    subnet = None
    for nic in data.get("NetworkInterfaces") or ():
        sgs.update(nic.get("Groups") or ())
        subnet = subnet or nic.get("SubnetId")
    profile = data.get("IamInstanceProfile") or {}
    return LaunchTemplateVersion(
        template_id=raw["LaunchTemplateId"],
        template_name=raw.get("LaunchTemplateName", ""),
        version=int(raw["VersionNumber"]),
        image_id=data.get("ImageId"),
        instance_type=data.get("InstanceType"),
        security_group_ids=frozenset(sgs),
        iam_instance_profile=_profile_name(profile.get("Name") or profile.get("Arn")),
        subnet_id=subnet,
        is_default=bool(raw.get("DefaultVersion")),
    )


def declared_version(cfg: ServiceConfig, versions: list[LaunchTemplateVersion]) -> LaunchTemplateVersion | None:
    if not versions:
        return None
    want = cfg.launch_template_version
    if want == "$Latest":
        return max(versions, key=lambda v: v.version)
    if want == "$Default":
        return next((v for v in versions if v.is_default), max(versions, key=lambda v: v.version))
    return next((v for v in versions if v.version == int(want)), None)


def build_service(raw: RawService, now: datetime) -> Service:
    cfg = raw.config
    # launch templates are regional: same name, other ids and images per region
    lts = {region: [parse_lt_version(v) for v in items] for region, items in raw.lt_versions.items()}
    declared = {region: declared_version(cfg, versions) for region, versions in lts.items()}
    warnings = list(raw.warnings)
    if cfg.launch_template:
        for region in cfg.regions:
            if not lts.get(region):
                warnings.append(f"launch template {cfg.launch_template!r} not found in {region}")
            elif declared.get(region) is None:
                warnings.append(f"launch template {cfg.launch_template!r} has no version "
                                f"{cfg.launch_template_version} in {region}")

    def launched_from(region: str, lt_id: str | None, lt_ver: str | None) -> LaunchTemplateVersion | None:
        if not lt_id or not (lt_ver or "").isdigit():
            return None
        return next((v for v in lts.get(region, ()) if v.template_id == lt_id and v.version == int(lt_ver)), None)

    def expected_lt(region: str, image_id: str) -> int | None:
        """The LT version that should produce hosts of this image: the declared one if it does, else the newest."""
        d = declared.get(region)
        if d and d.image_id == image_id:
            return d.version
        matching = [v.version for v in lts.get(region, ()) if v.image_id == image_id]
        return max(matching) if matching else None

    tg_of_instance: dict[str, list[str]] = defaultdict(list)
    health_of_instance: dict[str, str] = {}
    for arn, tg in raw.target_groups.items():
        for iid, state in tg["health"].items():
            tg_of_instance[iid].append(arn)
            # an instance in several groups reports its worst state
            if health_of_instance.get(iid) in (None, "healthy"):
                health_of_instance[iid] = state

    images: dict[str, Image] = {}
    per_version: dict[str, list[Instance]] = defaultdict(list)
    for r in raw.instances:
        image_id = r.get("ImageId", "")
        if image_id not in images:
            images[image_id] = parse_image(image_id, raw.images.get(image_id), cfg.version_tag, now)
        image = images[image_id]
        tags = _tags(r.get("Tags"))
        lt_id = tags.get("aws:ec2launchtemplate:id")
        lt_ver = tags.get("aws:ec2launchtemplate:version")
        launch_time = _as_dt(r["LaunchTime"])
        age_s = max(0.0, (now - launch_time).total_seconds())
        iid = r["InstanceId"]
        asg = tags.get("aws:autoscaling:groupName")
        if iid in health_of_instance:
            health = health_of_instance[iid]
        elif raw.listener is not None:
            health = "unregistered"   # behind a listener but in none of its target groups: takes no traffic
        elif asg and iid in raw.asg_health:
            health = raw.asg_health[iid].lower()
        else:
            health = "n/a"
        per_version[image.version].append(Instance(
            id=iid,
            region=r["_region"],
            az=(r.get("Placement") or {}).get("AvailabilityZone", ""),
            type=r.get("InstanceType", ""),
            state=(r.get("State") or {}).get("Name", "unknown"),
            launch_time=launch_time,
            age_days=age_s / DAY,
            image_id=image_id,
            subnet_id=r.get("SubnetId"),
            security_group_ids=frozenset(g["GroupId"] for g in r.get("SecurityGroups") or ()),
            iam_instance_profile=_profile_name((r.get("IamInstanceProfile") or {}).get("Arn")),
            tags=freeze_tags(tags),
            launch_template_id=lt_id,
            launch_template_version=lt_ver,
            asg=asg,
            health=health,
            target_groups=tuple(tg_of_instance.get(iid, ())),
            private_ip=r.get("PrivateIpAddress"),
        ))

    traffic = None
    if raw.listener is not None:
        traffic = traffic_of(raw.listener.get("ListenerArn", ""), [raw.listener, *raw.listeners],
                             raw.rules)
    tg_version: dict[str, str] = {}
    for arn in traffic.target_groups if traffic else ():
        tg = raw.target_groups.get(arn)
        if tg is None:
            continue
        owner = tg["tags"].get(SERVICE_TAG)
        if owner is not None and owner != cfg.name:
            continue          # another service's group behind the same load balancer
        tag = tg["tags"].get(cfg.generation_tag)
        if tag:
            tg_version[arn] = tag
            continue
        # fallback: the version most of its registered targets run
        votes = Counter(i.image_id for insts in per_version.values() for i in insts if i.id in tg["health"])
        if votes:
            tg_version[arn] = images[votes.most_common(1)[0][0]].version
    primary = traffic.primary if traffic else None
    for fwd in traffic.forwards if traffic else ():
        for arn, w in fwd.groups:
            if w and arn in tg_version and tg_version[arn] not in per_version:
                name = raw.target_groups.get(arn, {}).get("name", arn)
                where = "listener" if fwd is primary else fwd.where
                warnings.append(f"{where} sends weight {w} to target group {name} which has no instances")
            elif w and fwd is primary and arn not in tg_version and raw.target_groups.get(arn) is not None \
                    and raw.target_groups[arn]["tags"].get(SERVICE_TAG) in (None, cfg.name):
                name = raw.target_groups[arn]["name"]
                warnings.append(f"listener sends weight {w} to target group {name} which has no instances")

    groups: dict[str, AsgGroup] = {}      # version -> its own Auto Scaling group (the listener's region first)
    for g in sorted(raw.asg_groups, key=lambda g: (g["_region"] != cfg.listener_region, g["AutoScalingGroupName"])):
        gtags = _tags(g.get("Tags"))
        if is_generation_group(gtags, dict(cfg.selector), cfg.generation_tag):
            groups.setdefault(gtags[cfg.generation_tag], parse_group(g, g["_region"]))

    generations: list[Generation] = []
    for version, group in groups.items():
        if version in per_version:
            continue
        # a cold generation (its group scaled to 0): its image is the one of its pinned launch template version
        ltv = next((v for v in lts.get(group.region, ()) if str(v.version) == str(group.launch_template_version)),
                   None)
        image_id = (ltv.image_id if ltv else None) or ""
        image = images.get(image_id) or parse_image(image_id, raw.images.get(image_id), cfg.version_tag, now)
        arns = tuple(a for a, v in tg_version.items() if v == version) or tuple(
            a for a in group.target_group_arns if traffic is not None and a in traffic.target_groups)
        weight = (primary.percent(arns) if primary else 0.0) if traffic is not None else None
        other = [(f.where, f.percent(arns)) for f in traffic.forwards
                 if f is not primary and f.percent(arns) > 0] if traffic is not None else []
        generations.append(Generation(
            service=cfg.name, version=version, image=image, instances=(), weight=weight, target_group_arns=arns,
            other_traffic=tuple(other), launch_template_version=ltv.version if ltv else None, group=group))
    for version, insts in per_version.items():
        # a generation's image: the one most of its hosts run (drifted hosts may run another)
        image = images[Counter(i.image_id for i in insts).most_common(1)[0][0]]
        expected = {region: expected_lt(region, _regional_image(insts, region)) for region in {i.region for i in insts}}
        finished = []
        for inst in insts:
            exp = expected[inst.region]
            findings = rules.drift_findings(
                instance_type=inst.type,
                image_id=inst.image_id,
                security_group_ids=inst.security_group_ids,
                iam_instance_profile=inst.iam_instance_profile,
                subnet_id=inst.subnet_id,
                tags=dict(inst.tags),
                launched_from=launched_from(inst.region, inst.launch_template_id, inst.launch_template_version),
                launch_template_version=inst.launch_template_version,
                expected_lt_version=exp,
                declared_template=cfg.launch_template,
                image=images[inst.image_id],
                required_tags=cfg.required_tags,
            ) + rules.age_findings(inst.age_days * DAY, cfg.warn_age_s, cfg.max_age_s)
            finished.append(replace(inst, findings=tuple(findings), expected_launch_template_version=exp))
        finished.sort(key=lambda i: (-i.age_days, i.id))
        arns = tuple(a for a, v in tg_version.items() if v == version)
        weight = None
        other: list[tuple[str, float]] = []
        if traffic is not None:
            weight = primary.percent(arns) if primary else 0.0
            other = [(f.where, f.percent(arns)) for f in traffic.forwards
                     if f is not primary and f.percent(arns) > 0]
        generations.append(Generation(
            service=cfg.name, version=version, image=image, instances=tuple(finished), weight=weight,
            target_group_arns=arns, other_traffic=tuple(other),
            launch_template_version=expected.get(cfg.listener_region or "", next(iter(expected.values()))),
            group=groups.get(version),
        ))

    generations.sort(key=lambda g: (g.image.created or datetime.min.replace(tzinfo=now.tzinfo), g.version))
    generations = _assign_roles(generations)
    svc = Service(
        name=cfg.name,
        regions=cfg.regions,
        generations=tuple(generations),
        listener_arn=cfg.listener_arn,
        declared_launch_template_version=next((d.version for d in declared.values() if d), None),
        declared_image_id=next((d.image_id for d in declared.values() if d), None),
        warnings=tuple(warnings),
        traffic=traffic,
    )
    if groups:      # keep_warm / keep: what to cool or decommission (on request: nothing happens by itself)
        kept = retention(svc, cfg.keep_warm, cfg.keep)
        hints = [f"{v} is beyond keep_warm = {cfg.keep_warm}: `fleettui resize {cfg.name} {v} --desired 0` cools it"
                 for v in kept.cool]
        hints += [f"{v} is beyond keep = {cfg.keep}: `fleettui decommission {cfg.name} {v}`" for v in kept.decommission]
        svc = replace(svc, warnings=svc.warnings + tuple(hints))
    return svc


def _regional_image(insts: list[Instance], region: str) -> str:
    """The image most hosts of a generation run in one region (AMIs are regional)."""
    return Counter(i.image_id for i in insts if i.region == region).most_common(1)[0][0]


def _assign_roles(gens: list[Generation]) -> list[Generation]:
    """live = the most weight on the listener's default action (ties: newest; without a listener: most running
    hosts); canary = newer than live and receiving traffic; rollback target = where rollback would send traffic
    (see Service.rollback_target) when it is not live already; everything else idle."""
    if not gens:
        return gens
    has_listener = any(g.weight is not None for g in gens)
    if has_listener:
        key = lambda ig: (ig[1].weight or 0, ig[0])  # noqa: E731
    else:
        key = lambda ig: (sum(1 for i in ig[1].instances if i.state == "running"), ig[0])  # noqa: E731
    live_idx, live = max(enumerate(gens), key=key)
    if has_listener and not live.weight:
        live_idx = -1  # no generation takes traffic on the default action: nothing is live
    roles = [Role.LIVE if idx == live_idx else
             Role.CANARY if live_idx >= 0 and idx > live_idx and g.receives_traffic else Role.IDLE
             for idx, g in enumerate(gens)]
    gens = [replace(g, role=r) for g, r in zip(gens, roles)]
    probe = Service(name="", regions=(), generations=tuple(gens), listener_arn="x" if has_listener else None)
    target = probe.rollback_target
    return [replace(g, role=Role.ROLLBACK_TARGET) if g is target and g.role is Role.IDLE else g for g in gens]


def build_snapshot(raws: list[RawService], *, now: datetime, regions: tuple[str, ...], profile: str | None = None,
                   account: str | None = None, caller_arn: str | None = None,
                   errors: tuple[str, ...] = ()) -> Snapshot:
    return Snapshot(
        generated_at=now, regions=regions, services=tuple(build_service(r, now) for r in raws),
        profile=profile, account=account, caller_arn=caller_arn, errors=errors,
    )
