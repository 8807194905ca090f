"""Plan history: the journal's event names and the pure fold from events to each plan's state.

One event per line in any store (local JSONL, the team's table): ``plan_created`` (who, reason, region, the
whole plan), ``plan_resumed``, ``step_started``, ``step_note`` (what a step must remember to be re-run safely),
``step_succeeded`` / ``step_failed`` (with AWS request ids), ``warning``, ``plan_finished`` (succeeded | failed
| abandoned). A plan with no ``plan_finished``, or one that finished ``failed``, can be resumed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable, Mapping

from fleettui.domain.plan import Plan


class EventKind(str, Enum):
    PLAN_CREATED = "plan_created"
    PLAN_RESUMED = "plan_resumed"
    STEP_STARTED = "step_started"
    STEP_NOTE = "step_note"
    STEP_SUCCEEDED = "step_succeeded"
    STEP_FAILED = "step_failed"
    WARNING = "warning"
    PLAN_FINISHED = "plan_finished"


class PlanStatus(str, Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABANDONED = "abandoned"


@dataclass
class PlanRecord:
    plan: Plan
    who: str
    reason: str
    created: str
    done: set[str] = field(default_factory=set)          # succeeded step ids
    memo: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # step id -> last error
    status: str = PlanStatus.RUNNING.value

    @property
    def resumable(self) -> bool:
        return self.status in (PlanStatus.RUNNING, PlanStatus.FAILED)

    @property
    def remaining(self) -> list[str]:
        return [s.id for s in self.plan.steps if s.id not in self.done]


def plan_states(events: Iterable[Mapping[str, Any]]) -> dict[str, PlanRecord]:
    """Every plan's state after ``events`` (in order), by plan id, in order of creation."""
    out: dict[str, PlanRecord] = {}
    for e in events:
        pid = e.get("plan_id")
        kind = e.get("event")
        if kind == EventKind.PLAN_CREATED:
            out[pid] = PlanRecord(plan=Plan.from_dict(e["plan"]), who=e.get("who", "?"),
                                  reason=e.get("reason", ""), created=e["ts"])
            continue
        rec = out.get(pid)
        if rec is None:
            continue
        if kind == EventKind.STEP_STARTED and rec.status == PlanStatus.FAILED:
            rec.status = PlanStatus.RUNNING.value
        elif kind == EventKind.STEP_NOTE:
            rec.memo.setdefault(e["step"], {}).update(e.get("note") or {})
        elif kind == EventKind.STEP_SUCCEEDED:
            rec.done.add(e["step"])
            rec.failed.pop(e["step"], None)
        elif kind == EventKind.STEP_FAILED:
            rec.failed[e["step"]] = e.get("error", "")
        elif kind == EventKind.PLAN_FINISHED:
            rec.status = e.get("status", PlanStatus.SUCCEEDED.value)
    return out
