"""``[defaults]``: fleet-wide settings; the age and capacity ones are per-service defaults."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleettui.config.checks import Spec, _bool, _duration, _percent, _Reader, _refresh, _str


@dataclass(frozen=True)
class Defaults:
    warn_age_s: float = 14 * 86400
    max_age_s: float = 30 * 86400
    refresh_seconds: float = 30.0
    read_only: bool = False
    min_healthy_percent: int = 75
    production_pattern: str = "prod*"


SPEC: Spec = {
    "warn_age": _duration, "max_age": _duration, "refresh_seconds": _refresh, "read_only": _bool,
    "min_healthy_percent": _percent, "production_pattern": _str}


def read(r: _Reader, data: dict, env: Mapping[str, str], sections: dict[str, Any]) -> Defaults:
    defaults = Defaults(**r.table(data.get("defaults", {}), "defaults", SPEC, "[defaults]"))
    r.ages("defaults", defaults.warn_age_s, defaults.max_age_s)
    return defaults
