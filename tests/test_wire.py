"""Issue 23 item 5: an answer that is not AWS's is never taken for one.

Through the fault proxy (tests/faults.py) answering ``200 text/html`` itself ("html200": a captive portal, a proxy that
answers in AWS's place) or rewriting AWS's answer into something else: every service the gateway calls refuses it
as "not an AWS response from URL" -- never an empty success. Then the two consequences the issue reproduced: a
rollout whose DescribeAlarms answers are garbage never promotes past an alarm in ALARM, and a DynamoDB PutItem
answered with garbage never takes a lock another operator holds (nor drops the audit events it could not send).
"""
from __future__ import annotations

import asyncio
import json

import pytest

from faults import FaultProxy, journal_events, listener_weights, write_config
from fleettui.aws.gateway import Gateway, NotAwsResponse, not_aws
from fleettui.cli import main
from fleettui.clock import VirtualClock
from fleettui.config import load_config
from fleettui.context import demo_team
from fleettui.emulator import create_team_table

OK_HEADERS = {"x-amzn-requestid": "r-1", "content-type": "text/xml"}


# ------------------------------------------------------------------------------------------------ the rule, pure

@pytest.mark.parametrize("protocol, status, headers, body, why", [
    ("json", 200, {"content-type": "text/html"}, b"<html>ok</html>", "HTTP 200 text/html without AWS's request id"),
    ("json", 200, {"x-amzn-requestid": "r", "content-type": "text/html"}, b"<html>ok</html>",
     "HTTP 200: the body is not a JSON object"),
    ("json", 200, {"x-amzn-requestid": "r", "content-type": "application/x-amz-json-1.0"}, b"<html>", 
     "HTTP 200: the body is not a JSON object"),
    ("json", 200, {"x-amzn-requestid": "r", "content-type": "application/x-amz-json-1.0"}, b"",
     "HTTP 200: the body is not a JSON object"),
    ("json", 200, {"x-amzn-requestid": "r", "content-type": "application/x-amz-json-1.0"}, b"[1]",
     "HTTP 200: the body is not a JSON object"),
    ("query", 200, OK_HEADERS, b"<html><body>ok</body></html>", "HTTP 200: the body is not an AWS XML response"),
    ("query", 200, OK_HEADERS, b"", "HTTP 200: the body is not an AWS XML response"),
    ("ec2", 400, OK_HEADERS, b"<Oops/>", "HTTP 400: the body is not an AWS XML response"),
    ("ec2", 200, {"content-type": "text/xml"}, b"<DescribeInstancesResponse/>",
     "HTTP 200 text/xml without AWS's request id"),
])
def test_an_answer_without_the_request_id_or_not_of_its_protocol_is_not_aws(protocol, status, headers, body, why):
    assert not_aws(protocol, status, headers, body) == why


@pytest.mark.parametrize("protocol, status, headers, body", [
    ("json", 200, {"x-amzn-RequestId": "r", "content-type": "application/x-amz-json-1.0"}, b"{}"),
    ("json", 400, {"x-amzn-requestid": "r", "content-type": "application/json"}, b'{"__type": "x#Validation"}'),
    ("query", 200, OK_HEADERS, b'<?xml version="1.0"?>\n<DescribeListenersResponse xmlns="x"/>'),
    ("query", 400, OK_HEADERS, b"<ErrorResponse><Error/></ErrorResponse>"),
    ("ec2", 400, {"x-amz-request-id": "r", "content-type": "text/xml;charset=UTF-8"}, b"<Response><Errors/></Response>"),
    ("query", 503, {}, b"<html>Service Unavailable</html>"),       # 5xx: botocore's (retried, then an error)
])
def test_aws_answers_pass(protocol, status, headers, body):
    assert not_aws(protocol, status, headers, body) is None


# ------------------------------------------------------------------------------------------------ every service

CALLS = [  # (proxy key, service, region, operation, params)
    ("ec2.DescribeInstances", "ec2", "us-east-1", "describe_instances", {}),
    ("elasticloadbalancing.DescribeListeners", "elbv2", "us-east-1", "describe_listeners",
     {"LoadBalancerArn": "LB"}),
    ("autoscaling.DescribeAutoScalingGroups", "autoscaling", "us-east-1", "describe_auto_scaling_groups", {}),
    ("monitoring.DescribeAlarms", "cloudwatch", "us-east-1", "describe_alarms", {}),
    ("dynamodb.GetItem", "dynamodb", "us-east-1", "get_item",
     {"TableName": "fleettui", "Key": {"pk": {"S": "lock#web"}, "sk": {"S": "lock"}}}),
    ("dynamodb.PutItem", "dynamodb", "us-east-1", "put_item",
     {"TableName": "fleettui", "Item": {"pk": {"S": "lock#web"}, "sk": {"S": "lock"}}}),
    ("sts.GetCallerIdentity", "sts", "us-east-1", "get_caller_identity", {}),
]


@pytest.mark.parametrize("fate", ["html200", "xml200", "json200"])
def test_every_service_refuses_an_answer_that_is_not_aws(demo, fate):
    """The proxy answers in AWS's place (html200), or passes AWS's answer on, request id and all, with its body
    replaced by well-formed XML or a JSON object that is not AWS's (xml200 / json200: where the protocol does not
    match): each call fails naming the endpoint; none returns a result."""
    create_team_table(demo.endpoint_url, **demo_team())
    lb = demo.client("elbv2").describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"]
    with FaultProxy(demo.endpoint_url) as proxy:
        config = load_config(write_config(demo, proxy.url, demo.config_path.with_name("proxied.toml")))
        for key, *_ in CALLS:
            if fate == "html200":
                proxy.script(key, "html200")
            else:
                body = b"<html><body>ok</body></html>" if fate == "xml200" else b'{"ok": true}'
                proxy.rewrite(key, lambda _b, body=body: body)

        async def go():
            got = {}
            async with Gateway(config.aws) as gw:
                for key, service, region, op, params in CALLS:
                    params = {k: (lb if v == "LB" else v) for k, v in params.items()}
                    try:
                        got[key] = await gw.call(service, region, op, **params)
                    except NotAwsResponse as e:
                        got[key] = e
            return got

        got = asyncio.run(go())
    expect_refused = {k for k, *_ in CALLS} if fate == "html200" else {
        k for k, service, *_ in CALLS if (service in ("dynamodb", "cloudwatch")) == (fate == "xml200")}
    for key, service, _region, op, _ in CALLS:
        if key not in expect_refused:
            continue
        e = got[key]
        assert isinstance(e, NotAwsResponse), (key, e)
        assert str(e).startswith(f"{service}:") and f"not an AWS response from {proxy.url}" in str(e), str(e)
        assert e.code == "NotAwsResponse"


def test_a_query_answer_rewritten_into_other_xml_is_not_an_empty_listener_list(demo, tmp_path):
    """Well-formed XML that is not AWS's (here with AWS's own request id header): botocore alone parsed it as a
    DescribeListeners without listeners; the gateway refuses it."""
    lb = demo.client("elbv2").describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"]
    with FaultProxy(demo.endpoint_url) as proxy:
        proxy.rewrite("elasticloadbalancing.DescribeListeners", lambda _b: b"<html><body>maintenance</body></html>")
        config = load_config(write_config(demo, proxy.url, tmp_path / "p.toml"))

        async def go():
            async with Gateway(config.aws) as gw:
                return await gw.call("elbv2", "us-east-1", "describe_listeners", LoadBalancerArn=lb)
        with pytest.raises(NotAwsResponse, match="the body is not an AWS XML response"):
            asyncio.run(go())


# ------------------------------------------------------------------------------------------------ consequences

def test_garbage_describe_alarms_never_lets_a_rollout_pass_an_alarm_in_alarm(demo, isolated_home, tmp_path):
    """DescribeAlarms answered 200 text/html three times while web-5xx is in ALARM: the analysis holds ("could not
    read AWS: … not an AWS response") instead of journaling "no alarm in ALARM" and promoting; with AWS's answers
    back, the same alarm aborts the rollout at its first stage, all traffic back to 1.5.0."""
    from test_rollout import good

    from fleettui.actions.api import Actions
    from fleettui.actions.verbs import Rollout

    good(demo)
    cw = demo.client("cloudwatch")
    cw.put_metric_alarm(AlarmName="web-5xx", MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=5,
                        ComparisonOperator="GreaterThanThreshold")
    cw.set_alarm_state(AlarmName="web-5xx", StateValue="ALARM", StateReason="Threshold Crossed: 9 > 5")
    with FaultProxy(demo.endpoint_url) as proxy:
        proxy.script("monitoring.DescribeAlarms", "html200", "html200", "html200")
        config = load_config(write_config(demo, proxy.url, tmp_path / "proxied.toml"))

        async def go():
            async with Gateway(config.aws) as gw:
                a = Actions(config=config, gw=gw, read_only=False, poll_seconds=5, timeout_seconds=60,
                            clock=VirtualClock(tick=0.001))
                plan = await a.plan(Rollout("web", to="1.7.0", steps=(50, 100), bake_s=60))
                return await a.execute(plan, "wire test")
        outcome = asyncio.run(go())
        used = proxy.injected_by[("html200", "monitoring.DescribeAlarms")]
    assert outcome.status == "aborted", outcome.error        # before the fix: "succeeded", at 100%
    assert used == 3
    assert "alarm in ALARM: web-5xx" in outcome.error
    assert listener_weights(demo) == {"web-1-4-0": 0, "web-1-5-0": 100, "web-1-6-0": 0, "web-1-7-0": 0}
    notes = [e["note"] for e in journal_events(isolated_home) if e["event"] == "step_note"]
    holds = [n["holding"] for n in notes if "holding" in n]
    assert holds and "not an AWS response from" in holds[0], holds
    passed = [n for n in notes if n.get("analysis", {}).get("state") == "pass"]
    assert passed == []                        # never "no alarm in ALARM" from a page that is not AWS's


def test_garbage_put_item_never_takes_a_lock_another_operator_holds(demo, tmp_path, capsys):
    """bob holds web's lock; this operator's PutItems are answered 200 text/html by the proxy: `shift` stops in one
    line (the lock was not taken, nothing changed), bob's lock stands, and the audit events it could not send stay
    queued -- sent by the next `audit` through AWS itself."""
    import time

    from fleettui.context import Context
    from fleettui.store.dynamo import TeamJournal

    create_team_table(demo.endpoint_url, **demo_team())
    ddb = demo.client("dynamodb")
    bob = {"pk": {"S": "lock#web"}, "sk": {"S": "lock"}, "owner": {"S": "arn:aws:iam::123456789012:user/bob"},
           "plan_id": {"S": "p-bob"}, "what": {"S": "shift web"}, "taken_at": {"S": "2026-11-30T12:00:00.000+00:00"},
           "expires_at": {"N": str(int(time.time()) + 600)}}
    ddb.put_item(TableName="fleettui", Item=bob)
    before = listener_weights(demo)
    with FaultProxy(demo.endpoint_url) as proxy:
        proxy.script("dynamodb.PutItem", *["html200"] * 10)
        cfg = write_config(demo, proxy.url, tmp_path / "team.toml")
        cfg.write_text(cfg.read_text() + '\n[team]\ntable = "fleettui"\n')
        code = main(["shift", "web", "--to", "1.6.0", "--weight", "20", "--config", str(cfg), "--yes"])
        err = capsys.readouterr().err
        assert code == 1, err
        assert "not an AWS response from" in err and "the lock on web was not taken and nothing was changed" in err
        assert proxy.forwarded["elasticloadbalancing.ModifyListener"] == 0 and listener_weights(demo) == before
        assert ddb.get_item(TableName="fleettui", Key={"pk": bob["pk"], "sk": bob["sk"]})["Item"] == bob
        journal = Context(config=load_config(cfg), read_only=False).store.journal
        assert isinstance(journal, TeamJournal) and journal.pending() == 2   # not dropped as "sent"
        assert not [i for i in ddb.scan(TableName="fleettui")["Items"] if i["pk"]["S"].startswith("audit#")]
        proxy.clear_scripts()                  # AWS's own answers again: the next `audit` sends them
        assert main(["audit", "--config", str(cfg)]) == 0
        assert "sent 2 queued events" in capsys.readouterr().err and journal.pending() == 0
    audit = [json.loads(i["body"]["S"]) for i in ddb.scan(TableName="fleettui")["Items"]
             if i["pk"]["S"].startswith("audit#")]
    assert sorted(e["event"] for e in audit) == ["plan_created", "plan_finished"]
    assert next(e for e in audit if e["event"] == "plan_finished")["status"] == "refused"
