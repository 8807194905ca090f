"""Scenarios: fleets seeded into the embedded AWS. A scenario is one module of this package that defines
``SCENARIO = Scenario(seed=..., config_text=...)``; :func:`get` finds it by module name (``demo``)."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Scenario:
    seed: Callable[..., Any]             # (endpoint_url, now=None) -> what was seeded; into an empty emulator
    config_text: Callable[[Any, str], str]   # (what was seeded, endpoint_url) -> its TOML config
    metrics: Callable[..., None] | None = None   # (endpoint_url, what was seeded, bad=…) -> CloudWatch history


def get(name: str) -> Scenario:
    return importlib.import_module(f"{__name__}.{name}").SCENARIO
