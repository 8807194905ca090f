"""``[team]``: the shared store in DynamoDB (lock + audit). Absent: fleettui runs solo (local journal, tag lock)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleettui.config.checks import _REGION_RE, Spec, _Invalid, _Reader, _show, _wrong_type

_TABLE_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}\Z")
_TABLE = 'a DynamoDB table name: 3-255 letters, digits, "_", "-" and ".", e.g. "fleettui"'


@dataclass(frozen=True)
class TeamConfig:
    table: str
    region: str            # where the table lives (default: the first of [aws].regions)


def _table(v: Any) -> str:
    if not isinstance(v, str):
        raise _wrong_type(v, _TABLE)
    if not _TABLE_RE.match(v):
        raise _Invalid(f"{_show(v)} is not a table name", _TABLE)
    return v


def _region(v: Any) -> str:
    if not isinstance(v, str):
        raise _wrong_type(v, 'a region name, e.g. "eu-west-1"')
    if not _REGION_RE.match(v):
        raise _Invalid(f"{_show(v)} is not a region name", 'a region name, e.g. "eu-west-1"')
    return v


SPEC: Spec = {"table": _table, "region": _region}


def read(r: _Reader, data: dict, env: Mapping[str, str], sections: dict[str, Any]) -> TeamConfig | None:
    if "team" not in data:
        return None
    team = r.table(data["team"], "team", SPEC, '[team] with table = "fleettui"')
    if "table" not in team:
        r.fail("team.table", f"missing (allowed: {_TABLE})")
    region = team.get("region") or next(iter(sections["aws"].regions), None)
    if region is None:
        r.fail("team.region", "not set and [aws].regions is empty (allowed: a region name, e.g. \"eu-west-1\")")
    return TeamConfig(table=team["table"], region=region)
