"""Crash and resume: `fleettui` runs as a subprocess and is SIGKILLed at precise points (a request parked by
the fault proxy before or after it reached AWS, or the lock heartbeat between two steps); `fleettui resume
--yes` must then finish to exactly the state of an uninterrupted run. And two processes acting on one service:
the second is refused (exit 2), naming who holds the lock.

No hook in fleettui: the crash points are requests in flight at the proxy, and the journal tells where we were.
"""
from __future__ import annotations

import signal

import pytest

from faults import (
    FaultProxy, assert_journal_complete, bake_web_version, instances, journal_events, listener_weights, outputs,
    spawn, target_group_names, tg_members, wait_for, web_generations, write_config,
)
from fleettui.actions.executor import PLAN_TAG
from fleettui.store.taglock import LOCK_TAG

TIMEOUT = 60

AFTER_LAUNCH = {
    "weights": {"web-1-4-0": 0, "web-1-5-0": 90, "web-1-6-0": 10, "web-1-7-0": 0},
    "generations": {"1.4.0": 15, "1.5.0": 15, "1.6.0": 3, "1.7.0": 15},
    "target_groups": {"web-1-4-0", "web-1-5-0", "web-1-6-0", "web-1-7-0"},
}
AFTER_ROLLBACK = {
    "weights": {"web-1-4-0": 100, "web-1-5-0": 0, "web-1-6-0": 0},
    "generations": {"1.4.0": 15, "1.5.0": 15, "1.6.0": 3},
    "target_groups": {"web-1-4-0", "web-1-5-0", "web-1-6-0"},
}
AFTER_DECOMMISSION = {
    "weights": {"web-1-5-0": 90, "web-1-6-0": 10},
    "generations": {"1.5.0": 15, "1.6.0": 3},
    "target_groups": {"web-1-5-0", "web-1-6-0"},
}


def state(demo) -> dict:
    return {"weights": listener_weights(demo), "generations": web_generations(demo),
            "target_groups": target_group_names(demo)}


def lock_value(demo) -> str | None:
    arn = demo.fleet.listener_arns["web"]
    tags = demo.client("elbv2").describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
    return {t["Key"]: t["Value"] for t in tags}.get(LOCK_TAG)


def run(args, cfg, tmp, name, **kw) -> tuple[int, str, str]:
    proc = spawn([*args, "--config", str(cfg), "--yes"], tmp, name, **kw)
    code = proc.wait(TIMEOUT)
    out, err = outputs(proc)
    return code, out, err


def kill_when(proc, hold, what: str) -> None:
    """SIGKILL ``proc`` as soon as the proxy has parked the request ``hold`` waits for."""
    wait_for(lambda: hold.reached.is_set() or proc.poll() is not None, TIMEOUT, what)
    assert proc.poll() is None, f"exited ({proc.returncode}) before {what}: {outputs(proc)}"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL


def events_of(home, plan_id: str, step: str) -> list[str]:
    return [e["event"] for e in journal_events(home) if e["plan_id"] == plan_id and e.get("step") == step]


@pytest.fixture
def proxy(demo):
    with FaultProxy(demo.endpoint_url) as p:
        yield p


@pytest.fixture
def cfg(demo, proxy, tmp_path):
    return write_config(demo, proxy.url, tmp_path / "proxied.toml")


# launch plan: s1 create_target_group, s2 launch, s3 wait_running, s4 register, s5 wait_healthy, s6 listener_add
# the lock tag is written once when taken (AddTags #1) and after every step but the last (#2 after s1, …)
@pytest.mark.parametrize("crash", [None, "mid-launch", "between-steps"])
def test_launch_killed_then_resumed_ends_like_an_uninterrupted_run(demo, proxy, cfg, tmp_path, isolated_home,
                                                                   crash):
    bake_web_version(demo, "1.7.0")
    if crash is None:
        code, out, err = run(["launch", "web"], cfg, tmp_path, "launch")
        assert code == 0, err
    else:
        if crash == "mid-launch":      # the first of three RunInstances (one per subnet) reached moto
            hold = proxy.hold("ec2.RunInstances", where="after", nth=1)
        else:                          # s3 succeeded, the heartbeat after it is in flight, s4 not started
            hold = proxy.hold("elasticloadbalancing.AddTags", where="before", nth=4)
        proc = spawn(["launch", "web", "--config", str(cfg), "--yes"], tmp_path, "launch")
        kill_when(proc, hold, crash)
        plan_id = next(e["plan_id"] for e in journal_events(isolated_home) if e["event"] == "plan_created")
        if crash == "mid-launch":
            assert events_of(isolated_home, plan_id, "s2") == ["step_started"]
            assert 0 < len(instances(demo, **{PLAN_TAG: plan_id})) < 15   # one batch (subnet) of 15
        else:
            assert events_of(isolated_home, plan_id, "s3") == ["step_started", "step_succeeded"]
            assert events_of(isolated_home, plan_id, "s4") == []
            assert len(instances(demo, **{PLAN_TAG: plan_id})) == 15
        assert lock_value(demo).split("|")[1] == plan_id                 # the dead process still holds it
        proxy.release_all()
        code, out, err = run(["resume"], cfg, tmp_path, "resume")
        assert code == 0, err
        assert "done" in out

    assert state(demo) == AFTER_LAUNCH
    plans = assert_journal_complete(journal_events(isolated_home))
    (plan_id,) = plans
    launched = {i["InstanceId"] for i in instances(demo, **{PLAN_TAG: plan_id})}
    every = instances(demo, states=("pending", "running", "shutting-down", "terminated"), **{PLAN_TAG: plan_id})
    assert len(launched) == 15 and len(every) == 15                      # no duplicate was ever launched
    assert tg_members(demo, "web-1-7-0") == launched
    assert lock_value(demo) is None                                       # released (tag removed) when it ended


@pytest.mark.parametrize("where", ["before", "after"])
def test_ramped_rollback_killed_during_a_listener_change(demo, proxy, cfg, tmp_path, isolated_home, where):
    """Killed while the second of three ModifyListener calls is in flight: never delivered (before), or
    applied with the response lost (after)."""
    hold = proxy.hold("elasticloadbalancing.ModifyListener", where=where, nth=2)
    proc = spawn(["rollback", "web", "--ramp", "25,50,100", "--config", str(cfg), "--yes"], tmp_path, "rollback")
    kill_when(proc, hold, "the second listener change")
    (plan_id,) = {e["plan_id"] for e in journal_events(isolated_home)}
    assert events_of(isolated_home, plan_id, "s1")[-1] == "step_succeeded"
    assert events_of(isolated_home, plan_id, "s2") == ["step_started"]
    at_kill = listener_weights(demo)["web-1-4-0"]
    assert at_kill == (25 if where == "before" else 50), at_kill
    proxy.release_all()
    code, out, err = run(["resume"], cfg, tmp_path, "resume")
    assert code == 0, err
    assert state(demo) == AFTER_ROLLBACK
    assert_journal_complete(journal_events(isolated_home))
    # three listener changes reached AWS in all: the re-run s2 found its weights already applied ("after"),
    # or sent the one that never arrived ("before")
    assert proxy.forwarded["elasticloadbalancing.ModifyListener"] == 3
    assert lock_value(demo) is None


def test_decommission_killed_after_terminate_reached_aws(demo, proxy, cfg, tmp_path, isolated_home):
    old = {i["InstanceId"] for i in instances(demo, Service="web")}
    hold = proxy.hold("ec2.TerminateInstances", where="after", nth=1)
    proc = spawn(["decommission", "web", "1.4.0", "--config", str(cfg), "--yes"], tmp_path, "decommission")
    kill_when(proc, hold, "TerminateInstances")
    assert web_generations(demo) == {"1.5.0": 15, "1.6.0": 3}           # terminated, but not journaled yet
    assert "web-1-4-0" in listener_weights(demo)
    proxy.release_all()
    code, out, err = run(["resume"], cfg, tmp_path, "resume")
    assert code == 0, err
    assert state(demo) == AFTER_DECOMMISSION
    assert_journal_complete(journal_events(isolated_home))
    assert {i["InstanceId"] for i in instances(demo, Service="web")} < old


def test_second_process_on_the_same_service_is_refused_naming_the_lock_holder(demo, proxy, cfg, tmp_path,
                                                                              isolated_home):
    hold = proxy.hold("elasticloadbalancing.ModifyListener", where="before", nth=1)
    first = spawn(["rollback", "web", "--config", str(cfg), "--yes"], tmp_path, "first")
    wait_for(lambda: hold.reached.is_set() or first.poll() is not None, TIMEOUT, "the first rollback")
    assert first.poll() is None, outputs(first)
    (plan_id,) = {e["plan_id"] for e in journal_events(isolated_home)}
    # another operator: another machine (own journal), same AWS
    code, out, err = run(["rollback", "web"], cfg, tmp_path, "second",
                         env={"FLEETTUI_HOME": str(tmp_path / "other-home")})
    assert code == 2, (out, err)
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert f"web is locked by arn:aws:sts::123456789012:user/moto (plan {plan_id})" in lines[0]
    # the refused attempt is journaled on its machine (intent first), finished "refused": nothing to resume
    other = journal_events(tmp_path / "other-home")
    assert [e["event"] for e in other] == ["plan_created", "plan_finished"] and other[-1]["status"] == "refused"
    hold.release()
    assert first.wait(TIMEOUT) == 0, outputs(first)
    assert state(demo) == AFTER_ROLLBACK
    assert proxy.forwarded["elasticloadbalancing.ModifyListener"] == 1
    assert lock_value(demo) is None
