"""replace hosts: launch fresh ones from the declared launch template/image, wait healthy, then drain and
terminate the old (through Auto Scaling for hosts in a group)."""
from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import dataclass

from fleettui.actions.planning import (
    PlanError, copied_tags, current_weights, generation_of, serving, service_of, stamp, step,
)
from fleettui.actions.verbs.base import Intent, Selection, Verb
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


def select_hosts(svc: Service, *, ids: list[str] | None = None, drifted: bool = False, aged: bool = False,
                 generation: str | None = None) -> list[Instance]:
    """Hosts to replace, oldest first: explicit ids, else drifted and/or over max_age ones."""
    hosts = svc.instances
    if generation is not None:
        hosts = generation_of(svc, generation).instances
    if ids:
        known = {i.id: i for i in svc.instances}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise PlanError(f"{svc.name} has no instance {', '.join(unknown)}")
        chosen = [known[i] for i in ids]
    else:
        chosen = [h for h in hosts
                  if (drifted and h.drifted) or (aged and h.age_level == "error")]
    return sorted(chosen, key=lambda h: (-h.age_days, h.id))


def plan_replace(snapshot: Snapshot, cfg: ServiceConfig, hosts: list[Instance], reason: str = "") -> Plan:
    svc = service_of(snapshot, cfg)
    if not hosts:
        raise PlanError(f"nothing to replace in {svc.name}: no host selected (mark hosts, or use --drifted / --aged)")
    gen_of = {i.id: g for g in svc.generations for i in g.instances}
    total = max(1, sum(g.total for g in serving(svc)))
    batch_size = max(1, total * (100 - cfg.min_healthy_percent) // 100)
    steps: list[Step] = []
    warnings: list[str] = []
    n = 0
    # group: (generation, region, asg) keeps each batch homogeneous
    groups: dict[tuple[str, str, str | None], list[Instance]] = defaultdict(list)
    for h in hosts:
        groups[(gen_of[h.id].version, h.region, h.asg)].append(h)
    for (version, region, asg), members in groups.items():
        gen = gen_of[members[0].id]
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
            tgs = [a for a in gen.target_group_arns if a.split(":")[3] == region]
            n += 1
            launch_id = f"s{n}"
            steps.append(step(n, "launch", region,
                              f"launch {len(batch)} × {cfg.launch_template} v{lt_version} for {version}",
                              count=len(batch), launch_template=cfg.launch_template, version=lt_version,
                              subnets=sorted({h.subnet_id for h in batch if h.subnet_id}),
                              tags=copied_tags(batch, cfg), name=f"{svc.name}-{version}"))
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
        hosts = select_hosts(svc, ids=list(intent.hosts), drifted=intent.drifted, aged=intent.aged,
                             generation=intent.generation if not intent.hosts else None)
        return plan_replace(snapshot, actions.config.service(intent.service), hosts)


VERB = ReplaceVerb()
