"""rollback: all traffic to the rollback target in one listener change (or an optional ramp), then verify."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, replace

from fleettui.actions.planning import PlanError, service_of
from fleettui.actions.verbs.base import Intent, Verb
from fleettui.actions.verbs.shift import plan_shift, weights_for_shift, weights_refusal
from fleettui.config import ServiceConfig
from fleettui.domain.model import Snapshot
from fleettui.domain.plan import Plan, Step


@dataclass(frozen=True)
class Rollback(Intent):
    verb = "rollback"
    ramp: tuple[int, ...] = ()           # optional ramp percentages


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None


def plan_rollback(snapshot: Snapshot, cfg: ServiceConfig, reason: str = "", ramp: list[int] | None = None) -> Plan:
    svc = service_of(snapshot, cfg)
    target = svc.rollback_target
    if target is None:
        raise PlanError(f"{svc.name} has no rollback target: {svc.rollback.reason}")
    plan = plan_shift(snapshot, cfg, {g.version: (100 if g is target else 0) for g in svc.generations
                                      if g.target_group_arns}, reason, verb="rollback")
    if ramp:
        if sorted(set(ramp)) != list(ramp) or ramp[-1] != 100 or ramp[0] <= 0:
            raise PlanError(f"ramp must increase and end at 100 (got {ramp})")
        steps = []
        for k, pct in enumerate(ramp, 1):
            w = weights_for_shift(svc, target.version, pct)
            sub = plan_shift(snapshot, cfg, w, verb="rollback").steps[0]
            steps.append(Step(id=f"s{k}", kind=sub.kind, region=sub.region,
                              description=f"{target.version} to {pct}%: " + sub.description, params=sub.params))
        plan = replace(plan, steps=tuple(steps))
    summary = f"roll {svc.name} back to {target.version}: all traffic in " + (
        f"{len(ramp)} steps" if ramp else "one listener change")
    return replace(plan, summary=summary, generation=target.version,
                   warnings=(svc.rollback.reason,) if not svc.rollback.ready else ())


class RollbackVerb(Verb):
    name = "rollback"
    help = "send all traffic to the rollback target (previous generation)"
    key = "B"
    label = "Rollback"
    tooltip = "All traffic to the rollback target"
    intent = Rollback

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("service")
        parser.add_argument("--ramp", type=_int_list, metavar="P1,P2,…", help="ramp in steps, e.g. 25,50,100")

    def intent_from_args(self, args: argparse.Namespace) -> Rollback:
        return Rollback(args.service, ramp=tuple(args.ramp or ()))

    async def plan(self, actions, intent: Rollback, snapshot: Snapshot) -> Plan:
        return plan_rollback(snapshot, actions.config.service(intent.service), ramp=list(intent.ramp) or None)

    def refusal(self, plan: Plan, snapshot: Snapshot, cfg: ServiceConfig) -> str | None:
        svc = snapshot.service(plan.service)
        reason = weights_refusal(plan, snapshot)
        if reason is None and not svc.rollback.ready:
            reason = f"rollback not ready: {svc.rollback.reason}"
        return reason


VERB = RollbackVerb()
