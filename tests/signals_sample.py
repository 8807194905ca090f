"""A built Signals for the TUI tests and snapshot apps: web's 1.6.0 canary worse than live 1.5.0 (5xx 4.0% vs 0.2%),
1.4.0 without traffic, an alarm web-5xx in ALARM; worker's CPU. No AWS."""
from __future__ import annotations

from datetime import datetime, timezone
from types import MappingProxyType

from fleettui.domain.signals import Alarm, GenerationSignals, ServiceSignals, Signals, judge

WINDOW = 900.0


def sample_signals(at: datetime | None = None) -> Signals:
    n = 15
    live = GenerationSignals("1.5.0", WINDOW, requests=(1000.0,) * n, errors=(2.0,) * n,
                             latency=tuple(0.17 + 0.002 * k for k in range(n)))
    canary = GenerationSignals("1.6.0", WINDOW, requests=(100.0,) * n, errors=tuple(2.0 + 0.4 * k for k in range(n)),
                               latency=tuple(0.6 + 0.04 * k for k in range(n)))
    idle = GenerationSignals("1.4.0", WINDOW, requests=(0.0,) * n, errors=(0.0,) * n)
    web = ServiceSignals(
        generations=MappingProxyType({"1.4.0": idle, "1.5.0": live, "1.6.0": canary}),
        verdicts=MappingProxyType({"1.6.0": judge(canary, live)}),
        alarms=(Alarm("web-5xx", "ALARM", "Threshold Crossed: 3 datapoints were greater than the threshold (5.0)",
                      "HTTPCode_Target_5XX_Count"),))
    worker = ServiceSignals(generations=MappingProxyType({"3.1.0": GenerationSignals(
        "3.1.0", WINDOW, cpu=tuple(30.0 + (k % 5) for k in range(n)))}))
    return Signals(at or datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc),
                   MappingProxyType({"web": web, "worker": worker}), None, WINDOW)
