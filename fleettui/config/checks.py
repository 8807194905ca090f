"""Value checks shared by the section modules, and the reader that applies them to one table.

Each check takes a TOML value and returns the stored value, or raises _Invalid(problem, allowed);
the caller adds the file and the key.
"""
from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from fleettui.config.durations import parse_duration
from fleettui.errors import ConfigError


class _Invalid(Exception):
    def __init__(self, problem: str, allowed: str):
        super().__init__(f"{problem} (allowed: {allowed})")


def _show(v: Any) -> str:
    """A TOML value, as written in a file, on one line."""
    if isinstance(v, bool):
        text = "true" if v else "false"
    elif isinstance(v, str):
        text = json.dumps(v, ensure_ascii=False)
    elif isinstance(v, list):
        text = "[" + ", ".join(map(_show, v)) + "]"
    elif isinstance(v, dict):
        text = "{ " + ", ".join(f"{_key(k)} = {_show(x)}" for k, x in v.items()) + " }"
    else:
        text = " ".join(str(v).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k, ensure_ascii=False)


def _wrong_type(v: Any, allowed: str) -> _Invalid:
    kinds = ((bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"),
             (list, "an array"), (dict, "a table"))
    kind = next((name for t, name in kinds if isinstance(v, t)), "a date/time")
    return _Invalid(f"{_show(v)} is {kind}", allowed)


# a region name as AWS spells them (us-east-1, ap-southeast-2, us-gov-west-1, eu-isoe-west-1); \Z: no newline
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]{1,10}){1,3}-\d{1,2}\Z")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_LISTENER_RE = re.compile(r"^arn:aws[a-z-]*:elasticloadbalancing:([^:]+):\d{12}:listener/(app|net)/[^/]+/[^/]+/[^/]+$")

_REGIONS = 'a non-empty array of region names, e.g. ["eu-west-1", "us-east-1"]'
_NAME = 'lowercase letters, digits, "-" and "_", starting with a letter or digit'
_SELECTOR = 'a non-empty table of tag = "value", e.g. { Service = "web" }'
_STEPS = "integers 1-100, increasing, ending at 100"
_TAGS = 'a table of tag = "value", e.g. { Owner = "team-web", CostCenter = "cc-1042" }; keys not starting with "aws:"'


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise _wrong_type(v, "a non-empty string")
    if not v.strip():
        raise _Invalid("empty string", "a non-empty string")
    return v


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise _wrong_type(v, "true or false")
    return v


def _percent(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _wrong_type(v, "an integer 0-100")
    if not 0 <= v <= 100:
        raise _Invalid(f"{v} is out of range", "an integer 0-100")
    return v


def _refresh(v: Any) -> float:
    allowed = "a number of seconds 2-3600"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _wrong_type(v, allowed)
    if not 2 <= v <= 3600:
        raise _Invalid(f"{v} is out of range", allowed)
    return float(v)


def _duration(v: Any) -> float:
    allowed = 'a positive number and a unit s/m/h/d/w, e.g. "14d", "36h", "2w"'
    if not isinstance(v, str):
        raise _wrong_type(v, allowed)
    try:
        return parse_duration(v)
    except ValueError:
        raise _Invalid(f"{_show(v)} is not a positive duration", allowed) from None


_STATS = ("Average", "Maximum", "Minimum", "Sum", "SampleCount")


def _latency_stat(v: Any) -> str:
    """A CloudWatch statistic for TargetResponseTime: Average/Maximum/Minimum or a percentile pNN(.N)."""
    allowed = 'a CloudWatch statistic: "Average", "Maximum", "Minimum" or a percentile like "p99", "p99.9"'
    if not isinstance(v, str):
        raise _wrong_type(v, allowed)
    if v in _STATS[:3] or re.fullmatch(r"p(\d{1,2}(\.\d+)?|100)", v):
        return v
    raise _Invalid(f"{_show(v)} is not a statistic", allowed)


def _period(v: Any) -> float:
    """A metric period: a whole number of minutes (CloudWatch's standard resolution)."""
    seconds = _duration(v)
    if seconds < 60 or seconds % 60:
        raise _Invalid(f"{_show(v)} is not a whole number of minutes", 'a duration of whole minutes, e.g. "1m", "5m"')
    return seconds


def _regions(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list):
        raise _wrong_type(v, _REGIONS)
    if not v:
        raise _Invalid("empty array", _REGIONS)
    for r in v:
        if not isinstance(r, str) or not _REGION_RE.match(r):
            raise _Invalid(f"{_show(r)} is not a region name", _REGIONS)
    if len(set(v)) < len(v):
        raise _Invalid(f"{_show(next(r for r in v if v.count(r) > 1))} is listed twice", _REGIONS)
    return tuple(v)


def _endpoint(v: Any) -> str:
    allowed = 'a URL starting with http:// or https://, e.g. "http://127.0.0.1:5000"'
    if not isinstance(v, str):
        raise _wrong_type(v, allowed)
    bad = next((c for c in v if ord(c) < 33 or 127 <= ord(c) < 160), None)
    if bad is not None:
        raise _Invalid(f"{_show(v)} contains {'a space' if bad == ' ' else f'the control character {bad!r}'}",
                       allowed)
    url = urlsplit(v)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise _Invalid(f"{_show(v)} is not an http(s) URL", allowed)
    return v


def _name(v: Any) -> str:
    if not isinstance(v, str):
        raise _wrong_type(v, _NAME)
    if not _NAME_RE.match(v):
        raise _Invalid(f"{_show(v)} is not a valid name", _NAME)
    return v


def _selector(v: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(v, dict):
        raise _wrong_type(v, _SELECTOR)
    if not v:
        raise _Invalid("empty table", _SELECTOR)
    for k, x in v.items():
        if not k:
            raise _Invalid("empty tag key", _SELECTOR)
        if not isinstance(x, str):
            raise _Invalid(f"tag {_key(k)}: {_show(x)} is not a string", _SELECTOR)
    return tuple(v.items())


def _tags(v: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(v, dict):
        raise _wrong_type(v, _TAGS)
    for k, x in v.items():
        if not k.strip():
            raise _Invalid("empty tag key", _TAGS)
        if k.lower().startswith("aws:"):
            raise _Invalid(f"tag {_key(k)}: the aws: prefix is reserved by AWS", _TAGS)
        if not isinstance(x, str):
            raise _Invalid(f"tag {_key(k)}: {_show(x)} is not a string", _TAGS)
    return tuple(v.items())


def _lt_version(v: Any) -> str:
    allowed = '"$Default", "$Latest" or a version number >= 1'
    if isinstance(v, int) and not isinstance(v, bool) and v >= 1:
        return str(v)
    if isinstance(v, str) and (v in ("$Default", "$Latest") or (v.isdigit() and int(v) >= 1)):
        return v if v.startswith("$") else str(int(v))
    if isinstance(v, (int, str)) and not isinstance(v, bool):
        raise _Invalid(f"{_show(v)} is not a launch template version", allowed)
    raise _wrong_type(v, allowed)


def _listener_arn(v: Any) -> str:
    allowed = "a listener ARN: arn:aws:elasticloadbalancing:<region>:<12-digit account>:listener/app|net/<lb>/<id>/<id>"
    if not isinstance(v, str):
        raise _wrong_type(v, allowed)
    m = _LISTENER_RE.match(v)
    if not m or not _REGION_RE.match(m.group(1)):
        raise _Invalid(f"{_show(v)} is not a load balancer listener ARN", allowed)
    return v


def _str_list(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list):
        raise _wrong_type(v, "an array of strings")
    for x in v:
        if not isinstance(x, str) or not x:
            raise _Invalid(f"{_show(x)} is not a non-empty string", "an array of strings")
    return tuple(v)


def _shift_steps(v: Any) -> tuple[int, ...]:
    if not isinstance(v, list):
        raise _wrong_type(v, f"an array of {_STEPS}")
    if not v:
        raise _Invalid("empty array", _STEPS)
    prev = 0
    for x in v:
        if isinstance(x, bool) or not isinstance(x, int):
            raise _wrong_type(x, _STEPS)
        if not 1 <= x <= 100:
            raise _Invalid(f"{x} is out of range", _STEPS)
        if x <= prev:
            raise _Invalid(f"{x} does not increase (after {prev})", _STEPS)
        prev = x
    if prev != 100:
        raise _Invalid(f"the last step is {prev}", _STEPS)
    return tuple(v)


# A table spec: key in the file -> check. Keys named differently in the dataclasses are renamed by _FIELD.
Spec = dict[str, Callable[[Any], Any]]
_FIELD = {"signals_window": "signals_window_s", "signals_period": "signals_period_s", "warn_age": "warn_age_s", "max_age": "max_age_s",
          "bake": "bake_s"}


def _fmt_seconds(s: float) -> str:
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= n and s % n == 0:
            return f"{s / n:g}{unit}"
    return f"{s:g}s"


class _Reader:
    """Checks tables of one file; raises one-line ConfigErrors prefixed with the file name."""

    def __init__(self, path: Path | None):
        self.where = str(path) if path is not None else "<config>"

    def fail(self, key: str, message: str | Exception) -> NoReturn:
        raise ConfigError(f"{self.where}: {key}: {message}")

    def no_unknown(self, table: dict, prefix: str, allowed: tuple[str, ...] | dict) -> None:
        for k in table:
            if k not in allowed:
                near = difflib.get_close_matches(k, list(allowed), n=1)
                hint = f', did you mean "{near[0]}"?' if near else ""
                self.fail(f"{prefix}{_key(k)}", f"unknown key{hint} (allowed: {', '.join(allowed)})")

    def table(self, value: Any, key: str, spec: dict[str, Callable[[Any], Any]], written: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(key, _wrong_type(value, f"a table, written {written}"))
        self.no_unknown(value, f"{key}.", spec)
        out = {}
        for k, check in spec.items():
            if k in value:
                try:
                    out[_FIELD.get(k, k)] = check(value[k])
                except _Invalid as e:
                    self.fail(f"{key}.{k}", e)
        return out

    def ages(self, key: str, warn: float, max_: float) -> None:
        if warn > max_:
            self.fail(f"{key}.warn_age", f"{_fmt_seconds(warn)} is longer than max_age {_fmt_seconds(max_)} "
                                         "(allowed: warn_age <= max_age)")
