"""The last re-checks before a step acts, each proven by making AWS change at exactly the moment between the
check that came before and the step's own write -- what a teammate's change or a failing health check does in
real life. Without the re-check each of these plans would overwrite or drop someone's traffic, or drain the old
hosts while a replacement is failing.

1. ``set_weights`` refuses when a target group outside the plan takes traffic (a teammate's shift landing after the
   step's precondition read the listener);
2. ``listener_remove`` refuses when a group it is to remove takes traffic again;
3. a replace drains and terminates the old hosts only while every replacement is healthy in its target group (a
   replacement failing its health checks after the wait: the old hosts stay).
"""
from __future__ import annotations

import itertools

import pytest

from bare_aws import REGION, bare, forward  # noqa: F401  (bare: fixture)
from faults import instances, listener_weights, target_group_names, tg_members
from fleettui.actions.verbs import Replace
from fleettui.domain.plan import Plan, Step, freeze
from test_executor_core import PID, Run, shift_plan

_NAMES = itertools.count(1)


def third_group(bare) -> str:
    """Another target group in the bare listener's VPC (a teammate's new generation)."""
    ec2, elb = bare.client("ec2"), bare.client("elbv2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    return elb.create_target_group(Name=f"web-c{next(_NAMES)}", Protocol="HTTP", Port=80,
                                   VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]


def test_set_weights_refuses_a_target_group_outside_the_plan_that_takes_traffic_after_its_precondition(
        bare, tmp_path):
    """The plan moves web-a 100 → 0 and web-b 0 → 100. Its precondition reads the listener as planned; right after
    that read a teammate sends half the traffic to web-c. The step's own read sees web-c take traffic: it refuses
    and writes nothing, so the teammate's shift stands (without the re-check the step would set web-c to 0)."""
    listener, tgs = bare.listener()
    c = third_group(bare)
    plan = shift_plan(listener, tgs, (0, 100))
    reads = []

    async def teammate_after_the_first_read(gw):
        client = await gw.client("elbv2", REGION)

        def after(**_kw):
            reads.append(1)
            if len(reads) == 1:             # the precondition's read: the teammate's shift lands right after it
                bare.set_weights(listener, {tgs[0]: 50, tgs[1]: 0, c: 50})
        client.meta.events.register("after-call.elastic-load-balancing-v2.DescribeListeners", after)

    run = Run(tmp_path)
    out = run.go(bare, plan, prepare=teammate_after_the_first_read)
    name = c.split(":")[-1].split("/")[1]
    assert (out.status, out.failed_step.id) == ("failed", "s1")
    assert out.error == (f"the listener changed since this plan was made (target group {name} takes traffic): "
                         "make a new plan")
    assert len(reads) == 2 and run.mutations == []                      # read twice, wrote nothing
    assert bare.weights(listener) == {"web-a": 50, "web-b": 0, name: 50}


def test_listener_remove_refuses_a_group_that_takes_traffic_again(bare, tmp_path):
    """A decommission's listener_remove of web-b (at weight 0 when planned): as the step starts, a teammate sends
    web-b half the traffic again. The step refuses and removes nothing (without the re-check web-b would be taken
    off the listener with its traffic: all of it back on web-a, unasked)."""
    listener, tgs = bare.listener((100, 0))
    plan = Plan(id=PID, verb="decommission", service="web", summary="decommission web-b", steps=(
        Step("s1", "listener_remove", REGION, "remove web-b from the listener",
             freeze({"listener_arn": listener, "rule_arn": None, "target_groups": [tgs[1]]})),))

    def teammate(ev):
        if (ev.step.id, ev.state) == ("s1", "started"):
            bare.set_weights(listener, {tgs[0]: 50, tgs[1]: 50})

    run = Run(tmp_path, on_step=teammate, sync_events=True)
    out = run.go(bare, plan)
    assert (out.status, out.failed_step.id) == ("failed", "s1")
    assert out.error == "web-b takes traffic again (weight 50): not removing it"
    assert run.mutations == []
    assert bare.weights(listener) == {"web-a": 50, "web-b": 50}


@pytest.fixture
def failing_health_checks(monkeypatch):
    """Targets AWS reports unhealthy from now on (moto reports every running target healthy: this is the moment a
    replacement starts failing its health checks, made in the emulated AWS itself)."""
    from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup

    failing: set[str] = set()
    original = FakeTargetGroup.health_for

    def health_for(self, target, ec2_backend):
        status = original(self, target, ec2_backend)
        if target["Id"] in failing and target["Id"] in self.targets:
            return FakeHealthStatus(target["Id"], status.port, self.health_check_port, "unhealthy",
                                    "Target.FailedHealthChecks", "Health checks failed")
        return status

    monkeypatch.setattr(FakeTargetGroup, "health_for", health_for)
    return failing


def test_replace_keeps_the_old_host_when_a_replacement_fails_its_health_checks_before_the_drain(
        demo, failing_health_checks, isolated_home):
    """A replace of one web host: the replacement launched, registered and healthy; as the drain of the old host
    starts, the replacement fails its health checks. The check before deregister sees it and stops the plan: the
    old host stays registered and running (without the re-check it would be drained and terminated, leaving the
    generation one healthy host short)."""
    web = instances(demo, Service="web")
    old = sorted(i["InstanceId"] for i in web if i["ImageId"] == web[0]["ImageId"])[0]
    weights = listener_weights(demo)

    async def body(a):
        plan = await a.plan(Replace("web", hosts=(old,)))
        new: list[str] = []

        def fail_at_the_drain(ev):
            if ev.step.kind == "deregister" and ev.state == "started":
                new.extend(i["InstanceId"] for i in instances(demo, **{"fleettui:plan": plan.id}))
                failing_health_checks.update(new)

        return await a.execute(plan, "replace a drifted host", on_event=fail_at_the_drain), new

    outcome, new = demo.act(body)
    assert len(new) == 1
    assert outcome.status == "failed" and outcome.failed_step.kind == "deregister"
    assert f"the replacement hosts are not healthy in " in outcome.error and f"{new[0]} unhealthy" in outcome.error
    assert old in {i["InstanceId"] for i in instances(demo, Service="web")}          # still running
    assert any(old in tg_members(demo, n) for n in target_group_names(demo))          # still registered
    assert listener_weights(demo) == weights
