"""Guardrails: refuse a plan with a reason before anything runs. Pure.

The rules every plan obeys are here; each verb adds its own (:meth:`fleettui.actions.verbs.base.Verb.refusal`).
"""
from __future__ import annotations

from dataclasses import replace

from fleettui.actions.verbs import VERBS
from fleettui.config import ServiceConfig
from fleettui.domain.model import Snapshot
from fleettui.domain.plan import Plan


def refusal(plan: Plan, snapshot: Snapshot, cfg: ServiceConfig, *, read_only: bool) -> str | None:
    if read_only:
        return "read-only mode: no mutation is allowed (start without --read-only / read_only = false)"
    if snapshot.service(plan.service) is None:
        return f"service {plan.service} is not in the snapshot"
    reason = VERBS[plan.verb].refusal(plan, snapshot, cfg)
    if reason:
        return reason
    if plan.capacity_min < cfg.min_healthy_percent:
        return (f"healthy capacity would drop to {plan.capacity_min}% "
                f"(min_healthy_percent is {cfg.min_healthy_percent}%)")
    return None


def check(plan: Plan, snapshot: Snapshot, cfg: ServiceConfig, *, read_only: bool) -> Plan:
    """The plan with ``refusal`` set when a guardrail refuses it, and the typed phrase it requires: when healthy
    capacity drops, the service and the generation that is short of hosts ("web 1.6.0": the plan's own
    generation, else the one that takes traffic with the fewest healthy hosts per share of it)."""
    reason = refusal(plan, snapshot, cfg, read_only=read_only)
    phrase = plan.confirm_phrase
    if phrase is None and plan.capacity_min < 100:
        phrase = " ".join(filter(None, (plan.service, plan.generation or _shortest(plan, snapshot))))
    return replace(plan, refusal=reason, confirm_phrase=phrase)


def _shortest(plan: Plan, snapshot: Snapshot) -> str | None:
    """The generation that takes traffic after the plan with the fewest healthy hosts per percent of it."""
    svc = snapshot.service(plan.service)
    gens = [(svc.generation(v), w) for v, w in plan.weights_after.items() if w] if svc else []
    gens = [(g, w) for g, w in gens if g is not None]
    return min(gens, key=lambda gw: gw[0].healthy / gw[1])[0].version if gens else None
