"""Auto Scaling generations (the server-group model), the pure part: one Auto Scaling group per generation.

- A generation's group is named ``<service>-<version with every run of other characters than A-Z a-z 0-9 as
  "-">``: ``checkout`` 2.1.0 -> ``checkout-2-1-0`` (:func:`group_name`).
- It is tagged with the service's selector tags and its generation tag (``generation_tag`` = the version), all
  propagated to its instances; a group carrying both is a generation group of the service (:func:`is_generation_group`).
- It launches from the launch template *version* of its generation, pinned (never ``$Latest``/``$Default``), and
  is attached to that generation's target group.
- Warm = desired > 0 (a rollback to it only moves traffic); cold = desired 0 (a rollback scales it back up and
  waits until it is healthy first). :func:`retention` says which previous generations to cool or decommission.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleettui.domain.model import AsgGroup, Service


def group_name(service: str, version: str) -> str:
    """``checkout`` 2.1.0 -> ``checkout-2-1-0`` (within Auto Scaling's 255 characters)."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", f"{service}-{version}").strip("-")[:255]


def is_generation_group(tags: Mapping[str, str], selector: Mapping[str, str], generation_tag: str) -> bool:
    """A group of the service (all selector tags) that names its generation (the generation tag)."""
    return bool(tags.get(generation_tag)) and all(tags.get(k) == v for k, v in selector.items())


def parse_group(raw: Mapping[str, Any], region: str) -> AsgGroup:
    """A DescribeAutoScalingGroups item -> :class:`AsgGroup`."""
    lt = raw.get("LaunchTemplate") or (raw.get("MixedInstancesPolicy") or {}).get(
        "LaunchTemplate", {}).get("LaunchTemplateSpecification") or {}
    return AsgGroup(
        name=raw["AutoScalingGroupName"], region=region, min_size=int(raw["MinSize"]),
        max_size=int(raw["MaxSize"]), desired=int(raw["DesiredCapacity"]),
        launch_template_version=lt.get("Version"), target_group_arns=tuple(raw.get("TargetGroupARNs") or ()),
        in_service=sum(1 for i in raw.get("Instances") or () if i.get("LifecycleState") == "InService"
                       and i.get("HealthStatus", "Healthy") == "Healthy"),
    )


def is_asg_service(svc: Service, kind: str = "hosts") -> bool:
    """Declared ``kind = "asg"``, or detected: a generation has its own group, or its hosts are in a group."""
    return kind == "asg" or any(g.group is not None for g in svc.generations) or any(i.asg for i in svc.instances)


@dataclass(frozen=True)
class Sizes:
    min_size: int
    max_size: int
    desired: int


def new_group_sizes(svc: Service, live_group: Mapping[str, Any] | None, count: int | None) -> Sizes:
    """Min / max / desired of a new generation's group: copied from the live generation's group (its own, or the
    group its hosts are in), else from its host count; ``count`` (the operator's) sets desired, and min and max
    widen to hold it."""
    live = svc.live or (svc.generations[-1] if svc.generations else None)
    if live is not None and live.group is not None:
        base = Sizes(live.group.min_size, live.group.max_size, live.group.desired)
    elif live_group is not None:
        base = Sizes(int(live_group["MinSize"]), int(live_group["MaxSize"]), int(live_group["DesiredCapacity"]))
    else:
        n = live.total if live is not None and live.total else 1
        base = Sizes(n, n, n)
    if count is None:
        return base
    return Sizes(min(base.min_size, count), max(base.max_size, count), count)


@dataclass(frozen=True)
class Retention:
    warm: tuple[str, ...]           # previous generations kept at full size (keep_warm)
    cool: tuple[str, ...]           # warm now, to be scaled to 0 and kept (a slower rollback)
    decommission: tuple[str, ...]   # beyond ``keep``: to decommission (on request)


def retention(svc: Service, keep_warm: int, keep: int) -> Retention:
    """Of the generations with their own group that take no traffic and are older than the newest one that does,
    newest first: the first ``keep_warm`` stay warm, the rest up to ``keep`` are cold, the others go."""
    source = svc.newest_receiving
    if source is None:
        return Retention((), (), ())
    older = [g for g in reversed(svc.generations[:svc.generations.index(source)])
             if g.group is not None and not g.receives_traffic]
    warm = tuple(g.version for g in older[:keep_warm])
    kept = older[keep_warm:max(keep, keep_warm)]
    return Retention(warm, tuple(g.version for g in kept if not g.cold),
                     tuple(g.version for g in older[max(keep, keep_warm):]))

