"""A bare emulated AWS for the fast tests of the executor and the locks (mutation testing, README "Test strength").

The session's moto server (conftest's ``aws_server``) WITHOUT the demo fleet, and not reset: a reset makes moto
build its EC2 backend again (default VPC, ~1,300 images) on the next request. Each test asks for what it needs with
boto3 instead, in a known state: the one listener (forwarding to two target groups) put back to the weights the
test wants and stripped of its tags, a new empty team table, a launch template of its own. The code under test talks to it through the real gateway.
"""
from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass

import boto3
import botocore.session
import pytest

from fleettui.aws.gateway import Gateway
from fleettui.config import AwsConfig
from fleettui.emulator.server import DUMMY_KEY

REGION = "us-east-1"
TABLE_SPEC = dict(
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    BillingMode="PAY_PER_REQUEST",
)


def _warm() -> None:
    """Done once, at import: under mutmut the fork server imports this module while collecting, and every mutant's
    forked test run then inherits it instead of paying for it again (seconds on a busy 2-core machine).

    * the loader of AWS's service models, with the models the tests use parsed (every botocore session of a
      test shares it: see :func:`bare`);
    * moto's service modules imported (its server builds a service's app on the first request to it: the first
      one imports everything, ~5 s) and the EC2 backend of the region made (default VPC, ~1,300 images).
    """
    import botocore.loaders
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends
    from moto.moto_server.werkzeug_app import create_backend_app

    _LOADER.append(botocore.loaders.create_loader())
    for service in ("ec2", "elbv2", "dynamodb", "cloudwatch", "sts"):
        Bare("http://127.0.0.1:9").client(service)          # what a client loads, loaded (nothing is sent)
        create_backend_app(service)
    _CLIENTS.clear()
    ec2_backends[DEFAULT_ACCOUNT_ID][REGION].describe_vpcs()


_LOADER: list = []
_CLIENTS: dict = {}
_WORLD: list[tuple[str, list[str]]] = []     # (listener, target groups) once made (moto's state is per process)
_TABLES = itertools.count(1)      # boto3 clients by (service, region, endpoint): creating one costs more than a test


@dataclass
class Bare:
    endpoint_url: str                   # moto itself (boto3's door: the test's own reads and writes)
    via: str | None = None              # the gateway's door, when not moto itself (a FaultProxy in front of it)

    @property
    def aws(self) -> AwsConfig:
        return AwsConfig(regions=(REGION,), endpoint_url=self.via or self.endpoint_url)

    def client(self, service: str, region: str = REGION):
        key = (service, region, self.endpoint_url)
        if key not in _CLIENTS:
            session = botocore.session.get_session()
            session.register_component("data_loader", _LOADER[0])
            _CLIENTS[key] = boto3.Session(botocore_session=session).client(
                service, region_name=region, endpoint_url=self.endpoint_url, aws_access_key_id=DUMMY_KEY,
                aws_secret_access_key=DUMMY_KEY)
        return _CLIENTS[key]

    def gateway(self, **kw) -> Gateway:
        return Gateway(self.aws, **kw)

    def run(self, fn, **gw_kw):
        """``await fn(gw)`` on a fresh gateway (what a command does) and return its result."""
        async def go():
            async with self.gateway(**gw_kw) as gw:
                return await fn(gw)
        return asyncio.run(go())

    # -- resources ------------------------------------------------------------------------------------------
    def listener(self, weights=(100, 0)) -> tuple[str, list[str]]:
        """A load balancer whose listener forwards to target groups web-a and web-b with ``weights``, without
        tags: (listener, [web-a, web-b]). Made once per process (moto keeps one state per process, whatever the
        server) and put back into that state for each test: one ModifyListener and one RemoveTags instead of a
        reset and eight creations; made again after a reset (e.g. by the demo fixture of another test)."""
        elb = self.client("elbv2")
        made = _WORLD[0] if _WORLD else None
        if made is not None:
            try:
                elb.describe_listeners(ListenerArns=[made[0]])
            except elb.exceptions.ListenerNotFoundException:
                made = None
        if made is None:
            _WORLD[:] = [self._make_listener()]
            made = _WORLD[0]
        listener, tgs = made
        elb.modify_listener(ListenerArn=listener, DefaultActions=[forward(dict(zip(tgs, weights)))])
        elb.remove_tags(ResourceArns=[listener], TagKeys=[t["Key"] for d in elb.describe_tags(
            ResourceArns=[listener])["TagDescriptions"] for t in d["Tags"]] or ["none"])
        return listener, list(tgs)

    def _make_listener(self) -> tuple[str, list[str]]:
        ec2, elb = self.client("ec2"), self.client("elbv2")
        vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        subnets = [s["SubnetId"] for s in ec2.describe_subnets(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]][:2]
        lb = elb.create_load_balancer(Name="bare-web", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        tgs = [elb.create_target_group(Name=n, Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
               ["TargetGroupArn"] for n in ("web-a", "web-b")]
        listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=[
            forward({tgs[0]: 100, tgs[1]: 0})])["Listeners"][0]["ListenerArn"]
        return listener, tgs

    def weights(self, listener: str) -> dict[str, int]:
        """target group name -> weight of the listener's default forward action, as AWS reports it."""
        action = self.client("elbv2").describe_listeners(ListenerArns=[listener])["Listeners"][0]["DefaultActions"][0]
        return {g["TargetGroupArn"].split(":")[-1].split("/")[1]: g["Weight"]
                for g in action["ForwardConfig"]["TargetGroups"]}

    def set_weights(self, listener: str, weights: dict[str, int]) -> None:
        """Another operator's client changes the listener."""
        self.client("elbv2").modify_listener(ListenerArn=listener, DefaultActions=[forward(weights)])

    def table(self) -> str:
        """A new, empty team table (a new name each time: no reset needed)."""
        name = f"fleettui-{next(_TABLES)}"
        self.client("dynamodb").create_table(TableName=name, **TABLE_SPEC)
        return name


def forward(weights: dict[str, int]) -> dict:
    return {"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": a, "Weight": w} for a, w in weights.items()]}}


@pytest.fixture
def bare(aws_server, monkeypatch) -> Bare:
    """The session's moto server (not reset: see the module docstring). Every botocore session of the test shares one loader of AWS's service
    models (each gateway would otherwise parse the same JSON again: most of a test's time; the models are only
    read)."""
    monkeypatch.setattr(botocore.session, "create_loader", lambda *a, **k: _LOADER[0])
    return Bare(aws_server.endpoint_url)


_warm()


def without_ts(events) -> list[dict]:
    """Journal events without their time stamps and sequence numbers (the fields a test cannot know; the sequence
    rises strictly from one event to the next, as written)."""
    out, last = [], -1
    for e in events:
        assert isinstance(e.pop("ts"), str)
        seq = e.pop("seq")
        assert isinstance(seq, int) and seq > last, (seq, last)
        last = seq
        out.append(e)
    return out
