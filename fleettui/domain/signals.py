"""Golden signals per generation and the canary-vs-live verdict. Pure: CloudWatch datapoints in, values out.

A generation's signals come from its target groups (``AWS/ApplicationELB``: RequestCount, HTTPCode_Target_5XX_Count,
TargetResponseTime, UnHealthyHostCount) or, without a load balancer, from its hosts' ``AWS/EC2`` CPUUtilization.
Ratios (5xx rate) and window aggregates are computed here, not by CloudWatch metric math.

The verdict rule (README "The dashboard"): a generation that receives traffic and is newer than live is compared
with live over the same window. It is **worse** when its 5xx rate is more than twice live's *and* more than one
percentage point above it, or its latency is more than 1.5 times live's. It is only judged over at least
``MIN_REQUESTS`` requests; with fewer, the verdict is "not enough traffic to judge", never a guess.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Iterable, Mapping, Sequence

MIN_REQUESTS = 50
ERROR_RATIO = 2.0          # × live's 5xx rate …
ERROR_MARGIN = 0.01        # … and at least this much above it (one percentage point)
LATENCY_RATIO = 1.5        # × live's latency

Points = tuple[float | None, ...]      # one value per period of the window, oldest first (None: no datapoint)


@dataclass(frozen=True)
class GenerationSignals:
    version: str
    window_s: float
    requests: Points = ()              # RequestCount Sum per period
    errors: Points = ()                # HTTPCode_Target_5XX_Count Sum per period
    latency: Points = ()               # TargetResponseTime <latency_stat> per period, seconds
    unhealthy: Points = ()             # UnHealthyHostCount Maximum per period
    cpu: Points = ()                   # mean CPUUtilization of the generation's hosts per period, percent
    latency_stat: str = "Average"

    @property
    def total_requests(self) -> float:
        return sum(v for v in self.requests if v)

    @property
    def total_errors(self) -> float:
        return sum(v for v in self.errors if v)

    @property
    def requests_per_s(self) -> float | None:
        return self.total_requests / self.window_s if self.requests else None

    @property
    def error_rate(self) -> float | None:
        """5xx ÷ requests over the window (0.041 = 4.1%), None without requests. Exact whatever the size of the
        counts (a 1e300 request count, whose sum would overflow to infinity, still gives the right share)."""
        return ratio([v for v in self.errors if v], [v for v in self.requests if v])

    @property
    def error_rates(self) -> Points:
        return tuple((e or 0) / r if r else None for r, e in zip(self.requests, self.errors or (0,) * len(self.requests)))

    @property
    def latency_value(self) -> float | None:
        """The latency over the window: request-weighted mean of the per-period values (Average, percentiles:
        an approximation, said in README), the max for Maximum, the min for Minimum."""
        pairs = [(v, r or 0) for v, r in zip(self.latency, self.requests or (None,) * len(self.latency))
                 if v is not None]
        if not pairs:
            return None
        if self.latency_stat == "Maximum":
            return max(v for v, _ in pairs)
        if self.latency_stat == "Minimum":
            return min(v for v, _ in pairs)
        top = max(w for _, w in pairs)
        if not top or not math.isfinite(top):
            return sum(v for v, _ in pairs) / len(pairs)
        weight = sum(w / top for _, w in pairs)            # weights scaled to <= 1: no product overflows
        return sum(v * (w / top) for v, w in pairs) / weight

    @property
    def max_unhealthy(self) -> float | None:
        values = [v for v in self.unhealthy if v is not None]
        return max(values) if values else None

    @property
    def cpu_value(self) -> float | None:
        values = [v for v in self.cpu if v is not None]
        return sum(values) / len(values) if values else None


def ratio(num: Sequence[float], den: Sequence[float]) -> float | None:
    """sum(num) / sum(den), computed on values scaled by the largest one, so sums of huge counts never overflow to
    infinity (nor the share to 0); None when the denominator is 0 or a value is not a number."""
    values = [*num, *den]
    if not all(math.isfinite(v) for v in values):
        return None
    scale = max((abs(v) for v in values), default=0.0)
    if not scale:
        return None
    d = sum(v / scale for v in den)
    return sum(v / scale for v in num) / d if d else None


WORSE = "worse"
OK = "ok"
INSUFFICIENT = "insufficient"


@dataclass(frozen=True)
class Verdict:
    state: str                 # worse | ok | insufficient
    reason: str                # in words, with the numbers

    @property
    def worse(self) -> bool:
        return self.state == WORSE


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def millis(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.0f} ms"


def window_words(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:g} min" if minutes < 120 else f"{minutes / 60:g} h"


def judge(canary: GenerationSignals, live: GenerationSignals) -> Verdict:
    """The canary-vs-live verdict over the same window (rule in the module docstring)."""
    over = window_words(canary.window_s)
    if canary.total_requests < MIN_REQUESTS or live.total_requests < MIN_REQUESTS:
        n = int(min(canary.total_requests, live.total_requests))
        return Verdict(INSUFFICIENT, f"{canary.version}: not enough traffic to judge ({n} requests in {over}, "
                                     f"{MIN_REQUESTS} needed)")
    c_rate, l_rate = canary.error_rate or 0.0, live.error_rate or 0.0
    reasons = []
    if c_rate > ERROR_RATIO * l_rate and c_rate - l_rate > ERROR_MARGIN:
        reasons.append(f"5xx {percent(c_rate)} vs {percent(l_rate)} on {live.version}")
    c_lat, l_lat = canary.latency_value, live.latency_value
    if c_lat is not None and l_lat and c_lat > LATENCY_RATIO * l_lat:
        reasons.append(f"{canary.latency_stat} latency {millis(c_lat)} vs {millis(l_lat)}")
    if reasons:
        return Verdict(WORSE, f"{canary.version}: {' and '.join(reasons)} over {over}")
    return Verdict(OK, f"{canary.version}: 5xx {percent(c_rate)} vs {percent(l_rate)}, latency "
                       f"{millis(c_lat)} vs {millis(l_lat)} on {live.version} over {over}")


@dataclass(frozen=True)
class Alarm:
    name: str
    state: str                 # OK | ALARM | INSUFFICIENT_DATA
    reason: str = ""
    metric: str = ""

    @property
    def firing(self) -> bool:
        return self.state == "ALARM"


@dataclass(frozen=True)
class ServiceSignals:
    generations: Mapping[str, GenerationSignals] = field(default_factory=lambda: MappingProxyType({}))
    verdicts: Mapping[str, Verdict] = field(default_factory=lambda: MappingProxyType({}))   # canary version -> verdict
    alarms: tuple[Alarm, ...] = ()

    @property
    def firing(self) -> tuple[Alarm, ...]:
        return tuple(a for a in self.alarms if a.firing)

    @property
    def worse(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts.values() if v.worse)


@dataclass(frozen=True)
class Signals:
    generated_at: datetime | None = None
    services: Mapping[str, ServiceSignals] = field(default_factory=lambda: MappingProxyType({}))
    error: str | None = None           # "signals unavailable: …" — the inventory is unaffected
    window_s: float = 900.0

    def service(self, name: str) -> ServiceSignals:
        return self.services.get(name) or ServiceSignals()


def mean_points(series: Sequence[Points]) -> Points:
    """Per-period mean over several series of the same length (hosts' CPU -> the generation's)."""
    if not series:
        return ()
    out = []
    for values in zip(*series):
        present = [v for v in values if v is not None]
        out.append(sum(present) / len(present) if present else None)
    return tuple(out)


def sum_points(series: Iterable[Points]) -> Points:
    series = list(series)
    if not series:
        return ()
    out = []
    for values in zip(*series):
        present = [v for v in values if v is not None]
        out.append(sum(present) if present else None)
    return tuple(out)


def sparkline(points: Points, width: int | None = None) -> str:
    """Unicode block sparkline of ``points`` (gaps as spaces), the last ``width`` of them."""
    bars = "▁▂▃▄▅▆▇█"
    values = list(points[-width:] if width else points)
    present = [v for v in values if v is not None]
    if not present:
        return " " * len(values)
    lo, hi = min(present), max(present)
    span = hi - lo
    return "".join(" " if v is None else bars[0 if span == 0 else min(7, int((v - lo) / span * 7.999))]
                   for v in values)
