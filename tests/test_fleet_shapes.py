"""Fleets beyond the demo's shape, built with boto3 on the moto server (tests/conftest.py's server, the demo's
seeding helpers): five generations of one service behind one listener, then each test moves AWS into its case
(as another tool would) and acts through the action layer like production.

shop (us-east-1), 4 hosts per generation, images 50/40/30/20/10 days old:
    1.0.0 0%   1.1.0 0%   1.2.0 0%   1.3.0 90% (live)   1.4.0 10% (canary)
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from fleettui.actions.api import Actions
from fleettui.actions.verbs import Decommission, Rollback, Shift
from fleettui.aws.gateway import Gateway
from fleettui.domain.model import Role

REGION = "us-east-1"
VERSIONS = ("1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0")
WEIGHTS = {"1.3.0": 90, "1.4.0": 10}


@dataclass
class Shop:
    server: object
    config_path: object
    listener_arn: str
    target_groups: dict[str, str]           # version -> TG ARN
    hosts: dict[str, list[str]]             # version -> instance ids
    images: dict[str, str]                  # version -> AMI

    def client(self, service: str):
        from fleettui.emulator.server import boto3_client

        return boto3_client(service, REGION, self.server.endpoint_url)

    def config(self):
        from fleettui.config import load_config

        return load_config(self.config_path)

    def weights(self) -> dict[str, int]:
        """The listener's default-action weights by version, read straight from moto."""
        action = self.client("elbv2").describe_listeners(ListenerArns=[self.listener_arn])["Listeners"][0][
            "DefaultActions"][0]
        by_arn = {a: v for v, a in self.target_groups.items()}
        return {by_arn[g["TargetGroupArn"]]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]}

    def set_weights(self, weights: dict[str, int]) -> None:
        self.client("elbv2").modify_listener(ListenerArn=self.listener_arn, DefaultActions=[
            {"Type": "forward", "ForwardConfig": {"TargetGroups": [
                {"TargetGroupArn": a, "Weight": weights.get(v, 0)} for v, a in self.target_groups.items()]}}])

    def stop(self, version: str) -> None:
        ec2 = self.client("ec2")
        ec2.stop_instances(InstanceIds=self.hosts[version])
        ec2.get_waiter("instance_stopped").wait(InstanceIds=self.hosts[version], WaiterConfig={"Delay": 0.1})


@pytest.fixture
def shop(aws_server, tmp_path) -> Shop:
    from fleettui.emulator.config_writer import header, service_toml
    from fleettui.emulator.seeder import Seeder

    aws_server.reset()
    s = Seeder(aws_server.endpoint_url, datetime.now(timezone.utc), {"shop": ("team-shop", "cc-4242")})
    sg = s.sg(REGION, "shop-sg")
    images = {v: s.image(REGION, "shop", v, 50 - 10 * k) for k, v in enumerate(VERSIONS)}
    s.launch_template(REGION, "shop-lt", list(images.values()), "m5.large", [sg], None, default=len(VERSIONS))
    hosts = {v: s.run(REGION, "shop", v, 4, [45 - 10 * k, 44 - 10 * k], lt="shop-lt", lt_version=k + 1,
                      image=images[v])
             for k, v in enumerate(VERSIONS)}
    arn, tgs = s.alb(REGION, "shop", [(v, hosts[v], WEIGHTS.get(v, 0)) for v in VERSIONS])
    s.finish()
    path = tmp_path / "shop.toml"
    path.write_text(header(aws_server.endpoint_url, [REGION], "five generations")
                    + service_toml("shop", [REGION], "shop-lt", listener_arn=arn), encoding="utf-8")
    return Shop(aws_server, path, arn, tgs, hosts, images)


def run(shop: Shop, body):
    config = shop.config()

    async def go():
        async with Gateway(config.aws) as gw:
            return await body(Actions(config=config, gw=gw, read_only=False, poll_seconds=0.05, timeout_seconds=30))

    return asyncio.run(go())


def snapshot(shop: Shop):
    return run(shop, lambda a: a.snapshot(["shop"])).service("shop")


async def execute(a, intent):
    plan = await a.plan(intent)
    assert plan.refusal is None, plan.refusal
    outcome = await a.execute(plan, "test")
    assert outcome.ok, outcome.error
    return plan


def test_five_generations_roles_and_rollback_one_generation_at_a_time(shop):
    svc = snapshot(shop)
    assert [(g.version, g.role, g.total, g.healthy) for g in svc.generations] == [
        ("1.0.0", Role.IDLE, 4, 4), ("1.1.0", Role.IDLE, 4, 4), ("1.2.0", Role.IDLE, 4, 4),
        ("1.3.0", Role.LIVE, 4, 4), ("1.4.0", Role.CANARY, 4, 4)]
    assert (svc.rollback.source, svc.rollback.target) == ("1.4.0", "1.3.0")

    # B undoes the newest generation each time it is pressed: 1.4.0, then 1.3.0, then 1.2.0 …
    for target in ("1.3.0", "1.2.0", "1.1.0", "1.0.0"):
        plan = run(shop, lambda a: execute(a, Rollback("shop")))
        assert plan.generation == target
        assert shop.weights() == {v: (100 if v == target else 0) for v in VERSIONS}
    svc = snapshot(shop)
    assert svc.rollback_target is None and not svc.rollback.ready
    assert svc.rollback.reason == "no generation older than 1.0.0 has healthy hosts"


def test_shift_splits_traffic_among_three_generations_then_rollback_takes_all_back(shop):
    run(shop, lambda a: execute(a, Shift("shop", weights=(("1.2.0", 20), ("1.3.0", 50), ("1.4.0", 30)))))
    assert shop.weights() == {"1.0.0": 0, "1.1.0": 0, "1.2.0": 20, "1.3.0": 50, "1.4.0": 30}
    svc = snapshot(shop)
    assert [(g.version, g.role, g.weight) for g in svc.generations] == [
        ("1.0.0", Role.IDLE, 0), ("1.1.0", Role.IDLE, 0), ("1.2.0", Role.IDLE, 20), ("1.3.0", Role.LIVE, 50),
        ("1.4.0", Role.CANARY, 30)]

    # --to/--weight keeps the others' proportions: 1.4.0 to 60% leaves 40% split 20:50 between 1.2.0 and 1.3.0
    run(shop, lambda a: execute(a, Shift("shop", to="1.4.0", weight=60)))
    assert shop.weights() == {"1.0.0": 0, "1.1.0": 0, "1.2.0": 11, "1.3.0": 29, "1.4.0": 60}

    # rollback undoes the newest (1.4.0, now live): every generation but the target leaves traffic in one change
    plan = run(shop, lambda a: execute(a, Rollback("shop")))
    assert plan.summary == "shop: roll back from 1.2.0, 1.4.0 → 1.3.0 gets 100%, in one listener change"
    assert len(plan.steps) == 1
    assert shop.weights() == {"1.0.0": 0, "1.1.0": 0, "1.2.0": 0, "1.3.0": 100, "1.4.0": 0}


def test_rollback_skips_a_generation_without_healthy_hosts(shop):
    """After a full rollout of 1.4.0, the adjacent 1.3.0 has no healthy host (stopped): the rollback target is
    1.2.0, two generations back, and no plan sends traffic to 1.3.0 (shift or rollback --to)."""
    shop.set_weights({"1.4.0": 100})
    shop.stop("1.3.0")
    svc = snapshot(shop)
    assert svc.generation("1.3.0").healthy == 0 and svc.generation("1.3.0").total == 4
    assert [(g.version, g.role) for g in svc.generations] == [
        ("1.0.0", Role.IDLE), ("1.1.0", Role.IDLE), ("1.2.0", Role.ROLLBACK_TARGET), ("1.3.0", Role.IDLE),
        ("1.4.0", Role.LIVE)]
    assert svc.rollback.reason == "roll back from 1.4.0 → 1.2.0 gets 100% (4/4 healthy)"

    refused = run(shop, lambda a: a.plan(Shift("shop", to="1.3.0", weight=10)))
    assert refused.refusal == "1.3.0 has no healthy targets: refusing to send it 10% of traffic"
    refused = run(shop, lambda a: a.plan(Rollback("shop", to="1.3.0")))
    assert refused.refusal == "1.3.0 has no healthy targets: refusing to send it 100% of traffic"
    assert shop.weights()["1.4.0"] == 100

    plan = run(shop, lambda a: execute(a, Rollback("shop")))
    assert plan.generation == "1.2.0"
    assert shop.weights() == {"1.0.0": 0, "1.1.0": 0, "1.2.0": 100, "1.3.0": 0, "1.4.0": 0}


def test_decommission_a_generation_with_no_healthy_host(shop):
    """A generation whose hosts are all stopped takes no traffic and can go: its hosts are terminated and its
    target group removed from the listener and deleted; the others' weights are untouched."""
    shop.stop("1.1.0")
    run(shop, lambda a: execute(a, Decommission("shop", "1.1.0")))
    states = {i["InstanceId"]: i["State"]["Name"] for r in shop.client("ec2").describe_instances(
        InstanceIds=shop.hosts["1.1.0"])["Reservations"] for i in r["Instances"]}
    assert set(states.values()) <= {"shutting-down", "terminated"}, states
    del shop.target_groups["1.1.0"]
    assert shop.weights() == {"1.0.0": 0, "1.2.0": 0, "1.3.0": 90, "1.4.0": 10}
    names = {g["TargetGroupName"] for g in shop.client("elbv2").describe_target_groups()["TargetGroups"]}
    assert "shop-1-1-0" not in names and len(names) == 4


def test_rollback_target_whose_image_is_deregistered_is_not_ready(shop):
    """After a full rollout of 1.4.0, 1.3.0's image is deregistered: its 4 hosts still run and serve, but the
    generation is now known only by its AMI id, with no creation date, so nothing tells whether it is older than
    1.4.0 or where it stands. Rollback is not ready (it used to pick 1.2.0, two generations back, silently);
    --to still rolls back to a generation the operator names."""
    shop.set_weights({"1.4.0": 100})
    ami = shop.images["1.3.0"]
    shop.client("ec2").deregister_image(ImageId=ami)
    svc = snapshot(shop)
    gone = svc.generation(ami)
    assert gone is not None and gone.image.state == "missing" and gone.healthy == 4
    assert svc.rollback_target is None and not any(g.rollback_target for g in svc.generations)
    reason = (f"cannot place {ami} among the generations: its image is missing (no creation date) and it has 4 "
              "healthy hosts; choose the target with rollback --to VERSION")
    assert (svc.rollback.ready, svc.rollback.reason) == (False, reason)

    from fleettui.actions.planning import PlanError

    async def plan(a):
        with pytest.raises(PlanError) as e:
            await a.plan(Rollback("shop"))
        return str(e.value)

    assert run(shop, plan) == f"shop has no rollback target: {reason}"
    assert shop.weights()["1.4.0"] == 100
    run(shop, lambda a: execute(a, Rollback("shop", to="1.2.0")))
    assert shop.weights() == {"1.0.0": 0, "1.1.0": 0, "1.2.0": 100, "1.3.0": 0, "1.4.0": 0}


def test_every_host_is_fetched_across_describe_instances_pages(shop, monkeypatch):
    """moto pages DescribeInstances by reservation and honours MaxResults: with pages of 2 reservations the
    service's 15 reservations (3 subnets x 5 generations) take 8 requests, and every host is there."""
    import fleettui.aws.ec2 as ec2_adapter

    monkeypatch.setattr(ec2_adapter, "INSTANCES_PAGE_SIZE", 2)

    async def body(a):
        snap = await a.snapshot(["shop"])
        return snap, a.gw.sent["ec2.DescribeInstances"]

    snap, calls = run(shop, body)
    reservations = shop.client("ec2").describe_instances(Filters=[{"Name": "tag:Service", "Values": ["shop"]}])
    assert len(reservations["Reservations"]) == 15
    assert calls == 8
    svc = snap.service("shop")
    assert {v: sorted(i.id for i in svc.generation(v).instances) for v in VERSIONS} == \
        {v: sorted(ids) for v, ids in shop.hosts.items()}
