"""shift weights: change the listener's forward weights between generations, then read them back until AWS
reports what was asked."""
from __future__ import annotations

import argparse
from dataclasses import dataclass

from fleettui.actions.planning import (
    PlanError, capacity_after_weights, current_weights, generation_of, service_forwards, service_of,
    split_weights, stamp, step,
)
from fleettui.aws.elbv2 import region_of
from fleettui.format import format_weight
from fleettui.actions.verbs.base import Intent, Selection, Verb
from fleettui.config import ServiceConfig
from fleettui.domain.model import Service, Snapshot
from fleettui.domain.plan import Plan, Step, new_plan_id
from fleettui.errors import ConfigError


@dataclass(frozen=True)
class Shift(Intent):
    verb = "shift"
    weights: tuple[tuple[str, int], ...] = ()   # explicit version=weight pairs
    to: str | None = None                        # or: give this generation `weight` percent …
    weight: int | None = None                    # … the rest keeps its proportions


def _weight_pair(text: str) -> tuple[str, int]:
    version, sep, weight = text.rpartition("=")
    if not sep or not version or not weight.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not VERSION=WEIGHT (e.g. 1.6.0=50)")
    return version, int(weight)


def weights_for_shift(svc: Service, version: str, weight: int) -> dict[str, int]:
    """Give ``version`` ``weight`` percent; the rest keeps its proportions (or goes to live if none had any)."""
    if not 0 <= weight <= 100:
        raise PlanError(f"weight must be 0-100 (got {weight})")
    generation_of(svc, version)
    current = current_weights(svc)
    others = {v: w for v, w in current.items() if v != version}
    rest = 100 - weight
    total = sum(others.values())
    if total == 0:
        fallback = svc.live.version if svc.live and svc.live.version != version else None
        if fallback is None:
            fallback = next((v for v in reversed(list(others)) if v != version), None)
        if fallback is None and rest:
            raise PlanError(f"{version} is the only generation: it must take 100%")
        out = {v: 0 for v in others}
        if fallback:
            out[fallback] = rest
    else:
        out = split_weights(rest, others)
    out[version] = weight
    return out


def plan_shift(snapshot: Snapshot, cfg: ServiceConfig, weights: dict[str, int], reason: str = "",
               verb: str = "shift") -> Plan:
    svc = service_of(snapshot, cfg)
    if not svc.listener_arn:
        raise PlanError(f"{svc.name} has no listener_arn in the config: nothing to shift")
    for v, w in weights.items():
        generation_of(svc, v)
        if not isinstance(w, int) or not 0 <= w <= 100:
            raise PlanError(f"weight for {v} must be an integer 0-100 (got {w})")
    full = {g.version: 0 for g in svc.generations if g.target_group_arns}
    full.update(weights)
    if sum(full.values()) != 100:
        raise PlanError(f"weights must add up to 100 (got {sum(full.values())}: "
                        + ", ".join(f"{v}={w}" for v, w in full.items()) + ")")
    for v in full:
        if not svc.generation(v).target_group_arns:
            raise PlanError(f"{v} has no target group on the listener: launch it with fleettui first")
    by_arn = {}
    for v, w in full.items():
        arns = svc.generation(v).target_group_arns
        for k, a in enumerate(arns):
            by_arn[a] = w // len(arns) + (w % len(arns) if k == 0 else 0)
    before = current_weights(svc)
    desc = ", ".join(f"{v} {format_weight(before.get(v, 0))}→{w}%" for v, w in full.items())
    steps = weight_steps(svc, by_arn, desc, generations={v: list(svc.generation(v).target_group_arns) for v in full})
    return Plan(
        id=new_plan_id(), verb=verb, service=svc.name, summary=f"{verb} {svc.name}: {desc}", steps=tuple(steps),
        capacity_before=100, capacity_min=capacity_after_weights(svc, full),
        weights_before=before, weights_after=full, created_at=stamp(),
    )


def weight_steps(svc: Service, by_arn: dict[str, int], desc: str, first: int = 1,
                 generations: dict[str, list[str]] | None = None) -> list[Step]:
    """One set_weights step per rule that serves the service (its default action first)."""
    out = []
    for n, fwd in enumerate(service_forwards(svc), first):
        where = "listener" if n == first and fwd.is_default else fwd.where
        out.append(step(n, "set_weights", region_of(fwd.listener_arn), f"set {where} weights: {desc}",
                        listener_arn=fwd.listener_arn, rule_arn=fwd.rule_arn, weights=by_arn,
                        generations=generations or {}))
    return out


def weights_refusal(plan: Plan, snapshot: Snapshot) -> str | None:
    """Traffic must never be sent to a generation without healthy targets."""
    svc = snapshot.service(plan.service)
    for version, weight in plan.weights_after.items():
        gen = svc.generation(version)
        if weight > 0 and gen is not None and gen.healthy == 0 and not _warms_first(plan, gen):
            return f"{version} has no healthy targets: refusing to send it {format_weight(weight)} of traffic"
    return None


def _warms_first(plan: Plan, gen) -> bool:
    """The plan scales the generation's own (cold) group up and waits until it is healthy before any weight moves."""
    kinds = [(st.kind, st.params.get("asg")) for st in plan.steps]
    return gen.group is not None and ("asg_wait_ready", gen.group.name) in kinds and \
        kinds.index(("asg_wait_ready", gen.group.name)) < next(
            (k for k, (kind, _) in enumerate(kinds) if kind == "set_weights"), len(kinds))


class ShiftVerb(Verb):
    name = "shift"
    help = "shift listener traffic weights between generations"
    key = "W"
    label = "Weights"
    tooltip = "Shift traffic weights between generations"
    dialog = "weights"
    intent = Shift

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("service")
        parser.add_argument("weights", nargs="*", type=_weight_pair, metavar="VERSION=WEIGHT",
                            help="explicit weights adding up to 100")
        parser.add_argument("--to", metavar="VERSION", help="give this generation --weight percent, the rest keeps "
                            "its proportions")
        parser.add_argument("--weight", type=int, metavar="PERCENT")

    def intent_from_args(self, args: argparse.Namespace) -> Shift:
        if args.weights and args.to:
            raise ConfigError("shift: give VERSION=WEIGHT pairs or --to/--weight, not both")
        if args.to and args.weight is None:
            raise ConfigError("shift: --to needs --weight PERCENT")
        return Shift(args.service, weights=tuple(args.weights), to=args.to, weight=args.weight)

    def intent_for(self, selection: Selection) -> Shift:
        svc = selection.service
        if svc.listener_arn is None or not any(g.weight is not None for g in svc.generations):
            raise PlanError(f"{svc.name} has no listener: there are no weights to shift")
        return Shift(svc.name, to=selection.generation)

    async def plan(self, actions, intent: Shift, snapshot: Snapshot) -> Plan:
        svc = snapshot.service(intent.service)
        if intent.weights:
            weights = dict(intent.weights)
        elif intent.to is not None and intent.weight is not None:
            weights = weights_for_shift(svc, intent.to, intent.weight)
        else:
            raise PlanError("shift needs VERSION=WEIGHT pairs, or a version and a weight")
        return plan_shift(snapshot, actions.config.service(intent.service), weights)

    def refusal(self, plan: Plan, snapshot: Snapshot, cfg: ServiceConfig) -> str | None:
        return weights_refusal(plan, snapshot)


VERB = ShiftVerb()
