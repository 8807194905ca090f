"""``[defaults]``: fleet-wide settings; the age and capacity ones are per-service defaults."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleettui.config.checks import (Spec, _bool, _duration, _latency_stat, _percent, _period, _Reader, _refresh,
                                    _shift_steps, _str)


@dataclass(frozen=True)
class Defaults:
    warn_age_s: float = 14 * 86400
    max_age_s: float = 30 * 86400
    refresh_seconds: float = 30.0
    read_only: bool = False
    min_healthy_percent: int = 75
    production_pattern: str = "prod*"
    signals_window_s: float = 15 * 60          # the window golden signals and verdicts are computed over
    signals_period_s: float = 60.0             # CloudWatch period of each datapoint
    signals_refresh_seconds: float = 60.0      # signals poll on their own cadence (metrics are per minute)
    latency_stat: str = "p99"                  # TargetResponseTime statistic shown (moto: use Average/Maximum)
    rollout_steps: tuple[int, ...] = (10, 25, 50, 100)   # a rollout's weight steps (per service: rollout_steps)
    bake_s: float = 600.0                      # a rollout's bake at each step before its analysis (per service: bake)


SPEC: Spec = {
    "warn_age": _duration, "max_age": _duration, "refresh_seconds": _refresh, "read_only": _bool,
    "min_healthy_percent": _percent, "production_pattern": _str, "signals_window": _duration,
    "signals_period": _period, "signals_refresh_seconds": _refresh, "latency_stat": _latency_stat,
    "rollout_steps": _shift_steps, "bake": _duration}


def read(r: _Reader, data: dict, env: Mapping[str, str], sections: dict[str, Any]) -> Defaults:
    defaults = Defaults(**r.table(data.get("defaults", {}), "defaults", SPEC, "[defaults]"))
    r.ages("defaults", defaults.warn_age_s, defaults.max_age_s)
    if defaults.signals_window_s < defaults.signals_period_s:
        r.fail("defaults.signals_window", "shorter than signals_period (allowed: a window of at least one period)")
    return defaults
