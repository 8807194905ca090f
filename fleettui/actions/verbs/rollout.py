"""rollout: move traffic to a new generation in steps; at each: shift (read back) → bake → analysis (target
health, alarms, canary vs live). A failing analysis sends all traffic back to the generation that was live when
the rollout began, in one listener change (auto-abort); too little traffic to judge holds for the operator.
The operator's controls (promote, promote-full, pause, resume, abort) are in :mod:`fleettui.actions.rollouts`."""
from __future__ import annotations

import argparse
from dataclasses import dataclass

from fleettui.actions.planning import (
    PlanError, capacity_after_weights, current_weights, generation_of, service_of, step,
)
from fleettui.actions.verbs.base import Intent, Selection, Verb
from fleettui.actions.verbs.rollback import _int_list
from fleettui.actions.verbs.shift import plan_shift, weights_for_shift, weights_refusal
from fleettui.aws.signals import lb_dimension, tg_dimension
from fleettui.config import ServiceConfig
from fleettui.config.durations import parse_duration
from fleettui.domain.model import Snapshot
from fleettui.domain.plan import Plan, Step
from fleettui.domain.rollout import CONTROLS, stages
from fleettui.errors import ConfigError
from fleettui.format import format_weight

MIN_PERIODS = 3          # the analysis looks at least this many CloudWatch periods back


@dataclass(frozen=True)
class Rollout(Intent):
    verb = "rollout"
    to: str | None = None                  # the new generation
    steps: tuple[int, ...] = ()            # () = the service's rollout_steps
    bake_s: float | None = None            # None = the service's bake
    pause_at: int | None = None            # hold for a manual promote after the analysis at this weight
    auto_abort: bool = True


def words(seconds: float) -> str:
    for unit, n in (("h", 3600), ("m", 60)):
        if seconds >= n and seconds % n == 0:
            return f"{seconds / n:g}{unit}"
    return f"{seconds:g}s"


def plan_rollout(snapshot: Snapshot, cfg: ServiceConfig, intent: Rollout, period_s: float = 60.0) -> Plan:
    svc = service_of(snapshot, cfg)
    if not svc.listener_arn:
        raise PlanError(f"{svc.name} has no listener_arn in the config: nothing to roll out")
    if not intent.to:
        raise PlanError("rollout needs the generation to roll out (--to VERSION)")
    canary = generation_of(svc, intent.to)
    if not canary.target_group_arns:
        raise PlanError(f"{canary.version} has no target group on the listener: launch it first (L / fleettui launch)")
    stable = svc.live
    if stable is None or stable is canary:
        raise PlanError(f"{canary.version} is already live in {svc.name}: nothing to roll out")
    steps = list(intent.steps or cfg.rollout_steps)
    if sorted(set(steps)) != steps or not steps or steps[0] <= 0 or steps[-1] != 100:
        raise PlanError(f"steps must increase and end at 100 (got {','.join(map(str, steps))})")
    bake = float(intent.bake_s if intent.bake_s is not None else cfg.bake_s)
    current = current_weights(svc)
    todo = stages(current.get(canary.version, 0), steps)
    if intent.pause_at is not None and intent.pause_at not in todo:
        raise PlanError(f"--pause-at {intent.pause_at} is not one of the steps ahead ({','.join(map(str, todo))})")
    groups = {g.version: list(g.target_group_arns) for g in svc.generations if g.target_group_arns}
    abort = plan_shift(snapshot, cfg, {v: 100 if v == stable.version else 0 for v in groups})
    dims = [lb_dimension(svc.listener_arn)] + [tg_dimension(a) for a in canary.target_group_arns]
    other_dims = [tg_dimension(a) for v, arns in groups.items() if v != canary.version for a in arns]
    out: list[Step] = []
    capacity = 100
    n = len(todo)
    for k, w in enumerate(todo, 1):
        weights = weights_for_shift(svc, canary.version, w)
        capacity = min(capacity, capacity_after_weights(svc, weights))
        stage = {"stage": k, "stages": n, "weight": w, "stage_weights": {v: x for v, x in weights.items() if x}}
        for st in plan_shift(snapshot, cfg, weights).steps:
            out.append(Step(f"s{len(out) + 1}", st.kind, st.region, f"step {k}/{n}: {st.description}",
                            {**dict(st.params), **stage}))
        region = out[-1].region
        out.append(step(len(out) + 1, "bake", region, f"step {k}/{n}: bake {words(bake)} at {w}%",
                        seconds=bake, **stage))
        checks = "target health, alarms" + (f", {canary.version} vs {stable.version}" if w < 100 else "")
        pause = intent.pause_at == w
        out.append(step(len(out) + 1, "analysis", region,
                        f"step {k}/{n}: analysis at {w}% ({checks})" + ("; then hold for promote" if pause else ""),
                        canary=canary.version, stable=stable.version, listener_arn=svc.listener_arn,
                        canary_groups=list(canary.target_group_arns), stable_groups=list(stable.target_group_arns),
                        window_s=max(bake, MIN_PERIODS * period_s), period_s=period_s, latency_stat=cfg.latency_stat,
                        alarm_prefixes=list(cfg.alarms), alarm_dims=dims, other_dims=other_dims, compare=w < 100, pause=pause,
                        auto_abort=intent.auto_abort, abort=[dict(s.params) for s in abort.steps], **stage))
    before = current
    on_fail = (f"failing analysis → all traffic back to {stable.version}" if intent.auto_abort
               else "failing analysis holds (auto-abort off)")
    summary = (f"rollout {svc.name}: {canary.version} {format_weight(before.get(canary.version, 0))}→"
               f"{'→'.join(f'{w}%' for w in todo)}, bake {words(bake)} and analysis at each; {on_fail}")
    warnings = ()
    if canary.healthy < canary.total:
        warnings = (f"{canary.version} has {canary.healthy}/{canary.total} healthy hosts",)
    return Plan(id=abort.id, verb="rollout", service=svc.name, summary=summary, steps=tuple(out),
                capacity_before=100, capacity_min=capacity, weights_before=before,
                weights_after=weights_for_shift(svc, canary.version, 100), created_at=abort.created_at,
                generation=canary.version, warnings=warnings)


def _duration_arg(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


class RolloutVerb(Verb):
    name = "rollout"
    help = ("roll a generation out in steps with bake and analysis (auto-abort); also: rollout "
            "status|promote|promote-full|pause|resume|abort SERVICE")
    key = "O"
    label = "Rollout"
    tooltip = "Roll the generation under the cursor out in steps (bake, analysis, auto-abort)"
    dialog = "rollout"
    intent = Rollout

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("service", help="the service, or a control: "
                            + "|".join(c.replace("_", "-") for c in ("status", *CONTROLS)))
        parser.add_argument("control_service", nargs="?", metavar="SERVICE", help="the service of a control")
        parser.add_argument("--to", metavar="VERSION", help="the generation to roll out")
        parser.add_argument("--steps", type=_int_list, metavar="P1,P2,…", help="weights, e.g. 5,25,50,100 "
                            "(default: the service's rollout_steps)")
        parser.add_argument("--bake", type=_duration_arg, metavar="DURATION", help="bake at each step, e.g. 10m "
                            "(default: the service's bake)")
        parser.add_argument("--pause-at", type=int, metavar="PERCENT", help="hold for a manual promote at this step")
        parser.add_argument("--no-auto-abort", dest="auto_abort", action="store_false",
                            help="a failing analysis holds instead of rolling back")
        parser.add_argument("--wait", action="store_true", help="block until the rollout is done or aborted, "
                            "printing progress (exit 0 done, 1 aborted, 2 refused); with status: follow a rollout "
                            "another fleettui drives")

    def intent_from_args(self, args: argparse.Namespace) -> Rollout:
        if args.control_service:
            raise ConfigError(f"rollout: {args.service!r} is not a control (allowed: status, "
                              + ", ".join(c.replace("_", "-") for c in CONTROLS) + ")")
        if not args.to:
            raise ConfigError("rollout: --to VERSION is required (the generation to roll out)")
        return Rollout(args.service, to=args.to, steps=tuple(args.steps or ()), bake_s=args.bake,
                       pause_at=args.pause_at, auto_abort=args.auto_abort)

    def intent_for(self, selection: Selection) -> Rollout:
        svc = selection.service
        if svc.listener_arn is None:
            raise PlanError(f"{svc.name} has no listener: there is no traffic to roll out")
        if selection.generation is None:
            raise PlanError("put the cursor on the generation to roll out")
        return Rollout(svc.name, to=selection.generation)

    async def plan(self, actions, intent: Rollout, snapshot: Snapshot) -> Plan:
        return plan_rollout(snapshot, actions.config.service(intent.service), intent,
                            actions.config.defaults.signals_period_s)

    def refusal(self, plan: Plan, snapshot: Snapshot, cfg: ServiceConfig) -> str | None:
        return weights_refusal(plan, snapshot)


VERB = RolloutVerb()
