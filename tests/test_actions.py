"""The action layer end to end on the moto server: plans, guardrails, executor, journal, safety hook."""
import asyncio
import json

import pytest

from fleettui.actions.verbs import Decommission, Launch, Replace, Rollback, Shift
from fleettui.actions.executor import PLAN_TAG
from fleettui.aws.gateway import Gateway, MutationRefused
from fleettui.cli import main

from faults import bake_web_version, listener_weights




def live_ids(demo, service, region="us-east-1", **tags):
    ec2 = demo.client("ec2", region)
    filters = [{"Name": "tag:Service", "Values": [service]},
               {"Name": "instance-state-name", "Values": ["pending", "running"]}]
    filters += [{"Name": f"tag:{k}", "Values": [v]} for k, v in tags.items()]
    return {i["InstanceId"] for r in ec2.describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]}


def test_full_rollout_launch_shift_decommission(demo):
    bake_web_version(demo)
    before = live_ids(demo, "web")

    async def launch(a):
        plan = await a.plan(Launch("web"))   # as many hosts as the live generation
        assert plan.refusal is None, plan.refusal
        return await a.execute(plan, "rollout 1.7.0")

    assert demo.act(launch).ok
    weights = listener_weights(demo)
    assert weights["web-1-7-0"] == 0 and weights["web-1-5-0"] == 90
    assert len(live_ids(demo, "web")) == len(before) + 15

    for pct in (10, 50, 100):
        async def shift(a, pct=pct):
            plan = await a.plan(Shift("web", to="1.7.0", weight=pct))
            assert plan.refusal is None, plan.refusal
            return await a.execute(plan, f"to {pct}")

        assert demo.act(shift).ok
        assert listener_weights(demo)["web-1-7-0"] == pct
        assert sum(listener_weights(demo).values()) == 100

    for version in ("1.4.0", "1.5.0", "1.6.0"):
        async def decom(a, version=version):
            plan = await a.plan(Decommission("web", version))
            assert plan.refusal is None, plan.refusal
            return await a.execute(plan, "cleanup")

        assert demo.act(decom).ok
    assert set(listener_weights(demo)) == {"web-1-7-0"}
    remaining = live_ids(demo, "web")
    assert len(remaining) == 15 and not (remaining & before)
    tgs = {g["TargetGroupName"] for g in demo.client("elbv2").describe_target_groups()["TargetGroups"]}
    assert not {"web-1-4-0", "web-1-5-0", "web-1-6-0"} & tgs
    # journal: every plan finished
    records = demo.act(lambda a: asyncio.sleep(0, a.journal.records()))
    assert len(records) == 7 and all(r.status == "succeeded" for r in records.values())


def test_rollback_undoes_the_canary_then_goes_one_generation_further_back(demo):
    """The demo's incident: 1.6.0 canary at 10% is bad, 1.5.0 live at 90%. B takes 1.6.0 out of traffic and gives
    1.5.0 100% in one listener change — never a jump to the 45-day-old 1.4.0. Pressed again: 1.4.0."""
    async def rollback(a):
        plan = await a.plan(Rollback("web"))
        assert plan.refusal is None and len(plan.steps) == 1
        assert plan.generation == "1.5.0" and "take 1.6.0 out of traffic → 1.5.0 gets 100%" in plan.summary
        assert dict(plan.weights_after) == {"1.4.0": 0, "1.5.0": 100, "1.6.0": 0}
        return await a.execute(plan, "bad deploy")

    sent_before = listener_weights(demo)
    assert sent_before == {"web-1-4-0": 0, "web-1-5-0": 90, "web-1-6-0": 10}
    assert demo.act(rollback).ok
    assert listener_weights(demo) == {"web-1-4-0": 0, "web-1-5-0": 100, "web-1-6-0": 0}

    async def again(a):
        plan = await a.plan(Rollback("web"))
        assert plan.generation == "1.4.0" and "roll back from 1.5.0 → 1.4.0 gets 100%" in plan.summary
        assert any("deprecated" in w for w in plan.warnings) and any("max_age" in w for w in plan.warnings)
        assert plan.refusal is None, plan.refusal
        return await a.execute(plan, "1.5.0 is bad too")

    assert demo.act(again).ok
    assert listener_weights(demo) == {"web-1-4-0": 100, "web-1-5-0": 0, "web-1-6-0": 0}
    records = demo.act(lambda a: asyncio.sleep(0, a.journal.records()))
    assert [r.plan.generation for r in records.values()] == ["1.5.0", "1.4.0"]


def test_rollback_ramp_only_ever_lowers_the_generations_rolled_away_from(demo):
    """A ramp asked for as 20,50,100 while 1.5.0 already has 90%: no step sends 1.6.0 more than its 10%."""
    seen = []

    async def body(a):
        plan = await a.plan(Rollback("web", ramp=(20, 50, 100)))
        for st in plan.steps:
            seen.append({k.split("/")[-2]: v for k, v in st.params["weights"].items()})
        return await a.execute(plan)

    assert demo.act(body).ok
    assert seen and all(w["web-1-6-0"] <= 10 for w in seen) and seen[-1]["web-1-5-0"] == 100
    assert listener_weights(demo) == {"web-1-4-0": 0, "web-1-5-0": 100, "web-1-6-0": 0}


def test_rollback_ramp_from_a_full_rollout_lowers_the_new_generation_step_by_step(demo):
    elb = demo.client("elbv2")
    arn = demo.fleet.listener_arns["web"]
    tgs = demo.fleet.target_groups["web"]
    elb.modify_listener(ListenerArn=arn, DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": tgs["1.4.0"], "Weight": 0}, {"TargetGroupArn": tgs["1.5.0"], "Weight": 0},
        {"TargetGroupArn": tgs["1.6.0"], "Weight": 100}]}}])

    async def body(a):
        plan = await a.plan(Rollback("web", ramp=(25, 50, 100)))
        return [{k.split("/")[-2]: v for k, v in st.params["weights"].items()} for st in plan.steps]

    steps = demo.act(body)
    assert [w["web-1-6-0"] for w in steps] == [75, 50, 0]
    assert [w["web-1-5-0"] for w in steps] == [25, 50, 100]


def test_weights_are_exact_and_a_sliver_of_traffic_blocks_decommission(demo, capsys):
    elb = demo.client("elbv2")
    arn = demo.fleet.listener_arns["web"]
    tgs = demo.fleet.target_groups["web"]
    elb.modify_listener(ListenerArn=arn, DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": tgs["1.4.0"], "Weight": 4}, {"TargetGroupArn": tgs["1.5.0"], "Weight": 995},
        {"TargetGroupArn": tgs["1.6.0"], "Weight": 0}]}}])
    plan = demo.act(lambda a: a.plan(Decommission("web", "1.4.0")))
    assert plan.refusal and "still takes 0.4% of traffic" in plan.refusal
    assert main(["status", "--json", "--config", str(demo.config_path)]) == 0
    web = next(s for s in json.loads(capsys.readouterr().out)["services"] if s["name"] == "web")
    weights = {g["version"]: g["weight"] for g in web["generations"]}
    assert weights == {"1.4.0": 0.4, "1.5.0": 99.6, "1.6.0": 0}


def _static_rule(demo, version: str = "1.6.0") -> str:
    """A /static/* rule on web's listener that forwards to one generation, as teams add them by hand."""
    elb = demo.client("elbv2")
    return elb.create_rule(
        ListenerArn=demo.fleet.listener_arns["web"], Priority=10,
        Conditions=[{"Field": "path-pattern", "Values": ["/static/*"]}],
        Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": demo.fleet.target_groups["web"][version], "Weight": 1}]}}])["Rules"][0]["RuleArn"]


def _rule_weights(demo, rule_arn: str) -> dict[str, int]:
    rule = demo.client("elbv2").describe_rules(RuleArns=[rule_arn])["Rules"][0]
    return {g["TargetGroupArn"].split("/")[-2]: g["Weight"] for g in rule["Actions"][0]["ForwardConfig"]["TargetGroups"]}


def test_rollback_changes_every_rule_that_forwards_to_the_service(demo):
    rule = _static_rule(demo)

    async def body(a):
        plan = await a.plan(Rollback("web"))
        assert len(plan.steps) == 2 and any("rule 10 (path /static/*)" in st.description for st in plan.steps)
        return await a.execute(plan, "bad canary")

    assert demo.act(body).ok
    assert listener_weights(demo) == {"web-1-4-0": 0, "web-1-5-0": 100, "web-1-6-0": 0}
    assert _rule_weights(demo, rule) == {"web-1-6-0": 0, "web-1-5-0": 100}


def test_decommission_refuses_a_generation_that_a_rule_still_sends_traffic_to(demo):
    demo.act(lambda a: a.plan(Rollback("web")))
    rule = _static_rule(demo, "1.4.0")          # 1.4.0 has weight 0 on the default action, but serves /static/*
    plan = demo.act(lambda a: a.plan(Decommission("web", "1.4.0")))
    assert plan.refusal and "rule 10 (path /static/*)" in plan.refusal
    assert _rule_weights(demo, rule) == {"web-1-4-0": 1}


def test_rollback_to_another_generation_with_to(demo):
    async def body(a):
        plan = await a.plan(Rollback("web", to="1.4.0"))
        assert any("not the rollback target (1.5.0)" in w for w in plan.warnings)
        return await a.execute(plan)

    assert demo.act(body).ok
    assert listener_weights(demo) == {"web-1-4-0": 100, "web-1-5-0": 0, "web-1-6-0": 0}


@pytest.mark.parametrize("intent, reason", [
    (Decommission("web", "1.5.0"), "still takes 90%"),
    (Shift("web", weights=(("1.6.0", 100),)), "capacity would drop"),
])
def test_guardrails_refuse(demo, intent, reason):
    plan = demo.act(lambda a: a.plan(intent))
    assert plan.refusal and reason in plan.refusal


def test_capacity_is_decided_by_the_worst_receiving_generation(demo):
    """Traffic split between several generations: the one with the fewest healthy hosts per share of traffic
    decides (1.6.0: 3 hosts for 50% = 40% of what live 1.5.0's 15 have for 100%), not the best (1.5.0: 15 for
    50%, 200%). Between the two full-size generations the same split is allowed."""
    plan = demo.act(lambda a: a.plan(Shift("web", weights=(("1.5.0", 50), ("1.6.0", 50)))))
    assert plan.capacity_min == 40
    assert plan.refusal == "healthy capacity would drop to 40% (min_healthy_percent is 75%)"
    three = demo.act(lambda a: a.plan(Shift("web", weights=(("1.4.0", 40), ("1.5.0", 30), ("1.6.0", 30)))))
    assert three.capacity_min == 66 and three.refusal.startswith("healthy capacity would drop to 66%")   # 66.7 down
    even = demo.act(lambda a: a.plan(Shift("web", weights=(("1.4.0", 50), ("1.5.0", 50)))))
    assert even.capacity_min == 100 and even.refusal is None


def test_refuses_weight_to_generation_without_healthy_targets(demo):
    elb = demo.client("elbv2")
    tg = next(g for g in elb.describe_target_groups()["TargetGroups"] if g["TargetGroupName"] == "web-1-6-0")
    targets = [d["Target"] for d in elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])
               ["TargetHealthDescriptions"]]
    elb.deregister_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=targets)
    plan = demo.act(lambda a: a.plan(Shift("web", to="1.6.0", weight=20)))
    assert plan.refusal and "no healthy targets" in plan.refusal


def test_refuses_decommissioning_last_healthy_generation(demo):
    """Only the last-healthy-generation guard stands in the way: api 2.2.0 takes no traffic (weight 0), and the
    live 2.3.0 has no healthy host left (its targets deregistered), so the capacity guard has nothing to lose
    (100%) — decommissioning 2.2.0 would leave the service without one healthy host."""
    elb = demo.client("elbv2", "eu-west-1")
    tg = demo.fleet.target_groups["api"]["2.3.0"]
    targets = [d["Target"] for d in elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]]
    elb.deregister_targets(TargetGroupArn=tg, Targets=targets)

    plan = demo.act(lambda a: a.plan(Decommission("api", "2.2.0")))
    assert plan.capacity_min == 100                      # the capacity guard alone would let it through
    assert plan.refusal == "2.2.0 is the last generation with healthy hosts"


def test_read_only_sends_zero_mutating_requests(demo):
    async def body(a):
        plan = await a.plan(Rollback("web"))
        with pytest.raises(MutationRefused):
            await a.gw.call("elbv2", "us-east-1", "modify_listener", ListenerArn=demo.fleet.listener_arns["web"],
                            DefaultActions=[])
        return plan, dict(a.gw.sent)

    plan, sent = demo.act(body, read_only=True)
    assert plan.refusal and "read-only" in plan.refusal
    assert all(op.split(".")[1].startswith(("Describe", "Get", "List")) for op in sent), sent
    assert listener_weights(demo)["web-1-5-0"] == 90


def test_disallowed_operation_is_rejected_before_sending(demo):
    async def body(a):
        with pytest.raises(MutationRefused) as e:
            await a.gw.call("ec2", "us-east-1", "modify_instance_attribute", InstanceId="i-1",
                            InstanceType={"Value": "m5.xlarge"})
        return str(e.value), dict(a.gw.sent)

    msg, sent = demo.act(body)
    assert "ModifyInstanceAttribute" in msg and not any("ModifyInstanceAttribute" in k for k in sent)


def test_rerun_of_interrupted_launch_does_not_duplicate(demo):
    """Crash right after the launch step ran but before it was journaled: resuming launches nothing more (one
    RunInstances in all, and no surplus host launched then terminated by the step's trim)."""
    bake_web_version(demo)

    async def body(a):
        plan = await a.plan(Launch("web", count=3))
        ex = a.executor()
        record = ex.start(plan, "test")
        launch = next(s for s in plan.steps if s.kind == "launch")
        await ex.step(plan, launch, record.memo)    # ran, then "crashed" before step_succeeded
        first = a.gw.sent["ec2.RunInstances"]
        outcome = await a.resume(a.journal.record(plan.id))
        return plan, outcome, first, a.gw.sent["ec2.RunInstances"], a.gw.sent["ec2.TerminateInstances"]

    plan, outcome, first, run_instances, terminations = demo.act(body)
    assert outcome.ok, outcome.error
    assert first >= 1 and run_instances == first and terminations == 0     # (one RunInstances per subnet)
    assert len(live_ids(demo, "web", **{PLAN_TAG: plan.id})) == 3
    ec2 = demo.client("ec2")
    tagged = [i for r in ec2.describe_instances(Filters=[{"Name": f"tag:{PLAN_TAG}", "Values": [plan.id]}])
              ["Reservations"] for i in r["Instances"]]
    assert len(tagged) == 3 and {i["State"]["Name"] for i in tagged} <= {"pending", "running"}


def test_replace_drifted_hosts(demo):
    async def body(a):
        snap = await a.snapshot(["web"])
        drifted = {i.id for i in snap.service("web").generation("1.5.0").instances if i.drifted}
        plan = await a.plan(Replace("web", drifted=True, generation="1.5.0"), snap)
        assert plan.refusal is None, plan.refusal
        outcome = await a.execute(plan, "drift")
        after = await a.snapshot(["web"])
        return drifted, outcome, after

    drifted, outcome, after = demo.act(body)
    assert outcome.ok and drifted
    gen = after.service("web").generation("1.5.0")
    assert gen.total == 15 and not drifted & {i.id for i in gen.instances}
    assert gen.healthy == 15
    kinds = {f.kind for i in gen.instances for f in i.findings if f.is_drift}
    assert not kinds, kinds   # the host missing Owner is replaced by one carrying the generation's Owner


def test_replace_asg_hosts_goes_through_auto_scaling(demo):
    async def body(a):
        snap = await a.snapshot(["worker"])
        old = [i.id for i in snap.service("worker").instances if i.region == "us-east-1"][:2]
        plan = await a.plan(Replace("worker", hosts=tuple(old)), snap)
        assert {s.kind for s in plan.steps} == {"asg_scale_out", "asg_wait_in_service", "asg_terminate"}
        return old, await a.execute(plan)

    old, outcome = demo.act(body)
    assert outcome.ok, outcome.error
    asg = demo.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    members = {i["InstanceId"] for g in asg for i in g["Instances"]}
    assert not set(old) & members
    group = next(g for g in asg if g["AutoScalingGroupName"] == "worker-use1")
    assert group["DesiredCapacity"] == 8 and len(group["Instances"]) == 8


def test_cli_rollback_yes_and_audit(demo, capsys):
    assert main(["rollback", "web", "--config", str(demo.config_path), "--yes", "--reason", "pager"]) == 0
    assert listener_weights(demo) == {"web-1-4-0": 0, "web-1-5-0": 100, "web-1-6-0": 0}   # same as the key
    assert "take 1.6.0 out of traffic → 1.5.0 gets 100%" in capsys.readouterr().out
    assert main(["audit", "--json", "--config", str(demo.config_path)]) == 0
    out = capsys.readouterr().out
    assert '"reason": "pager"' in out and '"status": "succeeded"' in out
    # the plan records the AWS it acted on; audit without a config reads the real-AWS journal, not this one
    assert '"account": "123456789012"' in out and f'"endpoint": "{demo.endpoint_url}"' in out
    assert main(["audit", "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"


def test_cli_refusal_exit_2_and_dry_run_changes_nothing(demo, capsys):
    cfg = str(demo.config_path)
    assert main(["decommission", "web", "1.5.0", "--config", cfg, "--yes"]) == 2
    out = capsys.readouterr().out
    assert "refused: 1.5.0 still takes 90% of traffic" in out and "dry run" not in out

    before = len(live_ids(demo, "web"))
    assert main(["launch", "web", "--config", cfg, "--dry-run"]) == 0        # 1.7.0 is baked: a plan, not refused
    out = capsys.readouterr().out
    assert "launch" in out and "refused" not in out
    assert out.rstrip().endswith("dry run: nothing was changed")
    assert len(live_ids(demo, "web")) == before and "web-1-7-0" not in listener_weights(demo)

    assert main(["plan", "rollback", "web", "--config", cfg]) == 0
    assert capsys.readouterr().out.rstrip().endswith("dry run: nothing was changed")
    assert listener_weights(demo)["web-1-5-0"] == 90


def test_waiter_says_gave_up_after_900s_only_after_900s(demo):
    """A host that reaches a terminal state while waited for is reported at once as such, not as 'gave up after
    900s'; that message is kept for a wait whose time really ran out."""
    from fleettui.errors import AwsError

    ec2 = demo.client("ec2")
    iid = ec2.run_instances(ImageId="ami-03cf127a", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.terminate_instances(InstanceIds=[iid])

    async def wait(waiter, instance, timeout):
        async with Gateway(demo.config().aws) as gw:
            with pytest.raises(AwsError) as e:
                await gw.wait("ec2", "us-east-1", waiter, delay=0.05, timeout=timeout, InstanceIds=[instance])
            return str(e.value)

    msg = asyncio.run(wait("instance_running", iid, 900))
    assert msg.startswith("stopped waiting (instance_running in us-east-1): ") and "900" not in msg, msg
    running = ec2.run_instances(ImageId="ami-03cf127a", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    msg = asyncio.run(wait("instance_terminated", running, 0.1))     # still running when the time runs out
    assert msg.startswith("gave up after 0.1s waiting (instance_terminated in us-east-1)"), msg
