"""Plans: ordered, replace-only steps produced by a planner from a snapshot. Pure data, JSON round-trip."""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, Mapping

def freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Step:
    id: str                      # "s1", "s2", … unique within the plan
    kind: str                    # a registered step kind (fleettui.actions.steps)
    region: str
    description: str
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "region": self.region, "description": self.description,
                "params": _thaw(self.params)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Step":
        return cls(id=d["id"], kind=d["kind"], region=d["region"], description=d["description"],
                   params=freeze(dict(d.get("params") or {})))


def new_plan_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"p-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Plan:
    id: str
    verb: str                                    # replace | launch | shift | decommission | rollback
    service: str
    summary: str
    steps: tuple[Step, ...]
    hosts_affected: tuple[str, ...] = ()          # instance ids that will be terminated
    capacity_before: int = 100                    # healthy hosts, percent of the service's current healthy hosts
    capacity_min: int = 100                       # lowest healthy capacity during the plan, percent
    weights_before: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    weights_after: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    refusal: str | None = None                    # set by guardrails: the plan must not run
    warnings: tuple[str, ...] = ()
    confirm_phrase: str | None = None             # typed confirmation required (capacity drops / destroys)
    created_at: str = ""
    generation: str | None = None                 # the generation the verb acts on (decommission, rollback…)

    @property
    def runnable(self) -> bool:
        return self.refusal is None and bool(self.steps)

    @property
    def confirm_reason(self) -> str:
        """Why a typed phrase is asked: what the plan destroys or how far healthy capacity drops."""
        what = []
        if self.verb == "decommission" and self.generation:
            what.append(f"destroys generation {self.generation} of {self.service}")
        if self.hosts_affected:
            what.append(f"terminates {len(self.hosts_affected)} host(s)")
        if self.capacity_min < self.capacity_before:
            what.append(f"lowers healthy capacity to {self.capacity_min}% of what {self.service} has now")
        return "this plan " + (", ".join(what) if what else "needs a typed confirmation")

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["steps"] = [s.to_dict() for s in self.steps]
        d["weights_before"] = dict(self.weights_before)
        d["weights_after"] = dict(self.weights_after)
        d["hosts_affected"] = list(self.hosts_affected)
        d["warnings"] = list(self.warnings)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Plan":
        return cls(
            id=d["id"], verb=d["verb"], service=d["service"], summary=d["summary"],
            steps=tuple(Step.from_dict(s) for s in d["steps"]),
            hosts_affected=tuple(d.get("hosts_affected") or ()),
            capacity_before=int(d.get("capacity_before", 100)), capacity_min=int(d.get("capacity_min", 100)),
            weights_before=MappingProxyType(dict(d.get("weights_before") or {})),
            weights_after=MappingProxyType(dict(d.get("weights_after") or {})),
            refusal=d.get("refusal"), warnings=tuple(d.get("warnings") or ()),
            confirm_phrase=d.get("confirm_phrase"), created_at=d.get("created_at", ""),
            generation=d.get("generation"),
        )
