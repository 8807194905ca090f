"""Durations like "14d", "36h", "90m", "2w" -> seconds: config ages, and the age terms of the `/` filter."""
from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(text: str) -> float:
    """Seconds in ``text``; raises ValueError with what is allowed."""
    m = _RE.match(text) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"{text!r} is not a duration (allowed: a number and a unit s/m/h/d/w, e.g. \"14d\")")
    value = float(m.group(1)) * _UNITS[m.group(2)]
    if value <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return value

