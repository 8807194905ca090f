"""The `/` filter language: space-separated terms, all of which must match (AND).

    web-1.5          free text: a substring of the instance id, Name tag, type, AZ or state
    drift            drifted hosts (any drift:* finding)      aged      past warn_age or max_age
    unhealthy        not running, or failing target health    marked    hosts marked with space
    age>14d          older than 14 days (also age<1d, age>=36h, age<=2w)
    v:1.5            generation version prefix (also version:1.5)
    state:running    key:value prefix match on state, region, az, type, health, tag (tag:Owner or tag:Owner=x)
    !term            negates any term (e.g. !drift)

Parsing is pure and raises :class:`FilterError` with a one-line message; matching runs on precomputed
:class:`~fleettui.ui.data.view.Entry` rows, so a keystroke costs one pass over a list, never a widget rebuild.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Collection

from fleettui.config.durations import parse_duration

DAY = 86400.0

KEYWORDS = ("drift", "aged", "unhealthy", "marked")
KEYS = ("v", "version", "state", "region", "az", "type", "health", "tag")
_AGE = re.compile(r"^age\s*(>=|<=|>|<)\s*(.*)$")


class FilterError(ValueError):
    """An invalid filter expression (one line, shown under the filter input)."""


Predicate = Callable[["object", Collection[str]], bool]   # (entry, marks) -> bool


@dataclass(frozen=True)
class Filter:
    text: str = ""
    predicates: tuple[Predicate, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.predicates)

    def matches(self, entry, marks: Collection[str] = ()) -> bool:
        for p in self.predicates:
            if not p(entry, marks):
                return False
        return True


NO_FILTER = Filter()


def _term(token: str) -> Predicate:
    low = token.lower()
    if low == "drift" or low == "drifted":
        return lambda e, m: e.drifted
    if low == "aged":
        return lambda e, m: e.aged
    if low == "unhealthy":
        return lambda e, m: not e.healthy
    if low == "marked":
        return lambda e, m: e.inst.id in m
    age = _AGE.match(low)
    if age:
        op, value = age.groups()
        if not value:
            raise FilterError(f"{token}: missing a duration after {op!r} (e.g. age>14d)")
        try:
            days = parse_duration(value) / DAY
        except ValueError:
            raise FilterError(f"{token}: {value!r} is not a duration (a number and s/m/h/d/w, e.g. age>14d)") \
                from None
        return {
            ">": lambda e, m: e.inst.age_days > days,
            "<": lambda e, m: e.inst.age_days < days,
            ">=": lambda e, m: e.inst.age_days >= days,
            "<=": lambda e, m: e.inst.age_days <= days,
        }[op]
    if low.startswith("age") and any(c in low for c in "<>=") :
        raise FilterError(f"{token}: write age>14d or age<1d")
    if ":" in low:
        key, _, value = low.partition(":")
        if key not in KEYS:
            raise FilterError(f"{token}: unknown key {key!r} (allowed: {', '.join(KEYS)}, or the words "
                              f"{', '.join(KEYWORDS)}, age>14d, free text)")
        if not value:
            raise FilterError(f"{token}: missing a value after '{key}:'")
        if key in ("v", "version"):
            return lambda e, m: e.version_low.startswith(value)
        if key == "tag":
            tag, eq, want = token.partition(":")[2].partition("=")
            if eq:
                return lambda e, m: e.inst.tags.get(tag) == want
            return lambda e, m: tag in e.inst.tags
        attr = {"state": "state", "region": "region", "az": "az", "type": "type", "health": "health"}[key]
        return lambda e, m: getattr(e.inst, attr).lower().startswith(value)
    if any(c in low for c in "<>="):
        raise FilterError(f"{token}: comparisons only work on age (e.g. age>14d)")
    return lambda e, m: low in e.hay


def _negate(p: Predicate) -> Predicate:
    return lambda e, m: not p(e, m)


def parse_filter(text: str) -> Filter:
    """Parse a filter expression; an empty or blank one matches everything."""
    preds: list[Predicate] = []
    for token in text.split():
        neg = token.startswith("!")
        body = token[1:] if neg else token
        if not body:
            raise FilterError("'!' must be followed by a term (e.g. !drift)")
        p = _term(body)
        preds.append(_negate(p) if neg else p)
    return Filter(text=text.strip(), predicates=tuple(preds))
