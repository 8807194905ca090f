"""Plan history: the journal's event names and the pure fold from events to each plan's state.

One event per line in any store (local JSONL, the team's table): ``plan_created`` (who, reason, region, the
whole plan), ``plan_resumed``, ``step_started``, ``step_note`` (what a step must remember to be re-run safely),
``step_succeeded`` / ``step_failed`` (with AWS request ids), ``warning``, ``plan_finished`` (succeeded | failed
| abandoned | refused), ``lock_cleared`` (an operator removed a service's lock by hand), ``rollout_control`` (promote, pause, resume,
abort of a running rollout; see :mod:`fleettui.domain.rollout`). A plan with no
``plan_finished``, or one that finished ``failed``, can be resumed -- only against the AWS its ``plan_created``
names (its :class:`Scope`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
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
    LOCK_CLEARED = "lock_cleared"
    ROLLOUT_CONTROL = "rollout_control"      # an operator's promote/pause/resume/abort of a running rollout


class PlanStatus(str, Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABANDONED = "abandoned"
    REFUSED = "refused"          # journaled, then stopped before anything ran (e.g. the service was locked)
    ABORTED = "aborted"          # a rollout rolled back (by its analysis or an operator): final


@dataclass(frozen=True)
class Scope:
    """Which AWS a plan acts on: recorded in its ``plan_created``; a plan is resumed only where
    :meth:`same_aws` holds (account, partition and endpoint; profile and regions are recorded for the reader)."""

    account: str
    partition: str = "aws"
    endpoint: str = "aws"               # the configured endpoint_url, or "aws"
    profile: str | None = None
    regions: tuple[str, ...] = ()

    def same_aws(self, other: "Scope | None") -> bool:
        return other is not None and (self.account, self.partition, self.endpoint) == (
            other.account, other.partition, other.endpoint)

    @property
    def label(self) -> str:
        where = "" if self.endpoint == "aws" else f" at {self.endpoint}"
        part = "" if self.partition == "aws" else f" ({self.partition})"
        return f"account {self.account}{part}{where}"

    def to_dict(self) -> dict[str, Any]:
        return {"account": self.account, "partition": self.partition, "endpoint": self.endpoint,
                "profile": self.profile, "regions": list(self.regions)}

    @classmethod
    def from_dict(cls, d: Any) -> "Scope | None":
        if not isinstance(d, Mapping) or not isinstance(d.get("account"), str):
            return None
        return cls(account=d["account"], partition=str(d.get("partition") or "aws"),
                   endpoint=str(d.get("endpoint") or "aws"), profile=d.get("profile"),
                   regions=tuple(str(r) for r in d.get("regions") or ()))


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
    scope: Scope | None = None                             # None: journaled by a version that did not record it

    @property
    def resumable(self) -> bool:
        return self.status in (PlanStatus.RUNNING, PlanStatus.FAILED)

    @property
    def remaining(self) -> list[str]:
        return [s.id for s in self.plan.steps if s.id not in self.done]


_STEP_EVENTS = {EventKind.STEP_STARTED, EventKind.STEP_NOTE, EventKind.STEP_SUCCEEDED, EventKind.STEP_FAILED}


def unreadable(e: Any) -> str | None:
    """Why ``e`` cannot be one of our events (another version's, not an event at all, or forged with fields of the
    wrong type), else None. A store skips such an event with a warning instead of letting it break every plan: what
    passes here folds (:func:`plan_states`), lists and renders without an exception."""
    if not isinstance(e, Mapping):
        return f"not a JSON object ({type(e).__name__})"
    if not isinstance(e.get("event"), str) or not isinstance(e.get("plan_id"), str):
        return "no event name or plan id"
    if e["event"] in _STEP_EVENTS and not isinstance(e.get("step"), str):
        return f"{e['event']} without a step"
    if e["event"] == EventKind.PLAN_CREATED:
        if not isinstance(e.get("ts"), str):
            return "plan_created without a time"
        try:
            Plan.from_dict(e["plan"])
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            return f"plan_created in another format ({type(err).__name__}: {err})"
        why = plan_problem(e["plan"])
        if why:
            return f"plan_created in another format ({why})"
        if e["plan"]["id"] != e["plan_id"]:
            return "plan_created whose plan is another plan's"
    for name in ("ts", "who", "reason", "error", "status", "message", "holder"):
        if e.get(name) is not None and not isinstance(e[name], str):
            return f"{e['event']} whose {name} is not text"
    if e["event"] == EventKind.STEP_NOTE:
        return _note_problem(e.get("note"))
    if e["event"] == EventKind.STEP_SUCCEEDED and e.get("detail") is not None and not isinstance(e["detail"], Mapping):
        return "step_succeeded whose detail is not an object"
    if e["event"] == EventKind.ROLLOUT_CONTROL:
        if not isinstance(e.get("action"), str) or not _number(e.get("stage"), whole=True):
            return "rollout_control without an action or a stage"
        if _time(e.get("ts")) is None:
            return "rollout_control without a time"
    return None


def _time(value: Any) -> datetime | None:
    """An aware time from ISO-8601 text (what journals write), else None."""
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


def _number(value: Any, whole: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) or (math.isfinite(value) and (not whole or value == int(value)))


def _texts(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


def plan_problem(d: Mapping[str, Any]) -> str | None:
    """What in a journaled plan is not of the type :class:`Plan` holds (a forged or foreign plan), else None."""
    for name in ("id", "verb", "service", "summary"):
        if not isinstance(d.get(name), str):
            return f"its {name} is not text"
    for name in ("refusal", "confirm_phrase", "created_at", "generation"):
        if d.get(name) is not None and not isinstance(d[name], str):
            return f"its {name} is not text"
    if not isinstance(d.get("steps"), (list, tuple)):
        return "its steps are not a list"
    for st in d["steps"]:
        if not isinstance(st, Mapping) or not all(isinstance(st.get(k), str) for k in ("id", "kind", "region",
                                                                                        "description")):
            return "a step without its id, kind, region or description as text"
        params = st.get("params")
        if params is not None and not isinstance(params, Mapping):
            return f"step {st['id']}'s params are not an object"
        for k in ("stage", "stages", "weight"):
            if params and k in params and not _number(params[k]):
                return f"step {st['id']}'s {k} is not a number"
    for name in ("hosts_affected", "warnings"):
        if d.get(name) is not None and not _texts(d[name]):
            return f"its {name} are not a list of text"
    for name in ("weights_before", "weights_after"):
        w = d.get(name)
        if w is not None and (not isinstance(w, Mapping) or not all(isinstance(k, str) and _number(v)
                                                                       for k, v in w.items())):
            return f"its {name} are not numbers by version"
    for name in ("capacity_before", "capacity_min"):
        if name in d and not _number(d[name]):
            return f"its {name} is not a number"
    return None


def _note_problem(note: Any) -> str | None:
    """A step_note folds into the step's memory: what a rollout reads back from it must be what it wrote."""
    if note is None:
        return None
    if not isinstance(note, Mapping):
        return "step_note whose note is not an object"
    if "deadline" in note and _time(note["deadline"]) is None:
        return "step_note whose deadline is not a time"
    for k in ("holding", "lock_hold"):
        if k in note and not isinstance(note[k], str):
            return f"step_note whose {k} is not text"
    a = note.get("analysis")
    if "analysis" in note and a is not None and not (isinstance(a, Mapping) and isinstance(a.get("checks", []), list)
                                                   and all(isinstance(c, Mapping) for c in a.get("checks", []))):
        return "step_note whose analysis is not one"
    return None


def plan_states(events: Iterable[Mapping[str, Any]]) -> dict[str, PlanRecord]:
    """Every plan's state after ``events`` (in order), by plan id, in order of creation."""
    out: dict[str, PlanRecord] = {}
    for e in events:
        pid = e.get("plan_id")
        kind = e.get("event")
        if kind == EventKind.PLAN_CREATED:
            out[pid] = PlanRecord(plan=Plan.from_dict(e["plan"]), who=e.get("who", "?"),
                                  reason=e.get("reason", ""), created=e["ts"], scope=Scope.from_dict(e.get("scope")))
            continue
        rec = out.get(pid)
        if rec is None:
            continue
        if kind == EventKind.STEP_STARTED and rec.status == PlanStatus.FAILED:
            rec.status = PlanStatus.RUNNING.value
        elif kind == EventKind.STEP_NOTE:
            note = e.get("note")
            rec.memo.setdefault(e["step"], {}).update(note if isinstance(note, Mapping) else {})
        elif kind == EventKind.STEP_SUCCEEDED:
            rec.done.add(e["step"])
            rec.failed.pop(e["step"], None)
        elif kind == EventKind.STEP_FAILED:
            rec.failed[e["step"]] = e.get("error", "")
        elif kind == EventKind.PLAN_FINISHED and rec.status != PlanStatus.ABORTED:
            rec.status = str(e.get("status", PlanStatus.SUCCEEDED.value))
    return out


def last_rollback(records: Iterable[PlanRecord], service: str) -> PlanRecord | None:
    """The newest rollback of ``service`` that succeeded, when it is the newest plan that changed its traffic
    (what the banner offers a way back from: "rolled back from 1.6.0 at 03:12 — W to shift forward again")."""
    last = None
    for r in records:
        if r.plan.service == service and r.plan.verb in ("rollback", "shift", "launch", "decommission") \
                and r.status == PlanStatus.SUCCEEDED:
            last = r
    return last if last is not None and last.plan.verb == "rollback" else None
