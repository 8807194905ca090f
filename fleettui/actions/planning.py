"""What every verb's planner shares: errors, generation lookups, weights and capacity arithmetic, the step
factory. Pure (no I/O); guardrails are applied by :func:`fleettui.actions.guardrails.check`.

Every plan is replace-only: hosts are launched fresh, then old ones are drained and terminated; traffic moves
only through listener weights.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from datetime import datetime, timezone
from fractions import Fraction
from typing import Any

from fleettui.actions.steps import load as load_steps
from fleettui.config import ServiceConfig
from fleettui.domain.model import Generation, Instance, Service, Snapshot
from fleettui.domain.plan import Step, freeze
from fleettui.domain.traffic import Forward
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


def current_weights(svc: Service) -> dict[str, float]:
    """Each generation's exact share of the listener's default action, in percent."""
    return {g.version: g.weight or 0 for g in svc.generations if g.weight is not None}


def service_forwards(svc: Service) -> list[Forward]:
    """The rules a shift or rollback changes: the configured listener's default action, and every other rule
    of the load balancer that sends traffic to one of the service's generations. A rule that also sends traffic
    to target groups that are not the service's cannot be rewritten safely: PlanError naming its ARN."""
    traffic = svc.traffic
    if traffic is None or traffic.primary is None:
        return [Forward(listener_arn=svc.listener_arn, groups=())] if svc.listener_arn else []
    mine = {a for g in svc.generations for a in g.target_group_arns}
    out = [traffic.primary]
    for fwd in traffic.forwards:
        if fwd is traffic.primary or not any(a in mine and w > 0 for a, w in fwd.groups):
            continue
        foreign = [a for a, w in fwd.groups if a not in mine and w > 0]
        if foreign:
            raise PlanError(f"{fwd.where} ({fwd.rule_arn or fwd.listener_arn}) also forwards to "
                            f"{', '.join(a.split('/')[-2] for a in foreign)}, which is not a generation of "
                            f"{svc.name}: change that rule by hand first")
        out.append(fwd)
    return out


def split_weights(rest: float, shares: dict[str, float]) -> dict[str, int]:
    """``rest`` percent (a whole number) split in proportion to ``shares``, as integers that add up to it
    (largest remainders first); never more than a share's exact part rounded up."""
    total = sum(shares.values())
    if total <= 0:
        return {v: 0 for v in shares}
    exact = {v: rest * w / total for v, w in shares.items()}
    out = {v: int(x) for v, x in exact.items()}
    for v in sorted(exact, key=lambda v: exact[v] - out[v], reverse=True)[:int(round(rest)) - sum(out.values())]:
        out[v] += 1
    return out


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
    per_percent = [Fraction(svc.generation(v).healthy, w) for v, w in weights.items() if w]
    if not per_percent:
        return 0
    # exact, and rounded down: 3 hosts for 7's traffic is 42%, which a bound of 43% refuses (never "43%")
    return min(100, math.floor(100 * min(per_percent) / Fraction(live.healthy, 100)))


