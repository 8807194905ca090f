"""decommission generation: it must take no traffic; drain, terminate, remove from the listener, delete its
target group."""
from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import dataclass

from fleettui.actions.planning import (
    PlanError, current_weights, generation_of, healthy_serving, serving, service_of, stamp, step,
)
from fleettui.actions.verbs.base import Intent, Selection, Verb
from fleettui.config import ServiceConfig
from fleettui.domain.model import Snapshot
from fleettui.domain.plan import Plan, Step, new_plan_id
from fleettui.domain.traffic import Forward
from fleettui.format import format_weight


@dataclass(frozen=True)
class Decommission(Intent):
    verb = "decommission"
    version: str = ""                    # the generation


def plan_decommission(snapshot: Snapshot, cfg: ServiceConfig, version: str, reason: str = "") -> Plan:
    svc = service_of(snapshot, cfg)
    gen = generation_of(svc, version)
    steps: list[Step] = []
    n = 0
    own = gen.group
    if own is not None:
        # its own group: AWS empties it (deregistering each host from the target group first), then it goes
        n += 1
        steps.append(step(n, "asg_set_capacity", own.region, f"scale {own.name} to 0 (min 0, desired 0)",
                          asg=own.name, min_size=0, desired=0))
        n += 1
        steps.append(step(n, "asg_wait_empty", own.region, f"wait until the hosts of {own.name} are terminated",
                          asg=own.name))
        n += 1
        steps.append(step(n, "asg_delete", own.region, f"delete Auto Scaling group {own.name}", asg=own.name))
    ids_by_region: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for h in gen.instances:
        if own is None or h.asg != own.name:
            ids_by_region[(h.region, h.asg)].append(h.id)
    for (region, asg), ids in ids_by_region.items():
        tgs = [a for a in gen.target_group_arns if a.split(":")[3] == region]
        if tgs:
            n += 1
            steps.append(step(n, "deregister", region, f"drain {len(ids)} hosts from {version}'s target group",
                              target_groups=tgs, instance_ids=ids))
        n += 1
        if asg:
            steps.append(step(n, "asg_terminate", region, f"terminate {len(ids)} hosts through {asg}",
                              asg=asg, instance_ids=ids))
        else:
            steps.append(step(n, "terminate", region, f"terminate {len(ids)} hosts", instance_ids=ids))
    if gen.target_group_arns and svc.listener_arn:
        region = svc.listener_arn.split(":")[3]
        mine = set(gen.target_group_arns)
        forwards = [f for f in (svc.traffic.forwards if svc.traffic else ()) if mine & set(f.target_groups)] or \
            [Forward(listener_arn=svc.listener_arn, groups=())]
        for fwd in forwards:
            if fwd.groups and not fwd.without(mine).groups and not gen.receives_traffic:
                raise PlanError(f"{fwd.where} ({fwd.rule_arn or fwd.listener_arn}) forwards only to {version}'s "
                                "target group: point it elsewhere before decommissioning")
            n += 1
            where = "the listener" if fwd.is_default and fwd.listener_arn == svc.listener_arn else fwd.where
            steps.append(step(n, "listener_remove", region, f"remove {version}'s target group from {where}",
                              listener_arn=fwd.listener_arn, rule_arn=fwd.rule_arn,
                              target_groups=sorted(mine & set(fwd.target_groups)) or list(gen.target_group_arns)))
        for arn in gen.target_group_arns:
            n += 1
            steps.append(step(n, "delete_target_group", region, f"delete target group {arn.split('/')[-2]}",
                              target_group=arn))
    before_healthy = healthy_serving(svc)
    after_healthy = sum(g.healthy for g in serving(svc) if g is not gen)
    cap = 100 if before_healthy == 0 else min(100, 100 * after_healthy // before_healthy)
    return Plan(
        id=new_plan_id(), verb="decommission", service=svc.name,
        summary=f"decommission {svc.name} {version}: "
                + (f"empty and delete Auto Scaling group {own.name} ({gen.total} host(s))" if own else
                   f"drain, terminate {gen.total} host(s)")
                + (", remove and delete its target group" if gen.target_group_arns else ""),
        steps=tuple(steps), hosts_affected=tuple(h.id for h in gen.instances),
        capacity_before=100, capacity_min=cap,
        weights_before=current_weights(svc),
        weights_after={v: w for v, w in current_weights(svc).items() if v != version},
        confirm_phrase=f"{svc.name} {version}", created_at=stamp(), generation=version,
    )


class DecommissionVerb(Verb):
    name = "decommission"
    help = "drain, terminate and remove a generation that takes no traffic"
    key = "ctrl+d"
    label = "Decommission"
    tooltip = "Drain and terminate the selected generation"
    intent = Decommission

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("service")
        parser.add_argument("version")

    def intent_from_args(self, args: argparse.Namespace) -> Decommission:
        return Decommission(args.service, args.version)

    def intent_for(self, selection: Selection) -> Decommission:
        if selection.generation is None:
            raise PlanError("put the cursor on the generation to decommission")
        return Decommission(selection.service.name, selection.generation)

    async def plan(self, actions, intent: Decommission, snapshot: Snapshot) -> Plan:
        if not intent.version:
            raise PlanError("decommission needs a generation (version)")
        return plan_decommission(snapshot, actions.config.service(intent.service), intent.version)

    def refusal(self, plan: Plan, snapshot: Snapshot, cfg: ServiceConfig) -> str | None:
        svc = snapshot.service(plan.service)
        version = plan.generation
        gen = svc.generation(version)
        if gen is not None and gen.weight:
            return f"{version} still takes {format_weight(gen.weight)} of traffic: shift its weight to 0 first"
        if gen is not None and gen.receives_traffic:
            where, pct = next((w, p) for w, p in gen.other_traffic if p > 0)
            return f"{version} still receives {format_weight(pct)} of the traffic of {where}: shift it to 0 first"
        others_healthy = sum(g.healthy for g in svc.generations if g is not gen)
        if gen is not None and others_healthy == 0 and not gen.cold:
            return f"{version} is the last generation with healthy hosts"
        return None


VERB = DecommissionVerb()
