"""rollback: all traffic to the rollback target in one listener change (or an optional ramp), then verify."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, replace

from fleettui.actions.planning import PlanError, current_weights, generation_of, service_of, split_weights, step
from fleettui.actions.verbs.base import Intent, Verb
from fleettui.actions.verbs.shift import plan_shift, weights_for_shift, weights_refusal
from fleettui.config import ServiceConfig
from fleettui.domain.model import Snapshot, restore_size
from fleettui.domain.plan import Plan, Step


@dataclass(frozen=True)
class Rollback(Intent):
    verb = "rollback"
    ramp: tuple[int, ...] = ()           # optional ramp percentages
    to: str | None = None                # another target than the rollback rule's


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None


def ramp_weights(current: dict[str, float], target: str, ramp: list[int]) -> list[dict[str, int]]:
    """The weights of each ramp step: the target's share rises to each percentage (never below what it has now)
    and every other generation keeps its proportion of the rest, so a generation rolled away from only ever
    loses traffic. Steps that would change nothing are left out; the last one is always 100% to the target."""
    others = {v: w for v, w in current.items() if v != target}
    out: list[dict[str, int]] = []
    prev = {v: w for v, w in current.items()}
    for pct in ramp:
        share = max(current.get(target, 0.0), float(pct))
        rest = {v: min(int(prev[v]), x) for v, x in split_weights(100 - share, others).items()} if pct < 100 else \
            {v: 0 for v in others}
        weights = {**rest, target: 100 - sum(rest.values())}
        if weights != {v: round(w) for v, w in prev.items()} or not out and pct == 100:
            out.append(weights)
        prev = {**prev, **weights}
    return out


def plan_rollback(snapshot: Snapshot, cfg: ServiceConfig, reason: str = "", ramp: list[int] | None = None,
                  to: str | None = None) -> Plan:
    """Undo the newest generation: all traffic to the rollback target (or ``to``) in one change of every rule
    that serves the service; with a ramp, in steps that only ever lower the others' weights."""
    svc = service_of(snapshot, cfg)
    rb = svc.rollback
    if to is not None:
        target = generation_of(svc, to)
        if not target.target_group_arns:
            raise PlanError(f"{to} has no target group on the listener: it cannot take traffic")
    else:
        target = svc.rollback_target
        if target is None or not svc.listener_arn:
            raise PlanError(f"{svc.name} has no rollback target: {rb.reason}")
    source = svc.newest_receiving
    if source is target:
        raise PlanError(f"{target.version} is already the newest generation that receives traffic: "
                        "nothing to roll back to it")
    final = {g.version: (100 if g is target else 0) for g in svc.generations if g.target_group_arns}
    plan = plan_shift(snapshot, cfg, final, reason, verb="rollback")
    if ramp:
        if sorted(set(ramp)) != list(ramp) or ramp[-1] != 100 or ramp[0] <= 0:
            raise PlanError(f"ramp must increase and end at 100 (got {ramp})")
        current = {v: w for v, w in current_weights(svc).items() if v in final}
        steps: list[Step] = []
        for weights in ramp_weights(current, target.version, list(ramp)):
            sub = plan_shift(snapshot, cfg, {**final, **weights}, verb="rollback").steps
            steps += [Step(id=f"s{len(steps) + k}", kind=st.kind, region=st.region,
                           description=f"{target.version} to {weights[target.version]}%: {st.description}",
                           params=st.params) for k, st in enumerate(sub, 1)]
        plan = replace(plan, steps=tuple(steps))
    if target.cold:
        plan = _warm_first(svc, target, plan)
    away = [g.version for g in svc.generations if g is not target and g.receives_traffic]
    what = (f"take {', '.join(away)} out of traffic → {target.version} gets 100%" if target.live
            else f"roll back from {', '.join(away) or '?'} → {target.version} gets 100%")
    moves = [st for st in plan.steps if st.kind == "set_weights"]
    changes = len({(st.params["listener_arn"], st.params.get("rule_arn")) for st in moves})
    summary = f"{svc.name}: {what}, " + (f"in {len(moves)} steps" if ramp else
                                        "in one listener change" if changes == 1 else
                                        f"one change on each of {changes} listener rules")
    if target.cold:
        summary += f"; cold: {target.group.name} scales up to {restore_size(svc, target)} hosts and gets healthy first"
    return replace(plan, summary=summary, generation=target.version, warnings=_warnings(svc, target, to))


def _warm_first(svc, target, plan: Plan) -> Plan:
    """A cold target (its group scaled to 0): scale it back to the size of the generation rolled away from and
    wait until those hosts are healthy in its target group, *then* move the traffic. The plan's capacity is what
    the target will have then (the wait step guarantees it before any weight changes)."""
    group, n = target.group, restore_size(svc, target)
    source = svc.newest_receiving or svc.live
    min_size = min(n, source.group.min_size) if source is not None and source.group is not None else n
    warm = [step(1, "asg_set_capacity", group.region, f"scale {group.name} up to {n} hosts (cold: desired 0 now)",
                 asg=group.name, min_size=min_size, max_size=max(group.max_size, n), desired=n),
            step(2, "asg_wait_ready", group.region, f"wait until {n} hosts of {group.name} are in service and "
                 "healthy in its target group (no traffic moves before)",
                 asg=group.name, count=n, target_groups=list(target.target_group_arns))]
    moved = [Step(id=f"s{k}", kind=st.kind, region=st.region, description=st.description, params=st.params)
             for k, st in enumerate(plan.steps, len(warm) + 1)]
    live = svc.live
    cap = 100 if live is None or live.healthy == 0 else min(100, 100 * n // live.healthy)
    return replace(plan, steps=tuple(warm + moved), capacity_min=cap)


@dataclass(frozen=True)
class Candidate:
    """A generation rollback could send all traffic to, with what an operator weighs at 3 a.m."""

    version: str
    healthy: int
    total: int
    oldest_age_days: float
    image: str                   # "available", "deprecated", "deregistered"/"missing"…
    capacity_percent: int        # its healthy hosts as a percent of live's: what 100% of the traffic would meet
    default: bool                # the rollback rule's target


def candidates(svc) -> list[Candidate]:
    """Every generation rollback may target (it has a target group, is not the one rolled away from), newest
    first; the rule's target is marked."""
    source, target, live = svc.newest_receiving, svc.rollback_target, svc.live
    out = []
    for g in reversed(svc.generations):
        if g is source or not g.target_group_arns:
            continue
        image = "deprecated" if g.image.deprecated and g.image.state == "available" else g.image.state
        cap = 100 if live is None or live.healthy == 0 else 100 * g.healthy // live.healthy
        out.append(Candidate(g.version, g.healthy, g.total, g.oldest_age_days, image, cap, g is target))
    return out


def _warnings(svc, target, to: str | None) -> tuple[str, ...]:
    out = []
    if to is not None and svc.rollback_target is not None and target is not svc.rollback_target:
        out.append(f"{target.version} is not the rollback target ({svc.rollback_target.version}): chosen instead "
                   "(--to, or t in the TUI)")
    if target.image.state != "available":
        out.append(f"{target.version}'s image {target.image.id} is {target.image.state}: its hosts serve, but "
                   "cannot be replaced from it")
    elif target.image.deprecated:
        out.append(f"{target.version}'s image {target.image.id} is deprecated")
    aged = sum(1 for i in target.instances if i.age_level == "error")
    if aged:
        out.append(f"{aged} of {target.total} {target.version} hosts are past max_age")
    if target.healthy < target.total:
        out.append(f"{target.version} has {target.healthy}/{target.total} healthy hosts")
    return tuple(out)


class RollbackVerb(Verb):
    name = "rollback"
    help = "send all traffic to the rollback target (previous generation)"
    key = "B"
    label = "Rollback"
    tooltip = "All traffic to the rollback target"
    intent = Rollback

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("service")
        parser.add_argument("--ramp", type=_int_list, metavar="P1,P2,…", help="ramp in steps, e.g. 25,50,100 (the "
                            "generations rolled away from only ever lose traffic)")
        parser.add_argument("--to", metavar="VERSION", help="roll back to this generation instead of the rollback "
                            "target (the newest generation older than the newest one that receives traffic)")

    def intent_from_args(self, args: argparse.Namespace) -> Rollback:
        return Rollback(args.service, ramp=tuple(args.ramp or ()), to=args.to)

    async def plan(self, actions, intent: Rollback, snapshot: Snapshot) -> Plan:
        return plan_rollback(snapshot, actions.config.service(intent.service), ramp=list(intent.ramp) or None,
                             to=intent.to)

    def refusal(self, plan: Plan, snapshot: Snapshot, cfg: ServiceConfig) -> str | None:
        svc = snapshot.service(plan.service)
        reason = weights_refusal(plan, snapshot)
        if reason:
            return reason
        target, source = svc.generation(plan.generation), svc.newest_receiving
        if target is not None and target.cold:
            if plan.capacity_min < cfg.min_healthy_percent:
                return (f"{target.version} is cold and would get {restore_size(svc, target)} hosts, below "
                        f"{cfg.min_healthy_percent}% of the {svc.live.healthy} healthy hosts of live")
            return None
        if plan.capacity_min < cfg.min_healthy_percent and source is not None and source.healthy > 0 \
                and svc.live is not None:
            needed = -(-svc.live.healthy * cfg.min_healthy_percent // 100)
            return (f"{target.version} has {target.healthy} healthy hosts; all traffic needs at least {needed} "
                    f"({cfg.min_healthy_percent}% of the {svc.live.healthy} healthy hosts of live "
                    f"{svc.live.version})")
        return None


VERB = RollbackVerb()
