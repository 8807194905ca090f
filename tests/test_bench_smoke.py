"""The benchmark's exact, untimed parts at small sizes (benchmarks/bench.py; the timed figures are not tests).

P2: the requests of one refresh are counted exactly (Gateway.sent counts every HTTP request, retries too) and
must stay within ceil(hosts/1000) DescribeInstances per region plus a constant that does not grow with the fleet.
BUILD: the synthetic 1,000-host fleet builds into the snapshot the benchmark expects.
"""
from __future__ import annotations

import asyncio
import importlib.util
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("fleettui_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def one_refresh(bench, seeded) -> dict:
    from fleettui.aws.gateway import Gateway
    from fleettui.config import load_config

    config = load_config(seeded.config_path)

    async def run():
        async with Gateway(config.aws, read_only=True) as gw:
            return config, await bench.refresh_once(gw, config)

    return asyncio.run(run())


@pytest.fixture
def clean_server(aws_server):
    aws_server.reset()
    yield aws_server
    aws_server.reset()


def test_p2_requests_per_refresh_are_bounded_and_do_not_grow_with_the_fleet(bench, clean_server, tmp_path):
    counts = {}
    for hosts in (30, 300):
        clean_server.reset()
        seeded = bench.seed(hosts, 3, tmp_path, server=clean_server)
        config, r = one_refresh(bench, seeded)
        assert r["hosts"] == hosts
        di_bound, const, bound = bench.request_bound(config, r["per_region"], r["images"])
        sent = r["sent"]
        total = sum(sent.values())
        assert sent["ec2.DescribeInstances"] == len(bench.REGIONS)    # one call per region for all 3 services
        assert sent["ec2.DescribeInstances"] <= di_bound == sum(math.ceil(n / 1000) for n in r["per_region"].values())
        assert total <= bound, sent
        counts[hosts] = sent
    assert counts[30] == counts[300]          # no per-instance calls: 10x the hosts, the very same requests


def test_build_snapshot_of_the_synthetic_fleet(bench):
    fig = bench.bench_build(bench.QUICK)
    assert fig.data["hosts"] == 1000
    assert fig.key == "BUILD" and fig.ok is None

    snap = bench.synthetic_snapshot(1000)
    assert snap.instance_count == 1000
    assert [s.name for s in snap.services] == [f"svc{k}" for k in range(5)]
    for svc in snap.services:
        assert [g.version for g in svc.generations] == ["1.0.0", "1.1.0"]
        assert svc.live.version == "1.1.0" and svc.rollback_target.version == "1.0.0"
        old, new = svc.generations
        assert all(i.age_level == "error" for i in old.instances)       # 31-38 days, max_age 30d
        assert not any(i.age_level for i in new.instances)              # 1-6 days
    drifted = {f.kind for s in snap.services for i in s.instances for f in i.findings if f.is_drift}
    assert drifted == {"drift:instance_type", "drift:security_groups"}


def test_unknown_figure_is_refused(bench):
    with pytest.raises(SystemExit) as e:
        bench.main(["--only", "P1,P9"])
    assert e.value.code == 2


def test_shared_describe_instances_calls_give_each_service_exactly_its_hosts(clean_server):
    """P2's one-call-per-region relies on inventory merging services' tag filters; the merge must stay exact."""
    from fleettui.aws.gateway import Gateway
    from fleettui.aws.inventory import _instance_queries, fetch_snapshot
    from fleettui.aws.server import boto3_client
    from fleettui.config import AwsConfig, Config, ServiceConfig

    region = "us-east-1"
    ec2 = boto3_client("ec2", region, clean_server.endpoint_url)
    hosts: dict[tuple, list[str]] = {}
    for tags in ({"Service": "a"}, {"Service": "b"}, {"Service": "c", "Env": "prod"}, {"Service": "c", "Env": "dev"},
                 {"Service": "d", "Env": "prod"}, {"Service": "e", "Env": "dev"}, {"Team": "x1"}, {"Other": "z"}):
        resp = ec2.run_instances(ImageId="ami-03cf127a", MinCount=2, MaxCount=2, TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}])
        hosts[tuple(sorted(tags.items()))] = sorted(i["InstanceId"] for i in resp["Instances"])

    def svc(name, **selector):
        return ServiceConfig(name=name, regions=(region,), selector=tuple(selector.items()))

    services = (svc("a", Service="a"), svc("b", Service="b"), svc("a-again", Service="a"),
                svc("c-prod", Service="c", Env="prod"), svc("d-prod", Service="d", Env="prod"),
                svc("c-dev", Service="c", Env="dev"), svc("team-x", Team="x*"))
    plans = _instance_queries(list(services))
    # a, b, a-again share one call (tag:Service=[a, b]); the three Service+Env selectors need two exact calls
    # (one tag varies per call, the other is fixed); the wildcard selector keeps a call of its own
    assert sorted(len(members) for _, _, members in plans) == [1, 1, 2, 3]

    config = Config(path=None, aws=AwsConfig(regions=(region,), endpoint_url=clean_server.endpoint_url),
                    services=services)

    async def run():
        async with Gateway(config.aws, read_only=True) as gw:
            return await fetch_snapshot(gw, config), gw.sent["ec2.DescribeInstances"]

    snap, calls = asyncio.run(run())
    assert calls == 4
    got = {s.name: sorted(i.id for i in s.instances) for s in snap.services}
    assert got == {
        "a": hosts[(("Service", "a"),)], "a-again": hosts[(("Service", "a"),)], "b": hosts[(("Service", "b"),)],
        "c-prod": hosts[(("Env", "prod"), ("Service", "c"))], "d-prod": hosts[(("Env", "prod"), ("Service", "d"))],
        "c-dev": hosts[(("Env", "dev"), ("Service", "c"))], "team-x": hosts[(("Team", "x1"),)],
    }
