"""Auto Scaling generations (one group per generation) against moto: the demo's `checkout` runs 2.1.0 live (own
group, 4 hosts), 2.0.0 warm (4 hosts, weight 0), 1.9.0 cold (its group at 0); 2.2.0 is baked (checkout-lt v4)."""
from __future__ import annotations

import asyncio

import pytest

from faults import journal_events, listener_weights
from fleettui.actions.api import Actions
from fleettui.actions.planning import PlanError
from fleettui.actions.verbs import Decommission, Launch, Resize, Rollback, Shift
from fleettui.aws.autoscaling import AutoScaling
from fleettui.aws.gateway import Gateway, MutationRefused
from fleettui.cli import main
from fleettui.domain.asg import group_name, retention
from faults import full_rollout

CO = "checkout"




def groups(demo) -> dict[str, dict]:
    out = demo.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    return {g["AutoScalingGroupName"]: g for g in out if g["AutoScalingGroupName"].startswith(CO)}


def weights(demo) -> dict[str, int]:
    return listener_weights(demo, CO)


def plan_and_run(demo, intent, reason="test", on_event=None):
    async def body(a):
        plan = await a.plan(intent)
        assert plan.refusal is None, plan.refusal
        return plan, await a.execute(plan, reason, on_event=on_event)

    plan, outcome = demo.act(body)
    assert outcome.ok, outcome.error
    return plan


def test_the_demo_service_is_one_group_per_generation(demo):
    snap = demo.act(lambda a: a.snapshot([CO]))
    svc = snap.service(CO)
    gens = {g.version: g for g in svc.generations}
    assert list(gens) == ["1.9.0", "2.0.0", "2.1.0"]
    assert gens["1.9.0"].cold and gens["1.9.0"].total == 0 and gens["1.9.0"].target_group_arns
    assert not gens["2.0.0"].cold and gens["2.0.0"].healthy == 4 and gens["2.0.0"].rollback_target
    assert gens["2.1.0"].live and gens["2.1.0"].group.name == "checkout-2-1-0"
    assert {v: g.group.launch_template_version for v, g in gens.items()} == {"1.9.0": "1", "2.0.0": "2",
                                                                            "2.1.0": "3"}
    assert "warm" in svc.rollback.reason
    assert retention(svc, keep_warm=1, keep=3).warm == ("2.0.0",)
    assert retention(svc, keep_warm=0, keep=1).cool == ("2.0.0",)
    assert retention(svc, keep_warm=0, keep=1).decommission == ("1.9.0",)


def test_launch_creates_a_group_pinned_to_the_launch_template_version(demo):
    plan = plan_and_run(demo, Launch(CO))
    assert [s.kind for s in plan.steps] == ["create_target_group", "asg_create", "asg_wait_ready", "listener_add"]
    g = groups(demo)[group_name(CO, "2.2.0")]
    assert g["AutoScalingGroupName"] == "checkout-2-2-0"
    assert g["LaunchTemplate"]["Version"] == "4"                     # pinned, never $Latest/$Default
    assert (g["MinSize"], g["MaxSize"], g["DesiredCapacity"]) == (4, 8, 4)   # copied from the live group
    tg_arn = demo.client("elbv2").describe_target_groups(Names=["checkout-2-2-0"])["TargetGroups"][0]["TargetGroupArn"]
    assert g["TargetGroupARNs"] == [tg_arn]
    tags = {t["Key"]: (t["Value"], t["PropagateAtLaunch"]) for t in g["Tags"]}
    assert tags["fleettui:version"] == ("2.2.0", True) and tags["Service"] == ("checkout", True)
    assert tags["Owner"] == ("team-payments", True)
    in_service = [i["InstanceId"] for i in g["Instances"] if i["LifecycleState"] == "InService"]
    assert len(in_service) == 4
    health = demo.client("elbv2").describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
    assert {h["Target"]["Id"] for h in health if h["TargetHealth"]["State"] == "healthy"} >= set(in_service)
    assert weights(demo) == {"checkout-1-9-0": 0, "checkout-2-0-0": 0, "checkout-2-1-0": 100, "checkout-2-2-0": 0}
    # then shift onto it exactly as for plain hosts
    plan_and_run(demo, Shift(CO, to="2.2.0", weight=100))
    assert weights(demo)["checkout-2-2-0"] == 100
    svc = demo.act(lambda a: a.snapshot([CO])).service(CO)           # keep_warm = 1: 2.1.0 stays warm, 2.0.0 not
    assert [w for w in svc.warnings if "keep" in w] == [
        "2.0.0 is beyond keep_warm = 1: `fleettui resize checkout 2.0.0 --desired 0` cools it"]


def test_launch_count_sets_desired_and_widens_min(demo):
    plan_and_run(demo, Launch(CO, count=2))
    g = groups(demo)["checkout-2-2-0"]
    assert (g["MinSize"], g["MaxSize"], g["DesiredCapacity"]) == (2, 8, 2)


def test_rollback_to_the_warm_generation_only_moves_traffic(demo):
    plan = plan_and_run(demo, Rollback(CO))
    assert [s.kind for s in plan.steps] == ["set_weights"]
    assert weights(demo) == {"checkout-1-9-0": 0, "checkout-2-0-0": 100, "checkout-2-1-0": 0}
    assert groups(demo)["checkout-2-1-0"]["DesiredCapacity"] == 4          # the group rolled away from stays warm


def test_rollback_to_a_cold_generation_scales_it_up_and_waits_healthy_before_traffic(demo, isolated_home):
    plan_and_run(demo, Rollback(CO))                                      # 2.1.0 -> 2.0.0 (warm)
    seen: list[tuple[str, dict, int]] = []

    def on_event(e):
        if e.state == "started":
            g = groups(demo)["checkout-1-9-0"]
            seen.append((e.step.kind, weights(demo), sum(1 for i in g["Instances"]
                                                          if i["LifecycleState"] == "InService")))

    async def body(a):
        plan = await a.plan(Rollback(CO))
        assert plan.refusal is None, plan.refusal
        assert "cold" in plan.summary and "scales up to 4" in plan.summary
        return plan, await a.execute(plan, "cold", on_event=on_event)

    plan, outcome = demo.act(body)
    assert outcome.ok, outcome.error
    assert [s.kind for s in plan.steps] == ["asg_set_capacity", "asg_wait_ready", "set_weights"]
    # traffic moved only after the cold group had its hosts in service: the weights at the start of each step
    assert seen[0] == ("asg_set_capacity", {"checkout-1-9-0": 0, "checkout-2-0-0": 100, "checkout-2-1-0": 0}, 0)
    assert seen[2][0] == "set_weights" and seen[2][1]["checkout-1-9-0"] == 0 and seen[2][2] == 4
    g = groups(demo)["checkout-1-9-0"]
    assert g["DesiredCapacity"] == 4 and g["LaunchTemplate"]["Version"] == "1"
    assert weights(demo) == {"checkout-1-9-0": 100, "checkout-2-0-0": 0, "checkout-2-1-0": 0}
    ready = [e for e in journal_events(isolated_home) if e.get("step") == "s2" and e["event"] == "step_succeeded"]
    assert ready[-1]["detail"]["instances"] and len(ready[-1]["detail"]["instances"]) == 4


class Cut(Exception):
    """Stands for the process dying right after a step succeeded."""


def test_cold_rollback_resumed_after_its_group_was_emptied_stops_before_moving_traffic(demo, tmp_path):
    from fleettui.store.local import JsonlJournal

    full_rollout(demo, "2.0.0", service=CO)
    config = demo.config()

    def cut(e):
        if e.state == "succeeded" and e.step.kind == "asg_wait_ready":
            raise Cut

    async def go(body):
        async with Gateway(config.aws) as gw:
            return await body(Actions(config=config, gw=gw, read_only=False, poll_seconds=0.05, timeout_seconds=30,
                                      journal=JsonlJournal(tmp_path / "journal.jsonl")))

    async def start(a):
        plan = await a.plan(Rollback(CO))
        with pytest.raises(Cut):
            await a.execute(plan, on_event=cut)
        return plan.id

    plan_id = asyncio.run(go(start))
    demo.client("autoscaling").update_auto_scaling_group(AutoScalingGroupName="checkout-1-9-0", MinSize=0,
                                                         DesiredCapacity=0)          # someone cooled it again

    async def resume(a):
        return await a.resume(a.journal.record(plan_id))

    outcome = asyncio.run(go(resume))
    assert outcome.status == "failed" and outcome.failed_step.kind == "set_weights"
    assert outcome.error.startswith("checkout-1-9-0 has 0 hosts in service, 4 are needed before traffic moves")
    assert weights(demo) == {"checkout-1-9-0": 0, "checkout-2-0-0": 100, "checkout-2-1-0": 0}


def test_cold_rollback_is_refused_when_the_group_cannot_hold_enough_hosts(demo):
    demo.client("autoscaling").update_auto_scaling_group(AutoScalingGroupName="checkout-1-9-0", MaxSize=2)
    plan_and_run(demo, Rollback(CO))

    async def body(a):
        return await a.plan(Rollback(CO))

    plan = demo.act(body)
    assert plan.refusal and "cold" in plan.refusal and "2 hosts" in plan.refusal
    assert groups(demo)["checkout-1-9-0"]["DesiredCapacity"] == 0


def test_decommission_is_refused_with_traffic_then_tears_everything_down(demo, capsys):
    assert main(["decommission", CO, "2.1.0", "--config", str(demo.config_path), "--yes"]) == 2
    printed = capsys.readouterr()
    assert "2.1.0 still takes 100% of traffic" in printed.out + printed.err
    assert "checkout-2-1-0" in groups(demo)
    plan = plan_and_run(demo, Decommission(CO, "2.0.0"))
    assert [s.kind for s in plan.steps] == ["asg_set_capacity", "asg_wait_empty", "asg_delete", "listener_remove",
                                            "delete_target_group"]
    assert "checkout-2-0-0" not in groups(demo)
    assert "checkout-2-0-0" not in weights(demo)
    tgs = {t["TargetGroupName"] for t in demo.client("elbv2").describe_target_groups()["TargetGroups"]}
    assert "checkout-2-0-0" not in tgs and "checkout-2-1-0" in tgs
    ec2 = demo.client("ec2")
    left = [i for r in ec2.describe_instances(Filters=[{"Name": "tag:aws:autoscaling:groupName",
                                                       "Values": ["checkout-2-0-0"]}])["Reservations"]
            for i in r["Instances"] if i["State"]["Name"] not in ("terminated", "shutting-down")]
    assert left == []
    # a cold generation (no hosts) is decommissioned the same way
    plan_and_run(demo, Decommission(CO, "1.9.0"))
    assert set(groups(demo)) == {"checkout-2-1-0"}


def test_decommission_refusal_names_the_traffic(demo):
    async def body(a):
        return await a.plan(Decommission(CO, "2.1.0"))

    plan = demo.act(body)
    assert plan.refusal == "2.1.0 still takes 100% of traffic: shift its weight to 0 first"


def test_update_auto_scaling_group_may_change_capacity_only(demo):
    config = demo.config()

    async def go():
        async with Gateway(config.aws) as gw:
            with pytest.raises(MutationRefused, match="may change only DesiredCapacity, MaxSize, MinSize"):
                await gw.call("autoscaling", "us-east-1", "update_auto_scaling_group",
                              AutoScalingGroupName="checkout-2-1-0",
                              LaunchTemplate={"LaunchTemplateName": "checkout-lt", "Version": "$Latest"})
            assert gw.refused == ["autoscaling.UpdateAutoScalingGroup"]
            with pytest.raises(Exception, match="never \\$Latest"):
                await AutoScaling(gw, "us-east-1").create_group(
                    "checkout-x", launch_template="checkout-lt", version="$Latest", min_size=1, max_size=1,
                    desired=1, subnets=[], target_groups=[], tags={})

    asyncio.run(go())
    g = groups(demo)["checkout-2-1-0"]
    assert g["LaunchTemplate"]["Version"] == "3" and "checkout-x" not in groups(demo)


def test_resize_grows_and_cools_a_generation_with_the_capacity_guardrail(demo):
    async def plan(a, version, desired):
        return await a.plan(Resize(CO, version=version, desired=desired))

    shrink = demo.act(lambda a: plan(a, "2.1.0", 2))            # live, all the traffic: 4 -> 2 hosts is 50%
    assert shrink.refusal == "healthy capacity would drop to 50% (min_healthy_percent is 75%)"
    assert groups(demo)["checkout-2-1-0"]["DesiredCapacity"] == 4
    with pytest.raises(PlanError, match="--desired must be 0-8"):
        demo.act(lambda a: plan(a, "1.9.0", 9))
    grow = plan_and_run(demo, Resize(CO, version="2.1.0", desired=6))
    assert [s.kind for s in grow.steps] == ["asg_set_capacity", "asg_wait_ready"]
    g = groups(demo)["checkout-2-1-0"]
    assert g["DesiredCapacity"] == 6 and len(g["Instances"]) == 6 and g["LaunchTemplate"]["Version"] == "3"
    cool = plan_and_run(demo, Resize(CO, version="2.0.0", desired=0))     # no traffic: cooling is allowed
    assert [s.kind for s in cool.steps] == ["asg_set_capacity"]
    g = groups(demo)["checkout-2-0-0"]
    assert (g["MinSize"], g["DesiredCapacity"], g["Instances"]) == (0, 0, [])
    snap = demo.act(lambda a: a.snapshot([CO]))
    assert snap.service(CO).generation("2.0.0").cold


@pytest.fixture
def worker_new_version(demo):
    ec2 = demo.client("ec2")
    builder = ec2.run_instances(ImageId="ami-03cf127a", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ami = ec2.create_image(InstanceId=builder, Name="worker-3.2.0", TagSpecifications=[
        {"ResourceType": "image", "Tags": [{"Key": "Version", "Value": "3.2.0"}]}])["ImageId"]
    ec2.terminate_instances(InstanceIds=[builder])
    ec2.create_launch_template_version(LaunchTemplateName="worker-lt", SourceVersion="1",
                                       LaunchTemplateData={"ImageId": ami, "InstanceType": "m5.large"})
    return 2


def test_launch_on_worker_creates_the_first_per_generation_group_and_says_so(demo, worker_new_version):
    plan = plan_and_run(demo, Launch("worker", lt_version=worker_new_version))
    assert [s.kind for s in plan.steps] == ["asg_create", "asg_wait_ready"]
    assert any("worker-use1" in w and "first group of its own, worker-3-2-0" in w for w in plan.warnings)
    asg = demo.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    by_name = {g["AutoScalingGroupName"]: g for g in asg}
    g = by_name["worker-3-2-0"]
    assert g["LaunchTemplate"]["Version"] == "2"
    assert (g["MinSize"], g["MaxSize"], g["DesiredCapacity"]) == (4, 16, 8)    # copied from worker-use1
    assert by_name["worker-use1"]["DesiredCapacity"] == 8                        # left as it is


# -- crash and resume at a step boundary (a subprocess SIGKILLed while a request is parked at the fault proxy) ---

import signal  # noqa: E402

from faults import FaultProxy, assert_journal_complete, full_rollout, outputs, spawn, wait_for, write_config  # noqa: E402

TIMEOUT = 60


@pytest.fixture
def proxied(demo, tmp_path):
    with FaultProxy(demo.endpoint_url) as p:
        yield p, write_config(demo, p.url, tmp_path / "proxied.toml")


def _killed_then_resumed(proxy, cfg, tmp_path, args, hold, what):
    proc = spawn([*args, "--config", str(cfg), "--yes"], tmp_path, "first")
    wait_for(lambda: hold.reached.is_set() or proc.poll() is not None, TIMEOUT, what)
    assert proc.poll() is None, f"exited ({proc.returncode}) before {what}: {outputs(proc)}"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL
    proxy.release_all()
    resumed = spawn(["resume", "--config", str(cfg), "--yes"], tmp_path, "resume")
    assert resumed.wait(TIMEOUT) == 0, outputs(resumed)


def _step_events(home, step: str) -> list[str]:
    return [e["event"] for e in journal_events(home) if e.get("step") == step]


@pytest.mark.parametrize("crash", ["create-response-lost", "between-steps"])
def test_launch_killed_then_resumed_ends_with_one_pinned_group(demo, proxied, tmp_path, isolated_home, crash):
    proxy, cfg = proxied
    if crash == "create-response-lost":       # CreateAutoScalingGroup reached AWS, its answer never came back
        hold = proxy.hold("autoscaling.CreateAutoScalingGroup", where="after", nth=1)
    else:                                     # s2 (asg_create) succeeded; the lock heartbeat after it is in flight
        hold = proxy.hold("elasticloadbalancing.AddTags", where="before", nth=3)
    _killed_then_resumed(proxy, cfg, tmp_path, ["launch", CO], hold, crash)
    events = journal_events(isolated_home)
    assert_journal_complete(events)
    if crash == "between-steps":
        assert _step_events(isolated_home, "s3") == ["step_started", "step_succeeded"]   # only after the resume
    mine = {n: g for n, g in groups(demo).items() if n == "checkout-2-2-0"}
    (g,) = mine.values()
    assert g["LaunchTemplate"]["Version"] == "4" and g["DesiredCapacity"] == 4 and len(g["Instances"]) == 4
    assert weights(demo)["checkout-2-2-0"] == 0
    assert proxy.forwarded["autoscaling.CreateAutoScalingGroup"] == 1     # the group was created exactly once


def test_cold_rollback_killed_after_the_scale_up_waits_healthy_on_resume_then_moves_traffic(demo, proxied, tmp_path,
                                                                                           isolated_home):
    proxy, cfg = proxied
    full_rollout(demo, "2.0.0", service=CO)                  # 2.0.0 takes all traffic: 1.9.0 (cold) is the target
    hold = proxy.hold("autoscaling.UpdateAutoScalingGroup", where="after", nth=1)
    _killed_then_resumed(proxy, cfg, tmp_path, ["rollback", CO], hold, "the scale-up")
    assert_journal_complete(journal_events(isolated_home))
    assert _step_events(isolated_home, "s1") == ["step_started", "step_started", "step_succeeded"]
    assert groups(demo)["checkout-1-9-0"]["DesiredCapacity"] == 4
    assert weights(demo) == {"checkout-1-9-0": 100, "checkout-2-0-0": 0, "checkout-2-1-0": 0}


def test_decommission_killed_after_the_group_was_deleted_finishes_on_resume(demo, proxied, tmp_path, isolated_home):
    proxy, cfg = proxied
    hold = proxy.hold("autoscaling.DeleteAutoScalingGroup", where="after", nth=1)
    _killed_then_resumed(proxy, cfg, tmp_path, ["decommission", CO, "2.0.0"], hold, "DeleteAutoScalingGroup")
    assert_journal_complete(journal_events(isolated_home))
    assert "checkout-2-0-0" not in groups(demo) and "checkout-2-0-0" not in weights(demo)
    tgs = {t["TargetGroupName"] for t in demo.client("elbv2").describe_target_groups()["TargetGroups"]}
    assert "checkout-2-0-0" not in tgs


def test_group_naming_and_sizes_are_pure():
    from fleettui.domain.asg import Sizes, new_group_sizes
    from fleettui.domain.model import Service

    assert group_name("checkout", "2.1.0") == "checkout-2-1-0"
    assert group_name("web", "1.6.0-rc.1+b7") == "web-1-6-0-rc-1-b7"
    assert len(group_name("s", "x" * 400)) == 255
    empty = Service(name="svc", regions=("us-east-1",), generations=())
    live_group = {"MinSize": 4, "MaxSize": 16, "DesiredCapacity": 8}
    assert new_group_sizes(empty, live_group, None) == Sizes(4, 16, 8)
    assert new_group_sizes(empty, live_group, 20) == Sizes(4, 20, 20)
    assert new_group_sizes(empty, live_group, 2) == Sizes(2, 16, 2)
    assert new_group_sizes(empty, None, None) == Sizes(1, 1, 1)
