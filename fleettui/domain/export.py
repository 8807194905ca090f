"""Snapshot -> the stable ``status --json`` document (see DESIGN.md). Pure."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from fleettui.domain.model import Finding, Generation, Instance, Service, Snapshot


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


def generation_to_dict(g: Generation) -> dict[str, Any]:
    return {
        "version": g.version, "image_id": g.image.id, "image_created": _iso(g.image.created),
        "weight": g.weight or 0, "live": g.live, "rollback_target": g.rollback_target,
        "healthy": g.healthy, "total": g.total,
        "oldest_age_days": round(g.oldest_age_days, 3), "newest_age_days": round(g.newest_age_days, 3),
        "instances": [instance_to_dict(i) for i in g.instances],
    }


def service_to_dict(s: Service) -> dict[str, Any]:
    return {"name": s.name, "regions": list(s.regions), "listener_arn": s.listener_arn,
            "generations": [generation_to_dict(g) for g in s.generations]}


def snapshot_to_dict(snap: Snapshot) -> dict[str, Any]:
    return {
        "generated_at": _iso(snap.generated_at), "profile": snap.profile, "regions": list(snap.regions),
        "services": [service_to_dict(s) for s in snap.services],
        "errors": [{"region": e.region, "message": e.message} for e in snap.errors],
    }
