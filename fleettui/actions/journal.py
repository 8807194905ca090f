"""Append-only JSONL journal of every plan and step, in the platformdirs state dir.

One line per event: ``plan_created`` (who, reason, region, the whole plan), ``step_started``,
``step_note`` (what a step must remember to be re-run safely), ``step_succeeded`` / ``step_failed`` (with
AWS request ids), ``plan_finished`` (succeeded | failed | abandoned). A plan with no ``plan_finished`` event,
or one that finished ``failed``, can be resumed; re-running its steps is safe.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from fleettui.domain.plan import Plan


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class PlanRecord:
    plan: Plan
    who: str
    reason: str
    created: str
    done: set[str] = field(default_factory=set)          # succeeded step ids
    memo: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # step id -> last error
    status: str = "running"                               # running | succeeded | failed | abandoned

    @property
    def resumable(self) -> bool:
        return self.status in ("running", "failed")

    @property
    def remaining(self) -> list[str]:
        return [s.id for s in self.plan.steps if s.id not in self.done]


class Journal:
    def __init__(self, path: Path):
        self.path = Path(path)

    def append(self, event: str, plan_id: str, **fields: Any) -> dict[str, Any]:
        record = {"ts": _now(), "event": event, "plan_id": plan_id, **fields}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, separators=(",", ":"), default=str) + "\n"
        # one write per line, flushed and synced: a crash loses at most the event being written
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        return record

    def events(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line torn by a crash mid-write: the step it began is simply re-run

    def records(self) -> dict[str, PlanRecord]:
        out: dict[str, PlanRecord] = {}
        for e in self.events():
            pid = e.get("plan_id")
            kind = e.get("event")
            if kind == "plan_created":
                out[pid] = PlanRecord(plan=Plan.from_dict(e["plan"]), who=e.get("who", "?"),
                                      reason=e.get("reason", ""), created=e["ts"])
                continue
            rec = out.get(pid)
            if rec is None:
                continue
            if kind == "step_started" and rec.status == "failed":
                rec.status = "running"
            elif kind == "step_note":
                rec.memo.setdefault(e["step"], {}).update(e.get("note") or {})
            elif kind == "step_succeeded":
                rec.done.add(e["step"])
                rec.failed.pop(e["step"], None)
            elif kind == "step_failed":
                rec.failed[e["step"]] = e.get("error", "")
            elif kind == "plan_finished":
                rec.status = e.get("status", "succeeded")
        return out

    def record(self, plan_id: str) -> PlanRecord | None:
        return self.records().get(plan_id)

    def unfinished(self) -> list[PlanRecord]:
        return [r for r in self.records().values() if r.resumable]
