"""launch generation: create (or reuse) the new version's target group, launch its hosts from a launch
template version, wait healthy, add it to the listener at weight 0."""
from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from fleettui.actions.planning import (
    PlanError, current_weights, host_name_prefix, new_host_tags, require_tags, service_of, stamp, step, tg_name,
)
from fleettui.actions.verbs.base import Intent, Verb
from fleettui.aws.autoscaling import AutoScaling
from fleettui.aws.ec2 import Ec2, templates_by_region
from fleettui.config import ServiceConfig
from fleettui.domain.history import PlanRecord, PlanStatus
from fleettui.domain.plan import Plan, Step, new_plan_id
from fleettui.domain.asg import Sizes, group_name, is_asg_service, new_group_sizes
from fleettui.domain.model import Service, Snapshot
from fleettui.errors import AwsError
from fleettui.format import format_age


@dataclass(frozen=True)
class Launch(Intent):
    verb = "launch"
    lt_version: int | None = None        # launch template version (default: declared)
    count: int | None = None             # hosts (default: size of the live generation)


@dataclass(frozen=True)
class LaunchTarget:
    """What a new generation is launched from (resolved by the action layer before planning)."""

    version: str
    image_id: str
    launch_template_version: int
    region: str
    count: int
    template_target_group: str | None    # an existing TG to copy port/protocol/VPC/health check from
    subnets: tuple[str, ...] = ()
    launch_template: str | None = None   # the template (by name) in ``region`` (default: the configured one)
    group_sizes: tuple[int, int, int] | None = None   # min, max, desired of its own Auto Scaling group
    shared_group: str | None = None      # the one Auto Scaling group the live hosts are in (not a generation's own)


RECENT_S = 7 * 86400     # a decommission this recent is recalled when launching the same version again


def decommissioned(records: Iterable[PlanRecord], service: str, version: str, now: datetime | None = None,
                   within_s: float = RECENT_S) -> str | None:
    """One sentence when the journal holds a decommission of ``service`` ``version`` started within ``within_s``
    (the newest): launching that version again is then most likely a mistake (e.g. the launch template's default
    still names the bad version). None otherwise. For the TUI's launch dialog and the launch plan's warnings."""
    now = now or datetime.now(timezone.utc)
    newest: PlanRecord | None = None
    for rec in records:
        p = rec.plan
        if p.verb != "decommission" or p.service != service or p.generation != version:
            continue
        try:
            created = datetime.fromisoformat(rec.created.replace("Z", "+00:00"))
            ago_s = (now - created).total_seconds()
        except (ValueError, TypeError):       # not a time, or one without a zone (not ours)
            continue
        if ago_s <= within_s and (newest is None or rec.created >= newest.created):
            newest = rec
    if newest is None:
        return None
    ago = format_age(max(0.0, (now - datetime.fromisoformat(newest.created.replace("Z", "+00:00"))).total_seconds()) / 86400)
    done = "was decommissioned" if newest.status == PlanStatus.SUCCEEDED else f"has a {newest.status} decommission"
    why = f": {newest.reason}" if newest.reason else ""
    return f"{service} {version} {done} {ago} ago (plan {newest.plan.id} by {newest.who}{why})"


def plan_launch(snapshot: Snapshot, cfg: ServiceConfig, target: LaunchTarget, reason: str = "",
                history: str | None = None) -> Plan:
    """``history``: what the journal says about this version (:func:`decommissioned`), shown as a warning."""
    svc = service_of(snapshot, cfg)
    if svc.generation(target.version) is not None:
        raise PlanError(f"{svc.name} already runs generation {target.version}; replace hosts or shift weights")
    if target.count < 1:
        raise PlanError(f"--count must be at least 1 (got {target.count})")
    if is_asg_service(svc, cfg.kind):
        return plan_asg_launch(svc, cfg, target, history)
    region = target.region
    template = target.launch_template or cfg.launch_template
    steps: list[Step] = []
    n = 0
    name = tg_name(cfg, target.version)
    if cfg.listener_arn:
        if not target.template_target_group:
            raise PlanError(f"{svc.name} has no target group to copy settings from")
        n += 1
        steps.append(step(n, "create_target_group", region, f"create target group {name}",
                          name=name, copy_from=target.template_target_group,
                          tags={"fleettui:service": svc.name, cfg.generation_tag: target.version}))
    n += 1
    launch_id = f"s{n}"
    peers = list(svc.live.instances if svc.live else svc.instances)
    tags = new_host_tags(cfg, target.version, peers)
    require_tags(cfg, tags, f"launching {svc.name} {target.version}")
    steps.append(step(n, "launch", region,
                      f"launch {target.count} × {template} v{target.launch_template_version} "
                      f"({target.image_id})",
                      count=target.count, launch_template=template,
                      version=target.launch_template_version, subnets=list(target.subnets), tags=tags,
                      name=host_name_prefix(svc.name, target.version)))
    n += 1
    steps.append(step(n, "wait_running", region, "wait until they are running", launch_step=launch_id))
    if cfg.listener_arn:
        n += 1
        steps.append(step(n, "register", region, f"register them in {name}", target_group_names=[name],
                          launch_step=launch_id))
        n += 1
        steps.append(step(n, "wait_healthy", region, "wait until they are healthy", target_group_names=[name],
                          launch_step=launch_id))
        n += 1
        steps.append(step(n, "listener_add", region, f"add {name} to the listener at weight 0",
                          listener_arn=cfg.listener_arn, target_group_name=name))
    weights = current_weights(svc)
    after = dict(weights, **({target.version: 0} if cfg.listener_arn else {}))
    return Plan(
        id=new_plan_id(), verb="launch", service=svc.name,
        summary=f"launch generation {target.version} of {svc.name}: {target.count} host(s) from "
                f"{template} v{target.launch_template_version}, no traffic yet",
        steps=tuple(steps), weights_before=weights, weights_after=after, created_at=stamp(),
        warnings=(history,) if history else (), generation=target.version,
    )


def plan_asg_launch(svc: Service, cfg: ServiceConfig, target: LaunchTarget, history: str | None = None) -> Plan:
    """The server-group model: the new generation is its own Auto Scaling group (named by
    :func:`fleettui.domain.asg.group_name`), pinned to the launch template version, attached to its own target
    group; EC2 Auto Scaling launches its hosts, fleettui waits until they are healthy, then adds it to the
    listener at weight 0."""
    region = target.region
    template = target.launch_template or cfg.launch_template
    asg = group_name(svc.name, target.version)
    sizes = Sizes(*target.group_sizes) if target.group_sizes else new_group_sizes(svc, None, target.count)
    if sizes.desired < 1:
        raise PlanError(f"--count must be at least 1 (got {sizes.desired})")
    peers = list(svc.live.instances if svc.live else svc.instances)
    tags = new_host_tags(cfg, target.version, peers)
    require_tags(cfg, tags, f"launching {svc.name} {target.version}")
    tags["Name"] = host_name_prefix(svc.name, target.version)
    steps: list[Step] = []
    tg = tg_name(cfg, target.version) if cfg.listener_arn else None
    if tg:
        if not target.template_target_group:
            raise PlanError(f"{svc.name} has no target group to copy settings from")
        steps.append(step(len(steps) + 1, "create_target_group", region, f"create target group {tg}",
                          name=tg, copy_from=target.template_target_group,
                          tags={"fleettui:service": svc.name, cfg.generation_tag: target.version}))
    steps.append(step(len(steps) + 1, "asg_create", region,
                      f"create Auto Scaling group {asg} from {template} v{target.launch_template_version} (pinned), "
                      f"desired {sizes.desired} (min {sizes.min_size}, max {sizes.max_size})"
                      + (f", attached to {tg}" if tg else ""),
                      asg=asg, launch_template=template, version=target.launch_template_version,
                      min_size=sizes.min_size, max_size=sizes.max_size, desired=sizes.desired,
                      subnets=list(target.subnets), target_group_name=tg, tags=tags))
    steps.append(step(len(steps) + 1, "asg_wait_ready", region,
                      f"wait until {sizes.desired} hosts of {asg} are in service and healthy"
                      + (f" in {tg}" if tg else ""),
                      asg=asg, count=sizes.desired, target_group_names=[tg] if tg else []))
    if tg:
        steps.append(step(len(steps) + 1, "listener_add", region, f"add {tg} to the listener at weight 0",
                          listener_arn=cfg.listener_arn, target_group_name=tg))
    warnings = [history] if history else []
    if target.shared_group:
        warnings.append(f"{svc.name}'s hosts are in the Auto Scaling group {target.shared_group} (one group for "
                        f"every generation): this launch creates the first group of its own, {asg}, alongside it "
                        f"(one Auto Scaling group per generation from now on); {target.shared_group} is left as it is")
    weights = current_weights(svc)
    after = dict(weights, **({target.version: 0} if tg else {}))
    return Plan(
        id=new_plan_id(), verb="launch", service=svc.name,
        summary=f"launch generation {target.version} of {svc.name} as Auto Scaling group {asg}: {sizes.desired} "
                f"host(s) from {template} v{target.launch_template_version}, no traffic yet",
        steps=tuple(steps), weights_before=weights, weights_after=after, created_at=stamp(),
        warnings=tuple(warnings), generation=target.version,
    )


class LaunchVerb(Verb):
    name = "launch"
    help = "launch a new generation from a launch template version, at weight 0"
    key = "L"
    label = "Launch"
    tooltip = "Launch a new generation from the launch template"
    dialog = "launch"                    # the TUI asks for the launch template version and the host count
    intent = Launch

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("service")
        parser.add_argument("--lt-version", type=int, metavar="N", help="launch template version (default: declared)")
        parser.add_argument("--count", type=int, metavar="N", help="hosts (default: as many as the live generation)")

    def intent_from_args(self, args: argparse.Namespace) -> Launch:
        return Launch(args.service, lt_version=args.lt_version, count=args.count)

    async def plan(self, actions, intent: Launch, snapshot: Snapshot) -> Plan:
        cfg = actions.config.service(intent.service)
        target = await resolve_target(actions.gw, snapshot, cfg, intent)
        history = decommissioned(actions.journal.records().values(), cfg.name, target.version)
        return plan_launch(snapshot, cfg, target, history=history)


async def resolve_target(gw, snap: Snapshot, cfg: ServiceConfig, intent: Launch) -> LaunchTarget:
    """What the new generation is launched from: the launch template version (declared, or --lt-version), its
    image and the version that image names."""
    svc = snap.service(intent.service)
    if not cfg.launch_template:
        raise PlanError(f"{cfg.name} has no launch_template in the config")
    region = cfg.listener_region or cfg.regions[0]
    if intent.lt_version is not None and intent.lt_version < 1:
        raise PlanError(f"--lt-version must be at least 1 (got {intent.lt_version})")
    if intent.count is not None and intent.count < 1:
        raise PlanError(f"--count must be at least 1 (got {intent.count})")
    want = str(intent.lt_version) if intent.lt_version is not None else cfg.launch_template_version
    template = (await templates_by_region(gw, cfg.launch_template, [region, *cfg.regions]))[region]
    if template is None:
        raise PlanError(f"launch template {cfg.launch_template} not found in {region}")
    ec2 = Ec2(gw, region)
    try:
        versions = await ec2.launch_template_versions(template, [want])
    except AwsError as e:
        if "VersionNotFound" in e.code:
            raise PlanError(f"{template} has no version {want} in {region}") from None
        raise
    if not versions:
        raise PlanError(f"{template} has no version {want} in {region}")
    ltv = versions[0]
    image_id = (ltv.get("LaunchTemplateData") or {}).get("ImageId")
    if not image_id:
        raise PlanError(f"{cfg.launch_template} v{ltv['VersionNumber']} names no image")
    image = (await ec2.images([image_id])).get(image_id)
    if image is None:
        raise PlanError(f"image {image_id} of {cfg.launch_template} v{ltv['VersionNumber']} "
                        "does not exist (deregistered?)")
    tags = {t["Key"]: t["Value"] for t in image.get("Tags") or ()}
    version = tags.get(cfg.version_tag) or image.get("Name") or image_id
    live = svc.live or (svc.generations[-1] if svc.generations else None)
    template_tg = next((a for g in reversed(svc.generations) for a in g.target_group_arns), None)
    group_sizes, shared = None, None
    if is_asg_service(svc, cfg.kind):
        shared = next((i.asg for i in (live.instances if live else ()) if i.asg and i.region == region
                       and (live.group is None or i.asg != live.group.name)), None)
        raw_group = await AutoScaling(gw, region).find(shared) if shared else None
        sizes = new_group_sizes(svc, raw_group, intent.count)
        group_sizes = (sizes.min_size, sizes.max_size, sizes.desired)
    return LaunchTarget(
        group_sizes=group_sizes, shared_group=shared,
        version=version, image_id=image_id, launch_template_version=int(ltv["VersionNumber"]), region=region,
        count=intent.count if intent.count is not None else (live.total if live else 1),
        template_target_group=template_tg, launch_template=template,
        subnets=tuple(sorted({i.subnet_id for i in (live.instances if live else ()) if i.subnet_id
                              and i.region == region})),
    )


VERB = LaunchVerb()
