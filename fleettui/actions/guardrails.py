"""Guardrails: refuse a plan with a reason before anything runs. Pure."""
from __future__ import annotations

from dataclasses import replace

from fleettui.config import ServiceConfig
from fleettui.domain.model import Snapshot
from fleettui.domain.plan import Plan


def refusal(plan: Plan, snapshot: Snapshot, cfg: ServiceConfig, *, read_only: bool) -> str | None:
    svc = snapshot.service(plan.service)
    if read_only:
        return "read-only mode: no mutation is allowed (start without --read-only / read_only = false)"
    if svc is None:
        return f"service {plan.service} is not in the snapshot"
    if plan.verb == "decommission":
        version = plan.confirm_phrase
        gen = svc.generation(version)
        if gen is not None and gen.weight:
            return f"{version} still takes {gen.weight}% of traffic: shift its weight to 0 first"
        others_healthy = sum(g.healthy for g in svc.generations if g is not gen)
        if gen is not None and others_healthy == 0:
            return f"{version} is the last generation with healthy hosts"
    if plan.verb in ("shift", "rollback"):
        for version, weight in plan.weights_after.items():
            gen = svc.generation(version)
            if weight > 0 and gen is not None and gen.healthy == 0:
                return f"{version} has no healthy targets: refusing to send it {weight}% of traffic"
        if plan.verb == "rollback" and not svc.rollback.ready:
            return f"rollback not ready: {svc.rollback.reason}"
    if plan.capacity_min < cfg.min_healthy_percent:
        return (f"healthy capacity would drop to {plan.capacity_min}% "
                f"(min_healthy_percent is {cfg.min_healthy_percent}%)")
    return None


def check(plan: Plan, snapshot: Snapshot, cfg: ServiceConfig, *, read_only: bool) -> Plan:
    """The plan with ``refusal`` set when a guardrail refuses it, and the typed phrase it requires."""
    reason = refusal(plan, snapshot, cfg, read_only=read_only)
    phrase = plan.confirm_phrase
    if phrase is None and plan.capacity_min < 100:
        svc = snapshot.service(plan.service)
        phrase = str(round((svc and sum(g.healthy for g in svc.generations) or 0) * plan.capacity_min / 100))
    return replace(plan, refusal=reason, confirm_phrase=phrase)
