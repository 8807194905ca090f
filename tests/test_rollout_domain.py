"""Rollouts, the pure part (fleettui/domain/rollout.py): stages, the operator's controls folded from journal
events, the bake's remaining time with pauses, the analysis verdict from numbers, and the view the banner and
`rollout status` show. Hand-written events and records, no server: milliseconds, for mutation testing (README
"Test strength"). The same end to end on moto is in tests/test_rollout.py.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from fleettui.domain.history import PlanRecord
from fleettui.domain.plan import Plan, Step
from fleettui.domain.rollout import (CONTROLS, FAIL, HOLD, MARK, PASS, SKIP, Analysis, Check, Controls,
                                     RolloutView, analyze, bake_remaining, controls_at, rollout_view, stages)

T0 = datetime(2026, 11, 30, 10, 0, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def iso(seconds: float) -> str:
    return at(seconds).isoformat().replace("+00:00", "Z")


def control(action: str, stage: int | None = 1, who: str | None = "alice", ts: float = 0) -> dict:
    e = {"event": "rollout_control", "plan_id": "p-1", "ts": iso(ts), "action": action}
    if stage is not None:
        e["stage"] = stage
    if who is not None:
        e["who"] = who
    return e


def test_vocabulary():
    assert CONTROLS == ("promote", "promote_full", "pause", "resume", "abort")
    assert (PASS, FAIL, HOLD, SKIP) == ("pass", "fail", "hold", "skip")
    assert MARK == {"pass": "✓", "fail": "✗", "hold": "…", "skip": "-"}


# -- stages ------------------------------------------------------------------------------------------------------

def test_stages_above_current():
    assert stages(0, [10, 50, 100]) == [10, 50, 100]
    assert stages(10, [10, 50, 100]) == [50, 100]
    assert stages(10.5, [10, 50, 100]) == [50, 100]
    assert stages(9.99, [10, 50, 100]) == [10, 50, 100]
    assert stages(50, [10, 50, 100]) == [100]
    assert stages(100, [10, 50, 100]) == [100]
    assert stages(100, []) == [100]


# -- controls ----------------------------------------------------------------------------------------------------

def test_controls_defaults():
    c = Controls()
    assert (c.promote, c.promote_full, c.abort, c.pauses, c.paused) == (None, None, None, (), False)


def test_paused_is_the_last_pause_or_resume():
    assert Controls(pauses=((T0, "pause"),)).paused is True
    assert Controls(pauses=((T0, "pause"), (at(5), "resume"))).paused is False
    assert Controls(pauses=((T0, "resume"), (at(5), "pause"))).paused is True


def test_controls_at_stage_and_plan_wide():
    events = [
        control("promote", stage=1, who="alice"),
        control("promote", stage=2, who="bob"),
        control("pause", stage=2, ts=10), control("resume", stage=2, ts=20), control("pause", stage=1, ts=30),
        control("promote_full", stage=1, who="carol"),
        control("abort", stage=3, who="dave"),
    ]
    assert controls_at(events, 2) == Controls(promote="bob", promote_full="carol", abort="dave",
                                              pauses=((at(10), "pause"), (at(20), "resume")))
    assert controls_at(events, 1) == Controls(promote="alice", promote_full="carol", abort="dave",
                                              pauses=((at(30), "pause"),))
    assert controls_at(events, 3) == Controls(promote_full="carol", abort="dave")
    assert controls_at([], 1) == Controls()


def test_controls_first_one_wins_and_unknown_who():
    events = [control("promote", who=None), control("promote", who="bob"),
              control("promote_full", who=""), control("promote_full", who="bob"),
              control("abort", who="carol", stage=None), control("abort", who="dave")]
    assert controls_at(events, 1) == Controls(promote="?", promote_full="?", abort="carol")


def test_controls_ignores_other_actions_and_stage_types():
    events = [control("launch"), control("promote", stage="1"), control("pause", stage=None)]
    assert controls_at(events, 1) == Controls()


def test_controls_pause_time_with_offset_and_z():
    e = dict(control("pause"), ts="2026-11-30T11:00:00+01:00")
    assert controls_at([e], 1).pauses == ((T0, "pause"),)
    assert controls_at([control("pause", ts=0)], 1).pauses[0][0] == T0


# -- bake --------------------------------------------------------------------------------------------------------

def test_bake_remaining_plain():
    assert bake_remaining(at(300), (), at(100)) == 200.0
    assert bake_remaining(at(300), (), at(400)) == -100.0


def test_bake_remaining_pauses_extend_it():
    pauses = ((at(50), "pause"), (at(80), "resume"))
    assert bake_remaining(at(300), pauses, at(100)) == 230.0
    pauses += ((at(120), "pause"), (at(130), "resume"))
    assert bake_remaining(at(300), pauses, at(200)) == 140.0


def test_bake_remaining_none_while_paused():
    assert bake_remaining(at(300), ((at(50), "pause"),), at(100)) is None
    assert bake_remaining(at(300), ((at(50), "pause"), (at(60), "resume"), (at(70), "pause")), at(100)) is None


def test_bake_remaining_repeated_pause_counts_from_the_first_and_stray_resume_is_ignored():
    pauses = ((at(10), "resume"), (at(50), "pause"), (at(60), "pause"), (at(80), "resume"), (at(90), "resume"))
    assert bake_remaining(at(300), pauses, at(100)) == 230.0


# -- analysis ----------------------------------------------------------------------------------------------------

def test_analysis_passes():
    a = analyze("1.6.0", {"healthy": 3}, [], "ok", "1.6.0 as good as 1.5.0")
    assert a == Analysis(PASS, (Check("health", PASS, "1.6.0: 3/3 healthy targets"),
                                Check("alarms", PASS, "no alarm in ALARM"),
                                Check("verdict", PASS, "1.6.0 as good as 1.5.0")))
    assert a.failing == ()
    assert a.summary == "✓ 1.6.0: 3/3 healthy targets; ✓ no alarm in ALARM; ✓ 1.6.0 as good as 1.5.0"


def test_analysis_health_fails():
    a = analyze("1.6.0", {"healthy": 2, "unhealthy": 1, "draining": 1}, [], "ok", "fine")
    assert a.checks[0] == Check("health", FAIL, "1.6.0: 1 unhealthy, 2/4 healthy targets")
    assert a.state == FAIL
    assert a.failing == (a.checks[0],)
    a = analyze("1.6.0", {"initial": 2}, [], "ok", "fine")
    assert a.checks[0] == Check("health", FAIL, "1.6.0: 0 unhealthy, 0/2 healthy targets")
    assert a.state == FAIL
    a = analyze("1.6.0", {}, [], "ok", "fine")
    assert a.checks[0] == Check("health", FAIL, "1.6.0: 0 unhealthy, 0/0 healthy targets")


def test_analysis_health_passes_with_other_states():
    a = analyze("1.6.0", {"healthy": 2, "draining": 1}, [], "ok", "fine")
    assert a.checks[0] == Check("health", PASS, "1.6.0: 2/3 healthy targets")
    assert a.state == PASS


def test_analysis_alarms_fail():
    a = analyze("1.6.0", {"healthy": 1}, ["web-5xx", "web-latency"], "ok", "fine")
    assert a.checks[1] == Check("alarms", FAIL, "alarm in ALARM: web-5xx, web-latency")
    assert a.state == FAIL and a.failing == (a.checks[1],)


def test_analysis_worse_fails_even_without_other_failures():
    a = analyze("1.6.0", {"healthy": 1}, [], "worse", "5xx 4% vs 0.1%")
    assert a.checks[2] == Check("verdict", FAIL, "5xx 4% vs 0.1%")
    assert a.state == FAIL
    assert a.summary == "✓ 1.6.0: 1/1 healthy targets; ✓ no alarm in ALARM; ✗ 5xx 4% vs 0.1%"


def test_analysis_insufficient_holds():
    a = analyze("1.6.0", {"healthy": 1}, [], "insufficient", "12 requests")
    assert a.checks[2] == Check("verdict", HOLD, "12 requests")
    assert a.state == HOLD
    assert a.failing == ()
    assert a.summary.endswith("; … 12 requests")
    a = analyze("1.6.0", {"healthy": 1}, [], None, "")
    assert a.checks[2] == Check("verdict", HOLD, "1.6.0: no signals: not enough traffic to judge")
    assert a.state == HOLD


def test_analysis_fail_beats_hold():
    a = analyze("1.6.0", {"healthy": 1}, ["web-5xx"], "insufficient", "12 requests")
    assert a.state == FAIL


def test_analysis_at_full_weight_skips_the_comparison():
    for verdict in ("worse", "ok", None):
        a = analyze("1.6.0", {"healthy": 1}, [], verdict, "why", compare=False)
        assert a.checks[2] == Check("verdict", SKIP, "1.6.0 takes all traffic: nothing to compare with")
        assert a.state == PASS
        assert a.failing == ()
    assert a.summary.endswith("; - 1.6.0 takes all traffic: nothing to compare with")
    assert analyze("1.6.0", {"unhealthy": 1}, [], None, "", compare=False).state == FAIL


def test_analysis_dict_round_trip():
    a = analyze("1.6.0", {"healthy": 1}, ["a"], "insufficient", "few")
    d = a.to_dict()
    assert d == {"state": "fail", "checks": [
        {"name": "health", "state": "pass", "text": "1.6.0: 1/1 healthy targets"},
        {"name": "alarms", "state": "fail", "text": "alarm in ALARM: a"},
        {"name": "verdict", "state": "hold", "text": "few"}]}
    assert Analysis.from_dict(d) == a
    assert Analysis.from_dict({}) == Analysis("None", ())
    assert Analysis.from_dict({"state": "pass", "checks": None}) == Analysis("pass", ())
    assert Analysis.from_dict({"checks": [{}]}) == Analysis("None", (Check("None", "None", "None"),))


# -- the view ----------------------------------------------------------------------------------------------------

def rollout_plan(weights=(10, 100)) -> Plan:
    """set_weights → bake → analysis per stage, as the rollout planner makes it."""
    steps = []
    n = len(weights)
    for k, w in enumerate(weights, 1):
        stage = {"stage": k, "stages": n, "weight": w,
                 "stage_weights": {"1.6.0": w, **({"1.5.0": 100 - w} if w < 100 else {})}}
        steps.append(Step(f"s{len(steps) + 1}", "set_weights", "us-east-1", f"shift {w}", stage))
        steps.append(Step(f"s{len(steps) + 1}", "bake", "us-east-1", "bake", {**stage, "seconds": 300}))
        steps.append(Step(f"s{len(steps) + 1}", "analysis", "us-east-1", "analysis",
                          {**stage, "canary": "1.6.0", "stable": "1.5.0"}))
    return Plan(id="p-1", verb="rollout", service="web", summary="rollout", steps=tuple(steps),
                generation="1.6.0")


def record(done=(), status="running", memo=None, plan=None) -> PlanRecord:
    return PlanRecord(plan=plan or rollout_plan(), who="arn:alice", reason="", created=iso(0), done=set(done),
                      memo=memo or {}, status=status)


def test_view_shifting_first_stage():
    v = rollout_view(record(), [], at(0))
    assert v == RolloutView("p-1", "web", "1.6.0", "1.5.0", "running", 1, 2, 10, "shifting", None, None, None,
                            None, "arn:alice", None, {"1.6.0": 10, "1.5.0": 90}, None)
    assert v.line == "rollout 1.6.0: step 1/2 at 10% (1.5.0 90%) — shifting"


def test_view_baking_with_deadline_and_pause():
    memo = {"s2": {"deadline": at(300).isoformat()}}
    v = rollout_view(record(done={"s1"}, memo=memo), [], at(100))
    assert (v.phase, v.deadline, v.remaining, v.stage, v.weight) == ("baking", at(300), 200.0, 1, 10)
    assert v.line == "rollout 1.6.0: step 1/2 at 10% (1.5.0 90%) — baking 200s left"
    events = [control("pause", stage=1, ts=50), control("resume", stage=1, ts=80)]
    v = rollout_view(record(done={"s1"}, memo=memo), events, at(100))
    assert (v.phase, v.remaining) == ("baking", 230.0)
    v = rollout_view(record(done={"s1"}, memo=memo), events + [control("pause", stage=1, ts=90)], at(100))
    assert (v.phase, v.remaining, v.deadline) == ("paused", None, at(300))
    assert v.line == "rollout 1.6.0: step 1/2 at 10% (1.5.0 90%) — paused"
    v = rollout_view(record(done={"s1"}, memo=memo), [control("pause", stage=2, ts=90)], at(100))
    assert v.phase == "baking"


def test_view_baking_past_deadline_says_0s_and_without_deadline_no_time():
    memo = {"s2": {"deadline": at(300).isoformat()}}
    v = rollout_view(record(done={"s1"}, memo=memo), [], at(310.7))
    assert v.remaining == pytest.approx(-10.7)
    assert v.line.endswith("— baking 0s left")
    v = rollout_view(record(done={"s1"}, memo=memo), [], at(0.6))
    assert v.line.endswith("— baking 299s left")
    v = rollout_view(record(done={"s1"}), [], at(100))
    assert (v.phase, v.deadline, v.remaining) == ("baking", None, None)
    assert v.line.endswith("— baking")


def test_view_analysis_holding_and_last_analysis():
    a1 = analyze("1.6.0", {"healthy": 1}, [], "insufficient", "few requests")
    v = rollout_view(record(done={"s1", "s2"}), [], at(0))
    assert (v.phase, v.hold, v.analysis) == ("analysis", None, None)
    v = rollout_view(record(done={"s1", "s2"}, memo={"s3": {"holding": "not enough traffic",
                                                                 "analysis": a1.to_dict()}}), [], at(0))
    assert (v.phase, v.hold, v.analysis) == ("holding", "not enough traffic", a1)
    assert v.line == "rollout 1.6.0: step 1/2 at 10% (1.5.0 90%) — holding: not enough traffic"


def test_view_second_stage_keeps_newest_analysis():
    a1 = analyze("1.6.0", {"healthy": 1}, [], "ok", "first")
    a2 = analyze("1.6.0", {"healthy": 1}, [], None, "", compare=False)
    memo = {"s3": {"analysis": a1.to_dict()}}
    v = rollout_view(record(done={"s1", "s2", "s3"}, memo=memo), [], at(0))
    assert (v.stage, v.stages, v.weight, v.phase, v.analysis) == (2, 2, 100, "shifting", a1)
    assert v.weights == {"1.6.0": 100}
    assert v.line == "rollout 1.6.0: step 2/2 at 100% — shifting"
    memo["s6"] = {"analysis": a2.to_dict()}
    v = rollout_view(record(done={"s1", "s2", "s3", "s4", "s5", "s6"}, memo=memo, status="succeeded"), [], at(0))
    assert (v.stage, v.phase, v.status, v.analysis, v.error) == (2, "done", "succeeded", a2, None)
    assert v.line == "rollout 1.6.0: step 2/2 at 100% — done"


def test_view_final_states_and_errors():
    fin = {"event": "plan_finished", "plan_id": "p-1", "ts": iso(5), "status": "aborted",
           "error": "analysis failed: 5xx"}
    v = rollout_view(record(done={"s1", "s2"}, status="aborted"), [fin], at(10))
    assert (v.phase, v.error, v.stage) == ("aborted", "analysis failed: 5xx", 1)
    assert v.line == "rollout 1.6.0: step 1/2 at 10% (1.5.0 90%) — aborted: analysis failed: 5xx"
    v = rollout_view(record(status="failed"), [dict(fin, status="failed", error="")], at(10))
    assert (v.phase, v.error) == ("failed", None)
    v = rollout_view(record(status="abandoned"), [dict(fin, error="old"), dict(fin, error=None)], at(10))
    assert (v.phase, v.error) == ("abandoned", None)
    v = rollout_view(record(status="failed"), [dict(fin, error="old"), {"event": "warning"}], at(10))
    assert v.error == "old"


def test_view_every_step_done_but_not_finished():
    """The process died (or the journal refused plan_finished) after the last step succeeded: the view says so
    instead of crashing the banner and `rollout status` (it raised AttributeError on the missing current step)."""
    done = {f"s{i}" for i in range(1, 7)}
    v = rollout_view(record(done=done), [], at(0))
    assert (v.status, v.stage, v.stages, v.weight, v.phase, v.error) == ("running", 2, 2, 100, "finishing", None)
    assert v.line == "rollout 1.6.0: step 2/2 at 100% — finishing"
    events = [{"event": "step_succeeded", "plan_id": "p-1", "ts": "2026-11-30T10:07:00.000Z", "step": "s6"}]
    v = rollout_view(record(done=done), events, at(0), watched=False)
    assert (v.phase, v.unwatched_since) == ("finishing", at(420))
    v = rollout_view(record(done=done), [control("abort", stage=2, who="bob")], at(0))
    assert (v.phase, v.error) == ("aborting", "abort by bob")


def test_view_abort_requested():
    v = rollout_view(record(done={"s1"}), [control("abort", stage=1, who="bob")], at(0))
    assert (v.phase, v.error) == ("aborting", "abort by bob")
    assert v.line == "rollout 1.6.0: step 1/2 at 10% (1.5.0 90%) — aborting: abort by bob"
    # an abort already done: the record's status wins
    v = rollout_view(record(status="aborted"), [control("abort", who="bob")], at(0))
    assert (v.phase, v.error) == ("aborted", None)


def test_view_only_rollout_control_events_count():
    e = control("abort", who="bob")
    e["event"] = "warning"
    assert rollout_view(record(done={"s1"}), [e], at(0)).phase == "baking"


def test_view_unwatched_holds():
    memo = {"s2": {"deadline": at(300).isoformat()}}
    events = [control("pause", ts=10), control("resume", ts=20),
              {"event": "step_started", "plan_id": "p-1", "ts": "2026-11-30T10:07:00.000Z"}]
    v = rollout_view(record(done={"s1"}, memo=memo), events, at(100), watched=False)
    assert (v.phase, v.unwatched_since, v.remaining) == ("holding", at(420), 210.0)
    assert v.line == ("rollout 1.6.0: step 1/2 at 10% (1.5.0 90%) — holding — watcher gone since 10:07 UTC: it "
                      "holds here (`fleettui resume` drives it on, `fleettui rollout abort` ends it)")
    v = rollout_view(record(done={"s1"}, memo=memo), events, at(100), watched=True)
    assert (v.phase, v.unwatched_since) == ("baking", None)
    v = rollout_view(record(), events, at(100), watched=False)
    assert (v.phase, v.unwatched_since) == ("shifting", at(420))
    v = rollout_view(record(), [], at(100), watched=False)
    assert v.unwatched_since is None
    v = rollout_view(record(status="failed"), events, at(100), watched=False)
    assert v.unwatched_since is None
    v = rollout_view(record(), [{"event": "step_started", "ts": "garbage"}], at(100), watched=False)
    assert (v.unwatched_since, v.phase) == (None, "shifting")


def test_view_without_stage_params_or_analysis_step():
    p = Plan(id="p-9", verb="rollout", service="api", summary="", steps=(Step("s1", "set_weights", "r", "d"),))
    v = rollout_view(record(plan=p), [], at(0))
    assert (v.plan_id, v.service, v.canary, v.stable, v.stage, v.stages, v.weight, v.weights) == \
        ("p-9", "api", "?", "?", 1, 1, 0, {})
    assert v.line == "rollout ?: step 1/1 at 0% — shifting"


def test_view_line_parts():
    base = dict(plan_id="p", service="web", canary="1.6.0", stable="1.5.0", status="running", stage=2, stages=3,
                weight=50, phase="analysis")
    assert RolloutView(**base).line == "rollout 1.6.0: step 2/3 at 50% — analysis"
    v = RolloutView(**base, weights={"1.6.0": 50, "1.5.0": 30, "1.4.0": 20})
    assert v.line == "rollout 1.6.0: step 2/3 at 50% (1.5.0 30%, 1.4.0 20%) — analysis"
    v = RolloutView(**base, remaining=12.0)
    assert v.line == "rollout 1.6.0: step 2/3 at 50% — analysis"
    v = RolloutView(**base, hold="h", error="e")
    assert v.line == "rollout 1.6.0: step 2/3 at 50% — analysis: h: e"
    b = dict(base, phase="baking")
    assert RolloutView(**b, remaining=12.9).line == "rollout 1.6.0: step 2/3 at 50% — baking 12s left"
    assert RolloutView(**b, remaining=0.0).line == "rollout 1.6.0: step 2/3 at 50% — baking 0s left"
    v = RolloutView(**base, unwatched_since=datetime(2026, 1, 1, 3, 4, tzinfo=timezone.utc))
    assert v.line == ("rollout 1.6.0: step 2/3 at 50% — analysis — watcher gone since 03:04 UTC: it holds here "
                      "(`fleettui resume` drives it on, `fleettui rollout abort` ends it)")


def test_view_defaults():
    v = RolloutView("p", "web", "1.6.0", "1.5.0", "running", 1, 1, 100, "done")
    assert (v.deadline, v.remaining, v.analysis, v.hold, v.who, v.error, v.weights, v.unwatched_since) == \
        (None, None, None, None, "", None, None, None)
