"""replace hosts: launch fresh ones from the declared launch template/image, wait healthy, then drain and
terminate the old (through Auto Scaling for hosts in a group)."""
from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import dataclass

from fleettui.actions.planning import (
    PlanError, current_weights, generation_of, host_name_prefix, new_host_tags, require_tags, serving, service_of,
    stamp, step,
)
from fleettui.actions.verbs.base import Intent, Selection, Verb
from fleettui.aws.ec2 import templates_by_region
from fleettui.config import ServiceConfig
from fleettui.domain.model import Instance, Service, Snapshot
from fleettui.domain.plan import Plan, Step, new_plan_id
from fleettui.errors import ConfigError


@dataclass(frozen=True)
class Replace(Intent):
    verb = "replace"
    hosts: tuple[str, ...] = ()          # explicit instance ids (marked hosts)
    drifted: bool = False                # all drifted hosts
    aged: bool = False                   # all hosts over max_age
    generation: str | None = None        # only hosts of this generation


UNFIXABLE = frozenset({"drift:image_deprecated", "drift:image_deregistered"})


def relaunch_cannot_fix(host: Instance) -> bool:
    """True when the host's only drift is its image being deprecated/deregistered and a replacement would be
    launched from the launch template version that names that very image (it would carry the same finding)."""
    drift = {f.kind for f in host.findings if f.is_drift}
    return bool(drift) and drift <= UNFIXABLE and host.expected_launch_template_version is not None


def select_hosts(svc: Service, *, ids: list[str] | None = None, drifted: bool = False, aged: bool = False,
                 generation: str | None = None) -> tuple[list[Instance], list[Instance]]:
    """Hosts to replace, oldest first: explicit ids, else drifted and/or over max_age ones; and the drifted hosts
    left out because a relaunch cannot fix their drift (:func:`relaunch_cannot_fix`; name them to replace them)."""
    hosts = svc.instances
    if generation is not None:
        hosts = generation_of(svc, generation).instances
    left_out: list[Instance] = []
    if ids:
        known = {i.id: i for i in svc.instances}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise PlanError(f"{svc.name} has no instance {', '.join(unknown)}")
        chosen = [known[i] for i in ids]
    else:
        chosen = [h for h in hosts if (aged and h.age_level == "error")
                  or (drifted and h.drifted and not relaunch_cannot_fix(h))]
        picked = {h.id for h in chosen}
        left_out = [h for h in hosts if drifted and h.drifted and h.id not in picked]
    order = lambda h: (-h.age_days, h.id)  # noqa: E731
    return sorted(chosen, key=order), sorted(left_out, key=order)


def _left_out_note(svc: Service, left_out: list[Instance], cfg: ServiceConfig) -> str:
    gen_of = {i.id: g for g in svc.generations for i in g.instances}
    per_gen: dict[str, list[Instance]] = defaultdict(list)
    for h in left_out:
        per_gen[gen_of[h.id].version].append(h)
    parts = []
    for version, members in per_gen.items():
        h = members[0]
        state = "deregistered" if any(f.kind == "drift:image_deregistered" for f in h.findings) else "deprecated"
        parts.append(f"{len(members)} of {version} (image {h.image_id} is {state}, and {cfg.launch_template} "
                     f"v{h.expected_launch_template_version} would launch it again)")
    return (f"left out {len(left_out)} drifted host(s) a relaunch cannot fix: {'; '.join(parts)}; launch a "
            "newer generation instead, or name the hosts to replace them anyway")


def plan_replace(snapshot: Snapshot, cfg: ServiceConfig, hosts: list[Instance], reason: str = "", *,
                 left_out: list[Instance] = (), templates: dict[str, str | None] | None = None) -> Plan:
    """``templates``: region -> the launch template (name) to launch from there, None where it does not exist
    (default: the configured one everywhere)."""
    svc = service_of(snapshot, cfg)
    if not hosts:
        if left_out:
            raise PlanError(f"nothing to replace in {svc.name}: " + _left_out_note(svc, left_out, cfg))
        raise PlanError(f"nothing to replace in {svc.name}: no host selected (mark hosts, or use --drifted / --aged)")
    gen_of = {i.id: g for g in svc.generations for i in g.instances}
    by_image = {g.image.id: g.version for g in svc.generations}
    total = max(1, sum(g.total for g in serving(svc)))
    batch_size = max(1, total * (100 - cfg.min_healthy_percent) // 100)
    steps: list[Step] = []
    warnings: list[str] = [_left_out_note(svc, left_out, cfg)] if left_out else []
    n = 0
    # group: (generation, region, asg, tags of the replacements) keeps each batch homogeneous
    groups: dict[tuple[str, str, str | None, tuple], list[Instance]] = defaultdict(list)
    for h in hosts:
        gen = gen_of[h.id]
        tags: dict[str, str] = {}
        if not h.asg:
            # a host no launch template version reproduces is replaced from the declared one: a new generation
            new_version = gen.version if h.expected_launch_template_version else by_image.get(svc.declared_image_id)
            tags = new_host_tags(cfg, new_version or "", list(gen.instances), replaced=h)
            if new_version is None:
                tags.pop(cfg.generation_tag)
            require_tags(cfg, tags, f"the replacement of {h.id}")
        groups[(gen.version, h.region, h.asg, tuple(tags.items()))].append(h)
    for (version, region, asg, tag_items), members in groups.items():
        gen = gen_of[members[0].id]
        template = cfg.launch_template if templates is None else templates.get(region)
        if not asg and cfg.launch_template and template is None:
            raise PlanError(f"cannot replace {', '.join(h.id for h in members)}: launch template "
                            f"{cfg.launch_template} not found in {region}")
        for start in range(0, len(members), batch_size):
            batch = members[start:start + batch_size]
            old = [h.id for h in batch]
            if asg:
                n += 1
                steps.append(step(n, "asg_scale_out", region, f"scale {asg} out by {len(batch)}",
                                  asg=asg, add=len(batch), replacing=old))
                n += 1
                steps.append(step(n, "asg_wait_in_service", region, f"wait for {len(batch)} new hosts in {asg}",
                                  asg=asg, scale_step=f"s{n - 1}", replacing=old))
                n += 1
                steps.append(step(n, "asg_terminate", region, f"terminate {len(batch)} old hosts through {asg}",
                                  asg=asg, instance_ids=old))
                continue
            lt_version = batch[0].expected_launch_template_version or svc.declared_launch_template_version
            if not cfg.launch_template or lt_version is None:
                raise PlanError(f"cannot replace {', '.join(old)}: {svc.name} has no launch template version to "
                                "launch from (set launch_template in the config)")
            if lt_version != gen.launch_template_version and gen.launch_template_version is not None:
                warnings.append(f"{version} in {region} launches from v{lt_version}")
            if batch[0].expected_launch_template_version is None:
                warnings.append(f"{', '.join(old)} cannot be reproduced: replaced from declared "
                                f"v{svc.declared_launch_template_version} (a new generation)")
            tags = dict(tag_items)
            tgs = [a for a in gen.target_group_arns if a.split(":")[3] == region]
            n += 1
            launch_id = f"s{n}"
            steps.append(step(n, "launch", region,
                              f"launch {len(batch)} × {template} v{lt_version} for {version}",
                              count=len(batch), launch_template=template, version=lt_version,
                              subnets=sorted({h.subnet_id for h in batch if h.subnet_id}), tags=tags,
                              name=host_name_prefix(svc.name, tags.get(cfg.generation_tag) or "")))
            n += 1
            steps.append(step(n, "wait_running", region, "wait until they are running", launch_step=launch_id))
            if tgs:
                n += 1
                steps.append(step(n, "register", region, "register them in the generation's target group",
                                  target_groups=tgs, launch_step=launch_id))
                n += 1
                steps.append(step(n, "wait_healthy", region, "wait until they are healthy",
                                  target_groups=tgs, launch_step=launch_id))
                n += 1
                steps.append(step(n, "deregister", region, f"drain {len(batch)} old hosts",
                                  target_groups=tgs, instance_ids=old))
            n += 1
            steps.append(step(n, "terminate", region, f"terminate {', '.join(old)}", instance_ids=old))
    plan = Plan(
        id=new_plan_id(), verb="replace", service=svc.name,
        summary=f"replace {len(hosts)} host(s) of {svc.name} (launch first, then drain and terminate; "
                f"batches of {batch_size})",
        steps=tuple(steps), hosts_affected=tuple(h.id for h in hosts),
        capacity_before=100, capacity_min=100,
        weights_before=current_weights(svc), weights_after=current_weights(svc),
        warnings=tuple(dict.fromkeys(warnings)), created_at=stamp(),
    )
    return plan


class ReplaceVerb(Verb):
    name = "replace"
    help = "replace hosts: launch fresh ones, then drain and terminate the old"
    key = "R"
    label = "Replace"
    tooltip = "Replace marked hosts (none marked: the drifted ones)"
    intent = Replace

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("service")
        parser.add_argument("instances", nargs="*", metavar="INSTANCE_ID")
        parser.add_argument("--drifted", action="store_true", help="every host with a drift finding")
        parser.add_argument("--aged", action="store_true", help="every host older than max_age")
        parser.add_argument("--generation", metavar="VERSION", help="only hosts of this generation")

    def intent_from_args(self, args: argparse.Namespace) -> Replace:
        if not (args.instances or args.drifted or args.aged):
            raise ConfigError("replace: name instance ids, or pass --drifted and/or --aged")
        return Replace(args.service, hosts=tuple(args.instances), drifted=args.drifted, aged=args.aged,
                       generation=args.generation)

    def intent_for(self, selection: Selection) -> Replace:
        svc = selection.service
        if selection.marks:
            return Replace(svc.name, hosts=selection.marks)
        if any(i.drifted for i in svc.instances):
            return Replace(svc.name, drifted=True)
        raise PlanError(f"nothing to replace in {svc.name}: no host is marked (space) or drifted")

    async def plan(self, actions, intent: Replace, snapshot: Snapshot) -> Plan:
        svc = snapshot.service(intent.service)
        hosts, left_out = select_hosts(svc, ids=list(intent.hosts), drifted=intent.drifted, aged=intent.aged,
                                       generation=intent.generation if not intent.hosts else None)
        cfg = actions.config.service(intent.service)
        regions = sorted({h.region for h in hosts if not h.asg})
        templates = (await templates_by_region(actions.gw, cfg.launch_template, [*cfg.regions, *regions])
                     if cfg.launch_template and regions else None)
        return plan_replace(snapshot, cfg, hosts, left_out=left_out, templates=templates)


VERB = ReplaceVerb()
