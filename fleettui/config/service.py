"""``[[service]]``: one table per fleet; unset regions and age/capacity settings come from [aws] and [defaults]."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleettui.config.aws import AwsConfig
from fleettui.config.checks import (_NAME, _REGIONS, _SELECTOR, Spec, _duration, _Invalid, _latency_stat, _listener_arn, _lt_version,
                                    _name, _percent, _Reader, _regions, _selector, _shift_steps, _show, _str,
                                    _str_list, _tags, _wrong_type)
from fleettui.config.defaults import Defaults


@dataclass(frozen=True)
class ServiceConfig:
    name: str
    regions: tuple[str, ...]
    selector: tuple[tuple[str, str], ...]          # tag filters, all must match
    version_tag: str = "Version"
    launch_template: str | None = None             # name ("web-lt") or id ("lt-...")
    launch_template_version: str = "$Default"      # "$Default", "$Latest" or a number as string
    listener_arn: str | None = None
    generation_tag: str = "fleettui:version"        # tag on a target group naming its generation's version
    target_group_prefix: str | None = None          # name prefix for target groups created per generation
    required_tags: tuple[str, ...] = ()
    instance_roles: tuple[str, ...] | None = None  # IAM roles of the launch template's instance profile (policy)
    tags: tuple[tuple[str, str], ...] = ()          # tags every new host is launched with
    shift_steps: tuple[int, ...] = (10, 50, 100)
    warn_age_s: float = 14 * 86400
    max_age_s: float = 30 * 86400
    min_healthy_percent: int = 75
    alarms: tuple[str, ...] = ()                    # CloudWatch alarm names or name prefixes of this service
    latency_stat: str = "p99"
    rollout_steps: tuple[int, ...] = (10, 25, 50, 100)   # `fleettui rollout` weight steps
    bake_s: float = 600.0                           # `fleettui rollout` bake at each step
    kind: str = "hosts"                             # "asg": one Auto Scaling group per generation
    keep_warm: int = 1                              # previous generations (own groups) kept at full size
    keep: int = 3                                   # previous generations kept at all (beyond keep_warm: at 0)

    @property
    def listener_region(self) -> str | None:
        return self.listener_arn.split(":")[3] if self.listener_arn else None


_KINDS = ("hosts", "asg")


def _kind(v: Any) -> str:
    allowed = '"hosts" (bare EC2 hosts) or "asg" (one Auto Scaling group per generation)'
    if not isinstance(v, str):
        raise _wrong_type(v, allowed)
    if v not in _KINDS:
        raise _Invalid(f"{_show(v)} is not a kind", allowed)
    return v


def _count(v: Any) -> int:
    allowed = "an integer 0-100"
    if isinstance(v, bool) or not isinstance(v, int):
        raise _wrong_type(v, allowed)
    if not 0 <= v <= 100:
        raise _Invalid(f"{v} is out of range", allowed)
    return v


SPEC: Spec = {
    "name": _name, "regions": _regions, "selector": _selector, "version_tag": _str, "launch_template": _str,
    "launch_template_version": _lt_version, "listener_arn": _listener_arn, "generation_tag": _str,
    "target_group_prefix": _str, "required_tags": _str_list, "tags": _tags, "instance_roles": _str_list, "shift_steps": _shift_steps,
    "warn_age": _duration, "max_age": _duration, "min_healthy_percent": _percent, "alarms": _str_list,
    "latency_stat": _latency_stat, "rollout_steps": _shift_steps, "bake": _duration,
    "kind": _kind, "keep_warm": _count, "keep": _count}


def read(r: _Reader, data: dict, env: Mapping[str, str], sections: dict[str, Any]) -> tuple[ServiceConfig, ...]:
    raw = data.get("service")
    allowed = "one [[service]] table per fleet, see config.example.toml"
    if raw is None or raw == []:
        r.fail("service", f"at least one [[service]] is required (allowed: {allowed})")
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        r.fail("service", _wrong_type(raw, "an array of tables, written [[service]]"))
    seen: dict[str, int] = {}
    return tuple(_service(r, s, i, seen, sections["aws"], sections["defaults"]) for i, s in enumerate(raw, 1))


def _service(r: _Reader, s: dict, i: int, seen: dict[str, int], aws: AwsConfig, defaults: Defaults) -> ServiceConfig:
    label = f"service[{i}]"
    if "name" not in s:
        r.fail(f"{label}.name", f"missing (allowed: {_NAME})")
    try:
        name = _name(s["name"])
    except _Invalid as e:
        r.fail(f"{label}.name", e)
    label = f'{label} "{name}"'
    if name in seen:
        r.fail(f"{label}.name", f"duplicate: service[{seen[name]}] is also named {_show(name)} (allowed: unique names)")
    seen[name] = i

    values = r.table(s, label, SPEC, "[[service]]")
    if "selector" not in values:
        r.fail(f"{label}.selector", f"missing (allowed: {_SELECTOR})")
    regions = values.setdefault("regions", aws.regions)
    if not regions:
        r.fail(f"{label}.regions", f"no regions (allowed: {_REGIONS}, here or in [aws], or $AWS_REGION)")
    arn = values.get("listener_arn")
    if arn and arn.split(":")[3] not in regions:
        r.fail(f"{label}.listener_arn", f"listener_arn is in region {arn.split(':')[3]}, service regions are "
                                        f"{', '.join(regions)} (allowed: a listener in one of the service's regions)")
    base = {"warn_age_s": defaults.warn_age_s, "max_age_s": defaults.max_age_s,
            "min_healthy_percent": defaults.min_healthy_percent, "target_group_prefix": f"{name}-",
            "latency_stat": defaults.latency_stat, "rollout_steps": defaults.rollout_steps, "bake_s": defaults.bake_s}
    cfg = ServiceConfig(**{**base, **values})
    r.ages(label, cfg.warn_age_s, cfg.max_age_s)
    return cfg
