"""The generated policies, enforced by the emulated AWS: fleettui runs as an IAM user that holds only them.

The emulator runs in a process of its own with IAM authentication on (tests/iam_emulator.py: moto's switch is
process-global, the session's emulator stays as it is). moto checks each request's action against the caller's
policies (not resources or conditions: those are widened there and checked by reading in test_iam_policy.py).
"""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from faults import bake_web_version, instances, journal_events, listener_weights, target_group_names
from fleettui.aws import permissions
from fleettui.cli import main

REPO = Path(__file__).resolve().parents[1]


class AuthAws:
    """The emulator with authentication on: what the child printed, and admin clients to read and prepare AWS."""

    def __init__(self, info: dict, config_path: Path):
        self.info = info
        self.config_path = config_path
        self.endpoint_url = info["endpoint_url"]
        self.fleet = type("Fleet", (), {"listener_arns": info["listener_arns"],
                                        "images": {tuple(k[:3]): k[3] for k in info["images"]}})

    def client(self, service: str, region: str = "us-east-1"):
        import boto3

        keys = self.info["keys"]["admin"]
        return boto3.client(service, region_name=region, endpoint_url=self.endpoint_url,
                            aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"])

    def become(self, monkeypatch, user: str) -> None:
        for var, value in self.info["keys"][user].items():
            monkeypatch.setenv(var, value)


@pytest.fixture(scope="module")
def auth_aws(tmp_path_factory):
    config_path = tmp_path_factory.mktemp("iam") / "demo.toml"
    proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "iam_emulator.py"), str(config_path)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO, text=True)
    try:
        line = proc.stdout.readline()
        assert line, f"the emulator process ended without starting (exit {proc.wait()})"
        yield AuthAws(json.loads(line), config_path)
    finally:
        proc.stdin.close()          # the child stops its server and exits
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cli(aws: AuthAws, *args: str) -> int:
    return main([*args, "--config", str(aws.config_path), "--yes"])


def test_authentication_is_really_on(auth_aws, monkeypatch, capsys):
    """Unknown keys and a policy without an action are refused: the passes below are the policies' doing."""
    import boto3
    from botocore.exceptions import ClientError

    anonymous = boto3.client("ec2", region_name="us-east-1", endpoint_url=auth_aws.endpoint_url,
                             aws_access_key_id="testing", aws_secret_access_key="testing")
    with pytest.raises(ClientError):
        anonymous.describe_instances()
    reader = auth_aws.info["keys"]["reader"]
    iam_as_reader = boto3.client("iam", region_name="us-east-1", endpoint_url=auth_aws.endpoint_url,
                                 aws_access_key_id=reader["AWS_ACCESS_KEY_ID"],
                                 aws_secret_access_key=reader["AWS_SECRET_ACCESS_KEY"])
    with pytest.raises(ClientError) as e:
        iam_as_reader.list_users()
    assert e.value.response["Error"]["Code"] == "AccessDenied"


def test_read_only_policy_status_works(auth_aws, monkeypatch, capsys):
    auth_aws.become(monkeypatch, "reader")
    assert main(["status", "--json", "--config", str(auth_aws.config_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    web = next(s for s in doc["services"] if s["name"] == "web")
    assert sum(g["total"] for g in web["generations"]) == 33
    assert {s["name"] for s in doc["services"]} == {"web", "api", "worker", "cache", "checkout"}
    checkout = next(s for s in doc["services"] if s["name"] == "checkout")
    assert [g["version"] for g in checkout["generations"]] == ["1.9.0", "2.0.0", "2.1.0"]   # the cold one too
    assert [g["group"]["state"] for g in checkout["generations"]] == ["cold", "warm", "warm"]


def test_read_only_policy_aws_refuses_every_mutation_with_the_hook_bypassed(auth_aws, monkeypatch):
    """Defence in depth: fleettui's own hook is switched off here; AWS itself says AccessDenied to every mutating
    operation fleettui declares, and nothing changes."""
    from fleettui.aws.gateway import Gateway
    from fleettui.config import load_config
    from fleettui.errors import AwsError

    auth_aws.become(monkeypatch, "reader")
    monkeypatch.setattr(Gateway, "_guard", lambda self, model, params, **kw: None)
    web_ids = auth_aws.info["generations"]["web"]["1.5.0"]
    listener = auth_aws.info["listener_arns"]["web"]
    tg = listener_tg = None
    elb = auth_aws.client("elbv2")
    tg = elb.describe_target_groups(Names=["web-1-5-0"])["TargetGroups"][0]["TargetGroupArn"]
    listener_tg = elb.describe_rules(ListenerArn=listener)["Rules"][0]["RuleArn"]
    weights_before = listener_weights(auth_aws)
    running_before = {i["InstanceId"] for i in instances(auth_aws)}
    calls = {
        ("ec2", "RunInstances"): dict(LaunchTemplate={"LaunchTemplateName": "web-lt"}, MinCount=1, MaxCount=1),
        ("ec2", "TerminateInstances"): dict(InstanceIds=web_ids[:1]),
        ("ec2", "CreateTags"): dict(Resources=web_ids[:1], Tags=[{"Key": "x", "Value": "y"}]),
        ("ec2", "DeleteTags"): dict(Resources=web_ids[:1], Tags=[{"Key": "Service"}]),
        ("elbv2", "RegisterTargets"): dict(TargetGroupArn=tg, Targets=[{"Id": web_ids[0]}]),
        ("elbv2", "DeregisterTargets"): dict(TargetGroupArn=tg, Targets=[{"Id": web_ids[0]}]),
        ("elbv2", "ModifyListener"): dict(ListenerArn=listener, DefaultActions=[
            {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": tg, "Weight": 100}]}}]),
        ("elbv2", "ModifyRule"): dict(RuleArn=listener_tg, Actions=[
            {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": tg, "Weight": 100}]}}]),
        ("elbv2", "CreateTargetGroup"): dict(Name="web-9-9-9", Protocol="HTTP", Port=80,
                                             VpcId=elb.describe_target_groups(Names=["web-1-5-0"])
                                             ["TargetGroups"][0]["VpcId"]),
        ("elbv2", "DeleteTargetGroup"): dict(TargetGroupArn=tg),
        ("elbv2", "AddTags"): dict(ResourceArns=[listener], Tags=[{"Key": "fleettui:lock", "Value": "x"}]),
        ("elbv2", "RemoveTags"): dict(ResourceArns=[listener], TagKeys=["Service"]),
        ("autoscaling", "SetDesiredCapacity"): dict(AutoScalingGroupName="worker-use1", DesiredCapacity=1),
        ("autoscaling", "CreateAutoScalingGroup"): dict(
            AutoScalingGroupName="web-9-9-9", LaunchTemplate={"LaunchTemplateName": "web-lt", "Version": "1"},
            MinSize=1, MaxSize=1, DesiredCapacity=1, AvailabilityZones=["us-east-1a"]),
        ("autoscaling", "UpdateAutoScalingGroup"): dict(AutoScalingGroupName="worker-use1", DesiredCapacity=1),
        ("autoscaling", "DeleteAutoScalingGroup"): dict(AutoScalingGroupName="worker-use1"),
        ("autoscaling", "TerminateInstanceInAutoScalingGroup"): dict(
            InstanceId=auth_aws.info["generations"]["worker"]["3.1.0"][0], ShouldDecrementDesiredCapacity=True),
        ("dynamodb", "PutItem"): dict(TableName="fleettui", Item={"pk": {"S": "lock#web"}}),
        ("dynamodb", "UpdateItem"): dict(TableName="fleettui", Key={"pk": {"S": "lock#web"}}),
        ("dynamodb", "DeleteItem"): dict(TableName="fleettui", Key={"pk": {"S": "lock#web"}}),
    }
    assert set(calls) == permissions.MUTATING

    async def attempt() -> dict[str, str | None]:
        from botocore import xform_name

        codes = {}
        async with Gateway(load_config(auth_aws.config_path).aws, read_only=True) as gw:
            for (service, op), params in calls.items():
                try:
                    await gw.call(service, "us-east-1", xform_name(op), **params)
                    codes[op] = None
                except AwsError as e:
                    codes[op] = e.code
            assert gw.refused == []             # the hook really was out of the way
        return codes

    codes = asyncio.run(attempt())
    # moto denies a JSON-protocol call (DynamoDB) in XML, which AWS never answers: the gateway refuses it as not an
    # AWS response (issue 23), never as a success
    assert codes == {op: "NotAwsResponse" if service == "dynamodb" else "AccessDenied" for service, op in calls}
    assert listener_weights(auth_aws) == weights_before
    assert {i["InstanceId"] for i in instances(auth_aws)} == running_before
    assert "web-1-5-0" in target_group_names(auth_aws) and "web-9-9-9" not in target_group_names(auth_aws)
    groups = {g["AutoScalingGroupName"]: g for g in
              auth_aws.client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]}
    assert "web-9-9-9" not in groups and groups["worker-use1"]["DesiredCapacity"] == 8


def test_read_only_policy_a_verb_fails_on_aws_access_denied_in_one_line(auth_aws, monkeypatch, capsys):
    auth_aws.become(monkeypatch, "reader")
    before = listener_weights(auth_aws)
    assert cli(auth_aws, "rollback", "web") == 1
    # the first mutation of the plan is taking the service's lock (a tag on the listener): AWS refuses it
    assert capsys.readouterr().err.strip().splitlines() == [
        "fleettui: access denied for elbv2:add_tags in us-east-1: User: arn:aws:iam::123456789012:user/reader is "
        "not authorized to perform: elasticloadbalancing:AddTags"]
    assert listener_weights(auth_aws) == before


def test_read_only_policy_the_tui_shows_the_fleet(auth_aws, monkeypatch):
    from test_ui import SIZE, host_rows, loaded

    from fleettui.context import open_context
    from fleettui.ui.app import make_app

    auth_aws.become(monkeypatch, "reader")
    ctx = open_context(config_path=auth_aws.config_path, read_only=True)

    async def go():
        app = make_app(ctx, auto_refresh=False)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(app, pilot)
            assert len(host_rows(app)) == 33          # web's hosts, read with the read-only policy only
            assert "STALE" not in str(app.main.query_one("FleetHeader").render())

    try:
        asyncio.run(go())
    finally:
        ctx.close()


def test_operator_policy_suffices_for_every_verb(auth_aws, monkeypatch, isolated_home, capsys):
    """Every verb of the demo end to end as the operator user: rollback, decommission, launch, shift, and replace
    of bare EC2 hosts and of Auto Scaling hosts (with the service locks: listener tags and launch template tags)."""
    bake_web_version(auth_aws, "1.7.0")                     # as a CI pipeline would (admin)
    auth_aws.become(monkeypatch, "operator")
    assert cli(auth_aws, "rollback", "web") == 0           # undo the newest generation (the 1.6.0 canary)
    assert listener_weights(auth_aws) == {"web-1-4-0": 0, "web-1-5-0": 100, "web-1-6-0": 0}
    assert cli(auth_aws, "decommission", "web", "1.6.0") == 0
    assert "web-1-6-0" not in target_group_names(auth_aws)
    assert cli(auth_aws, "launch", "web", "--count", "15") == 0
    assert cli(auth_aws, "shift", "web", "--to", "1.7.0", "--weight", "50") == 0
    assert listener_weights(auth_aws)["web-1-7-0"] == 50
    drifted = auth_aws.info["drift"]["instance_type"]
    assert cli(auth_aws, "replace", "web", drifted) == 0
    assert drifted not in {i["InstanceId"] for i in instances(auth_aws)}
    worker = sorted(auth_aws.info["generations"]["worker"]["3.1.0"])
    asg = auth_aws.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=["worker-use1"])
    old = sorted(i["InstanceId"] for i in asg["AutoScalingGroups"][0]["Instances"])[:1]
    assert old and set(old) <= set(worker)
    assert cli(auth_aws, "replace", "worker", *old) == 0
    group = auth_aws.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["worker-use1"])["AutoScalingGroups"][0]
    assert group["DesiredCapacity"] == 8 and not set(old) & {i["InstanceId"] for i in group["Instances"]}
    events = journal_events(isolated_home)
    finished = [e["status"] for e in events if e["event"] == "plan_finished"]
    assert finished == ["succeeded"] * 6
    assert not any("denied" in json.dumps(e).lower() for e in events)


# ------------------------------------------------------------------------------------------------ issue 23 item 8

def test_team_policy_runs_a_verb_and_keeps_the_audit_append_only(auth_aws, monkeypatch, isolated_home):
    """Team mode as the ``team`` user (the operator policy of the config with [team]), with moto enforcing the
    statements' dynamodb:LeadingKeys: a shift takes and releases the lock item and puts its audit items; then, as
    an operator with that policy would by hand, an audit item cannot be deleted or updated -- only put -- while lock
    items can. Under the policy before issue 23 the same DeleteItem of an audit item went through."""
    import boto3
    from botocore.exceptions import ClientError

    team_cfg = auth_aws.info["team_config"]
    auth_aws.become(monkeypatch, "team")
    weight = listener_weights(auth_aws)["web-1-5-0"] - 10           # whatever the tests before left
    assert main(["shift", "web", "--to", "1.5.0", "--weight", str(weight), "--config", team_cfg, "--yes",
                 "--reason", "iam"]) == 0
    assert listener_weights(auth_aws)["web-1-5-0"] == weight
    admin = auth_aws.client("dynamodb")
    audit = [i for i in admin.scan(TableName="fleettui")["Items"] if i["pk"]["S"] == "audit#web"]
    assert {json.loads(i["body"]["S"])["event"] for i in audit} >= {"plan_created", "plan_finished"}
    assert not [i for i in admin.scan(TableName="fleettui")["Items"] if i["pk"]["S"].startswith("lock#")]

    def as_user(user: str):
        keys = auth_aws.info["keys"][user]
        return boto3.client("dynamodb", region_name="us-east-1", endpoint_url=auth_aws.endpoint_url,
                            aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"])

    def outcome(call) -> str:
        try:
            call()
            return "allowed"
        except ClientError as e:
            return "denied" if e.response["ResponseMetadata"]["HTTPStatusCode"] == 403 else e.response["Error"]["Code"]

    key = {"pk": audit[0]["pk"], "sk": audit[0]["sk"]}
    lock = {"pk": {"S": "lock#web"}, "sk": {"S": "lock"}}
    ddb = as_user("team")
    assert outcome(lambda: ddb.delete_item(TableName="fleettui", Key=key)) == "denied"
    assert outcome(lambda: ddb.update_item(TableName="fleettui", Key=key, UpdateExpression="SET reason = :r",
                                           ExpressionAttributeValues={":r": {"S": "rewritten"}})) == "denied"
    assert outcome(lambda: ddb.put_item(TableName="fleettui", Item={**lock, "owner": {"S": "x"}})) == "allowed"
    assert outcome(lambda: ddb.update_item(TableName="fleettui", Key=lock, UpdateExpression="SET #o = :o",
                                           ExpressionAttributeNames={"#o": "owner"},
                                           ExpressionAttributeValues={":o": {"S": "y"}})) == "allowed"
    assert outcome(lambda: ddb.delete_item(TableName="fleettui", Key=lock)) == "allowed"
    assert outcome(lambda: ddb.put_item(TableName="fleettui", Item={
        "pk": {"S": "audit#web"}, "sk": {"S": "9999#p-new#1"}, "event": {"S": "warning"}})) == "allowed"
    assert outcome(lambda: ddb.delete_item(TableName="fleettui", Key={
        "pk": {"S": "other#web"}, "sk": {"S": "x"}})) == "denied"
    assert admin.get_item(TableName="fleettui", Key=key)["Item"] == audit[0]         # still there, unchanged
    # the statement before issue 23: any operator could erase the team's history
    assert outcome(lambda: as_user("team-before-23").delete_item(TableName="fleettui", Key=key)) == "allowed"
    assert "Item" not in admin.get_item(TableName="fleettui", Key=key)
