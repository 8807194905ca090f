"""The benchmark's exact, untimed parts at small sizes (benchmarks/bench.py; the timed figures are not tests).

P2: the requests of one refresh are counted exactly (Gateway.sent counts every HTTP request, retries too) and
must stay within ceil(hosts/1000) DescribeInstances per region plus a constant that does not grow with the fleet.
BUILD: the synthetic 1,000-host fleet builds into the snapshot the benchmark expects.
P1/P2's emulated AWS (one moto process per region behind a routing proxy): a request signed for region X reaches
X's backend and no other, responses come back unchanged, the scale fleet seeded through the proxy refreshes
exactly, and no process outlives the benchmark (not even a SIGKILLed one).
"""
from __future__ import annotations

import asyncio
import importlib.util
import json
import math
import os
import signal
import subprocess
import sys
import time
import urllib.request
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
    from fleettui.aws.background import BackgroundLoop
    from fleettui.aws.gateway import Gateway
    from fleettui.config import load_config

    config = load_config(seeded.config_path)
    background = BackgroundLoop()
    try:
        gw = background.enter(lambda: Gateway(config.aws, read_only=True)).result()
        return config, asyncio.run(bench.refresh_once(gw, config, background))
    finally:
        assert background.close()


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
        # the signals' poll: one GetMetricData per region (under 500 queries: 1 per host here) + DescribeAlarms
        assert r["signals_error"] is None
        assert r["signals_sent"] == {"cloudwatch.GetMetricData": len(r["signal_queries"]),
                                     "cloudwatch.DescribeAlarms": len(bench.REGIONS)}
        assert sum(r["signal_queries"].values()) == hosts
        counts[hosts] = (sent, r["signals_sent"])
    assert counts[30] == counts[300]          # no per-instance calls: 10x the hosts, the very same requests


def test_p2_refresh_reads_every_page_of_describe_instances(bench, clean_server, tmp_path, monkeypatch):
    """The same refresh over several DescribeInstances pages per region: every host is fetched, one request per
    page. moto pages by reservation and honours MaxResults (its default is 100; ours, AWS's maximum, is 1000), so
    the page size is lowered here instead of seeding 1,001 reservations per region (~50 s on moto)."""
    import fleettui.aws.ec2 as ec2_adapter
    from fleettui.emulator.server import boto3_client

    seeded = bench.seed(300, 3, tmp_path, server=clean_server)
    reservations, hosts = {}, {}
    for region in bench.REGIONS:
        res = boto3_client("ec2", region, clean_server.endpoint_url).describe_instances(Filters=[
            {"Name": "tag:Service", "Values": ["svc0", "svc1", "svc2"]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]}], MaxResults=1000)["Reservations"]
        reservations[region] = len(res)
        hosts[region] = sum(len(r["Instances"]) for r in res)
    assert sum(hosts.values()) == 300 and min(reservations.values()) >= 3

    monkeypatch.setattr(ec2_adapter, "INSTANCES_PAGE_SIZE", 2)
    _config, r = one_refresh(bench, seeded)
    assert r["per_region"] == hosts and r["hosts"] == 300            # a lost page loses hosts
    assert r["sent"]["ec2.DescribeInstances"] == sum(math.ceil(n / 2) for n in reservations.values())


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
    from fleettui.emulator.server import boto3_client
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


# ------------------------------------------------------------------------------ P1/P2's regional emulated AWS

BASE_AMI = "ami-03cf127a"       # one of moto's built-in images, in every region


@pytest.fixture(scope="module")
def regional(bench, tmp_path_factory):
    aws = bench.RegionalAws(bench.REGIONS, bench.clean_env(tmp_path_factory.mktemp("regional")))
    yield aws
    aws.stop()
    assert all(p.poll() is not None for p in aws.processes())


def _instances(bench, endpoint: str, region: str) -> list[str]:
    from fleettui.emulator.server import boto3_client

    resp = boto3_client("ec2", region, endpoint).describe_instances()
    return sorted(i["InstanceId"] for r in resp["Reservations"] for i in r["Instances"])


def test_signing_region_picks_the_backend(bench):
    auth = ("AWS4-HMAC-SHA256 Credential=testing/20261122/eu-west-1/ec2/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, Signature=0123abcd")
    assert bench.signed_region(auth) == "eu-west-1"
    assert bench.signed_region(None, "testing/20261122/ap-southeast-2/sts/aws4_request") == "ap-southeast-2"
    assert bench.signed_region(None) is None and bench.signed_region("Bearer x") is None
    routes = dict.fromkeys(bench.REGIONS, "http://127.0.0.1:9")
    assert bench.route(routes, auth) == "eu-west-1"
    assert bench.route(routes, None) == "us-east-1"                                      # unsigned
    assert bench.route(routes, auth.replace("eu-west-1", "sa-east-1")) == "us-east-1"    # no backend for it


def test_routing_proxy_sends_each_region_to_its_own_backend(bench, regional):
    from fleettui.emulator.server import boto3_client

    regional.reset()
    launched = {}
    for region in bench.REGIONS:        # through the proxy, signed for ``region``
        resp = boto3_client("ec2", region, regional.endpoint_url).run_instances(
            ImageId=BASE_AMI, MinCount=1, MaxCount=1,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Region", "Value": region}]}])
        launched[region] = resp["Instances"][0]["InstanceId"]
    assert len(set(launched.values())) == len(bench.REGIONS)
    for backend, url in regional.urls.items():          # each backend, asked directly, about every region
        for region in bench.REGIONS:
            assert _instances(bench, url, region) == ([launched[region]] if region == backend else []), \
                (backend, region)
    for region in bench.REGIONS:                        # the proxy returns the backend's answer unchanged
        via = boto3_client("ec2", region, regional.endpoint_url).describe_instances()["Reservations"]
        direct = boto3_client("ec2", region, regional.urls[region]).describe_instances()["Reservations"]
        assert via == direct
    log = regional.log()
    assert [e["region"] for e in log if e["action"] == "RunInstances"] == list(bench.REGIONS)
    assert all(e["status"] == 200 for e in log)

    # an unsigned request goes to us-east-1's backend: moto's reset API through the proxy empties that one only
    urllib.request.urlopen(urllib.request.Request(f"{regional.endpoint_url}/moto-api/reset", data=b"",
                                                  method="POST"), timeout=10).close()
    assert _instances(bench, regional.urls["us-east-1"], "us-east-1") == []
    for region in bench.REGIONS[1:]:
        assert _instances(bench, regional.urls[region], region) == [launched[region]]


def test_scale_fleet_seeded_through_the_proxy_refreshes_exactly(bench, regional, tmp_path):
    regional.reset()
    hosts, services = 40, 2
    seeded = regional.seed(hosts, services, tmp_path)
    assert seeded.fleet.total == hosts and seeded.server is regional
    assert f'endpoint_url = "{regional.endpoint_url}"' in seeded.config_path.read_text()
    regional.log()
    config, r = one_refresh(bench, seeded)
    # the same split as one seed_scale_fleet over all regions: 40 hosts over 3 regions x 2 services
    assert r["per_region"] == {"us-east-1": 14, "eu-west-1": 14, "ap-southeast-2": 12}
    assert r["hosts"] == hosts
    assert r["sent"]["ec2.DescribeInstances"] == len(bench.REGIONS)
    assert sum(r["sent"].values()) <= bench.request_bound(config, r["per_region"], r["images"])[2]
    log = regional.log()
    # every request the Gateway counted (the refresh's and the signals poll's) went via the proxy
    assert len(log) == sum(r["sent"].values()) + sum(r["signals_sent"].values())
    assert sorted(e["region"] for e in log if e["action"] == "DescribeInstances") == sorted(bench.REGIONS)
    for region, n in r["per_region"].items():          # and each backend holds exactly its region's hosts
        from fleettui.emulator.server import boto3_client

        resp = boto3_client("ec2", region, regional.urls[region]).describe_instances(
            Filters=[{"Name": "tag-key", "Values": ["Service"]}])
        assert sum(len(res["Instances"]) for res in resp["Reservations"]) == n


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as fh:          # a zombie is gone too (its parent has not reaped it yet)
        return fh.read().rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PDEATHSIG is Linux's")
def test_no_emulator_process_outlives_a_killed_benchmark(tmp_path):
    script = (f"import importlib.util, json, sys, time\n"
              f"spec = importlib.util.spec_from_file_location('b', {str(BENCH)!r})\n"
              f"b = sys.modules['b'] = importlib.util.module_from_spec(spec); spec.loader.exec_module(b)\n"
              f"aws = b.RegionalAws(('us-east-1', 'eu-west-1'))\n"
              f"print(json.dumps([p.pid for p in aws.processes()]), flush=True)\n"
              f"time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pids = json.loads(proc.stdout.readline())
        assert len(pids) == 3 and not any(_gone(p) for p in pids)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 10
    while not all(_gone(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = [p for p in pids if not _gone(p)]
    for p in alive:
        os.kill(p, signal.SIGKILL)
    assert not alive
