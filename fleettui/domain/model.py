"""Frozen domain objects. A Snapshot is the whole fleet at one instant; nothing here does I/O."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from types import MappingProxyType
from typing import Mapping

from fleettui.domain.traffic import Traffic

WARN = "warn"
ERROR = "error"
DAY = 86400.0


@dataclass(frozen=True)
class Finding:
    kind: str                 # "drift:instance_type", "age:max", ...
    severity: str             # "warn" | "error"
    expected: str | None
    actual: str | None
    message: str

    @property
    def is_drift(self) -> bool:
        return self.kind.startswith("drift:")

    @property
    def is_age(self) -> bool:
        return self.kind.startswith("age:")


@dataclass(frozen=True)
class Image:
    id: str
    name: str | None
    version: str
    created: datetime | None
    state: str                       # "available", "pending", "failed", "missing" (deregistered / not visible)
    deprecated: bool = False
    deprecation_time: datetime | None = None

    @property
    def reproducible(self) -> bool:
        return self.state == "available"


@dataclass(frozen=True)
class LaunchTemplateVersion:
    template_id: str
    template_name: str
    version: int
    image_id: str | None
    instance_type: str | None
    security_group_ids: frozenset[str] = frozenset()
    iam_instance_profile: str | None = None   # profile *name*
    subnet_id: str | None = None
    is_default: bool = False


@dataclass(frozen=True)
class Instance:
    id: str
    region: str
    az: str
    type: str
    state: str                               # pending/running/stopping/stopped/shutting-down
    launch_time: datetime
    age_days: float
    image_id: str
    subnet_id: str | None
    security_group_ids: frozenset[str]
    iam_instance_profile: str | None         # profile name
    tags: Mapping[str, str]
    launch_template_id: str | None
    launch_template_version: str | None
    asg: str | None
    health: str                              # healthy/unhealthy/unused/initial/draining/n/a
    target_groups: tuple[str, ...] = ()
    private_ip: str | None = None
    findings: tuple[Finding, ...] = ()
    expected_launch_template_version: int | None = None   # the LT version a replacement is launched from

    @property
    def name(self) -> str:
        return self.tags.get("Name", "")

    @property
    def is_healthy(self) -> bool:
        if self.state != "running":
            return False
        return self.health in ("healthy", "n/a")

    @property
    def drifted(self) -> bool:
        return any(f.is_drift for f in self.findings)

    @property
    def age_level(self) -> str | None:
        """None, "warn" or "error" (over max_age)."""
        levels = [f.severity for f in self.findings if f.is_age]
        return ERROR if ERROR in levels else (WARN if levels else None)


def freeze_tags(tags: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(tags or {}))


@dataclass(frozen=True)
class AsgGroup:
    """A generation's own Auto Scaling group (one group per generation: see fleettui.domain.asg)."""

    name: str
    region: str
    min_size: int
    max_size: int
    desired: int
    launch_template_version: str | None = None      # the pinned version, as the group reports it
    target_group_arns: tuple[str, ...] = ()
    in_service: int = 0                             # instances InService and Healthy

    @property
    def cold(self) -> bool:
        """Scaled to 0 but kept: a rollback to it scales it back up first."""
        return self.desired == 0


class Role(str, Enum):
    """What a generation is to its service's traffic: exactly one of these."""

    LIVE = "live"                        # the most traffic weight
    CANARY = "canary"                    # receives traffic and is newer than live: a rollout in progress
    ROLLBACK_TARGET = "rollback_target"  # where rollback sends traffic (when it is not live already)
    IDLE = "idle"

    @property
    def label(self) -> str:
        return "" if self is Role.IDLE else self.value.replace("_", " ")


@dataclass(frozen=True)
class Generation:
    service: str
    version: str
    image: Image
    instances: tuple[Instance, ...]
    weight: float | None = None              # exact percent of the listener's default action (AWS weights 0-999
                                             # per target group), None when the service has no listener
    target_group_arns: tuple[str, ...] = ()
    other_traffic: tuple[tuple[str, float], ...] = ()   # (rule in words, percent) of every other rule sending it traffic
    launch_template_version: int | None = None   # the LT version that produces this generation's image
    role: Role = Role.IDLE
    group: AsgGroup | None = None                # its own Auto Scaling group (the per-generation model)

    @property
    def cold(self) -> bool:
        """Its own Auto Scaling group is scaled to 0: a rollback to it scales it back up first."""
        return self.group is not None and self.group.cold

    @property
    def live(self) -> bool:
        return self.role is Role.LIVE

    @property
    def rollback_target(self) -> bool:
        return self.role is Role.ROLLBACK_TARGET

    @property
    def canary(self) -> bool:
        return self.role is Role.CANARY

    @property
    def total(self) -> int:
        return len(self.instances)

    @property
    def receives_traffic(self) -> bool:
        """Any weight in any rule of any listener: such a generation is not idle."""
        return bool(self.weight) or any(p > 0 for _, p in self.other_traffic)

    @property
    def healthy(self) -> int:
        return sum(1 for i in self.instances if i.is_healthy)

    @property
    def oldest_age_days(self) -> float:
        return max((i.age_days for i in self.instances), default=0.0)

    @property
    def newest_age_days(self) -> float:
        return min((i.age_days for i in self.instances), default=0.0)

    @property
    def drift_count(self) -> int:
        return sum(1 for i in self.instances if i.drifted)

    @property
    def age_count(self) -> int:
        return sum(1 for i in self.instances if i.age_level)

    @property
    def labels(self) -> tuple[str, ...]:
        return (self.role.label,) if self.role is not Role.IDLE else ()


@dataclass(frozen=True)
class RollbackReadiness:
    ready: bool
    target: str | None          # version
    reason: str                 # human sentence: what B does, or why it cannot
    source: str | None = None   # the generation rolled away from (the newest that receives traffic)


@dataclass(frozen=True)
class Service:
    name: str
    regions: tuple[str, ...]
    generations: tuple[Generation, ...]      # oldest image first
    listener_arn: str | None = None
    declared_launch_template_version: int | None = None
    declared_image_id: str | None = None
    warnings: tuple[str, ...] = ()
    traffic: Traffic | None = None           # every forwarding rule of the service's load balancer

    @property
    def instances(self) -> tuple[Instance, ...]:
        return tuple(i for g in self.generations for i in g.instances)

    @property
    def live(self) -> Generation | None:
        return next((g for g in self.generations if g.live), None)

    def generation(self, version: str) -> Generation | None:
        return next((g for g in self.generations if g.version == version), None)

    @property
    def newest_receiving(self) -> Generation | None:
        """N of the rollback rule: the newest generation that receives traffic (any weight in any rule)."""
        return next((g for g in reversed(self.generations) if g.receives_traffic), None)

    @property
    def rollback_target(self) -> Generation | None:
        """Rollback undoes the newest generation: the newest generation older than N with healthy hosts (with no
        listener: the newest older than live with healthy hosts)."""
        source = self.newest_receiving if self.listener_arn else self.live
        if source is None or self.undated(source):
            return None
        older = self.generations[:self.generations.index(source)]
        return next((g for g in reversed(older) if g.healthy > 0 or g.cold and g.target_group_arns), None)

    def undated(self, source: Generation) -> tuple[Generation, ...]:
        """Generations other than ``source`` with healthy hosts whose image has no creation date (deregistered or
        not visible): where they stand in the order of generations is unknown, so no rollback target can be
        chosen past them — the newest older generation might be one of them."""
        return tuple(g for g in self.generations if g is not source and g.healthy and g.image.created is None)

    @property
    def rollback(self) -> RollbackReadiness:
        source, target = self.newest_receiving, self.rollback_target
        if self.listener_arn is None:
            return RollbackReadiness(False, target.version if target else None,
                                     "service has no listener to shift traffic on")
        if source is None:
            return RollbackReadiness(False, None, "no generation receives traffic")
        undated = self.undated(source)
        if undated:
            g = undated[0]
            return RollbackReadiness(False, None, f"cannot place {g.version} among the generations: its image is "
                                     f"{g.image.state} (no creation date) and it has {g.healthy} healthy hosts; "
                                     "choose the target with rollback --to VERSION", source.version)
        if target is None:
            return RollbackReadiness(False, None, f"no generation older than {source.version} has healthy hosts",
                                     source.version)
        if target.live:
            what = f"take {source.version} out of traffic → {target.version} gets 100%"
        else:
            what = f"roll back from {source.version} → {target.version} gets 100%"
        if target.cold:
            return RollbackReadiness(True, target.version, f"{what} (cold: {target.group.name} scales up to "
                                     f"{restore_size(self, target)} and gets healthy first)", source.version)
        warm = "warm, " if target.group is not None else ""
        return RollbackReadiness(True, target.version, f"{what} ({warm}{target.healthy}/{target.total} healthy)",
                                 source.version)


@dataclass(frozen=True)
class RegionError:
    """A region that could not be read in a refresh: its hosts and traffic are missing from the snapshot."""

    region: str
    message: str

    def __str__(self) -> str:
        return f"{self.region} not refreshed (stale, its hosts are not shown): {self.message}"


@dataclass(frozen=True)
class Snapshot:
    generated_at: datetime
    regions: tuple[str, ...]
    services: tuple[Service, ...]
    profile: str | None = None
    account: str | None = None
    caller_arn: str | None = None
    errors: tuple[RegionError, ...] = field(default=())   # regions that could not be read

    def service(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)

    @property
    def instance_count(self) -> int:
        return sum(len(s.instances) for s in self.services)


def restore_size(svc: Service, gen: Generation) -> int:
    """How many hosts a cold generation gets back before it takes traffic: as many as the generation that takes
    traffic now (its group's desired capacity, else its hosts), within the cold group's max (at least 1)."""
    source = svc.newest_receiving or svc.live
    want = (source.group.desired if source is not None and source.group is not None else
            source.total if source is not None else 1)
    if gen.group is not None:
        want = min(want, gen.group.max_size)
    return max(1, want)
