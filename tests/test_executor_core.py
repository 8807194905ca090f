"""The executor's loop on the smallest real plans (fast, for mutation testing; README "Test strength").

A bare moto (tests/bare_aws.py): one listener forwarding to web-a (100) and web-b (0), nothing else. The plans are
made of real step kinds (set_weights with its precondition, listener_remove, a rollout's analysis) and run through
the real gateway; each test asserts the exact journal the executor wrote, the progress events, the outcome and the
listener AWS reports afterwards. Faults AWS does not make by itself (an interruption mid-step, a read-back that
lags) come from botocore's own event hooks on the gateway's client, never from a mock of our code.
"""
from __future__ import annotations

import asyncio
import json

import pytest

from bare_aws import REGION, bare, without_ts  # noqa: F401  (bare: fixture)
from fleettui.actions.executor import Executor, Outcome
from fleettui.domain.history import EventKind
from fleettui.domain.plan import Plan, Step, freeze
from fleettui.errors import FleetError
from fleettui.store import LockLost
from fleettui.store.local import JsonlJournal

WHO = "arn:aws:iam::123456789012:user/alice"
PID = "p-20261130-120000-abcdef"


def weights_step(n: int, listener: str, weights: dict[str, int], **extra) -> Step:
    return Step(f"s{n}", "set_weights", REGION, f"set weights {n}",
                freeze({"listener_arn": listener, "rule_arn": None, "weights": weights, **extra}))


def shift_plan(listener: str, tgs: list[str], *ramps: tuple[int, int], extra=None, plan_id: str = PID) -> Plan:
    """A shift from web-a to web-b in ramps: one set_weights step per (a, b) pair."""
    steps = tuple(weights_step(n, listener, {tgs[0]: a, tgs[1]: b}, **(extra or {}))
                  for n, (a, b) in enumerate(ramps, 1))
    return Plan(id=plan_id, verb="shift", service="web", summary="shift web", steps=steps,
                weights_before=freeze({"1.5.0": 100, "1.6.0": 0}), weights_after=freeze({"1.5.0": 0, "1.6.0": 100}))


class Run:
    """One executor on a fresh gateway and a journal in tmp_path; records its progress events."""

    def __init__(self, tmp_path, *, heartbeat=None, sync_events: bool = False, on_step=None, poll=0.0, timeout=5.0):
        self.journal = JsonlJournal(tmp_path / "journal.jsonl")
        self.events: list[tuple] = []
        self.heartbeat, self.sync_events, self.on_step = heartbeat, sync_events, on_step
        self.poll, self.timeout = poll, timeout
        self.mutations: list[tuple[str, str | None]] = []

    def _record(self, ev) -> None:
        self.events.append((ev.index, ev.step.id, ev.state, ev.error))
        assert ev.plan.id == PID or ev.plan.id.startswith("p-")
        if self.on_step is not None:
            self.on_step(ev)

    def on_event(self, ev):
        if self.sync_events:
            return self._record(ev)

        async def later():
            await asyncio.sleep(0)
            self._record(ev)
        return later()

    def executor(self, gw) -> Executor:
        return Executor(gw, self.journal, who=WHO, poll_seconds=self.poll, timeout_seconds=self.timeout,
                        on_event=self.on_event, heartbeat=self.heartbeat)

    def go(self, bare, plan: Plan | None = None, reason: str | None = None, *, record=None, prepare=None,
           hang: float = 0):
        """Run (or resume) the plan; with ``hang``, give up after that many seconds (a step that waits far longer
        than the test's timeout_seconds fails the test instead of hanging it)."""
        async def body(gw):
            if prepare is not None:
                await prepare(gw)
            try:
                ex = self.executor(gw)
                going = ex.resume(record) if record is not None else ex.run(plan) if reason is None else \
                    ex.run(plan, reason)
                return await (asyncio.wait_for(going, hang) if hang else going)
            finally:
                self.mutations = list(gw.mutations)
        return bare.run(body)

    def journaled(self) -> list[dict]:
        return without_ts(self.journal.events())

    def rids(self, *k: int) -> list[str]:
        return [f"{self.mutations[i][0]} {self.mutations[i][1]}" for i in k]


def created(plan: Plan, reason: str = "") -> dict:
    return {"event": "plan_created", "plan_id": plan.id, "service": "web", "verb": "shift", "who": WHO,
            "reason": reason, "region": REGION, "plan": json.loads(json.dumps(plan.to_dict()))}


def started(n: int) -> dict:
    return {"event": "step_started", "plan_id": PID, "step": f"s{n}", "kind": "set_weights", "region": REGION}


def succeeded(n: int, rids: list[str], a: int, b: int) -> dict:
    return {"event": "step_succeeded", "plan_id": PID, "step": f"s{n}", "request_ids": rids,
            "detail": {"weights": {"web-a": a, "web-b": b}}}


# ------------------------------------------------------------------------------------------------ driving

def test_a_plan_runs_every_step_in_order_journals_each_with_its_request_ids_and_finishes(bare, tmp_path):
    listener, tgs = bare.listener()
    plan = shift_plan(listener, tgs, (50, 50), (0, 100))
    run = Run(tmp_path)
    out = run.go(bare, plan, "canary looks good")
    assert (out.status, out.ok, out.failed_step, out.error, sorted(out.done)) == ("succeeded", True, None, None,
                                                                                 ["s1", "s2"])
    assert out.plan is plan
    assert [op for op, _ in run.mutations] == ["elbv2.ModifyListener"] * 2
    assert all(rid for _, rid in run.mutations)
    assert run.journaled() == [
        created(plan, "canary looks good"),
        started(1), succeeded(1, run.rids(0), 50, 50),
        started(2), succeeded(2, run.rids(1), 0, 100),
        {"event": "plan_finished", "plan_id": PID, "status": "succeeded"},
    ]
    assert run.events == [(0, "s1", "started", None), (0, "s1", "succeeded", None),
                          (1, "s2", "started", None), (1, "s2", "succeeded", None)]
    assert bare.weights(listener) == {"web-a": 0, "web-b": 100}


def test_progress_events_may_come_from_a_plain_function(bare, tmp_path):
    listener, tgs = bare.listener()
    run = Run(tmp_path, sync_events=True)
    plan = shift_plan(listener, tgs, (0, 100))
    out = run.go(bare, plan)
    assert out.status == "succeeded"
    assert run.journaled()[0] == created(plan, "")          # no reason given: an empty one
    assert run.events == [(0, "s1", "started", None), (0, "s1", "succeeded", None)]


def test_a_step_without_detail_journals_none(bare, tmp_path):
    """listener_remove returns no detail: its step_succeeded has no detail key (and one request id)."""
    listener, tgs = bare.listener()
    plan = Plan(id=PID, verb="shift", service="web", summary="drop web-b", steps=(
        Step("s1", "listener_remove", REGION, "remove web-b", freeze({"listener_arn": listener,
                                                                      "target_groups": [tgs[1]]})),))
    run = Run(tmp_path)
    assert run.go(bare, plan).ok
    assert run.journaled()[1:] == [
        {"event": "step_started", "plan_id": PID, "step": "s1", "kind": "listener_remove", "region": REGION},
        {"event": "step_succeeded", "plan_id": PID, "step": "s1", "request_ids": run.rids(0)},
        {"event": "plan_finished", "plan_id": PID, "status": "succeeded"},
    ]
    assert bare.weights(listener) == {"web-a": 100}


@pytest.mark.parametrize("refusal, why", [("web-b has no healthy targets", "web-b has no healthy targets"),
                                          (None, "it has no steps")])
def test_a_plan_that_cannot_run_is_refused_before_anything_is_journaled(bare, tmp_path, refusal, why):
    listener, tgs = bare.listener()
    plan = shift_plan(listener, tgs, (0, 100))
    plan = Plan(**{**plan.__dict__, "refusal": refusal, "steps": plan.steps if refusal else ()})
    run = Run(tmp_path)
    with pytest.raises(FleetError) as e:
        run.go(bare, plan)
    assert str(e.value) == f"plan {PID} cannot run: {why}"
    assert run.journaled() == [] and run.mutations == []
    assert bare.weights(listener) == {"web-a": 100, "web-b": 0}


# ------------------------------------------------------------------------------------------------ failures

def test_a_precondition_that_fails_stops_the_plan_before_its_step_and_nothing_after_runs(bare, tmp_path):
    """Between s1 and s2 another operator puts the listener back to 100/0: s2's precondition (the weights s1 set)
    fails, s2 and s3 never act, the plan is journaled failed at s2 with no request id of its own."""
    listener, tgs = bare.listener()
    plan = shift_plan(listener, tgs, (50, 50), (0, 100), (0, 100))

    def meddle(ev):
        if (ev.step.id, ev.state) == ("s1", "succeeded"):
            bare.set_weights(listener, {tgs[0]: 100, tgs[1]: 0})

    run = Run(tmp_path, on_step=meddle)
    out = run.go(bare, plan)
    why = (f"the listener's weights changed since this plan was made: web-a 100 (expected 50), web-b 0 (expected 50):"
           f" s2 not run; `fleettui resume --abandon {PID}` lists what this plan left behind")
    assert (out.status, out.ok, out.failed_step.id, out.error, out.done) == ("failed", False, "s2", why, ("s1",))
    assert out.plan is plan
    assert run.journaled()[1:] == [
        started(1), succeeded(1, run.rids(0), 50, 50), started(2),
        {"event": "step_failed", "plan_id": PID, "step": "s2", "error": why, "request_ids": []},
        {"event": "plan_finished", "plan_id": PID, "status": "failed", "failed_step": "s2"},
    ]
    assert run.events[2:] == [(1, "s2", "started", None), (1, "s2", "failed", why)]
    assert len(run.mutations) == 1
    assert bare.weights(listener) == {"web-a": 100, "web-b": 0}


def test_an_unexpected_exception_is_journaled_as_an_internal_error_not_a_traceback(bare, tmp_path):
    listener, tgs = bare.listener()
    good = shift_plan(listener, tgs, (50, 50))
    broken = Step("s2", "set_weights", REGION, "no weights", freeze({"listener_arn": listener}))
    plan = Plan(**{**good.__dict__, "steps": (*good.steps, broken)})
    run = Run(tmp_path)
    out = run.go(bare, plan)
    assert (out.status, out.failed_step, out.error) == ("failed", broken, "internal error: KeyError: 'weights'")
    assert out.plan is plan
    assert run.journaled()[-2:] == [
        {"event": "step_failed", "plan_id": PID, "step": "s2", "error": "internal error: KeyError: 'weights'",
         "request_ids": []},
        {"event": "plan_finished", "plan_id": PID, "status": "failed", "failed_step": "s2"},
    ]
    assert run.events[-1] == (1, "s2", "failed", "internal error: KeyError: 'weights'")


def test_a_read_back_that_never_shows_the_weights_fails_the_step_after_the_timeout(bare, tmp_path, monkeypatch):
    """ModifyListener is acknowledged but every read-back still shows the old weights (a hook on the gateway's
    client rewrites DescribeListeners' answer): the step reads again every ``poll_seconds`` (the sleeps are
    recorded), and after ``timeout_seconds`` fails naming what it waited for, with the ModifyListener's request id."""
    sleeps = []
    real_sleep = asyncio.sleep

    async def sleep(delay, *a, **k):
        sleeps.append(delay)
        return await real_sleep(delay, *a, **k)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    listener, tgs = bare.listener()
    stale = {"n": 0}

    def lagging(parsed, model, **_):
        if model.name == "DescribeListeners" and stale["n"] >= 1:
            for g in parsed["Listeners"][0]["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]:
                g["Weight"] = 100 if g["TargetGroupArn"] == tgs[0] else 0
        if model.name == "ModifyListener":
            stale["n"] += 1

    async def prepare(gw):
        (await gw.client("elbv2", REGION)).meta.events.register("after-call", lagging)

    run = Run(tmp_path, poll=0.01, timeout=2.0)      # long enough to read more than once on a busy machine
    out = run.go(bare, shift_plan(listener, tgs, (0, 100)), prepare=prepare, hang=30)
    why = "gave up after 2s waiting for the listener to report the new weights"
    assert (out.status, out.error) == ("failed", why)
    assert run.journaled()[-2:] == [
        {"event": "step_failed", "plan_id": PID, "step": "s1", "error": why, "request_ids": run.rids(0)},
        {"event": "plan_finished", "plan_id": PID, "status": "failed", "failed_step": "s1"},
    ]
    assert 0.01 in sleeps and 5.0 not in sleeps


def test_an_interrupted_step_is_journaled_unfinished_and_its_resume_reruns_it_safely(bare, tmp_path):
    """The task is cancelled (Ctrl-C) right after s2's ModifyListener was answered: step_failed "interrupted" with
    that request id (only that one), no plan_finished; the resume from the journal skips s1 and runs s2 again
    (nothing to write: already applied, no request id)."""
    listener, tgs = bare.listener()
    plan = shift_plan(listener, tgs, (50, 50), (0, 100))
    writes = []

    def cancel(model, **_):
        if model.name == "ModifyListener":
            writes.append(model.name)
            if len(writes) == 2:
                raise asyncio.CancelledError()

    async def prepare(gw):
        (await gw.client("elbv2", REGION)).meta.events.register("after-call", cancel)

    run = Run(tmp_path)
    with pytest.raises(asyncio.CancelledError):
        run.go(bare, plan, prepare=prepare)
    assert run.journaled()[1:] == [
        started(1), succeeded(1, run.rids(0), 50, 50), started(2),
        {"event": "step_failed", "plan_id": PID, "step": "s2", "error": "interrupted", "request_ids": run.rids(1)}]
    assert run.events[2:] == [(1, "s2", "started", None)]
    assert bare.weights(listener) == {"web-a": 0, "web-b": 100}

    record = run.journal.record(PID)
    assert record.done == {"s1"} and record.resumable
    run.events = []
    out = run.go(bare, record=record)
    assert out.status == "succeeded" and sorted(out.done) == ["s1", "s2"]
    assert run.journaled()[5:] == [
        started(2), succeeded(2, [], 0, 100), {"event": "plan_finished", "plan_id": PID, "status": "succeeded"}]
    assert bare.weights(listener) == {"web-a": 0, "web-b": 100}


def test_start_journals_the_plan_and_returns_its_fresh_record(bare, tmp_path):
    listener, tgs = bare.listener()
    plan = shift_plan(listener, tgs, (0, 100))
    run = Run(tmp_path)
    record = bare.run(lambda gw: asyncio.sleep(0, run.executor(gw).start(plan, "why")))
    assert (record.plan, record.who, record.reason, record.created, record.done, record.memo) == (
        plan, WHO, "why", "", set(), {})
    assert run.journaled() == [created(plan, "why")]


def test_a_step_that_waits_renews_the_lock_through_its_context(bare, tmp_path, monkeypatch):
    """A rollout's bake renews the lock while it waits (every HEARTBEAT_S, here 0): the executor gives each step
    the heartbeat (a one-step plan: no renewal between steps)."""
    from fleettui.actions.steps import rollout

    monkeypatch.setattr(rollout, "HEARTBEAT_S", 0.0)
    listener, tgs = bare.listener()
    beats = []

    async def beat():
        beats.append(1)

    plan = Plan(id=PID, verb="rollout", service="web", summary="bake", steps=(
        Step("s1", "bake", REGION, "bake 0.05s", freeze({"seconds": 0.05, "stage": 1, "stages": 2})),))
    run = Run(tmp_path, heartbeat=beat, poll=0.01)
    out = run.go(bare, plan)
    assert out.ok and beats
    assert run.journaled()[-2]["detail"] == {"baked_s": 0.05, "resumed": False}


# ------------------------------------------------------------------------------------------------ resume

def test_resume_skips_the_steps_already_done_and_runs_only_the_rest(bare, tmp_path):
    """A plan whose s1 succeeded and whose lock was then lost (LockLost from the heartbeat stops it before s2),
    resumed from the journal: s1 is skipped (no step_started, a "skipped" progress event), s2 runs."""
    listener, tgs = bare.listener()
    plan = shift_plan(listener, tgs, (50, 50), (0, 100))

    async def lost():
        raise LockLost("web's lock is now held by bob")

    run = Run(tmp_path, heartbeat=lost)
    with pytest.raises(LockLost):
        run.go(bare, plan)
    assert [e["event"] for e in run.journaled()] == ["plan_created", "step_started", "step_succeeded"]
    assert bare.weights(listener) == {"web-a": 50, "web-b": 50}

    record = run.journal.record(PID)
    assert record.done == {"s1"}
    run.events, run.heartbeat = [], None
    out = run.go(bare, record=record)
    assert (out.status, sorted(out.done)) == ("succeeded", ["s1", "s2"])
    assert out.plan is record.plan and out.plan == plan
    assert run.events == [(0, "s1", "skipped", None), (1, "s2", "started", None), (1, "s2", "succeeded", None)]
    assert run.journaled()[3:] == [started(2), succeeded(2, run.rids(0), 0, 100),
                                   {"event": "plan_finished", "plan_id": PID, "status": "succeeded"}]
    assert bare.weights(listener) == {"web-a": 0, "web-b": 100}


# ------------------------------------------------------------------------------------------------ the lock heartbeat

def test_the_lock_is_renewed_between_steps_never_after_the_last(bare, tmp_path):
    listener, tgs = bare.listener()
    beats: list[dict] = []

    async def beat():
        beats.append(bare.weights(listener))

    run = Run(tmp_path, heartbeat=beat)
    assert run.go(bare, shift_plan(listener, tgs, (90, 10), (50, 50), (0, 100))).ok
    assert beats == [{"web-a": 90, "web-b": 10}, {"web-a": 50, "web-b": 50}]


def test_a_lock_refresh_that_fails_is_a_warning_and_the_plan_goes_on(bare, tmp_path):
    listener, tgs = bare.listener()

    async def flaky():
        raise FleetError("the team table fleettui (us-east-1) could not be used: throttled")

    run = Run(tmp_path, heartbeat=flaky)
    out = run.go(bare, shift_plan(listener, tgs, (50, 50), (0, 100)))
    assert out.ok
    assert run.journaled()[3] == {"event": "warning", "plan_id": PID, "step": "s1", "message": (
        "lock refresh failed: the team table fleettui (us-east-1) could not be used: throttled")}
    assert [e["event"] for e in run.journaled()[4:]] == ["step_started", "step_succeeded", "plan_finished"]


# ------------------------------------------------------------------------------------------------ rollouts

def control(plan_id: str, action: str, who: str = "arn:bob", event: str = EventKind.ROLLOUT_CONTROL) -> tuple:
    return event, plan_id, {"action": action, "who": who, "stage": 1}


def test_an_operators_abort_stops_a_rollout_step_and_leaves_the_journaling_to_the_operator(bare, tmp_path):
    """A rollout_control abort for this plan: its shift step stops (Stopped, external), step_failed is journaled,
    no plan_finished (the aborting operator's fleettui rolls back and finishes it), nothing changed in AWS."""
    listener, tgs = bare.listener()
    plan = shift_plan(listener, tgs, (90, 10), extra={"stage": 1, "stages": 2})
    run = Run(tmp_path)
    event, pid, fields = control(PID, "abort")
    run.journal.append(event, pid, **fields)
    out = run.go(bare, plan)
    assert (out.status, out.failed_step.id, out.error, out.done) == ("aborted", "s1", "aborted by arn:bob", ())
    assert out.plan is plan
    assert run.journaled()[2:] == [
        started(1), {"event": "step_failed", "plan_id": PID, "step": "s1", "error": "aborted by arn:bob",
                     "request_ids": []}]
    assert run.events == [(0, "s1", "started", None), (0, "s1", "failed", "aborted by arn:bob")]
    assert bare.weights(listener) == {"web-a": 100, "web-b": 0}


def test_only_this_plans_rollout_controls_reach_its_steps(bare, tmp_path):
    """An abort of another plan, and another kind of event of this plan that says abort, do not stop it."""
    listener, tgs = bare.listener()
    run = Run(tmp_path)
    for event, pid, fields in (control("p-other", "abort"), control(PID, "abort", event=EventKind.WARNING)):
        run.journal.append(event, pid, **fields)
    assert run.go(bare, shift_plan(listener, tgs, (90, 10), extra={"stage": 1, "stages": 2})).ok
    assert bare.weights(listener) == {"web-a": 90, "web-b": 10}


def test_a_failing_analysis_rolls_back_and_the_executor_journals_the_abort_with_its_evidence(bare, tmp_path):
    """s1 sends web-b 50%; s2 (analysis) finds web-b without a healthy target: it notes the analysis, rolls back
    (ModifyListener to 100/0) and stops; the executor journals step_failed with that request id and
    plan_finished aborted with the evidence."""
    listener, tgs = bare.listener()
    shift = shift_plan(listener, tgs, (50, 50))
    analysis = Step("s2", "analysis", REGION, "analysis at 50%", freeze({
        "listener_arn": listener, "canary": "1.6.0", "stable": "1.5.0", "canary_groups": [tgs[1]],
        "stable_groups": [tgs[0]], "weight": 50, "stage": 1, "stages": 2, "compare": False, "auto_abort": True,
        "abort": [{"listener_arn": listener, "rule_arn": None, "weights": {tgs[0]: 100, tgs[1]: 0}}]}))
    plan = Plan(**{**shift.__dict__, "steps": (*shift.steps, analysis)})
    run = Run(tmp_path)
    out = run.go(bare, plan)
    checks = [{"name": "health", "state": "fail", "text": "1.6.0: 0 unhealthy, 0/0 healthy targets"},
              {"name": "alarms", "state": "pass", "text": "no alarm in ALARM"},
              {"name": "verdict", "state": "skip", "text": "1.6.0 takes all traffic: nothing to compare with"}]
    why = "auto-abort at 50%: 1.6.0: 0 unhealthy, 0/0 healthy targets: all traffic back to 1.5.0"
    assert (out.status, out.failed_step, out.error, out.done) == ("aborted", analysis, why, ("s1",))
    assert out.plan is plan
    assert run.journaled()[3:] == [
        {"event": "step_started", "plan_id": PID, "step": "s2", "kind": "analysis", "region": REGION},
        {"event": "step_note", "plan_id": PID, "step": "s2", "note": {"analysis": {"state": "fail",
                                                                                  "checks": checks}}},
        {"event": "step_failed", "plan_id": PID, "step": "s2", "error": why, "request_ids": run.rids(1)},
        {"event": "plan_finished", "plan_id": PID, "status": "aborted", "error": why, "failed_step": "s2",
         "checks": [checks[0]], "to": "1.5.0"},
    ]
    assert run.events[-1] == (1, "s2", "failed", why)
    assert bare.weights(listener) == {"web-a": 100, "web-b": 0}
    assert run.journal.record(PID).status == "aborted"


def test_outcome_ok_only_when_succeeded():
    plan = Plan(id=PID, verb="shift", service="web", summary="", steps=())
    assert [Outcome(plan, s).ok for s in ("succeeded", "failed", "aborted")] == [True, False, False]


def test_an_executor_polls_every_5_s_and_gives_a_wait_15_min_unless_told(tmp_path):
    ex = Executor(None, JsonlJournal(tmp_path / "j.jsonl"), who=WHO)
    assert (ex.poll, ex.timeout, ex.on_event, ex.heartbeat, ex.who) == (5.0, 900.0, None, None, WHO)
