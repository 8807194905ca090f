"""Rollouts, the pure part: which weight steps to take, the operator's controls folded from the journal, the
bake's remaining time, and the analysis verdict from numbers. No I/O.

A rollout plan is, for each weight stage k of n: ``set_weights`` (read back) → ``bake`` → ``analysis``. Its state
lives in the journal: the bake's deadline (a ``step_note`` when the bake starts), each analysis with its evidence,
and the operator's controls (``rollout_control`` events: promote, promote_full, pause, resume, abort, each with
the stage it was given at and who gave it).

Analysis rule: the new generation has no unhealthy targets (and at least one healthy), none of the service's
alarms is in ALARM, and the canary-vs-live verdict (:func:`fleettui.domain.signals.judge`) is not "worse". A
failing check fails the analysis (→ auto-abort); a verdict without enough traffic holds (the operator promotes or
aborts); at 100 % there is no live traffic left to compare with, so only health and alarms are checked.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

CONTROLS = ("promote", "promote_full", "pause", "resume", "abort")

PASS, FAIL, HOLD, SKIP = "pass", "fail", "hold", "skip"
MARK = {PASS: "✓", FAIL: "✗", HOLD: "…", SKIP: "-"}


def stages(current: float, steps: Sequence[int]) -> list[int]:
    """The weight steps still to take: those above the canary's current weight (100 always last)."""
    out = [s for s in steps if s > current]
    return out or [100]


@dataclass(frozen=True)
class Controls:
    """What the operator asked for at one stage (and plan-wide: promote_full, abort)."""

    promote: str | None = None               # who
    promote_full: str | None = None
    abort: str | None = None
    pauses: tuple[tuple[datetime, str], ...] = ()   # (when, "pause"|"resume") at this stage, in order

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1][1] == "pause"


def _ts(e: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(e["ts"]).replace("Z", "+00:00"))


def controls_at(events: Iterable[Mapping[str, Any]], stage: int) -> Controls:
    """Fold the ``rollout_control`` events of one plan for ``stage``."""
    promote = full = abort = None
    pauses: list[tuple[datetime, str]] = []
    for e in events:
        action, who, at = e.get("action"), str(e.get("who") or "?"), e.get("stage")
        if action == "abort":
            abort = abort or who
        elif action == "promote_full":
            full = full or who
        elif at != stage:
            continue
        elif action == "promote":
            promote = promote or who
        elif action in ("pause", "resume"):
            pauses.append((_ts(e), action))
    return Controls(promote, full, abort, tuple(pauses))


def bake_remaining(deadline: datetime, pauses: Sequence[tuple[datetime, str]], now: datetime) -> float | None:
    """Seconds left of a bake that ends at ``deadline`` (journaled when it started), each paused interval adding
    its length; None while paused."""
    paused_for = 0.0
    since: datetime | None = None
    for when, action in pauses:
        if action == "pause" and since is None:
            since = when
        elif action == "resume" and since is not None:
            paused_for += (when - since).total_seconds()
            since = None
    if since is not None:
        return None
    return (deadline - now).total_seconds() + paused_for


@dataclass(frozen=True)
class Check:
    name: str                 # health | alarms | verdict
    state: str                # pass | fail | hold | skip
    text: str                 # with the numbers

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "state": self.state, "text": self.text}


@dataclass(frozen=True)
class Analysis:
    state: str                # pass | fail | hold
    checks: tuple[Check, ...]

    @property
    def failing(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.state == FAIL)

    @property
    def summary(self) -> str:
        return "; ".join(f"{MARK[c.state]} {c.text}" for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "checks": [c.to_dict() for c in self.checks]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Analysis":
        return cls(str(d.get("state")), tuple(Check(str(c.get("name")), str(c.get("state")), str(c.get("text")))
                                              for c in d.get("checks") or ()))


def analyze(canary: str, health: Mapping[str, int], firing: Sequence[str], verdict_state: str | None,
            verdict_reason: str, compare: bool = True) -> Analysis:
    """The analysis verdict from numbers. ``health``: target states of the canary's targets -> count (healthy,
    unhealthy, …); ``firing``: the service's alarms in ALARM; ``verdict_state``: ok | worse | insufficient (None:
    no signals at all)."""
    healthy, unhealthy = health.get("healthy", 0), health.get("unhealthy", 0)
    total = sum(health.values())
    if unhealthy or not healthy:
        hc = Check("health", FAIL, f"{canary}: {unhealthy} unhealthy, {healthy}/{total} healthy targets")
    else:
        hc = Check("health", PASS, f"{canary}: {healthy}/{total} healthy targets")
    if firing:
        ac = Check("alarms", FAIL, f"alarm in ALARM: {', '.join(firing)}")
    else:
        ac = Check("alarms", PASS, "no alarm in ALARM")
    if not compare:
        vc = Check("verdict", SKIP, f"{canary} takes all traffic: nothing to compare with")
    elif verdict_state == "worse":
        vc = Check("verdict", FAIL, verdict_reason)
    elif verdict_state == "ok":
        vc = Check("verdict", PASS, verdict_reason)
    else:
        vc = Check("verdict", HOLD, verdict_reason or f"{canary}: no signals: not enough traffic to judge")
    checks = (hc, ac, vc)
    state = FAIL if any(c.state == FAIL for c in checks) else HOLD if vc.state == HOLD else PASS
    return Analysis(state, checks)


@dataclass(frozen=True)
class RolloutView:
    """A running (or the last) rollout of a service as the banner and ``rollout status`` show it."""

    plan_id: str
    service: str
    canary: str
    stable: str
    status: str               # running | succeeded | aborted | failed | abandoned
    stage: int                # 1-based; n when done
    stages: int
    weight: int               # the canary's weight at this stage
    phase: str                # shifting | baking | paused | analysis | holding | finishing | done | aborted | …
    deadline: datetime | None = None
    remaining: float | None = None
    analysis: Analysis | None = None
    hold: str | None = None
    who: str = ""
    error: str | None = None
    weights: Mapping[str, int] | None = None      # every generation's weight at this step (None: only the canary's)
    unwatched_since: datetime | None = None       # running, but no process drives it since then: it holds

    @property
    def line(self) -> str:
        others = ", ".join(f"{v} {w}%" for v, w in (self.weights or {}).items() if v != self.canary)
        text = (f"rollout {self.canary}: step {self.stage}/{self.stages} at {self.weight}%"
                + (f" ({others})" if others else "") + f" — {self.phase}")
        if self.phase == "baking" and self.remaining is not None:
            text += f" {max(0, int(self.remaining))}s left"
        if self.hold:
            text += f": {self.hold}"
        if self.error:
            text += f": {self.error}"
        if self.unwatched_since is not None:
            text += (f" — watcher gone since {self.unwatched_since:%H:%M} UTC: it holds here "
                     "(`fleettui resume` drives it on, `fleettui rollout abort` ends it)")
        return text


def rollout_view(record: Any, events: Sequence[Mapping[str, Any]], now: datetime,
                 watched: bool = True) -> RolloutView:
    """Fold one rollout plan's record and its journal events (all of this plan's events) into a view; ``watched``:
    a live process drives it (else, when running, the view says since when nobody does: its last event)."""
    plan = record.plan
    steps = plan.steps
    current = next((s for s in steps if s.id not in record.done), None)
    last = steps[-1]
    at = current or last
    stage, n = int(at.params.get("stage", 1)), int(at.params.get("stages", 1))
    weight = int(at.params.get("weight", 0))
    weights = {str(v): int(w) for v, w in (at.params.get("stage_weights") or {}).items()}
    analysis_step = next((s for s in steps if s.kind == "analysis"), None)
    stable = str(analysis_step.params.get("stable")) if analysis_step else "?"
    analysis = None
    for s in steps:
        if s.kind == "analysis" and "analysis" in record.memo.get(s.id, {}):
            analysis = Analysis.from_dict(record.memo[s.id]["analysis"])
    mine = [e for e in events if e.get("event") == "rollout_control"]
    c = controls_at(mine, stage)
    deadline = remaining = hold = None
    finished = [e for e in events if e.get("event") == "plan_finished"]
    error = str(finished[-1].get("error")) if finished and finished[-1].get("error") else None
    if record.status != "running":
        phase = "done" if record.status == "succeeded" else record.status
    elif c.abort:
        phase, error = "aborting", f"abort by {c.abort}"
    elif current is None:
        phase = "finishing"            # every step done, plan_finished not journaled yet (died just before it)
    elif current.kind == "set_weights":
        phase = "shifting"
    elif current.kind == "bake":
        memo = record.memo.get(current.id, {})
        if "deadline" in memo:
            deadline = datetime.fromisoformat(memo["deadline"])
            remaining = bake_remaining(deadline, c.pauses, now)
        hold = memo.get("lock_hold") or None          # the lock's store unreachable: held where it is
        phase = "holding" if hold else "paused" if c.paused else "baking"
    else:
        memo = record.memo.get(current.id, {})
        hold = memo.get("lock_hold") or memo.get("holding")
        phase = "holding" if hold else "analysis"
    unwatched = None
    if record.status == "running" and not watched and events:
        try:
            unwatched = datetime.fromisoformat(str(events[-1].get("ts")).replace("Z", "+00:00"))
        except ValueError:
            unwatched = None
        if phase == "baking":
            phase = "holding"          # nobody bakes it on: it never promotes unwatched
    return RolloutView(plan.id, plan.service, plan.generation or "?", stable, record.status, stage, n, weight,
                       phase, deadline, remaining, analysis, hold, record.who, error, weights, unwatched)
