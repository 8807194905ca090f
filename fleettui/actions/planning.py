"""What every verb's planner shares: errors, generation lookups, weights and capacity arithmetic, the step
factory. Pure (no I/O); guardrails are applied by :func:`fleettui.actions.guardrails.check`.

Every plan is replace-only: hosts are launched fresh, then old ones are drained and terminated; traffic moves
only through listener weights.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import Any

from fleettui.actions.steps import load as load_steps
from fleettui.config import ServiceConfig
from fleettui.domain.model import Generation, Instance, Service, Snapshot
from fleettui.domain.plan import Step, freeze
from fleettui.errors import ConfigError

MANAGED_TAG_PREFIXES = ("aws:", "fleettui:")


class PlanError(ConfigError):
    """The intent itself is invalid (unknown generation, bad weights…): exit 2, nothing happens."""


def service_of(snapshot: Snapshot, cfg: ServiceConfig) -> Service:
    svc = snapshot.service(cfg.name)
    if svc is None:
        raise PlanError(f"service {cfg.name!r} is not in the snapshot")
    return svc


def generation_of(svc: Service, version: str) -> Generation:
    gen = svc.generation(version)
    if gen is None:
        allowed = ", ".join(g.version for g in svc.generations) or "none running"
        raise PlanError(f"{svc.name} has no generation {version!r} (generations: {allowed})")
    return gen


def serving(svc: Service) -> list[Generation]:
    """Generations that serve traffic: weight > 0 with a listener, all of them without one."""
    if svc.listener_arn is None or all(g.weight is None for g in svc.generations):
        return list(svc.generations)
    return [g for g in svc.generations if g.weight]


def healthy_serving(svc: Service) -> int:
    return sum(g.healthy for g in serving(svc))


def current_weights(svc: Service) -> dict[str, int]:
    return {g.version: g.weight or 0 for g in svc.generations if g.weight is not None}


def _own_tags(host: Instance) -> dict[str, str]:
    return {k: v for k, v in host.tags.items() if v and k != "Name" and not k.startswith(MANAGED_TAG_PREFIXES)}


def most_common_value(hosts: list[Instance], key: str) -> str | None:
    """The value of tag ``key`` most of ``hosts`` carry (None when none does)."""
    values = Counter(h.tags.get(key) for h in hosts if h.tags.get(key))
    return values.most_common(1)[0][0] if values else None


def new_host_tags(cfg: ServiceConfig, version: str, peers: list[Instance], replaced: Instance | None = None) -> dict[str, str]:
    """The tags of a host launched for generation ``version``: the tags most of ``peers`` (its generation, or the
    live one for a new generation) carry; each required tag with its value on the host it ``replaced``, else the
    value most peers have; the tags declared in config; the service's selector; the generation tag."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for h in peers:
        for k, v in _own_tags(h).items():
            counts[k][v] += 1
    tags = {k: c.most_common(1)[0][0] for k, c in counts.items() if 2 * sum(c.values()) > len(peers)}
    for key in cfg.required_tags:
        value = (replaced.tags.get(key) if replaced is not None else None) or most_common_value(peers, key)
        if value:
            tags[key] = value
    tags.update(dict(cfg.tags))
    tags.update(dict(cfg.selector))
    tags[cfg.generation_tag] = version
    return tags


def require_tags(cfg: ServiceConfig, tags: dict[str, str], what: str) -> None:
    """Refuse (PlanError) to launch ``what`` without one of the service's required tags."""
    missing = [k for k in cfg.required_tags if not tags.get(k)]
    if missing:
        raise PlanError(f"{what} would miss required tag(s) {', '.join(missing)}: no host to copy them from "
                        f"carries them; declare them in the config ([[service]] {cfg.name!r}: tags = {{ "
                        + ", ".join(f'{k} = "…"' for k in missing) + " })")


def host_name_prefix(service: str, version: str) -> str:
    """New hosts are named ``<service>-<version, dots as dashes>-<instance id tail>``, as the generation's."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", f"{service}-{version}").strip("-")


def tg_name(cfg: ServiceConfig, version: str) -> str:
    """Target group name for a generation: prefix + version, within AWS's 32 chars of [A-Za-z0-9-]."""
    name = re.sub(r"[^A-Za-z0-9-]+", "-", f"{cfg.target_group_prefix or cfg.name + '-'}{version}").strip("-")
    return name[:32].rstrip("-")


def stamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def step(n: int, kind: str, region: str, description: str, **params: Any) -> Step:
    """Step ``s<n>`` of a registered kind."""
    if kind not in load_steps():
        raise AssertionError(f"unknown step kind {kind!r}")
    return Step(id=f"s{n}", kind=kind, region=region, description=description, params=freeze(params))


def capacity_after_weights(svc: Service, weights: dict[str, int]) -> int:
    """Healthy hosts per share of traffic after the change, as a percent of what the live generation has for
    all of it today (the least provisioned generation that takes traffic decides). 100 when live has no
    healthy host: nothing can get worse, and a rollback must never be blocked by an outage."""
    live = svc.live
    if live is None or live.healthy == 0:
        return 100
    per_percent = [svc.generation(v).healthy / w for v, w in weights.items() if w]
    if not per_percent:
        return 0
    return min(100, round(100 * min(per_percent) / (live.healthy / 100)))


