"""The gateway's hook with real aiobotocore clients and no server: botocore's own ``before-send`` event stands in
for the transport (a handler that returns a response ends the request there), recording each request that would
have left the process. A refused operation must never reach it; an allowed one must, exactly once. Fast (no moto,
no network), for mutation testing (README "Test strength"); the same guard against moto is in tests/test_actions.py.
"""
from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs

import pytest
from aiobotocore.awsrequest import AioAWSResponse
from botocore.exceptions import (
    BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError, NoCredentialsError, ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

from fleettui.aws import gateway as gwmod
from fleettui.aws import permissions
from fleettui.aws.gateway import Gateway, MutationRefused, _is_loopback, is_read_operation, translate_error
from fleettui.config import AwsConfig
from fleettui.actions.planning import PlanError
from fleettui.errors import AwsError, FleetError

ENDPOINT = "http://127.0.0.1:9"          # nothing listens there: a request that got through would fail loudly
REGION = "us-east-1"


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    async def read(self) -> bytes:
        return self.body


class Transport:
    """Answers every request in place of the network and records what was sent: (operation, parameters)."""

    def __init__(self, answers: dict[str, tuple[int, bytes]] | None = None):
        self.sent: list[tuple[str, dict]] = []
        self.answers = answers or {}

    def __call__(self, request, event_name: str, **_kw):
        op = event_name.rsplit(".", 1)[1]
        body = request.body or b""
        body = body.decode() if isinstance(body, bytes) else str(body)
        params = json.loads(body) if body.startswith("{") else {k: v[0] for k, v in parse_qs(body).items()}
        self.sent.append((op, params))
        answer = self.answers.get(op, (200, _ok(op)))
        if answer == "hang":
            return asyncio.sleep(30)                 # no answer (a coroutine: aiobotocore awaits it)
        auth = request.headers.get("Authorization") or b""
        auth = auth.decode() if isinstance(auth, bytes) else auth
        region = auth.split("Credential=", 1)[-1].split("/")[2] if "Credential=" in auth else None
        status, payload = answer({**params, "_region": region}) if callable(answer) else answer
        return AioAWSResponse(request.url, status, {"x-amzn-requestid": f"rid-{op}"}, _Raw(payload))


def _ok(op: str) -> bytes:
    if op in ("CreateTable", "PutItem", "Query", "GetItem", "DescribeTable"):
        return b"{}"
    return (f"<{op}Response><{op}Result/><requestId>rid-{op}</requestId>"
            f"<ResponseMetadata><RequestId>rid-{op}</RequestId></ResponseMetadata></{op}Response>").encode()


async def _call(gw: Gateway, transport: Transport, service: str, operation: str, **params):
    client = await gw.client(service, REGION)
    client.meta.events.register("before-send", transport, unique_id="test-transport")
    return await gw.call(service, REGION, operation, **params)


@pytest.fixture(scope="module")
def gateways():
    """One event loop and one gateway per kind (read-only or not, what it allows, its budgets) for the module:
    creating an aiobotocore client costs far more than a call through it."""
    loop = asyncio.new_event_loop()
    made: dict[tuple, tuple[Gateway, Transport]] = {}
    yield loop, made
    for gw, _ in made.values():
        loop.run_until_complete(gw.__aexit__(None, None, None))
    loop.close()


@pytest.fixture
def run(gateways):
    loop, made = gateways

    def run(coro_fn, *, read_only: bool = False, answers: dict | None = None, **gw_kw):
        """``coro_fn(gw, transport)`` on the gateway of this kind, its records emptied first; returns (its result or
        the exception it raised, the gateway, the transport)."""
        key = (read_only, tuple(sorted(gw_kw.items(), key=str)))
        if key not in made:
            gw = Gateway(AwsConfig(regions=(REGION,), endpoint_url=ENDPOINT), read_only=read_only, max_attempts=1,
                         **gw_kw)
            made[key] = (loop.run_until_complete(gw.__aenter__()), Transport())
        gw, transport = made[key]
        gw.sent.clear(), gw.refused.clear(), gw.mutations.clear(), transport.sent.clear()
        transport.answers = answers or {}

        async def go():
            try:
                return await coro_fn(gw, transport)
            except Exception as e:  # noqa: BLE001 - the test looks at it
                return e
        return loop.run_until_complete(go()), gw, transport
    return run


# -- what leaves the process ---------------------------------------------------------------------------------

def test_an_allowed_mutation_is_sent_once_and_recorded(run):
    out, gw, t = run(lambda gw, t: _call(gw, t, "ec2", "terminate_instances", InstanceIds=["i-1"]))
    assert not isinstance(out, Exception), out
    assert [(op, p.get("InstanceId.1")) for op, p in t.sent] == [("TerminateInstances", "i-1")]
    assert dict(gw.sent) == {"ec2.TerminateInstances": 1} and gw.request_count == 1
    assert gw.mutations == [("ec2.TerminateInstances", "rid-TerminateInstances")]
    assert gw.refused == []


@pytest.mark.parametrize("service, operation, params, name", [
    ("ec2", "stop_instances", {"InstanceIds": ["i-1"]}, "ec2:StopInstances"),
    ("ec2", "modify_instance_attribute", {"InstanceId": "i-1", "DisableApiTermination": {"Value": True}},
     "ec2:ModifyInstanceAttribute"),
    ("elbv2", "delete_load_balancer", {"LoadBalancerArn": "arn:x"}, "elbv2:DeleteLoadBalancer"),
    ("autoscaling", "delete_launch_configuration", {"LaunchConfigurationName": "x"},
     "autoscaling:DeleteLaunchConfiguration"),
    ("dynamodb", "create_table", {"TableName": "t", "AttributeDefinitions": [{"AttributeName": "k",
                                                                               "AttributeType": "S"}],
                                  "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}]}, "dynamodb:CreateTable"),
])
def test_an_operation_off_the_allowlist_never_reaches_the_transport(service, operation, params, name, run):
    for read_only in (False, True):
        out, gw, t = run(lambda gw, t: _call(gw, t, service, operation, **params), read_only=read_only)
        assert isinstance(out, MutationRefused) and out.exit_code == 2
        assert str(out) == f"{name} is not an allowed operation (fleettui only replaces hosts)"
        assert t.sent == [] and dict(gw.sent) == {} and gw.mutations == []
        assert gw.refused == [name.replace(":", ".")]


@pytest.mark.parametrize("service, operation, params", [
    ("ec2", "terminate_instances", {"InstanceIds": ["i-1"]}),
    ("elbv2", "modify_listener", {"ListenerArn": "arn:x"}),
    ("autoscaling", "set_desired_capacity", {"AutoScalingGroupName": "g", "DesiredCapacity": 1}),
    ("dynamodb", "put_item", {"TableName": "t", "Item": {"k": {"S": "v"}}}),
])
def test_read_only_refuses_every_mutation_before_it_is_sent(service, operation, params, run):
    out, gw, t = run(lambda gw, t: _call(gw, t, service, operation, **params), read_only=True)
    op = "".join(w.capitalize() for w in operation.split("_"))
    assert isinstance(out, MutationRefused)
    assert str(out) == f"read-only mode: refused {service}:{op} (start without --read-only to act)"
    assert t.sent == [] and gw.refused == [f"{service}.{op}"] and gw.mutations == []
    out, gw, t = run(lambda gw, t: _call(gw, t, service, operation, **params), read_only=False)
    assert not isinstance(out, Exception), out
    assert [op for op, _ in t.sent] == [op] and gw.refused == [] and gw.mutations == [
        (f"{service}.{op}", f"rid-{op}")]


@pytest.mark.parametrize("service, operation, params, counted", [
    ("ec2", "describe_instances", {}, "ec2.DescribeInstances"),
    ("elbv2", "describe_target_health", {"TargetGroupArn": "arn:x"},
     "elastic-load-balancing-v2.DescribeTargetHealth"),                              # counted by service id
    ("sts", "get_caller_identity", {}, "sts.GetCallerIdentity"),
    ("dynamodb", "query", {"TableName": "t", "KeyConditionExpression": "k = :v",
                           "ExpressionAttributeValues": {":v": {"S": "x"}}}, "dynamodb.Query"),   # no read's name
    ("dynamodb", "get_item", {"TableName": "t", "Key": {"k": {"S": "v"}}}, "dynamodb.GetItem"),
])
def test_reads_pass_even_in_read_only_mode_and_are_not_recorded_as_mutations(service, operation, params, counted,
                                                                               run):
    out, gw, t = run(lambda gw, t: _call(gw, t, service, operation, **params), read_only=True)
    assert not isinstance(out, Exception), out
    op = "".join(w.capitalize() for w in operation.split("_"))
    assert [o for o, _ in t.sent] == [op]
    assert gw.refused == [] and gw.mutations == [] and dict(gw.sent) == {counted: 1}


def test_team_init_operations_only_through_a_gateway_that_allows_them(run):
    params = {"TableName": "t", "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
              "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}
    out, gw, t = run(lambda gw, t: _call(gw, t, "dynamodb", "create_table", **params),
                     allow=permissions.TEAM_INIT)
    assert not isinstance(out, Exception), out
    assert [o for o, _ in t.sent] == ["CreateTable"] and gw.mutations == [("dynamodb.CreateTable", "rid-CreateTable")]
    out, gw, t = run(lambda gw, t: _call(gw, t, "dynamodb", "create_table", **params),
                     allow=permissions.TEAM_INIT, read_only=True)
    assert isinstance(out, MutationRefused) and t.sent == []


def test_update_auto_scaling_group_may_change_capacity_only(run):
    sizes = {"AutoScalingGroupName": "web-1-6", "MinSize": 0, "MaxSize": 4, "DesiredCapacity": 2}
    out, gw, t = run(lambda gw, t: _call(gw, t, "autoscaling", "update_auto_scaling_group", **sizes))
    assert not isinstance(out, Exception), out
    assert t.sent == [("UpdateAutoScalingGroup", {"Action": "UpdateAutoScalingGroup", "Version": "2011-01-01",
                                                  "AutoScalingGroupName": "web-1-6", "MinSize": "0", "MaxSize": "4",
                                                  "DesiredCapacity": "2"})]
    out, gw, t = run(lambda gw, t: _call(gw, t, "autoscaling", "update_auto_scaling_group",
                                         AutoScalingGroupName="web-1-6", DesiredCapacity=2))
    assert not isinstance(out, Exception) and len(t.sent) == 1
    out, gw, t = run(lambda gw, t: _call(gw, t, "autoscaling", "update_auto_scaling_group", **sizes,
                                         VPCZoneIdentifier="subnet-x",
                                         LaunchTemplate={"LaunchTemplateName": "evil", "Version": "9"}))
    assert isinstance(out, MutationRefused)
    assert str(out) == ("autoscaling:UpdateAutoScalingGroup may change only DesiredCapacity, MaxSize, MinSize "
                        "(refused: LaunchTemplate, VPCZoneIdentifier)")
    assert t.sent == [] and gw.refused == ["autoscaling.UpdateAutoScalingGroup"] and gw.mutations == []
    # other operations are not limited by it
    out, gw, t = run(lambda gw, t: _call(gw, t, "autoscaling", "set_desired_capacity", AutoScalingGroupName="g",
                                         DesiredCapacity=1, HonorCooldown=True))
    assert not isinstance(out, Exception) and len(t.sent) == 1 and gw.refused == []


def test_the_declarations_the_hook_reads():
    assert gwmod.MUTATING_ALLOWLIST is permissions.MUTATING
    assert permissions.ONLY_PARAMS == {("autoscaling", "UpdateAutoScalingGroup"): frozenset(
        {"AutoScalingGroupName", "MinSize", "MaxSize", "DesiredCapacity"})}
    assert permissions.iam_action("elbv2", "ModifyListener") == "elasticloadbalancing:ModifyListener"
    assert permissions.iam_action("ec2", "RunInstances") == "ec2:RunInstances"
    assert permissions.iam_action("dynamodb", "PutItem") == "dynamodb:PutItem"


# -- pure parts ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("op, read", [
    ("DescribeInstances", True), ("describe_instances", True), ("ListTagsForResource", True), ("list_tags", True),
    ("GetMetricData", True), ("get_metric_data", True), ("LookupEvents", True), ("lookup_events", True),
    ("get_caller_identity", True), ("GetCallerIdentity", True),
    ("TerminateInstances", False), ("terminate_instances", False), ("Query", False), ("query", False),
    ("describeinstances", False), ("listing", False), ("getaway", False), ("lookupx", False),
    ("ModifyListener", False), ("", False), ("Desc", False),
])
def test_is_read_operation(op, read):
    assert is_read_operation(op) is read


@pytest.mark.parametrize("url, loopback", [
    (None, False), ("", False), ("http://localhost:5000", True), ("http://127.0.0.1:9", True),
    ("http://127.8.9.10", True), ("http://[::1]:5000/", True), ("https://ec2.us-east-1.amazonaws.com", False),
    ("http://10.0.0.1:5000", False), ("http://localhost.example.com", False), ("http://0.0.0.0:5000", False),
])
def test_is_loopback(url, loopback):
    assert _is_loopback(url) is loopback


def test_a_loopback_endpoint_never_uses_a_real_profile(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    gw = Gateway(AwsConfig(profile="prod-admin", regions=(REGION,), endpoint_url="http://localhost:5000"))
    creds = asyncio.run(gw._session.get_credentials())
    assert (creds.access_key, creds.secret_key) == ("testing", "testing")
    assert gw.endpoint == "http://localhost:5000"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "envsecret")
    gw = Gateway(AwsConfig(profile="prod-admin", regions=(REGION,), endpoint_url="http://127.0.0.1:5000"))
    assert asyncio.run(gw._session.get_credentials()).access_key == "AKIAENV"
    assert Gateway(AwsConfig(regions=(REGION,))).endpoint == "AWS"


def test_parse_timestamp():
    from datetime import datetime, timedelta, timezone
    p = gwmod._parse_timestamp
    got = p("2026-11-22T12:00:00Z")                        # fromisoformat's (a datetime.timezone), not botocore's
    assert got == datetime(2026, 11, 22, 12, tzinfo=timezone.utc) and type(got.tzinfo) is timezone
    assert p("2026-11-22T12:00:00.000Z").utcoffset() == timedelta(0)
    got = p("2026-11-22T14:00:00+02:00")
    assert got == datetime(2026, 11, 22, 12, tzinfo=timezone.utc) and type(got.tzinfo) is timezone
    naive = p("2026-11-22T12:00:00")                       # no zone: left to botocore's parser, as it was
    assert naive == datetime(2026, 11, 22, 12)
    assert p("Sun, 22 Nov 2026 12:00:00 GMT") == datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
    assert p(1795348800) == datetime(2026, 11, 22, 12, tzinfo=timezone.utc)


def _client_error(code, message="", rid="rid-1"):
    resp = {"Error": {"Code": code, **({"Message": message} if message is not None else {})}}
    if rid:
        resp["ResponseMetadata"] = {"RequestId": rid}
    return ClientError(resp, "ModifyListener")


@pytest.mark.parametrize("error, text, code, rid", [
    (_client_error("ValidationError", "bad weight\nmore detail"),
     "elbv2:modify_listener in us-east-1 failed: ValidationError: bad weight (request rid-1)", "ValidationError", "rid-1"),
    (_client_error("ValidationError", "  "), "elbv2:modify_listener in us-east-1 failed: ValidationError (request rid-1)",
     "ValidationError", "rid-1"),
    (_client_error("Throttling", None, rid=None), "elbv2:modify_listener in us-east-1 failed: Throttling",
     "Throttling", None),
    (ClientError({}, "ModifyListener"), "elbv2:modify_listener in us-east-1 failed: Error", "Error", None),
    (_client_error("AccessDenied", "not you"), "access denied for elbv2:modify_listener in us-east-1: not you",
     "AccessDenied", "rid-1"),
    (_client_error("AccessDeniedException", ""), "access denied for elbv2:modify_listener in us-east-1",
     "AccessDeniedException", "rid-1"),
    (_client_error("UnauthorizedOperation", "x"), "access denied for elbv2:modify_listener in us-east-1: x",
     "UnauthorizedOperation", "rid-1"),
    (_client_error("AuthFailure", "x"), "access denied for elbv2:modify_listener in us-east-1: x", "AuthFailure",
     "rid-1"),
    (_client_error("ExpiredToken", "x"), "AWS credentials have expired: refresh them (e.g. `aws sso login`)",
     "ExpiredToken", "rid-1"),
    (_client_error("ExpiredTokenException", "x"), "AWS credentials have expired: refresh them (e.g. `aws sso login`)",
     "ExpiredTokenException", "rid-1"),
    (_client_error("RequestExpired", "x"), "AWS credentials have expired: refresh them (e.g. `aws sso login`)",
     "RequestExpired", "rid-1"),
])
def test_translate_client_errors(error, text, code, rid):
    got = translate_error(error, "elbv2", "us-east-1", "modify_listener", "AWS")
    assert isinstance(got, AwsError)
    assert (str(got), got.code, got.request_id) == (text, code, rid)


@pytest.mark.parametrize("error, text", [
    (NoCredentialsError(), "no AWS credentials found: set AWS_PROFILE / [aws].profile, or run `aws sso login`"),
    (EndpointConnectionError(endpoint_url="http://x"),
     "cannot reach http://e for ec2:describe_instances in eu-west-1 (network down or unknown region?)"),
    (ConnectTimeoutError(endpoint_url="http://x"),
     "cannot reach http://e for ec2:describe_instances in eu-west-1 (network down or unknown region?)"),
    (ReadTimeoutError(endpoint_url="http://x"), "ec2:describe_instances in eu-west-1 timed out waiting for http://e"),
    (BotoCoreError(), "ec2:describe_instances in eu-west-1: An unspecified error occurred"),
    (ResponseParserError("Unable to parse response (not XML), invalid XML received\n<html>" + "x" * 200),
     "ec2:describe_instances in eu-west-1 failed: http://e answered something that is not an AWS response (Unable "
     "to parse response (not XML), invalid XML received)"),
    (ResponseParserError("y" * 300), "ec2:describe_instances in eu-west-1 failed: http://e answered something that is "
     "not an AWS response (" + "y" * 120 + ")"),
    (ConnectionRefusedError(111, "Connection refused"), "cannot reach http://e for ec2:describe_instances in eu-west-1: "
     "Connection refused"),
    (OSError("socket closed"), "cannot reach http://e for ec2:describe_instances in eu-west-1: socket closed"),
])
def test_translate_other_errors(error, text):
    got = translate_error(error, "ec2", "eu-west-1", "describe_instances", "http://e")
    assert isinstance(got, AwsError) and str(got) == text


def test_translate_keeps_our_own_errors_and_unknown_ones():
    refused = MutationRefused("no")
    assert translate_error(refused, "ec2", "r", "op", "e") is refused
    mine = FleetError("mine")
    assert translate_error(mine, "ec2", "r", "op", "e") is mine
    other = ValueError("v")
    assert translate_error(other, "ec2", "r", "op", "e") is other


# -- a call's answer and its budget --------------------------------------------------------------------------

def test_an_error_answer_is_one_line_with_its_request_id(run):
    answers = {"TerminateInstances": (400, b"<Response><Errors><Error><Code>UnauthorizedOperation</Code>"
                                           b"<Message>You are not authorized</Message></Error></Errors>"
                                           b"<RequestID>rid-9</RequestID></Response>")}
    out, gw, t = run(lambda gw, t: _call(gw, t, "ec2", "terminate_instances", InstanceIds=["i-1"]), answers=answers)
    assert isinstance(out, AwsError)
    assert str(out) == "access denied for ec2:terminate_instances in us-east-1: You are not authorized"
    assert (out.code, out.request_id) == ("UnauthorizedOperation", "rid-9")
    assert len(t.sent) == 1
    assert gw.mutations == [("ec2.TerminateInstances", "rid-9")]      # sent (and refused by AWS): on the record


@pytest.mark.parametrize("operation, params, which", [
    ("describe_instances", {}, "read"), ("query", {"TableName": "t"}, "read"),
    ("terminate_instances", {"InstanceIds": ["i-1"]}, "write"),
])
def test_each_call_is_bounded_by_its_budget(operation, params, which, run):
    """A transport that never answers: the read budget bounds reads (a dynamodb Query is a read), the write budget
    mutations. The other budget is far away, so only the right one can fire."""
    service = "dynamodb" if operation == "query" else "ec2"
    budgets = {"read_budget": 0.01, "write_budget": 30} if which == "read" else {"read_budget": 30,
                                                                                  "write_budget": 0.01}
    op = "".join(w.capitalize() for w in operation.split("_"))
    out, gw, _ = run(lambda gw, t: _call(gw, t, service, operation, **params), answers={op: "hang"}, **budgets)
    assert isinstance(out, AwsError)
    assert str(out) == (f"cannot reach {ENDPOINT} for {service}:{operation} in us-east-1: no answer from {ENDPOINT} "
                        "within 0.01s (every attempt included)")


def test_paginate_fetches_every_page(run):
    pages = {None: b"<DescribeInstancesResponse><reservationSet/><nextToken>t2</nextToken>"
                   b"</DescribeInstancesResponse>",
             "t2": b"<DescribeInstancesResponse><reservationSet><item><reservationId>r-2</reservationId></item>"
                   b"</reservationSet></DescribeInstancesResponse>"}

    async def go(gw, t):
        client = await gw.client("ec2", REGION)
        client.meta.events.register("before-send", t, unique_id="test-transport")
        return [p.get("Reservations") async for p in gw.paginate("ec2", REGION, "describe_instances")]
    out, gw, t = run(go, answers={"DescribeInstances": lambda params: (200, pages[params.get("NextToken")])})
    assert out == [[], [{"ReservationId": "r-2"}]]
    assert [p.get("NextToken") for _, p in t.sent] == [None, "t2"] and gw.request_count == 2


# -- waiters and the caller's identity -----------------------------------------------------------------------

def _instances(state: str) -> bytes:
    return (f"<DescribeInstancesResponse><reservationSet><item><reservationId>r-1</reservationId><instancesSet><item>"
            f"<instanceId>i-1</instanceId><instanceState><code>0</code><name>{state}</name></instanceState></item>"
            f"</instancesSet></item></reservationSet></DescribeInstancesResponse>").encode()


def _wait(delay=0.001, timeout=0.002):
    async def go(gw, t):
        client = await gw.client("ec2", REGION)
        client.meta.events.register("before-send", t, unique_id="test-transport")
        return await gw.wait("ec2", REGION, "instance_running", delay=delay, timeout=timeout, InstanceIds=["i-1"])
    return go


def test_wait_returns_when_the_state_is_reached(run):
    states = iter(["pending", "running"])
    out, gw, t = run(_wait(timeout=0.01), answers={"DescribeInstances": lambda p: (200, _instances(next(states)))})
    assert out is None
    assert [(op, p.get("InstanceId.1")) for op, p in t.sent] == [("DescribeInstances", "i-1")] * 2


@pytest.mark.parametrize("delay, timeout, attempts, said", [
    (0.001, 0.002, 2, "0.002"), (0.001, 0.0035, 3, "0.0035"), (0.01, 0.001, 1, "0.001")])
def test_wait_gives_up_after_its_time_with_as_many_attempts_as_fit(delay, timeout, attempts, said, run):
    out, gw, t = run(_wait(delay, timeout), answers={"DescribeInstances": (200, _instances("pending"))})
    assert isinstance(out, AwsError)
    assert str(out) == f"gave up after {said}s waiting (instance_running in us-east-1): Max attempts exceeded"
    assert len(t.sent) == attempts


def test_wait_stops_at_a_terminal_state_and_says_so(run):
    out, gw, t = run(_wait(timeout=1), answers={"DescribeInstances": (200, _instances("terminated"))})
    assert isinstance(out, AwsError) and len(t.sent) == 1
    assert str(out) == ("stopped waiting (instance_running in us-east-1): Waiter encountered a terminal failure state: "
                        'For expression "Reservations[].Instances[].State.Name" we matched expected path: '
                        '"terminated" at least once')


def test_wait_reports_an_error_answer_by_its_message(run):
    error = (b"<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized"
             b"</Message></Error></Errors><RequestID>rid-3</RequestID></Response>")
    out, gw, t = run(_wait(timeout=1), answers={"DescribeInstances": (403, error)})
    assert isinstance(out, AwsError) and len(t.sent) == 1
    assert str(out) == "stopped waiting (instance_running in us-east-1): You are not authorized"


def test_wait_translates_what_is_not_a_waiter_error(run):
    async def go(gw, t):
        client = await gw.client("ec2", REGION)
        client.meta.events.register("before-send", t, unique_id="test-transport")
        return await gw.wait("ec2", REGION, "instance_running", delay=0.001, timeout=1, InstanceIds="not-a-list")
    out, gw, t = run(go)
    assert isinstance(out, AwsError) and t.sent == []
    assert str(out).startswith("ec2:instance_running in us-east-1: Parameter validation failed:")


def test_caller_identity(run):
    body = (b"<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/op</Arn>"
            b"<UserId>AID</UserId><Account>123456789012</Account></GetCallerIdentityResult>"
            b"</GetCallerIdentityResponse>")

    async def go(gw, t):
        client = await gw.client("sts", "eu-west-1")
        client.meta.events.register("before-send", t, unique_id="test-transport")
        return await gw.caller_identity("eu-west-1")
    out, gw, t = run(go, answers={"GetCallerIdentity": (200, body)})
    assert (out["Account"], out["Arn"]) == ("123456789012", "arn:aws:iam::123456789012:user/op")
    assert [op for op, _ in t.sent] == ["GetCallerIdentity"] and dict(gw.sent) == {"sts.GetCallerIdentity": 1}


def test_a_failing_page_says_which_call_failed(run):
    async def go(gw, t):
        client = await gw.client("ec2", REGION)
        client.meta.events.register("before-send", t, unique_id="test-transport")
        return [p async for p in gw.paginate("ec2", REGION, "describe_instances")]
    error = (b"<Response><Errors><Error><Code>InternalError</Code><Message>boom</Message></Error></Errors>"
             b"<RequestID>rid-5</RequestID></Response>")
    out, gw, t = run(go, answers={"DescribeInstances": (400, error)})
    assert isinstance(out, AwsError)
    assert str(out) == "ec2:describe_instances in us-east-1 failed: InternalError: boom (request rid-5)"


# -- launch: what a new generation is launched from (resolve_target reads AWS through the gateway) ------------

def _lt_answers(*, template=True, versions=((3, "ami-new"),), image=True, image_tags=(("Version", "1.6"),),
                image_name="web-1.6", version_error=None, group=None):
    def templates(p):
        if not template:
            return 400, (b"<Response><Errors><Error><Code>InvalidLaunchTemplateName.NotFoundException</Code>"
                         b"<Message>no</Message></Error></Errors><RequestID>r</RequestID></Response>")
        name = p.get("LaunchTemplateName.1") or "web-lt"
        return 200, (f"<DescribeLaunchTemplatesResponse><launchTemplates><item><launchTemplateId>lt-1"
                     f"</launchTemplateId><launchTemplateName>{name}</launchTemplateName></item></launchTemplates>"
                     f"</DescribeLaunchTemplatesResponse>").encode()

    def lt_versions(p):
        if version_error:
            return 400, (f"<Response><Errors><Error><Code>{version_error}</Code><Message>no</Message></Error>"
                         f"</Errors><RequestID>r</RequestID></Response>").encode()
        items = "".join(f"<item><launchTemplateId>lt-1</launchTemplateId><versionNumber>{n}</versionNumber>"
                        f"<launchTemplateData>{f'<imageId>{ami}</imageId>' if ami else ''}</launchTemplateData>"
                        f"</item>" for n, ami in versions)
        return 200, (f"<DescribeLaunchTemplateVersionsResponse><launchTemplateVersionSet>{items}"
                     f"</launchTemplateVersionSet></DescribeLaunchTemplateVersionsResponse>").encode()

    def images(p):
        if not image:
            return 200, b"<DescribeImagesResponse><imagesSet/></DescribeImagesResponse>"
        tags = "".join(f"<item><key>{k}</key><value>{v}</value></item>" for k, v in image_tags)
        name = f"<name>{image_name}</name>" if image_name else ""
        return 200, (f"<DescribeImagesResponse><imagesSet><item><imageId>{p['ImageId.1']}</imageId>{name}"
                     f"<tagSet>{tags}</tagSet></item></imagesSet></DescribeImagesResponse>").encode()

    def groups(p):
        mn, mx, desired = group
        return 200, (f"<DescribeAutoScalingGroupsResponse><DescribeAutoScalingGroupsResult><AutoScalingGroups>"
                     f"<member><AutoScalingGroupName>{p['AutoScalingGroupNames.member.1']}</AutoScalingGroupName>"
                     f"<MinSize>{mn}</MinSize><MaxSize>{mx}</MaxSize><DesiredCapacity>{desired}</DesiredCapacity>"
                     f"</member></AutoScalingGroups></DescribeAutoScalingGroupsResult>"
                     f"</DescribeAutoScalingGroupsResponse>").encode()
    return {"DescribeLaunchTemplates": templates, "DescribeLaunchTemplateVersions": lt_versions,
            "DescribeImages": images, "DescribeAutoScalingGroups": groups}


def _resolve(snap, cfg, intent):
    from fleettui.actions.verbs.launch import resolve_target

    async def go(gw, t):
        for service in ("ec2", "autoscaling"):
            for region in (REGION, "eu-west-1"):
                client = await gw.client(service, region)
                client.meta.events.register("before-send", t, unique_id="test-transport")
        return await resolve_target(gw, snap, cfg, intent)
    return go


def test_resolve_target_reads_the_template_version_and_its_image(run):
    from fleettui.actions.verbs.launch import Launch, LaunchTarget
    from test_planners import G, fleet, tg
    snap, cfg = fleet(G("1.4", 2, 0), G("1.5", 3, 100))
    out, gw, t = run(_resolve(snap, cfg, Launch("web")), answers=_lt_answers())
    assert out == LaunchTarget(version="1.6", image_id="ami-new", launch_template_version=3, region="us-east-1",
                               count=3, template_target_group=tg("b"), subnets=("subnet-a",), launch_template="web-lt",
                               group_sizes=None, shared_group=None)
    assert [(op, p.get("LaunchTemplateName") or p.get("LaunchTemplateName.1"), p.get("LaunchTemplateVersion.1"),
             p.get("ImageId.1"), p.get("IncludeDeprecated")) for op, p in t.sent] == [
        ("DescribeLaunchTemplates", "web-lt", None, None, None),
        ("DescribeLaunchTemplateVersions", "web-lt", "$Default", None, None),
        ("DescribeImages", None, None, "ami-new", "true")]
    out, gw, t = run(_resolve(snap, cfg, Launch("web", lt_version=2, count=5)),
                     answers=_lt_answers(versions=((2, "ami-b"),), image_tags=(), image_name=None))
    assert (out.version, out.image_id, out.launch_template_version, out.count) == ("ami-b", "ami-b", 2, 5)
    assert t.sent[1][1]["LaunchTemplateVersion.1"] == "2"
    out, gw, t = run(_resolve(snap, cfg, Launch("web")), answers=_lt_answers(image_tags=(("Other", "x"),)))
    assert out.version == "web-1.6"                                      # no Version tag: the image's name


def test_resolve_target_without_a_live_generation_and_in_the_listeners_region(run):
    from fleettui.actions.verbs.launch import Launch
    from test_planners import G, fleet, moved, tg
    snap, cfg = fleet(G("1.4", 2, 0), G("1.5", 3, 0, tg=False), regions=("eu-west-1", "us-east-1"))
    snap = moved(snap, "eu-west-1", "i-b0", subnet_id="subnet-eu")
    out, gw, t = run(_resolve(snap, cfg, Launch("web")), answers=_lt_answers())
    # the listener's region, the newest generation's size, the newest target group, subnets of that region only
    assert (out.region, out.count, out.template_target_group, out.subnets) == ("us-east-1", 3, tg("a"), ("subnet-a",))
    nolst, cfg = fleet(listener=False, regions=("eu-west-1",))
    out, gw, t = run(_resolve(nolst, cfg, Launch("web")), answers=_lt_answers())
    assert (out.region, out.count, out.template_target_group, out.subnets) == ("eu-west-1", 1, None, ())


def test_resolve_target_of_an_auto_scaling_service(run):
    from fleettui.actions.verbs.launch import Launch
    from test_planners import G, fleet
    shared, cfg = fleet(G("1.5", 3, 100, in_shared_asg="web-shared"))
    out, gw, t = run(_resolve(shared, cfg, Launch("web", count=4)), answers=_lt_answers(group=(1, 6, 3)))
    assert (out.shared_group, out.group_sizes, out.count) == ("web-shared", (1, 6, 4), 4)
    assert t.sent[-1] == ("DescribeAutoScalingGroups", {"Action": "DescribeAutoScalingGroups", "Version": "2011-01-01",
                                                        "AutoScalingGroupNames.member.1": "web-shared"})
    own, cfg = fleet(G("1.5", 2, 100, asg=(2, 5, 2)))
    out, gw, t = run(_resolve(own, cfg, Launch("web")), answers=_lt_answers())
    assert (out.shared_group, out.group_sizes) == (None, (2, 5, 2))
    assert "DescribeAutoScalingGroups" not in [op for op, _ in t.sent]


@pytest.mark.parametrize("intent_kw, answers_kw, cfg_kw, msg", [
    ({}, {}, {"launch_template": None}, "web has no launch_template in the config"),
    ({"lt_version": 0}, {}, {}, "--lt-version must be at least 1 (got 0)"),
    ({"count": 0}, {}, {}, "--count must be at least 1 (got 0)"),
    ({}, {"template": False}, {}, "launch template web-lt not found in us-east-1"),
    ({"lt_version": 9}, {"version_error": "InvalidLaunchTemplateId.VersionNotFound"}, {},
     "web-lt has no version 9 in us-east-1"),
    ({"lt_version": 9}, {"versions": ()}, {}, "web-lt has no version 9 in us-east-1"),
    ({}, {"versions": ((3, None),)}, {}, "web-lt v3 names no image"),
    ({}, {"image": False}, {}, "image ami-new of web-lt v3 does not exist (deregistered?)"),
])
def test_resolve_target_refusals(intent_kw, answers_kw, cfg_kw, msg, run):
    from fleettui.actions.verbs.launch import Launch
    from test_planners import G, fleet
    snap, cfg = fleet(G("1.5", 2, 100), **cfg_kw)
    out, gw, t = run(_resolve(snap, cfg, Launch("web", **intent_kw)), answers=_lt_answers(**answers_kw))
    assert isinstance(out, PlanError) and str(out) == msg
    assert gw.mutations == []


def test_resolve_target_passes_other_errors_on(run):
    from fleettui.actions.verbs.launch import Launch
    from test_planners import G, fleet
    snap, cfg = fleet(G("1.5", 2, 100))
    out, gw, t = run(_resolve(snap, cfg, Launch("web")), answers=_lt_answers(version_error="RequestLimitExceeded"))
    assert isinstance(out, AwsError) and not isinstance(out, PlanError)
    assert str(out) == ("ec2:describe_launch_template_versions in us-east-1 failed: RequestLimitExceeded: no "
                        "(request r)")


def test_the_clients_configuration(monkeypatch):
    """Retries are botocore's (adaptive), each attempt bounded: what keeps a dead endpoint from hanging a refresh."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    gw = Gateway(AwsConfig(regions=(REGION,), endpoint_url=ENDPOINT))
    cfg = gw._config
    assert (cfg.retries, cfg.connect_timeout, cfg.read_timeout, cfg.max_pool_connections) == (
        {"mode": "adaptive", "total_max_attempts": 8}, 5, 10, 32)
    assert (gw.read_budget, gw.write_budget, gw.read_only) == (20.0, 60.0, False)
    assert gw.allowed == permissions.MUTATING
    assert (dict(gw.sent), gw.refused, gw.mutations, gw.request_count) == ({}, [], [], 0)
    gw = Gateway(AwsConfig(regions=(REGION,)), read_only=True, max_attempts=3, connect_timeout=1, read_timeout=2,
                 read_budget=3, write_budget=4, allow=permissions.TEAM_INIT)
    assert (gw._config.retries, gw._config.connect_timeout, gw._config.read_timeout) == (
        {"mode": "adaptive", "total_max_attempts": 3}, 1, 2)
    assert (gw.read_budget, gw.write_budget, gw.read_only) == (3, 4, True)
    assert gw.allowed == permissions.MUTATING | permissions.TEAM_INIT


def test_a_real_endpoint_uses_the_profile_and_names_a_missing_one(monkeypatch, tmp_path):
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    gw = Gateway(AwsConfig(profile="nope", regions=(REGION,)))
    assert gw._session.profile == "nope" and gw.endpoint == "AWS"

    async def go():
        async with gw:
            return await gw.client("ec2", REGION)
    with pytest.raises(AwsError) as e:
        asyncio.run(go())
    assert str(e.value) == "AWS profile 'nope' not found (The config profile (nope) could not be found)"
    assert Gateway(AwsConfig(regions=(REGION,)))._session.profile is None


def test_timestamps_in_answers_are_parsed_by_fromisoformat(run):
    from datetime import datetime, timezone
    page = (b"<DescribeInstancesResponse><reservationSet><item><reservationId>r-1</reservationId><instancesSet><item>"
            b"<instanceId>i-1</instanceId><launchTime>2026-11-22T12:00:00.000Z</launchTime></item></instancesSet>"
            b"</item></reservationSet></DescribeInstancesResponse>")
    out, gw, t = run(lambda gw, t: _call(gw, t, "ec2", "describe_instances"), answers={"DescribeInstances": (200, page)})
    launched = out["Reservations"][0]["Instances"][0]["LaunchTime"]
    assert launched == datetime(2026, 11, 22, 12, tzinfo=timezone.utc) and type(launched.tzinfo) is timezone


def test_replace_launches_from_the_template_each_region_has(run, tmp_path):
    """The replace verb looks the launch template up in every region of its bare hosts (templates are regional):
    a region without it refuses the plan, by name."""
    from fleettui.actions.api import Actions
    from fleettui.actions.verbs.replace import VERB, Replace
    from fleettui.config.loader import Config
    from fleettui.store.local import JsonlJournal
    from test_planners import G, fleet, moved
    snap, cfg = fleet(G("1.5", 2, 100), regions=("us-east-1", "eu-west-1"))
    snap = moved(snap, "eu-west-1", "i-a1")
    found = {"us-east-1"}

    def templates(p):
        if p["_region"] in found:
            return 200, (b"<DescribeLaunchTemplatesResponse><launchTemplates><item><launchTemplateId>lt-1"
                         b"</launchTemplateId><launchTemplateName>web-lt</launchTemplateName></item>"
                         b"</launchTemplates></DescribeLaunchTemplatesResponse>")
        return 200, b"<DescribeLaunchTemplatesResponse><launchTemplates/></DescribeLaunchTemplatesResponse>"

    async def go(gw, t):
        for region in ("us-east-1", "eu-west-1"):
            client = await gw.client("ec2", region)
            client.meta.events.register("before-send", t, unique_id="test-transport")
        actions = Actions(config=Config(path=None, aws=gw.aws, services=(cfg,)), gw=gw, read_only=False,
                          journal=JsonlJournal(tmp_path / "journal.jsonl"))
        return await VERB.plan(actions, Replace("web", hosts=("i-a0", "i-a1")), snap)
    out, gw, t = run(go, answers={"DescribeLaunchTemplates": templates})
    assert isinstance(out, PlanError)
    assert str(out) == "cannot replace i-a1: launch template web-lt not found in eu-west-1"
    assert [op for op, _ in t.sent] == ["DescribeLaunchTemplates"] * 2
    found.add("eu-west-1")
    out, gw, t = run(go, answers={"DescribeLaunchTemplates": templates})
    assert [s.region for s in out.steps if s.kind == "launch"] == ["us-east-1", "eu-west-1"]


def test_wait_sleeps_the_delay_it_was_given_between_attempts(run, monkeypatch):
    from aiobotocore import waiter
    slept = []

    async def sleep(self, amount):
        slept.append(amount)
    monkeypatch.setattr(waiter.AIOWaiter, "_sleep", sleep)
    monkeypatch.setattr(waiter.AnyioWaiter, "_sleep", sleep, raising=False)
    out, gw, t = run(_wait(delay=7, timeout=21), answers={"DescribeInstances": (200, _instances("pending"))})
    assert str(out) == "gave up after 21s waiting (instance_running in us-east-1): Max attempts exceeded"
    assert (len(t.sent), slept) == (3, [7, 7])


def test_an_unreachable_endpoint_is_named_by_calls_and_waits(run):
    """Nothing listens on the endpoint (no transport stands in for this region): one line naming it."""
    async def call(gw, t):
        return await gw.call("ec2", "ap-south-1", "describe_instances")

    async def wait(gw, t):
        return await gw.wait("ec2", "ap-south-1", "instance_running", delay=0.001, timeout=1, InstanceIds=["i-1"])
    out, gw, t = run(call)
    assert isinstance(out, AwsError) and str(out) == (
        f"cannot reach {ENDPOINT} for ec2:describe_instances in ap-south-1 (network down or unknown region?)")
    out, gw, t = run(wait)
    assert isinstance(out, AwsError) and str(out) == (
        f"cannot reach {ENDPOINT} for ec2:instance_running in ap-south-1 (network down or unknown region?)")


def test_resolve_target_edges(run):
    from fleettui.actions.verbs.launch import Launch
    from test_planners import G, fleet
    snap, cfg = fleet(G("1.4", 2, 0), G("1.5", 3, 100))
    out, gw, t = run(_resolve(snap, cfg, Launch("web", lt_version=1, count=1)), answers=_lt_answers())
    assert (out.launch_template_version, out.count) == (3, 1)               # 1 is allowed for both
    three, cfg = fleet(G("1.4", 1, 0), G("1.5", 2, 0), G("1.6", 4, 0))     # nothing live: the newest decides
    out, gw, t = run(_resolve(three, cfg, Launch("web")), answers=_lt_answers())
    assert out.count == 4
    bare, cfg = fleet(G("1.5", 3, 100), kind="asg")                          # declared asg: its first own group
    out, gw, t = run(_resolve(bare, cfg, Launch("web")), answers=_lt_answers())
    assert (out.group_sizes, out.shared_group) == ((3, 3, 3), None)
    empty, cfg = fleet(kind="asg")
    out, gw, t = run(_resolve(empty, cfg, Launch("web")), answers=_lt_answers())
    assert (out.group_sizes, out.count, out.template_target_group) == ((1, 1, 1), 1, None)
