"""resize generation: set the desired capacity of a generation's own Auto Scaling group (within its max; min
follows down), wait until that many hosts are healthy when it grows. Cooling a generation = resize to 0."""
from __future__ import annotations

import argparse
from dataclasses import dataclass

from fleettui.actions.planning import PlanError, current_weights, generation_of, healthy_serving, serving, service_of, \
    stamp, step
from fleettui.actions.verbs.base import Intent, Verb
from fleettui.domain.model import Snapshot
from fleettui.domain.plan import Plan, new_plan_id


@dataclass(frozen=True)
class Resize(Intent):
    verb = "resize"
    version: str = ""
    desired: int = -1


def plan_resize(snapshot: Snapshot, cfg, version: str, desired: int) -> Plan:
    svc = service_of(snapshot, cfg)
    gen = generation_of(svc, version)
    group = gen.group
    if group is None:
        raise PlanError(f"{svc.name} {version} has no Auto Scaling group of its own (resize works on one group per "
                        "generation: see README \"Auto Scaling generations\")")
    if not 0 <= desired <= group.max_size:
        raise PlanError(f"--desired must be 0-{group.max_size} ({group.name} MaxSize) (got {desired})")
    if desired == group.desired:
        raise PlanError(f"{group.name} already has desired capacity {desired}")
    min_size = min(group.min_size, desired)
    steps = [step(1, "asg_set_capacity", group.region,
                  f"set {group.name} desired {group.desired} → {desired}"
                  + (f" (min {group.min_size} → {min_size})" if min_size != group.min_size else ""),
                  asg=group.name, min_size=min_size, desired=desired)]
    if desired > group.desired:
        steps.append(step(2, "asg_wait_ready", group.region, f"wait until {desired} hosts of {group.name} are in "
                          "service and healthy" + (" in its target group" if gen.target_group_arns else ""),
                          asg=group.name, count=desired, target_groups=list(gen.target_group_arns)))
    before = healthy_serving(svc)
    lost = max(0, gen.healthy - desired) if gen in serving(svc) else 0
    cap = 100 if before == 0 else 100 * (before - lost) // before
    return Plan(
        id=new_plan_id(), verb="resize", service=svc.name,
        summary=f"resize {svc.name} {version}: {group.name} desired {group.desired} → {desired}"
                + (" (cold: kept at 0 for a slower rollback)" if desired == 0 else ""),
        steps=tuple(steps), capacity_before=100, capacity_min=cap, weights_before=current_weights(svc),
        weights_after=current_weights(svc), created_at=stamp(), generation=version,
    )


class ResizeVerb(Verb):
    name = "resize"
    help = "set the desired capacity of a generation's own Auto Scaling group (0 = cold)"
    intent = Resize

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("service")
        parser.add_argument("version")
        parser.add_argument("--desired", type=int, required=True, metavar="N", help="hosts (within the group's max)")

    def intent_from_args(self, args: argparse.Namespace) -> Resize:
        return Resize(args.service, version=args.version, desired=args.desired)

    async def plan(self, actions, intent: Resize, snapshot: Snapshot) -> Plan:
        return plan_resize(snapshot, actions.config.service(intent.service), intent.version, intent.desired)


VERB = ResizeVerb()
