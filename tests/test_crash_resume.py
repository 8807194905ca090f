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
    FaultProxy, assert_journal_complete, bake_web_version, full_rollout, instances, journal_events, listener_weights,
    outputs,
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
AFTER_ROLLBACK = {       # a ramped rollback after a full rollout of 1.6.0
    "weights": {"web-1-4-0": 0, "web-1-5-0": 100, "web-1-6-0": 0},
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
            "target_groups": {n for n in target_group_names(demo) if n.startswith("web-")}}


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
    full_rollout(demo, "1.6.0")
    hold = proxy.hold("elasticloadbalancing.ModifyListener", where=where, nth=2)
    proc = spawn(["rollback", "web", "--ramp", "25,50,100", "--config", str(cfg), "--yes"], tmp_path, "rollback")
    kill_when(proc, hold, "the second listener change")
    (plan_id,) = {e["plan_id"] for e in journal_events(isolated_home)}
    assert events_of(isolated_home, plan_id, "s1")[-1] == "step_succeeded"
    assert events_of(isolated_home, plan_id, "s2") == ["step_started"]
    at_kill = listener_weights(demo)["web-1-5-0"]
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


# -- the world moves while a plan waits (cut off, or at the prompt): the steps' preconditions stop it -----------

import asyncio  # noqa: E402

from fleettui.actions.verbs import Decommission, Replace, Rollback, Shift  # noqa: E402
from fleettui.config import load_config  # noqa: E402


class Cut(Exception):
    """Stands for the process dying right after a step succeeded."""


def act(demo, body, endpoint: str | None = None, tmp=None, timeout: float = 30):
    config = demo.config() if endpoint is None else load_config(write_config(demo, endpoint, tmp / "p.toml"))

    async def go():
        from fleettui.actions.api import Actions
        from fleettui.aws.gateway import Gateway
        from fleettui.store.local import JsonlJournal

        async with Gateway(config.aws) as gw:
            journal = JsonlJournal(tmp / "journal.jsonl") if tmp else None
            actions = Actions(config=config, gw=gw, read_only=False, poll_seconds=0.05, timeout_seconds=timeout,
                              **({"journal": journal} if journal else {}))
            return await body(actions)

    return asyncio.run(go())


def cut_after(kind: str):
    def on_event(e):
        if e.state == "succeeded" and e.step.kind == kind:
            raise Cut
    return on_event


def test_resume_stops_when_the_replacement_was_terminated_out_of_band(demo, tmp_path):
    """Kill a replace after its new host registered, terminate the new host, resume: the old host is neither
    drained nor terminated (healthy capacity stays), the plan fails with one line and stays resumable."""
    old = sorted(i["InstanceId"] for i in instances(demo, Service="web")
                 if i["ImageId"] == instances(demo, Service="web")[0]["ImageId"])[0]

    async def start(a):
        plan = await a.plan(Replace("web", hosts=(old,)))
        try:
            await a.execute(plan, on_event=cut_after("wait_healthy"))
        except Cut:
            pass
        return plan.id

    plan_id = act(demo, start, tmp=tmp_path)
    (new,) = [i["InstanceId"] for i in instances(demo, **{PLAN_TAG: plan_id})]
    demo.client("ec2").terminate_instances(InstanceIds=[new])          # out of band

    async def resume(a):
        rec = a.journal.record(plan_id)
        return await a.resume(rec), a.journal.record(plan_id)

    outcome, rec = act(demo, resume, tmp=tmp_path)
    assert outcome.status == "failed" and outcome.failed_step.kind == "deregister"
    assert outcome.error.startswith("1 of the 1 hosts launched by s1 are no longer running (" + new), outcome.error
    assert "\n" not in outcome.error and rec.resumable
    assert old in {i["InstanceId"] for i in instances(demo, Service="web")}       # not terminated
    gen_tg = next(n for n in target_group_names(demo) if old in tg_members(demo, n))  # still registered
    assert gen_tg
    assert lock_value(demo) is None


def test_abandon_lists_the_unregistered_host_and_releases_the_lock(demo, tmp_path):
    old = sorted(i["InstanceId"] for i in instances(demo, Service="web"))[0]

    async def start(a):
        plan = await a.plan(Replace("web", hosts=(old,)))
        try:
            await a.execute(plan, on_event=cut_after("wait_running"))
        except Cut:
            pass
        return plan.id

    plan_id = act(demo, start, tmp=tmp_path)
    (new,) = [i["InstanceId"] for i in instances(demo, **{PLAN_TAG: plan_id})]
    arn = demo.fleet.listener_arns["web"]
    demo.client("elbv2").add_tags(ResourceArns=[arn], Tags=[{"Key": LOCK_TAG, "Value": f"me|{plan_id}|2999-01-01T00:00:00+00:00"}])

    async def abandon(a):
        return await a.abandon(a.journal.record(plan_id)), a.journal.record(plan_id)

    left, rec = act(demo, abandon, tmp=tmp_path)
    assert rec.status == "abandoned"
    assert left == [(f"1 host(s) launched by s1, running in no target group: {new}",
                     f"aws --endpoint-url {demo.endpoint_url} ec2 terminate-instances --region us-east-1 "
                     f"--instance-ids {new}")]
    assert lock_value(demo) is None


def test_listener_changed_between_plan_and_execute_stops_the_shift(demo, tmp_path):
    elb = demo.client("elbv2")
    arn = demo.fleet.listener_arns["web"]

    def set_listener(weights):
        tgs = {g["TargetGroupName"]: g["TargetGroupArn"] for g in elb.describe_target_groups()["TargetGroups"]}
        elb.modify_listener(ListenerArn=arn, DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": tgs[n], "Weight": w} for n, w in weights.items()]}}])

    async def plan_then(a, meddle):
        plan = await a.plan(Shift("web", to="1.6.0", weight=20))
        meddle()                                           # another client, while the operator reads the plan
        return await a.execute(plan)

    other = {"web-1-4-0": 0, "web-1-5-0": 70, "web-1-6-0": 30}
    outcome = act(demo, lambda a: plan_then(a, lambda: set_listener(other)), tmp=tmp_path)
    assert outcome.status == "failed"
    assert "the listener's weights changed since this plan was made: 1.5.0 70% (planned from 90%)" in outcome.error
    assert listener_weights(demo) == other                 # the other client's change stands

    # a decommission of an idle generation that takes traffic again before its hosts are drained
    async def decommission(a):
        plan = await a.plan(Decommission("web", version="1.4.0"))
        set_listener({"web-1-4-0": 10, "web-1-5-0": 60, "web-1-6-0": 30})
        return await a.execute(plan)

    outcome = act(demo, decommission, tmp=tmp_path)
    assert outcome.status == "failed" and outcome.failed_step.kind == "deregister"
    assert outcome.error.startswith("web-1-4-0 takes traffic again (weight 10): s1 not run"), outcome.error
    assert web_generations(demo)["1.4.0"] == 15 and len(tg_members(demo, "web-1-4-0")) == 15


def test_lagging_listener_read_back_is_waited_for_then_fails_with_the_reason(demo, proxy, tmp_path):
    # precheck and step read the listener (untouched), ModifyListener, then 5 read-backs still show the old weights
    proxy.script("DescribeListeners", "ok", "ok", *["stale"] * 5)
    outcome = act(demo, _execute, proxy.url, tmp_path)
    assert outcome.ok, outcome.error
    assert proxy.stats()["injected"]["stale"] == 5
    assert listener_weights(demo) == AFTER_ROLLBACK["weights"]

    # never shows the new weights (read-back stuck): the step waits its time, then fails saying why (the shift is a
    # real change: after the rollback 1.5.0 has 100%, and 1.6.0 gets 10% again)
    proxy.script("DescribeListeners", "ok", "ok", *["stale"] * 10_000)
    outcome = act(demo, lambda a: _execute(a, Shift("web", to="1.6.0", weight=10)), proxy.url, tmp_path,
                  timeout=1)
    assert outcome.status == "failed"
    assert outcome.error == "gave up after 1s waiting for the listener to report the new weights"


async def _execute(a, intent=None):
    return await a.execute(await a.plan(intent or Rollback("web")))


def test_no_termination_before_draining_ends(demo, proxy, tmp_path):
    """Targets report `draining` for a while after DeregisterTargets: TerminateInstances waits for the end."""
    victim = sorted(tg_members(demo, "web-1-4-0"))[0]          # 1.4.0: idle, 15 hosts
    member = (b"<member><Target><Id>%s</Id><Port>80</Port></Target><TargetHealth><State>draining</State>"
              b"</TargetHealth></member>" % victim.encode())

    def draining(body: bytes):
        if b"<Id>%s</Id>" % victim.encode() in body:
            return None                                    # still registered (before DeregisterTargets)
        body = body.replace(b"<TargetHealthDescriptions/>", b"<TargetHealthDescriptions></TargetHealthDescriptions>")
        return body.replace(b"<TargetHealthDescriptions>", b"<TargetHealthDescriptions>" + member, 1)

    proxy.rewrite("DescribeTargetHealth", draining, times=4)
    outcome = act(demo, lambda a: _execute(a, Decommission("web", version="1.4.0")), proxy.url, tmp_path)
    assert outcome.ok, outcome.error
    order = [k for k, fate in proxy.log if fate == "rewritten" or k == "ec2.TerminateInstances"]
    assert order[:5] == ["elasticloadbalancing.DescribeTargetHealth"] * 4 + ["ec2.TerminateInstances"], order
    assert "1.4.0" not in web_generations(demo)
