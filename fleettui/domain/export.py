"""Snapshot -> the stable ``status --json`` document (see DESIGN.md). Pure."""
from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from fleettui.domain.model import Finding, Generation, Instance, Service, Snapshot
from fleettui.domain.signals import GenerationSignals, Signals, Verdict


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def finding_to_dict(f: Finding) -> dict[str, Any]:
    return {"kind": f.kind, "severity": f.severity, "expected": f.expected, "actual": f.actual,
            "message": f.message}


def instance_to_dict(i: Instance) -> dict[str, Any]:
    return {
        "id": i.id, "region": i.region, "az": i.az, "type": i.type, "state": i.state, "health": i.health,
        "age_days": round(i.age_days, 3), "launch_template_version": i.launch_template_version, "asg": i.asg,
        "findings": [finding_to_dict(f) for f in i.findings],
    }


def _exact(percent: float | None) -> int | float:
    p = round(percent or 0.0, 3)
    return int(p) if p == int(p) else p


def generation_to_dict(g: Generation, rollback_target: bool = False) -> dict[str, Any]:
    return {
        "version": g.version, "image_id": g.image.id, "image_created": _iso(g.image.created),
        "weight": _exact(g.weight), "role": g.role.value,
        "other_rules": [{"rule": where, "weight": _exact(p)} for where, p in g.other_traffic],
        "live": g.live, "rollback_target": rollback_target,
        "healthy": g.healthy, "total": g.total,
        "oldest_age_days": round(g.oldest_age_days, 3), "newest_age_days": round(g.newest_age_days, 3),
        "instances": [instance_to_dict(i) for i in g.instances],
        "group": None if g.group is None else {     # its own Auto Scaling group (one group per generation)
            "name": g.group.name, "region": g.group.region, "min": g.group.min_size, "max": g.group.max_size,
            "desired": g.group.desired, "launch_template_version": g.group.launch_template_version,
            "state": "cold" if g.cold else "warm"},
    }


def service_to_dict(s: Service) -> dict[str, Any]:
    target = s.rollback_target if s.listener_arn else None
    rb = s.rollback
    return {"name": s.name, "regions": list(s.regions), "listener_arn": s.listener_arn,
            "rollback": {"ready": rb.ready, "from": rb.source, "to": rb.target, "reason": rb.reason},
            "generations": [generation_to_dict(g, g is target) for g in s.generations]}


def snapshot_to_dict(snap: Snapshot) -> dict[str, Any]:
    return {
        "generated_at": _iso(snap.generated_at), "profile": snap.profile, "regions": list(snap.regions),
        "services": [service_to_dict(s) for s in snap.services],
        "errors": [{"region": e.region, "message": e.message} for e in snap.errors],
    }


def signals_to_dict(g: GenerationSignals, verdict: Verdict | None) -> dict[str, Any]:
    def r(v: float | None, n: int = 4) -> float | None:
        return None if v is None or not math.isfinite(v) else round(v, n)     # JSON has no Infinity, no NaN

    return {"window_seconds": g.window_s, "requests": r(g.total_requests, 1), "requests_per_s": r(g.requests_per_s),
            "error_rate": r(g.error_rate, 5), "latency_seconds": r(g.latency_value), "latency_stat": g.latency_stat,
            "unhealthy_max": g.max_unhealthy, "cpu_percent": r(g.cpu_value, 2),
            "verdict": None if verdict is None else {"state": verdict.state, "reason": verdict.reason}}


def finite(doc: Any) -> Any:
    """``doc`` with every float that is not a number JSON can carry (inf, nan: a metric gone wild) as null: what
    ``status --json`` prints is always valid JSON."""
    if isinstance(doc, float):
        return doc if math.isfinite(doc) else None
    if isinstance(doc, dict):
        return {k: finite(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [finite(v) for v in doc]
    return doc


def add_signals(doc: dict[str, Any], signals: Signals) -> dict[str, Any]:
    """``doc`` (from :func:`snapshot_to_dict`) with ``signals`` per generation and ``alarms`` per service."""
    doc["signals_error"] = signals.error
    for svc in doc["services"]:
        ss = signals.service(svc["name"])
        svc["alarms"] = [{"name": a.name, "state": a.state, "reason": a.reason, "metric": a.metric}
                         for a in ss.alarms]
        for g in svc["generations"]:
            gs = ss.generations.get(g["version"])
            g["signals"] = None if gs is None else signals_to_dict(gs, ss.verdicts.get(g["version"]))
    return doc
