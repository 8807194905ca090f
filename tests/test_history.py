"""The plan history fold (fleettui/domain/history.py), pure: hand-written journal events in, exact plan states
out. No server, no files: milliseconds, for mutation testing (README "Test strength"). The same fold end to end
(a real journal, real crashes on moto) is in tests/test_crash_resume.py and tests/test_store_faults.py.
"""
from __future__ import annotations

import pytest

from fleettui.domain.history import (EventKind, PlanRecord, PlanStatus, Scope, last_rollback, plan_states,
                                     unreadable)
from fleettui.domain.plan import Plan, Step

TS = "2026-11-30T10:00:00.000Z"


def plan(pid: str = "p-1", verb: str = "replace", service: str = "web", steps: int = 3) -> Plan:
    return Plan(id=pid, verb=verb, service=service, summary=f"{verb} {service}",
                steps=tuple(Step(f"s{i}", "noop", "us-east-1", f"step {i}") for i in range(1, steps + 1)))


def created(p: Plan, **extra) -> dict:
    return {"ts": TS, "event": "plan_created", "plan_id": p.id, "plan": p.to_dict(), **extra}


def ev(kind: str, pid: str = "p-1", **fields) -> dict:
    return {"ts": TS, "event": kind, "plan_id": pid, **fields}


# -- the vocabulary: these strings are in every journal already written ----------------------------------------

def test_event_and_status_names_are_the_journal_format():
    assert {k.name: k.value for k in EventKind} == {
        "PLAN_CREATED": "plan_created", "PLAN_RESUMED": "plan_resumed", "STEP_STARTED": "step_started",
        "STEP_NOTE": "step_note", "STEP_SUCCEEDED": "step_succeeded", "STEP_FAILED": "step_failed",
        "WARNING": "warning", "PLAN_FINISHED": "plan_finished", "LOCK_CLEARED": "lock_cleared",
        "ROLLOUT_CONTROL": "rollout_control"}
    assert {s.name: s.value for s in PlanStatus} == {
        "RUNNING": "running", "SUCCEEDED": "succeeded", "FAILED": "failed", "ABANDONED": "abandoned",
        "REFUSED": "refused", "ABORTED": "aborted"}


# -- Scope -------------------------------------------------------------------------------------------------------

def test_scope_defaults():
    s = Scope("111")
    assert (s.account, s.partition, s.endpoint, s.profile, s.regions) == ("111", "aws", "aws", None, ())


def test_same_aws_compares_account_partition_endpoint_only():
    base = Scope("111", "aws", "aws", profile="a", regions=("us-east-1",))
    assert base.same_aws(Scope("111", "aws", "aws", profile="b", regions=("eu-west-1", "us-east-1")))
    assert base.same_aws(base)
    assert not base.same_aws(None)
    assert not base.same_aws(Scope("222", "aws", "aws", profile="a", regions=("us-east-1",)))
    assert not base.same_aws(Scope("111", "aws-cn", "aws", profile="a", regions=("us-east-1",)))
    assert not base.same_aws(Scope("111", "aws", "http://127.0.0.1:5000", profile="a", regions=("us-east-1",)))


def test_scope_label():
    assert Scope("111").label == "account 111"
    assert Scope("111", partition="aws-cn").label == "account 111 (aws-cn)"
    assert Scope("111", endpoint="http://127.0.0.1:5000").label == "account 111 at http://127.0.0.1:5000"
    assert Scope("111", "aws-us-gov", "http://x:1").label == "account 111 (aws-us-gov) at http://x:1"


def test_scope_dict_round_trip_and_exact_form():
    s = Scope("111", "aws-cn", "http://x:1", profile="ops", regions=("us-east-1", "eu-west-1"))
    assert s.to_dict() == {"account": "111", "partition": "aws-cn", "endpoint": "http://x:1", "profile": "ops",
                           "regions": ["us-east-1", "eu-west-1"]}
    assert Scope.from_dict(s.to_dict()) == s


def test_scope_from_dict_fills_defaults_and_refuses_non_scopes():
    assert Scope.from_dict({"account": "111"}) == Scope("111", "aws", "aws", None, ())
    assert Scope.from_dict({"account": "111", "partition": "", "endpoint": None, "regions": None}) == Scope("111")
    assert Scope.from_dict({"account": "111", "regions": [1, "b"]}).regions == ("1", "b")
    assert Scope.from_dict({"account": "111", "partition": 5}).partition == "5"
    assert Scope.from_dict({"account": "111", "endpoint": 7}).endpoint == "7"
    assert Scope.from_dict({"account": "111", "profile": "p"}).profile == "p"
    assert Scope.from_dict(None) is None
    assert Scope.from_dict(["account", "111"]) is None
    assert Scope.from_dict({"account": 111}) is None
    assert Scope.from_dict({}) is None


# -- PlanRecord --------------------------------------------------------------------------------------------------

def test_record_defaults():
    r = PlanRecord(plan=plan(), who="w", reason="r", created=TS)
    assert (r.done, r.memo, r.failed, r.status, r.scope) == (set(), {}, {}, "running", None)


@pytest.mark.parametrize("status,resumable", [("running", True), ("failed", True), ("succeeded", False),
                                              ("abandoned", False), ("refused", False), ("aborted", False)])
def test_resumable_only_running_or_failed(status, resumable):
    assert PlanRecord(plan=plan(), who="w", reason="", created=TS, status=status).resumable is resumable


def test_remaining_keeps_plan_order():
    r = PlanRecord(plan=plan(steps=4), who="w", reason="", created=TS, done={"s3", "s1"})
    assert r.remaining == ["s2", "s4"]
    assert PlanRecord(plan=plan(steps=2), who="w", reason="", created=TS, done={"s1", "s2"}).remaining == []
    long = PlanRecord(plan=plan(steps=11), who="w", reason="", created=TS, done={f"s{i}" for i in range(3, 10)})
    assert long.remaining == ["s1", "s2", "s10", "s11"]          # the plan's order, not the ids' sort order


# -- unreadable --------------------------------------------------------------------------------------------------

def test_unreadable_reasons_exact():
    p = plan()
    assert unreadable([1]) == "not a JSON object (list)"
    assert unreadable("x") == "not a JSON object (str)"
    assert unreadable({"plan_id": "p"}) == "no event name or plan id"
    assert unreadable({"event": 3, "plan_id": "p"}) == "no event name or plan id"
    assert unreadable({"event": "warning"}) == "no event name or plan id"
    assert unreadable({"event": "warning", "plan_id": 3}) == "no event name or plan id"
    for kind in ("step_started", "step_note", "step_succeeded", "step_failed"):
        assert unreadable({"event": kind, "plan_id": "p"}) == f"{kind} without a step"
        assert unreadable({"event": kind, "plan_id": "p", "step": 1}) == f"{kind} without a step"
        assert unreadable({"event": kind, "plan_id": "p", "step": "s1"}) is None
    assert unreadable({"event": "plan_created", "plan_id": "p", "plan": p.to_dict()}) == \
        "plan_created without a time"
    assert unreadable({"event": "plan_created", "plan_id": "p", "ts": 5, "plan": p.to_dict()}) == \
        "plan_created without a time"
    assert unreadable(created(p)) is None


@pytest.mark.parametrize("bad,why", [
    (None, "plan_created in another format (KeyError: 'plan')"),
    ({"verb": "x"}, "plan_created in another format (KeyError: 'id')"),
    ("a plan", "plan_created in another format (TypeError: string indices must be integers, not 'str')"),
    ({"id": "p", "verb": "v", "service": "s", "summary": "", "steps": [], "capacity_min": "lots"},
     "plan_created in another format (ValueError: invalid literal for int() with base 10: 'lots')"),
    ({"id": "p", "verb": "v", "service": "s", "summary": "", "steps": [{"id": "s1", "kind": "k", "region": "r",
                                                                        "description": "d", "params": 3}]},
     "plan_created in another format (TypeError: 'int' object is not iterable)"),
    ({"id": "p", "verb": "v", "service": "s", "summary": "", "steps": [7]},
     "plan_created in another format (TypeError: 'int' object is not subscriptable)"),
])
def test_unreadable_plan_created_in_another_format(bad, why):
    e = {"ts": TS, "event": "plan_created", "plan_id": "p"}
    if bad is not None:
        e["plan"] = bad
    assert unreadable(e) == why


def test_unreadable_plan_created_attribute_error():
    class NoGet:             # indexable like a plan, but not a mapping: Plan.from_dict's .get raises AttributeError
        def __getitem__(self, key):
            return [] if key == "steps" else "x"

    e = {"ts": TS, "event": "plan_created", "plan_id": "p", "plan": NoGet()}
    assert unreadable(e) == "plan_created in another format (AttributeError: 'NoGet' object has no attribute 'get')"


def test_other_events_need_only_a_name_and_a_plan():
    assert unreadable({"event": "plan_finished", "plan_id": "p"}) is None
    assert unreadable({"event": "something_new", "plan_id": "p"}) is None


# -- the fold ----------------------------------------------------------------------------------------------------

def test_created_record_fields():
    p = plan()
    scope = Scope("111", regions=("us-east-1",))
    recs = plan_states([created(p, who="arn:alice", reason="bad build", scope=scope.to_dict())])
    assert list(recs) == ["p-1"]
    r = recs["p-1"]
    assert r.plan == p
    assert (r.who, r.reason, r.created, r.scope, r.status) == ("arn:alice", "bad build", TS, scope, "running")
    assert (r.done, r.failed, r.memo) == (set(), {}, {})


def test_created_defaults_who_reason_scope():
    r = plan_states([created(plan())])["p-1"]
    assert (r.who, r.reason, r.scope) == ("?", "", None)


def test_events_of_unknown_plans_are_ignored_and_order_is_creation():
    a, b = plan("p-a"), plan("p-b")
    recs = plan_states([ev("step_succeeded", "p-b", step="s1"), created(b), created(a),
                        ev("step_succeeded", "p-x", step="s1"), ev("step_succeeded", "p-a", step="s2")])
    assert list(recs) == ["p-b", "p-a"]
    assert recs["p-b"].done == set()
    assert recs["p-a"].done == {"s2"}


def test_step_success_and_failure():
    recs = plan_states([
        created(plan()),
        ev("step_started", step="s1"), ev("step_failed", step="s1", error="Throttling"),
        ev("step_failed", step="s2"),
    ])
    r = recs["p-1"]
    assert r.failed == {"s1": "Throttling", "s2": ""}
    assert r.done == set()
    assert r.status == "running"
    recs = plan_states([
        created(plan()), ev("step_failed", step="s1", error="Throttling"),
        ev("step_failed", step="s2", error="x"), ev("step_succeeded", step="s1"),
    ])
    assert recs["p-1"].done == {"s1"}
    assert recs["p-1"].failed == {"s2": "x"}
    assert recs["p-1"].remaining == ["s2", "s3"]


def test_step_success_without_failure_first():
    r = plan_states([created(plan()), ev("step_succeeded", step="s2"), ev("step_succeeded", step="s1")])["p-1"]
    assert r.done == {"s1", "s2"} and r.failed == {}


def test_notes_accumulate_per_step_and_ignore_non_mappings():
    r = plan_states([
        created(plan()),
        ev("step_note", step="s1", note={"instance": "i-1"}),
        ev("step_note", step="s1", note={"token": "t"}),
        ev("step_note", step="s1", note={"instance": "i-2"}),
        ev("step_note", step="s2", note=["not", "a", "mapping"]),
        ev("step_note", step="s3"),
    ])["p-1"]
    assert r.memo == {"s1": {"instance": "i-2", "token": "t"}, "s2": {}, "s3": {}}


def test_finished_statuses():
    for status in ("succeeded", "failed", "abandoned", "refused", "aborted"):
        r = plan_states([created(plan()), ev("plan_finished", status=status)])["p-1"]
        assert r.status == status
    assert plan_states([created(plan()), ev("plan_finished")])["p-1"].status == "succeeded"


def test_failed_plan_runs_again_when_a_step_starts():
    r = plan_states([created(plan()), ev("plan_finished", status="failed"), ev("plan_resumed")])["p-1"]
    assert r.status == "failed" and r.resumable
    r = plan_states([created(plan()), ev("plan_finished", status="failed"), ev("plan_resumed"),
                     ev("step_started", step="s2")])["p-1"]
    assert r.status == "running"


def test_step_started_does_not_revive_other_final_states():
    for status in ("succeeded", "abandoned", "refused", "aborted"):
        r = plan_states([created(plan()), ev("plan_finished", status=status), ev("step_started", step="s1")])
        assert r["p-1"].status == status


def test_aborted_is_final():
    r = plan_states([created(plan()), ev("plan_finished", status="aborted"),
                     ev("plan_finished", status="failed"), ev("plan_finished", status="succeeded")])["p-1"]
    assert r.status == "aborted"
    r = plan_states([created(plan()), ev("plan_finished", status="failed"),
                     ev("plan_finished", status="succeeded")])["p-1"]
    assert r.status == "succeeded"


def test_other_events_change_nothing():
    base = plan_states([created(plan())])["p-1"]
    r = plan_states([created(plan()), ev("warning", message="slow"), ev("lock_cleared"),
                     ev("rollout_control", action="pause", stage=1), ev("plan_resumed")])["p-1"]
    assert r == base


def test_recreated_plan_starts_afresh():
    r = plan_states([created(plan()), ev("step_succeeded", step="s1"), created(plan(), who="bob")])["p-1"]
    assert r.done == set() and r.who == "bob"


# -- last_rollback -----------------------------------------------------------------------------------------------

def rec(pid: str, verb: str, status: str = "succeeded", service: str = "web") -> PlanRecord:
    return PlanRecord(plan=plan(pid, verb, service), who="w", reason="", created=TS, status=status)


def test_last_rollback_when_newest_traffic_change():
    rb = rec("p-2", "rollback")
    assert last_rollback([rec("p-1", "shift"), rb], "web") is rb
    assert last_rollback([rb, rec("p-3", "replace"), rec("p-4", "resize")], "web") is rb
    assert last_rollback([rb, rec("p-3", "shift", service="api")], "web") is rb
    assert last_rollback([rb, rec("p-3", "shift", status="failed")], "web") is rb
    assert last_rollback([rb, rec("p-3", "launch", status="running")], "web") is rb


@pytest.mark.parametrize("verb", ["rollback", "shift", "launch", "decommission"])
def test_last_rollback_superseded_by_any_traffic_change(verb):
    newer = rec("p-3", verb, status="succeeded")
    assert last_rollback([rec("p-2", "rollback"), newer], "web") is (newer if verb == "rollback" else None)


def test_last_rollback_none():
    assert last_rollback([], "web") is None
    assert last_rollback([rec("p-1", "shift")], "web") is None
    assert last_rollback([rec("p-1", "rollback", service="api")], "web") is None
    for status in ("failed", "running", "aborted", "abandoned", "refused"):
        assert last_rollback([rec("p-1", "rollback", status=status)], "web") is None
