"""Progressive rollouts on the moto server with CloudWatch datapoints the tests write: steps, bake, analysis,
auto-abort with evidence, hold, operator controls from another terminal, crash during a bake and resume."""
import asyncio
import signal
from datetime import datetime, timedelta, timezone

import pytest

from fleettui.actions import rollouts
from fleettui.actions.api import Actions
from fleettui.actions.verbs import Launch, Rollout
from fleettui.aws.signals import lb_dimension, tg_dimension
from fleettui.cli import main
from fleettui.domain.rollout import analyze, bake_remaining, controls_at, stages

from conftest import VIRTUAL_POLL
from faults import journal_events, listener_weights, outputs, spawn, wait_for
from fleettui.clock import VirtualClock
from fleettui.domain.history import plan_states

NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)


def tg_arn(demo, version):
    name = "web-" + version.replace(".", "-")
    groups = demo.client("elbv2").describe_target_groups(Names=[name])["TargetGroups"]
    return groups[0]["TargetGroupArn"]


def put(demo, version, requests=1000.0, errors=2.0, latency=0.18, minutes=10):
    """Per-minute datapoints for one of web's generations over the last ``minutes``, up to the current minute."""
    arn = demo.fleet.listener_arns["web"]
    dims = [{"Name": "TargetGroup", "Value": tg_dimension(tg_arn(demo, version))},
            {"Name": "LoadBalancer", "Value": lb_dimension(arn)}]
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    data = []
    for m in range(0, minutes):
        t = now - timedelta(minutes=m)
        data += [{"MetricName": "RequestCount", "Dimensions": dims, "Timestamp": t, "Value": requests},
                 {"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": dims, "Timestamp": t, "Value": errors},
                 {"MetricName": "TargetResponseTime", "Dimensions": dims, "Timestamp": t, "Value": latency},
                 {"MetricName": "UnHealthyHostCount", "Dimensions": dims, "Timestamp": t, "Value": 0.0}]
    demo.client("cloudwatch").put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data)


def launched(demo):
    """web 1.7.0 launched as large as live, on the listener at weight 0 (what `L` does before a rollout)."""
    async def body(a):
        return await a.execute(await a.plan(Launch("web")), "for the rollout")

    assert demo.act(body).ok


def good(demo):
    launched(demo)
    put(demo, "1.5.0", requests=1000, errors=2, latency=0.18)
    put(demo, "1.7.0", requests=200, errors=0, latency=0.19)




def start(demo, **kw):
    intent = Rollout("web", to="1.7.0", steps=kw.pop("steps", (50, 100)), bake_s=kw.pop("bake_s", 0.3), **kw)

    async def body(a):
        plan = await a.plan(intent)
        assert plan.refusal is None, plan.refusal
        return await a.execute(plan, "test rollout")

    return demo.act(body)


def events_of(home, plan_id):
    return [e for e in journal_events(home) if e["plan_id"] == plan_id]


# -- the pure part ----------------------------------------------------------------------------------------

def test_stages_skip_the_weights_already_reached():
    assert stages(10, (5, 25, 50, 100)) == [25, 50, 100]
    assert stages(0, (10, 100)) == [10, 100]


def test_analysis_verdict_from_numbers():
    ok = analyze("1.6.0", {"healthy": 3}, [], "ok", "1.6.0: 5xx 0.0% vs 0.2%")
    assert ok.state == "pass" and [c.state for c in ok.checks] == ["pass", "pass", "pass"]
    sick = analyze("1.6.0", {"healthy": 2, "unhealthy": 1}, [], "ok", "")
    assert sick.state == "fail" and sick.failing[0].text == "1.6.0: 1 unhealthy, 2/3 healthy targets"
    alarm = analyze("1.6.0", {"healthy": 3}, ["web-5xx"], "ok", "")
    assert alarm.state == "fail" and alarm.failing[0].name == "alarms"
    few = analyze("1.6.0", {"healthy": 3}, [], "insufficient", "1.6.0: not enough traffic to judge")
    assert few.state == "hold"
    full = analyze("1.6.0", {"healthy": 3}, [], None, "", compare=False)
    assert full.state == "pass" and full.checks[2].state == "skip"


def test_bake_remaining_adds_paused_time_and_holds_while_paused():
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    deadline = t0 + timedelta(seconds=60)
    assert bake_remaining(deadline, (), t0 + timedelta(seconds=50)) == 10
    pauses = ((t0 + timedelta(seconds=10), "pause"), (t0 + timedelta(seconds=40), "resume"))
    assert bake_remaining(deadline, pauses, t0 + timedelta(seconds=50)) == 40
    assert bake_remaining(deadline, pauses[:1], t0 + timedelta(seconds=50)) is None


def test_controls_apply_to_their_stage_abort_and_promote_full_to_all():
    ev = [{"action": "promote", "stage": 1, "who": "a", "ts": "2026-01-01T00:00:00+00:00"},
          {"action": "pause", "stage": 2, "who": "b", "ts": "2026-01-01T00:00:01+00:00"}]
    assert controls_at(ev, 1).promote == "a" and not controls_at(ev, 1).paused
    assert controls_at(ev, 2).promote is None and controls_at(ev, 2).paused
    ev.append({"action": "abort", "stage": 1, "who": "c", "ts": "2026-01-01T00:00:02+00:00"})
    assert controls_at(ev, 2).abort == "c"


def test_view_folds_the_journal_into_step_weights_countdown_and_hold():
    from types import SimpleNamespace

    from fleettui.domain.plan import Step
    from fleettui.domain.rollout import rollout_view

    stage = {"stage": 1, "stages": 2, "weight": 25, "stage_weights": {"1.7.0": 25, "1.5.0": 68, "1.6.0": 7}}
    steps = (Step("s1", "set_weights", "us-east-1", "", stage), Step("s2", "bake", "us-east-1", "", stage),
             Step("s3", "analysis", "us-east-1", "", {**stage, "stable": "1.5.0"}))
    plan = SimpleNamespace(id="p-1", service="web", generation="1.7.0", steps=steps)
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rec = SimpleNamespace(plan=plan, done={"s1"}, status="running", who="ops",
                          memo={"s2": {"deadline": (t0 + timedelta(seconds=20)).isoformat()}})
    v = rollout_view(rec, [], t0 + timedelta(seconds=8))
    assert v.line == "rollout 1.7.0: step 1/2 at 25% (1.5.0 68%, 1.6.0 7%) — baking 12s left"
    paused = [{"event": "rollout_control", "action": "pause", "stage": 1, "who": "b", "ts": t0.isoformat()}]
    assert rollout_view(rec, paused, t0 + timedelta(seconds=8)).phase == "paused"
    rec.done, rec.memo["s3"] = {"s1", "s2"}, {"holding": "1.7.0: not enough traffic to judge — promote or abort"}
    assert rollout_view(rec, [], t0).line.endswith("— holding: 1.7.0: not enough traffic to judge — promote or abort")


# -- against moto ---------------------------------------------------------------------------------------

def test_rollout_passes_every_step_to_100_percent(demo, isolated_home):
    good(demo)
    outcome = start(demo)
    assert outcome.ok, outcome.error
    w = listener_weights(demo)
    assert w["web-1-7-0"] == 100 and w["web-1-5-0"] == 0 and w["web-1-4-0"] == 0
    ev = events_of(isolated_home, outcome.plan.id)
    kinds = [s.kind for s in outcome.plan.steps]
    assert kinds == ["set_weights", "bake", "analysis"] * 2
    notes = [e["note"]["analysis"] for e in ev if e["event"] == "step_note" and "analysis" in e["note"]]
    assert [n["state"] for n in notes] == ["pass", "pass"]
    verdict = notes[0]["checks"][2]
    assert verdict["state"] == "pass" and "vs 0.2%" in verdict["text"]
    assert notes[1]["checks"][2]["state"] == "skip"            # at 100% nothing to compare with
    assert ev[-1]["event"] == "plan_finished" and ev[-1]["status"] == "succeeded"


def test_alarm_in_alarm_aborts_with_evidence_in_one_change(demo, isolated_home):
    good(demo)
    cw = demo.client("cloudwatch")
    cw.put_metric_alarm(AlarmName="web-5xx", MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=5,
                        ComparisonOperator="GreaterThanThreshold")
    cw.set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="Threshold Crossed: 9 > 5")
    assert listener_weights(demo)["web-1-7-0"] == 0
    outcome = start(demo)
    assert outcome.status == "aborted"
    assert "alarm in ALARM: web-5xx (Threshold Crossed: 9 > 5)" in outcome.error
    assert listener_weights(demo) == {"web-1-4-0": 0, "web-1-5-0": 100, "web-1-6-0": 0, "web-1-7-0": 0}
    ev = events_of(isolated_home, outcome.plan.id)
    fin = ev[-1]
    assert fin["event"] == "plan_finished" and fin["status"] == "aborted" and fin["to"] == "1.5.0"
    assert fin["checks"] == [{"name": "alarms", "state": "fail",
                              "text": "alarm in ALARM: web-5xx (Threshold Crossed: 9 > 5)"}]
    # the analysis of the first step (50%) failed: the second step never ran
    done = {e["step"] for e in ev if e["event"] == "step_succeeded"}
    assert done == {"s1", "s2"}
    assert main(["rollout", "status", "web", "--config", str(demo.config_path)]) == 0


def test_canary_worse_aborts(demo, isolated_home):
    launched(demo)
    put(demo, "1.5.0", requests=1000, errors=2, latency=0.18)
    put(demo, "1.7.0", requests=200, errors=10, latency=0.9)
    outcome = start(demo)
    assert outcome.status == "aborted"
    assert "5xx 5.0% vs 0.2% on 1.5.0" in outcome.error and "all traffic back to 1.5.0" in outcome.error
    assert listener_weights(demo)["web-1-5-0"] == 100


def test_cli_exit_codes_done_aborted_refused(demo):
    cfg = str(demo.config_path)
    launched(demo)
    put(demo, "1.5.0")
    put(demo, "1.7.0", requests=200, errors=10, latency=0.9)
    assert main(["rollout", "web", "--to", "1.7.0", "--steps", "50,100", "--bake", "1s", "--yes", "--wait",
                 "--config", cfg]) == 1
    assert listener_weights(demo)["web-1-5-0"] == 100
    # rolling out the live generation is refused; so is a --pause-at that is not a step
    assert main(["rollout", "web", "--to", "1.5.0", "--yes", "--config", cfg]) == 2
    assert main(["rollout", "web", "--to", "1.7.0", "--pause-at", "30", "--yes", "--config", cfg]) == 2


def parked(demo) -> VirtualClock:
    """The test's clock, standing still: the code under test sleeps until the test moves time on."""
    demo.clock = VirtualClock(autojump=False)
    return demo.clock


async def settled(clock: VirtualClock, task: asyncio.Task, turns: int = 100_000) -> None:
    """Yield to the loop until the task is parked in a sleep of the clock, or has ended."""
    for _ in range(turns):
        if clock.sleepers or task.done():
            return
        await asyncio.sleep(0)
    raise AssertionError("the task neither slept nor ended")


async def until_parked(clock: VirtualClock, task: asyncio.Task, check=lambda: True) -> None:
    """Let time run (a poll at a time) until the task is parked in a sleep and ``check()`` holds."""
    while True:
        await settled(clock, task)
        assert not task.done(), task.result()
        if check():
            return
        clock.advance(VIRTUAL_POLL)


def test_too_little_traffic_holds_until_promote(demo, isolated_home):
    launched(demo)
    put(demo, "1.5.0", requests=1000)
    put(demo, "1.7.0", requests=1, errors=0, minutes=3)       # 3 requests: not enough to judge
    clock = parked(demo)

    async def body(a):
        plan = await a.plan(Rollout("web", to="1.7.0", steps=(50, 100), bake_s=60))
        task = asyncio.create_task(a.execute(plan, "hold"))

        def holding():
            rec = a.journal.record(plan.id)
            return rec is not None and "holding" in rec.memo.get("s3", {})

        await until_parked(clock, task, holding)
        clock.advance(3600)                                    # an hour later it still holds ...
        await until_parked(clock, task)
        assert not task.done() and listener_weights(demo)["web-1-7-0"] == 50     # ... at the step, not promoted
        v = rollouts.view(a.journal, "web", clock.now())
        assert v.phase == "holding" and "not enough traffic to judge" in v.hold
        await rollouts.control(a, "web", "promote")
        clock.autojump = True                                  # the rest runs on: the 100% stage bakes and passes
        clock.advance(VIRTUAL_POLL)
        return await asyncio.wait_for(task, 60)

    outcome = demo.act(body)
    assert outcome.ok, outcome.error
    assert listener_weights(demo)["web-1-7-0"] == 100
    ev = events_of(isolated_home, outcome.plan.id)
    s3 = next(e for e in ev if e["event"] == "step_succeeded" and e["step"] == "s3")
    assert s3["detail"]["promoted_by"] and s3["detail"]["analysis"]["state"] == "hold"


def test_pause_at_holds_and_promote_full_goes_to_100(demo, isolated_home):
    good(demo)
    clock = parked(demo)

    async def body(a):
        plan = await a.plan(Rollout("web", to="1.7.0", steps=(25, 50, 100), bake_s=60, pause_at=25))
        task = asyncio.create_task(a.execute(plan, "pause"))
        await until_parked(clock, task, lambda: "holding" in (a.journal.record(plan.id).memo.get("s3", {})
                                                             if a.journal.record(plan.id) else {}))
        assert listener_weights(demo)["web-1-7-0"] == 25
        await rollouts.control(a, "web", "promote_full")
        clock.autojump = True
        clock.advance(VIRTUAL_POLL)
        return await asyncio.wait_for(task, 60)

    outcome = demo.act(body)
    assert outcome.ok, outcome.error
    ev = events_of(isolated_home, outcome.plan.id)
    skipped = [e["step"] for e in ev if e["event"] == "step_succeeded" and "skipped" in (e.get("detail") or {})]
    assert skipped == ["s4", "s5", "s6"]              # the 50% stage: shift, bake, analysis skipped
    assert listener_weights(demo)["web-1-7-0"] == 100


def test_pause_holds_the_bake_and_resume_continues(demo, isolated_home):
    """A 60 s bake paused as it starts: 120 s later it has not ended (paused, its clock stopped); resumed, it ends
    after exactly the 60 s it had left."""
    good(demo)
    clock = parked(demo)

    async def body(a):
        plan = await a.plan(Rollout("web", to="1.7.0", steps=(100,), bake_s=60))
        task = asyncio.create_task(a.execute(plan, "pause"))
        await until_parked(clock, task, lambda: "deadline" in (a.journal.record(plan.id).memo.get("s2", {})
                                                              if a.journal.record(plan.id) else {}))
        t0 = clock.monotonic()
        await rollouts.control(a, "web", "pause")
        while clock.monotonic() < t0 + 120:              # twice the bake: paused, it must not end
            clock.advance(VIRTUAL_POLL)
            await until_parked(clock, task)
        assert rollouts.view(a.journal, "web", clock.now()).phase == "paused"
        await rollouts.control(a, "web", "resume")
        while "s2" not in a.journal.record(plan.id).done:
            assert clock.monotonic() - t0 < 120 + 60 + 2 * VIRTUAL_POLL, "the bake did not end when its time was up"
            clock.advance(VIRTUAL_POLL)
            await settled(clock, task)
        assert clock.monotonic() - t0 >= 120 + 60        # 120 s paused + the 60 s of bake left
        clock.autojump = True
        clock.advance(VIRTUAL_POLL)
        return await asyncio.wait_for(task, 60)

    assert demo.act(body).ok


def test_abort_from_another_terminal_and_again_is_a_no_op(demo, isolated_home):
    good(demo)
    cfg = str(demo.config_path)
    clock = parked(demo)

    async def body(a):
        plan = await a.plan(Rollout("web", to="1.7.0", steps=(50, 100), bake_s=600))
        task = asyncio.create_task(a.execute(plan, "long bake"))
        await until_parked(clock, task, lambda: "deadline" in (a.journal.record(plan.id).memo.get("s2", {})
                                                              if a.journal.record(plan.id) else {}))
        assert listener_weights(demo)["web-1-7-0"] == 50
        # another operator, another terminal (its own main(), on its own thread), while the driver waits in its bake
        code = await asyncio.to_thread(main, ["rollout", "abort", "web", "--reason", "looks off", "--config", cfg])
        assert code == 0
        clock.advance(VIRTUAL_POLL)                       # the driver's next poll sees the abort
        return await asyncio.wait_for(task, 20)

    outcome = demo.act(body)
    assert outcome.status == "aborted" and "aborted by" in outcome.error
    assert listener_weights(demo) == {"web-1-4-0": 0, "web-1-5-0": 100, "web-1-6-0": 0, "web-1-7-0": 0}
    ev = journal_events(isolated_home)
    mine = [e for e in ev if e["plan_id"] == outcome.plan.id]
    # the aborting operator finished the rollout `aborted`; the driver, woken later, only journaled its step's end
    assert [e["status"] for e in mine if e["event"] == "plan_finished"] == ["aborted"]
    assert plan_states(ev)[outcome.plan.id].status == "aborted"
    assert any(e["event"] == "rollout_control" and e["action"] == "abort" and e["reason"] == "looks off" for e in ev)
    n = len(ev)
    assert main(["rollout", "abort", "web", "--config", cfg]) == 0          # nothing to abort: nothing done
    assert len(journal_events(isolated_home)) == n
    assert main(["rollout", "promote", "web", "--config", cfg]) == 2


def test_abort_goes_on_when_the_driver_lets_go_of_its_lock_while_the_abort_takes_it_over(demo, isolated_home):
    """The driver sees the abort in the journal and releases its lock, exactly between the aborting operator's read
    of the holder and its clear: the abort must not stop with "the lock changed while you were deciding" (it did,
    exit 2, traffic left at 50%) -- the lock it came to take over is simply gone."""
    from fleettui.store.taglock import LOCK_TAG, TagLock

    good(demo)
    arn = demo.fleet.listener_arns["web"]

    class DriverLetsGo(TagLock):
        async def clear(self, seen):
            demo.client("elbv2").remove_tags(ResourceArns=[arn], TagKeys=[LOCK_TAG])   # the driver's release
            return await super().clear(seen)

    clock = parked(demo)

    async def body(a):
        plan = await a.plan(Rollout("web", to="1.7.0", steps=(50, 100), bake_s=600))
        task = asyncio.create_task(a.execute(plan, "long bake"))
        await until_parked(clock, task, lambda: "deadline" in (a.journal.record(plan.id).memo.get("s2", {})
                                                              if a.journal.record(plan.id) else {}))
        # the aborting operator: their own time runs on (the driver's stands still in its bake)
        other = Actions(config=a.config, gw=a.gw, read_only=False, journal=a.journal, lock=DriverLetsGo,
                        poll_seconds=VIRTUAL_POLL, timeout_seconds=30, clock=VirtualClock(clock.now()))
        said = await rollouts.abort(other, "web", "looks off")
        clock.advance(VIRTUAL_POLL)
        return said, await asyncio.wait_for(task, 20)

    (msg, code), outcome = demo.act(body)
    assert code == 0 and "aborted: all traffic back to 1.5.0" in msg, msg
    assert outcome.status == "aborted"
    assert listener_weights(demo) == {"web-1-4-0": 0, "web-1-5-0": 100, "web-1-6-0": 0, "web-1-7-0": 0}
    assert not [e for e in journal_events(isolated_home) if e["event"] == "lock_cleared"]   # nothing was taken over


def killed_in_bake(demo, home, tmp_path, bake="3s", steps="100"):
    """A CLI rollout SIGKILLed while it bakes: its plan id."""
    good(demo)
    proc = spawn(["rollout", "web", "--to", "1.7.0", "--steps", steps, "--bake", bake, "--yes",
                  "--config", str(demo.config_path)], tmp_path, "rollout")

    def baking():
        return [e for e in journal_events(home) if e["event"] == "step_note" and "deadline" in e["note"]]

    notes = wait_for(baking, 90, "the bake to start")
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL, outputs(proc)
    return notes[0]["plan_id"]


def test_abort_takes_over_the_lock_of_a_dead_driver(demo, isolated_home, tmp_path, capsys):
    plan_id = killed_in_bake(demo, isolated_home, tmp_path, bake="10m", steps="50,100")
    cfg = str(demo.config_path)
    assert main(["rollout", "status", "web", "--config", cfg]) == 0
    shown = capsys.readouterr().out
    assert "step 1/2 at 50%" in shown and f"(plan {plan_id})" in shown   # the holder
    assert "holding" in shown and "watcher gone since" in shown           # its driver died: it holds
    assert main(["rollout", "abort", "web", "--config", cfg]) == 0
    ev = journal_events(isolated_home)
    cleared = [e for e in ev if e["event"] == "lock_cleared"]
    assert len(cleared) == 1 and cleared[0]["plan_id"] == plan_id and "rollout abort" in cleared[0]["reason"]
    assert [e["status"] for e in ev if e["plan_id"] == plan_id and e["event"] == "plan_finished"] == ["aborted"]
    assert listener_weights(demo)["web-1-5-0"] == 100
    assert main(["resume", plan_id, "--config", cfg, "--yes"]) == 2        # aborted is final


def test_a_rollout_being_driven_is_never_driven_twice_and_its_watcher_gone_is_shown(demo, isolated_home, tmp_path,
                                                                                     capsys):
    good(demo)
    cfg = str(demo.config_path)
    proc = spawn(["rollout", "web", "--to", "1.7.0", "--steps", "50,100", "--bake", "10m", "--yes", "--config", cfg],
                 tmp_path, "rollout")
    try:
        notes = wait_for(lambda: [e for e in journal_events(isolated_home)
                                  if e["event"] == "step_note" and "deadline" in e["note"]], 90, "the bake to start")
        plan_id = notes[0]["plan_id"]
        n = len(journal_events(isolated_home))
        # a second driver (another terminal's `resume`, the TUI's start-up offer) is refused while the first lives
        assert main(["resume", plan_id, "--config", cfg, "--yes"]) == 2
        assert f"is being driven by process {proc.pid}" in capsys.readouterr().err
        assert main(["resume", "--config", cfg, "--yes"]) == 0             # nothing of its own to resume
        assert "plan_resumed" not in {e["event"] for e in journal_events(isolated_home)[n:]}
        assert main(["rollout", "status", "web", "--config", cfg]) == 0
        shown = capsys.readouterr().out
        assert "baking" in shown and "watcher gone" not in shown
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert main(["rollout", "status", "web", "--config", cfg]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "watcher gone since" in shown and "holding" in shown, shown      # unwatched: it holds, never promotes
    assert listener_weights(demo)["web-1-7-0"] == 50


def test_sigkill_during_bake_resume_waits_only_the_rest(demo, isolated_home, tmp_path):
    plan_id = killed_in_bake(demo, isolated_home, tmp_path)
    cfg = str(demo.config_path)
    assert main(["resume", plan_id, "--config", cfg, "--yes"]) == 0
    ev = events_of(isolated_home, plan_id)
    deadlines = [e for e in ev if e["event"] == "step_note" and "deadline" in e["note"]]
    assert len(deadlines) == 1                       # the bake was not started again
    bake = next(e for e in ev if e["event"] == "step_succeeded" and e["step"] == "s2")
    assert bake["detail"]["resumed"] is True
    assert ev[-1]["status"] == "succeeded" and listener_weights(demo)["web-1-7-0"] == 100


# -- the TUI ------------------------------------------------------------------------------------------------

def test_tui_O_opens_the_rollout_dialog_banner_shows_the_hold_and_P_promotes(demo, demo_ctx):
    from textual.widgets import Static

    from fleettui.ui.app import make_app
    from fleettui.ui.data.view import Section

    from test_ui import SIZE, fast_actions, loaded, screen_with_id, until, widget_text

    launched(demo)
    put(demo, "1.5.0", requests=1000)
    put(demo, "1.7.0", requests=1, minutes=3)              # too little traffic: the first analysis holds

    async def go():
        app = make_app(demo_ctx, auto_refresh=False, actions_factory=fast_actions(demo_ctx))
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await loaded(app, pilot)
            table = app.main.table
            table.cursor = next(i for i, r in enumerate(table.rows)
                                if isinstance(r, Section) and r.gen.version == "1.7.0")
            await pilot.press("O")
            dialog = await screen_with_id(app, pilot, "rollout")
            assert dialog.query_one("#steps").value == "25,50,100"      # the demo config's rollout_steps
            assert dialog.query_one("#bake").value == "20s"
            await pilot.press("ctrl+u", *"50,100", "tab", "ctrl+u", *"1s", "enter")
            confirm = await screen_with_id(app, pilot, "confirm")
            body = widget_text(confirm.query_one("#confirm-body", Static))
            assert "bake 1s at 50%" in body and "analysis at 50%" in body and "back to 1.5.0" in body
            await pilot.press("y")
            progress = await screen_with_id(app, pilot, "progress")

            def rollout_text():
                return widget_text(progress.query_one("#progress-rollout", Static))

            await until(pilot, lambda: "holding" in rollout_text(), timeout=60)
            text = rollout_text()
            assert "step 1/2 at 50%" in text and "not enough traffic to judge" in text and "… 1.7.0" in text
            assert listener_weights(demo)["web-1-7-0"] == 50
            # every screen's header says so (here the main screen's, under the progress screen)
            await until(pilot, lambda: "rollout web 1.7.0 1/2 50% holding" in str(
                app.main.query_one("FleetHeader").render()), timeout=10)
            await pilot.press("P")
            await until(pilot, lambda: progress.finished, timeout=60)
            assert not progress.failed
            assert listener_weights(demo)["web-1-7-0"] == 100

    asyncio.run(go())


def test_rollout_through_throttling_and_lost_responses_ends_right_with_a_complete_journal(
        demo, isolated_home, tmp_path, monkeypatch):
    from faults import FaultProxy, RetryClock, assert_journal_complete, write_config

    good(demo)
    RetryClock(monkeypatch, factor=100)
    with FaultProxy(demo.endpoint_url, seed=1313, throttle=0.2, error5xx=0.02, drop_before=0.025,
                    drop_after=0.025) as proxy:
        proxy.script("elasticloadbalancing.ModifyListener", "drop_after")     # the first shift's answer is lost
        cfg = write_config(demo, proxy.url, tmp_path / "proxied.toml")
        assert main(["rollout", "web", "--to", "1.7.0", "--steps", "50,100", "--bake", "1s", "--yes",
                     "--config", str(cfg)]) == 0
        stats = proxy.stats()
    assert stats["injected"].get("throttle", 0) >= 3, stats["injected"]
    assert stats["injected_by"].get(("drop_after", "elasticloadbalancing.ModifyListener"), 0) >= 1
    assert listener_weights(demo) == {"web-1-4-0": 0, "web-1-5-0": 0, "web-1-6-0": 0, "web-1-7-0": 100}
    plans = assert_journal_complete(journal_events(isolated_home))
    assert sorted(p["verb"] for p in plans.values()) == ["launch", "rollout"]     # two journals (two endpoints)


@pytest.mark.parametrize("where", ["before", "after"])
def test_sigkill_between_shift_and_verify_resume_converges(demo, isolated_home, tmp_path, where):
    """Killed while the second stage's ModifyListener is in flight: never delivered (before), or applied with the
    response lost (after); `fleettui resume` ends the rollout at 100% with every step journaled."""
    from faults import FaultProxy, assert_journal_complete, write_config

    good(demo)
    with FaultProxy(demo.endpoint_url) as proxy:
        cfg = write_config(demo, proxy.url, tmp_path / "proxied.toml")
        hold = proxy.hold("elasticloadbalancing.ModifyListener", where=where, nth=2)
        proc = spawn(["rollout", "web", "--to", "1.7.0", "--steps", "50,100", "--bake", "1s", "--yes",
                      "--config", str(cfg)], tmp_path, "rollout")
        wait_for(lambda: hold.reached.is_set() or proc.poll() is not None, 90, "the second listener change")
        assert proc.poll() is None, outputs(proc)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
        assert listener_weights(demo)["web-1-7-0"] == (50 if where == "before" else 100)
        proxy.release_all()
        assert main(["resume", "--config", str(cfg), "--yes"]) == 0
        assert proxy.forwarded["elasticloadbalancing.ModifyListener"] == 2
    assert listener_weights(demo)["web-1-7-0"] == 100
    assert_journal_complete(journal_events(isolated_home))
