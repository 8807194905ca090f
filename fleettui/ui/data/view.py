"""What the main table shows: one section row per generation, then its hosts, after filter, region and sort.

Built once per snapshot and service (:class:`ServiceView`), then re-sliced per keystroke by :func:`rows_for`
(one pass over a list of precomputed entries; no widgets involved).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Collection

from fleettui.domain.model import Generation, Instance, Service, Snapshot
from fleettui.ui.data.filter import NO_FILTER, Filter

SORT_KEYS = ("age", "version", "state")


@dataclass(frozen=True, eq=False, slots=True)
class Entry:
    """One host row, with what the filter asks precomputed (a keystroke is one cheap pass over these)."""

    inst: Instance
    gen: Generation
    hay: str              # lowercase id, Name, type, AZ, state: what free text matches
    version_low: str
    drifted: bool
    aged: bool
    healthy: bool

    @property
    def key(self) -> str:
        return self.inst.id


@dataclass(frozen=True)
class GenStats:
    total: int
    healthy: int
    drift: int
    aged: int
    aged_error: int
    newest_age_days: float
    oldest_age_days: float


@dataclass(frozen=True, eq=False)
class Section:
    """One generation header row; ``shown`` hosts of it pass the filter."""

    gen: Generation
    shown: int
    filtered: bool
    stats: GenStats

    @property
    def key(self) -> str:
        return f"gen:{self.gen.version}"


Row = Entry | Section


@dataclass
class ServiceView:
    service: Service
    groups: list[tuple[Generation, list[Entry]]] = field(default_factory=list)
    stats: dict[str, GenStats] = field(default_factory=dict)          # by version
    widths: dict[str, int] = field(default_factory=dict)   # max content width per column over all hosts
    by_id: dict[str, Entry] = field(default_factory=dict)

    @classmethod
    def build(cls, service: Service) -> "ServiceView":
        view = cls(service)
        widths = {"az": 2, "type": 4, "state": 5, "health": 6, "lt": 2}
        for g in service.generations:
            entries = []
            v = g.version.lower()
            for i in g.instances:
                e = Entry(i, g, f"{i.id} {i.name} {i.type} {i.az} {i.state}".lower(), v, i.drifted,
                          i.age_level is not None, i.is_healthy)
                entries.append(e)
                view.by_id[i.id] = e
                widths["az"] = max(widths["az"], len(i.az))
                widths["type"] = max(widths["type"], len(i.type))
                widths["state"] = max(widths["state"], len(i.state))
                widths["health"] = max(widths["health"], len(i.health))
                widths["lt"] = max(widths["lt"], len(i.launch_template_version or "—") + 1)
            view.groups.append((g, entries))
            view.stats[g.version] = GenStats(
                total=len(entries), healthy=sum(e.healthy for e in entries), drift=sum(e.drifted for e in entries),
                aged=sum(e.aged for e in entries),
                aged_error=sum(1 for e in entries if e.aged and e.inst.age_level == "error"),
                newest_age_days=min((e.inst.age_days for e in entries), default=0.0),
                oldest_age_days=max((e.inst.age_days for e in entries), default=0.0))
        view.widths = widths
        return view

    @property
    def total(self) -> int:
        return len(self.by_id)

    def marked(self, marks: Collection[str]) -> int:
        return sum(1 for m in marks if m in self.by_id)


def views_for(snapshot: Snapshot | None) -> dict[str, ServiceView]:
    if snapshot is None:
        return {}
    return {s.name: ServiceView.build(s) for s in snapshot.services}


_STATE_ORDER = {"pending": 0, "running": 1, "stopping": 2, "stopped": 3, "shutting-down": 4}


def rows_for(view: ServiceView, flt: Filter = NO_FILTER, *, region: str | None = None,
             sort: tuple[str, bool] | None = None, marks: Collection[str] = ()) -> list[Row]:
    """Section + host rows in display order. ``sort`` is (key, descending) with key in SORT_KEYS.

    Generations with no matching host are left out while a filter or region is active."""
    preds = flt.predicates
    narrowing = bool(preds) or region is not None
    groups = view.groups
    if sort and sort[0] == "version":
        groups = sorted(groups, key=lambda ge: _version_key(ge[0].version), reverse=sort[1])
    out: list[Row] = []
    for gen, entries in groups:
        if narrowing:
            kept = entries if region is None else [e for e in entries if e.inst.region == region]
            for p in preds:
                kept = [e for e in kept if p(e, marks)]
            if not kept:
                continue
        else:
            kept = entries
        if sort and sort[0] == "age":
            kept = sorted(kept, key=lambda e: (e.inst.age_days, e.inst.id), reverse=sort[1])
        elif sort and sort[0] == "state":
            kept = sorted(kept, key=lambda e: (_STATE_ORDER.get(e.inst.state, 9), e.inst.state, e.inst.id),
                          reverse=sort[1])
        out.append(Section(gen, len(kept), narrowing, view.stats[gen.version]))
        out.extend(kept)
    return out


def _version_key(version: str) -> tuple:
    parts = []
    for p in version.replace("-", ".").split("."):
        parts.append((0, int(p), "") if p.isdigit() else (1, 0, p))
    return tuple(parts)
