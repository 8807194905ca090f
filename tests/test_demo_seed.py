"""The demo fleet as seeded into the embedded moto server, checked with plain boto3 (not through fleettui)."""
from __future__ import annotations

import re
import socket
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fleettui.emulator import start_demo
from fleettui.emulator.scenarios.demo import DemoFleet, demo_config_text, seed_demo_fleet
from fleettui.emulator.server import EmbeddedAws, boto3_client

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:       # the benchmark fleet lives beside the benchmark, in the checkout (not installed)
    sys.path.append(str(ROOT))
from benchmarks.fleet import scale_config_text, seed_scale_fleet  # noqa: E402

USE1, EUW1 = "us-east-1", "eu-west-1"
EPS = 1e-4                  # days; LaunchTime has whole seconds
RUNNING = [{"Name": "instance-state-name", "Values": ["pending", "running"]}]


@dataclass
class Seeded:
    server: EmbeddedAws
    fleet: DemoFleet
    now: datetime
    seconds: float

    def c(self, service: str, region: str = USE1):
        return boto3_client(service, region, self.server.endpoint_url)

    def instances(self, region: str, service: str | None = None) -> dict[str, dict]:
        filters = RUNNING + ([{"Name": "tag:Service", "Values": [service]}] if service else [])
        out = {}
        for page in self.c("ec2", region).get_paginator("describe_instances").paginate(Filters=filters):
            for r in page["Reservations"]:
                out.update({i["InstanceId"]: i for i in r["Instances"]})
        return out

    def age_days(self, inst: dict) -> float:
        return (self.now - inst["LaunchTime"]).total_seconds() / 86400


def tags(resource: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


@pytest.fixture(scope="module")
def server():
    srv = EmbeddedAws()
    yield srv
    srv.reset()                 # moto's state is process-wide: leave it empty for the next module
    srv.stop()


_current: dict[str, Seeded] = {}


@pytest.fixture
def seeded(server) -> Seeded:
    """The fleet seeded once for the module, re-seeded if a test reset the (process-wide) emulator."""
    s = _current.get("s")
    if s is not None:
        lts = s.c("ec2").describe_launch_templates(
            Filters=[{"Name": "launch-template-name", "Values": ["web-lt"]}])["LaunchTemplates"]
        images = s.c("ec2").describe_images(Owners=["self"])["Images"]
        if not lts or s.fleet.images[("web", "1.4.0", USE1)] not in {i["ImageId"] for i in images}:
            s = None
    if s is None:
        server.reset()
        now = datetime.now(timezone.utc)
        t0 = time.perf_counter()
        fleet = seed_demo_fleet(server.endpoint_url, now=now)
        s = _current["s"] = Seeded(server, fleet, now, time.perf_counter() - t0)
    return s


# -- shape ----------------------------------------------------------------------------------------------------

def test_counts_per_service_and_generation(seeded):
    f = seeded.fleet
    assert {svc: {v: len(ids) for v, ids in gens.items()} for svc, gens in f.generations.items()} == {
        "web": {"1.4.0": 15, "1.5.0": 15, "1.6.0": 3},
        "api": {"2.2.0": 8, "2.3.0": 8},
        "worker": {"3.1.0": 16},
        "cache": {"0.9.1": 3},
        "checkout": {"1.9.0": 0, "2.0.0": 4, "2.1.0": 4},
    }
    assert 40 <= f.total <= 120 and f.total == 76
    assert f.regions == (USE1, EUW1)
    seen = {}
    for region in f.regions:
        for iid, inst in seeded.instances(region).items():
            if "Service" in tags(inst):
                seen[iid] = tags(inst)["Service"]
    assert Counter(seen.values()) == {"web": 33, "api": 16, "worker": 16, "cache": 3, "checkout": 8}
    for svc, ids in f.instance_ids.items():
        assert {i for i, s in seen.items() if s == svc} == set(ids), svc


def test_generations_run_their_launch_template_version_and_image(seeded):
    f = seeded.fleet
    expected = {"1.4.0": "1", "1.5.0": "2", "1.6.0": "3"}
    insts = seeded.instances(USE1, "web")
    for version, ids in f.generations["web"].items():
        for iid in ids:
            t = tags(insts[iid])
            assert t["aws:ec2launchtemplate:version"] == expected[version]
            if iid != f.drift["image"]:
                assert insts[iid]["ImageId"] == f.images[("web", version, USE1)]
    api = seeded.instances(EUW1, "api")
    assert {tags(api[i])["aws:ec2launchtemplate:version"] for i in f.generations["api"]["2.2.0"]} == {"1"}
    assert {tags(api[i])["aws:ec2launchtemplate:version"] for i in f.generations["api"]["2.3.0"]} == {"2"}
    cache = seeded.instances(USE1, "cache")
    assert not any(k.startswith("aws:ec2launchtemplate") for i in cache.values() for k in tags(i))


def test_names_and_ownership_tags(seeded):
    f = seeded.fleet
    for region in f.regions:
        for iid, inst in seeded.instances(region).items():
            t = tags(inst)
            if "Service" not in t:
                continue
            version = next(v for v, ids in f.generations[t["Service"]].items() if iid in ids)
            assert t["Name"] == f"{t['Service']}-{version.replace('.', '-')}-{iid[-4:]}"
            assert re.fullmatch(r"[a-z]+-\d+-\d+-\d+-[0-9a-f]{4}", t["Name"])
            assert t["Environment"] == "demo" and t["CostCenter"].startswith("cc-")
            assert ("Owner" in t) == (iid != f.drift["tags"]), iid


# -- images and launch templates --------------------------------------------------------------------------------

def test_images_versions_dates_deprecation_and_deregistration(seeded):
    f, now = seeded.fleet, seeded.now
    images = {i["ImageId"]: i for i in seeded.c("ec2").describe_images(Owners=["self"])["Images"]}

    def days_ago(ts: str) -> float:
        return (now - datetime.fromisoformat(ts.replace("Z", "+00:00"))).total_seconds() / 86400

    for version, age in (("1.4.0", 60), ("1.5.0", 25), ("1.6.0", 2), ("1.7.0", 0.25)):
        img = images[f.images[("web", version, USE1)]]
        assert tags(img)["Version"] == version and img["Name"] == f"web-{version}"
        assert days_ago(img["CreationDate"]) == pytest.approx(age, abs=0.01)
    assert days_ago(images[f.images[("web", "1.4.0", USE1)]]["DeprecationTime"]) == pytest.approx(10, abs=0.01)
    assert "DeprecationTime" not in images[f.images[("web", "1.5.0", USE1)]]
    w17 = f.images[("web", "1.7.0", USE1)]      # baked, not deployed: no host runs it
    assert "DeprecationTime" not in images[w17] and w17 not in {i["ImageId"] for i in seeded.instances(USE1).values()}
    hotfix = images[seeded.instances(USE1)[f.drift["image"]]["ImageId"]]
    assert tags(hotfix)["Version"] == "1.5.0" and hotfix["ImageId"] != f.images[("web", "1.5.0", USE1)]

    # cache 0.9.1 is gone (hosts still run it), cache 1.0.0 is there
    (gone,) = f.deregistered_images
    assert gone == f.images[("cache", "0.9.1", USE1)] and gone not in images
    assert {i["ImageId"] for i in seeded.instances(USE1, "cache").values()} == {gone}
    assert tags(images[f.images[("cache", "1.0.0", USE1)]])["Version"] == "1.0.0"

    # regional images: one worker 3.1.0 AMI per region
    euw1 = {i["ImageId"]: i for i in seeded.c("ec2", EUW1).describe_images(Owners=["self"])["Images"]}
    w_use1, w_euw1 = f.images[("worker", "3.1.0", USE1)], f.images[("worker", "3.1.0", EUW1)]
    assert w_use1 != w_euw1 and tags(images[w_use1])["Version"] == tags(euw1[w_euw1])["Version"] == "3.1.0"


def _lt_versions(seeded, region, name):
    ec2 = seeded.c("ec2", region)
    default = ec2.describe_launch_templates(LaunchTemplateNames=[name])["LaunchTemplates"][0]["DefaultVersionNumber"]
    versions = ec2.describe_launch_template_versions(LaunchTemplateName=name)["LaunchTemplateVersions"]
    return default, {v["VersionNumber"]: v["LaunchTemplateData"] for v in versions}


def test_launch_templates(seeded):
    f = seeded.fleet
    sgs = {g["GroupName"]: g["GroupId"] for g in seeded.c("ec2").describe_security_groups()["SecurityGroups"]}
    default, data = _lt_versions(seeded, USE1, "web-lt")
    assert default == 4 and sorted(data) == [1, 2, 3, 4]     # 1.7.0: baked, the default, not deployed
    for n, version in ((1, "1.4.0"), (2, "1.5.0"), (3, "1.6.0"), (4, "1.7.0")):
        assert data[n]["ImageId"] == f.images[("web", version, USE1)]
        assert data[n]["InstanceType"] == "m5.large"
        assert data[n]["SecurityGroupIds"] == [sgs["web-sg"]]
        assert data[n]["IamInstanceProfile"] == {"Name": "web-role"}
    default, data = _lt_versions(seeded, EUW1, "api-lt")
    assert default == 2 and [data[n]["ImageId"] for n in (1, 2)] == [
        f.images[("api", "2.2.0", EUW1)], f.images[("api", "2.3.0", EUW1)]]
    assert data[2]["IamInstanceProfile"] == {"Name": "api-role"}
    default, data = _lt_versions(seeded, USE1, "cache-lt")
    assert default == 1 and data[1]["ImageId"] == f.images[("cache", "1.0.0", USE1)]
    for region in f.regions:
        assert _lt_versions(seeded, region, "worker-lt")[1][1]["ImageId"] == f.images[("worker", "3.1.0", region)]
    profiles = {p["InstanceProfileName"] for p in seeded.c("iam").list_instance_profiles()["InstanceProfiles"]}
    assert {"web-role", "api-role", "debug-role"} <= profiles


# -- drift ------------------------------------------------------------------------------------------------------

def test_each_drift_kind_on_exactly_one_host(seeded):
    f = seeded.fleet
    assert set(f.drift) == {"instance_type", "security_groups", "image", "tags", "iam_instance_profile"}
    web = seeded.instances(USE1, "web")
    sgs = {g["GroupName"]: g["GroupId"] for g in seeded.c("ec2").describe_security_groups()["SecurityGroups"]}

    def odd(pred):
        return {i for i, inst in web.items() if pred(inst)}

    assert odd(lambda i: i["InstanceType"] != "m5.large") == {f.drift["instance_type"]}
    assert web[f.drift["instance_type"]]["InstanceType"] == "m5.xlarge"
    assert odd(lambda i: {g["GroupId"] for g in i["SecurityGroups"]} != {sgs["web-sg"]}) == {f.drift["security_groups"]}
    assert {g["GroupName"] for g in web[f.drift["security_groups"]]["SecurityGroups"]} == {"web-sg", "debug-sg"}
    assert odd(lambda i: "Owner" not in tags(i)) == {f.drift["tags"]}
    assert odd(lambda i: not i.get("IamInstanceProfile", {}).get("Arn", "").endswith("/web-role")) == set()
    assert all(f.drift[k] in f.generations["web"]["1.5.0"]
               for k in ("instance_type", "security_groups", "image", "tags"))

    api = seeded.instances(EUW1, "api")
    profile = {i: inst.get("IamInstanceProfile", {}).get("Arn", "").rsplit("/", 1)[-1] for i, inst in api.items()}
    assert {i for i, p in profile.items() if p != "api-role"} == {f.drift["iam_instance_profile"]}
    assert profile[f.drift["iam_instance_profile"]] == "debug-role"
    assert f.drift["iam_instance_profile"] in f.generations["api"]["2.3.0"]


# -- ages -------------------------------------------------------------------------------------------------------

def test_backdated_launch_times(seeded):
    f = seeded.fleet

    def ages(service, version, region):
        insts = seeded.instances(region, service)
        return sorted(seeded.age_days(insts[i]) for i in f.generations[service][version] if i in insts)

    a = ages("web", "1.4.0", USE1)
    assert len(a) == 15 and 40 <= a[0] and a[-1] <= 45 + EPS
    a = ages("web", "1.5.0", USE1)
    assert 8 - EPS <= a[0] and a[-1] <= 24 + EPS and sum(x > 14 for x in a) >= 3 and sum(x < 14 for x in a) >= 3
    a = ages("web", "1.6.0", USE1)
    assert all(0.5 <= x <= 1.5 for x in a)
    assert all(19 - EPS <= x <= 21 + EPS for x in ages("api", "2.2.0", EUW1))
    assert all(3 - EPS <= x <= 10 + EPS for x in ages("api", "2.3.0", EUW1))
    for region in f.regions:
        a = ages("worker", "3.1.0", region)
        assert len(a) == 8 and sum(x > 30 for x in a) == 4
    assert all(x > 30 for x in ages("cache", "0.9.1", USE1))


# -- load balancers ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("service, region, weights", [
    ("web", USE1, {"web-1-4-0": 0, "web-1-5-0": 90, "web-1-6-0": 10}),
    ("api", EUW1, {"api-2-2-0": 0, "api-2-3-0": 100}),
])
def test_listener_weights_target_groups_and_health(seeded, service, region, weights):
    f = seeded.fleet
    elb = seeded.c("elbv2", region)
    arn = f.listener_arns[service]
    assert arn.split(":")[3] == region
    listener = elb.describe_listeners(ListenerArns=[arn])["Listeners"][0]
    assert (listener["Protocol"], listener["Port"]) == ("HTTP", 80)
    (action,) = listener["DefaultActions"]
    got = {g["TargetGroupArn"]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]}
    names = {g["TargetGroupArn"]: g["TargetGroupName"] for g in elb.describe_target_groups(
        TargetGroupArns=list(got))["TargetGroups"]}
    assert {names[a]: w for a, w in got.items()} == weights
    lb = elb.describe_load_balancers(LoadBalancerArns=[listener["LoadBalancerArn"]])["LoadBalancers"][0]
    assert lb["LoadBalancerName"] == f"{service}-alb"
    for version, tg in f.target_groups[service].items():
        t = {d["Key"]: d["Value"] for d in elb.describe_tags(ResourceArns=[tg])["TagDescriptions"][0]["Tags"]}
        assert t == {"fleettui:service": service, "fleettui:version": version}
        health = elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        assert {h["Target"]["Id"] for h in health} == set(f.generations[service][version])
        assert {h["TargetHealth"]["State"] for h in health} == {"healthy"}


def test_worker_and_cache_have_no_listener(seeded):
    assert set(seeded.fleet.listener_arns) == {"web", "api", "checkout"}
    assert set(seeded.fleet.target_groups) == {"web", "api", "checkout"}


# -- auto scaling -----------------------------------------------------------------------------------------------

def test_worker_asg_membership(seeded):
    f = seeded.fleet
    assert f.asgs == {"worker-use1": USE1, "worker-euw1": EUW1, "checkout-1-9-0": USE1, "checkout-2-0-0": USE1,
                      "checkout-2-1-0": USE1}
    members: set[str] = set()
    for name, region in f.asgs.items():
        if not name.startswith("worker"):
            continue                     # checkout's groups: tests/test_asg.py
        (group,) = seeded.c("autoscaling", region).describe_auto_scaling_groups(
            AutoScalingGroupNames=[name])["AutoScalingGroups"]
        assert group["DesiredCapacity"] == 8 and len(group["Instances"]) == 8
        assert group["LaunchTemplate"]["LaunchTemplateName"] == "worker-lt"
        ids = {i["InstanceId"] for i in group["Instances"]}
        insts = seeded.instances(region, "worker")
        assert set(insts) == ids
        assert all(tags(i)["aws:autoscaling:groupName"] == name for i in insts.values())
        assert all(tags(i)["Owner"] == "team-data" for i in insts.values())
        members |= ids
    assert members == set(f.instance_ids["worker"])


# -- config -----------------------------------------------------------------------------------------------------

def test_config_text(seeded):
    f = seeded.fleet
    doc = tomllib.loads(demo_config_text(f, seeded.server.endpoint_url))
    assert doc["aws"] == {"profile": "demo", "regions": [USE1, EUW1], "endpoint_url": seeded.server.endpoint_url}
    assert doc["defaults"] == {"warn_age": "14d", "max_age": "30d", "refresh_seconds": 10, "read_only": False,
                               "min_healthy_percent": 75, "latency_stat": "Average"}
    svcs = {s["name"]: s for s in doc["service"]}
    assert list(svcs) == ["web", "api", "worker", "cache", "checkout"]
    assert svcs["checkout"]["kind"] == "asg"
    assert svcs["web"] == {
        "name": "web", "regions": [USE1], "selector": {"Service": "web"}, "version_tag": "Version",
        "launch_template": "web-lt", "launch_template_version": "$Default", "listener_arn": f.listener_arns["web"],
        "generation_tag": "fleettui:version", "required_tags": ["Owner", "CostCenter"],
        "instance_roles": ["web-role"], "shift_steps": [10, 25, 50, 100], "alarms": ["web-"],
        "rollout_steps": [25, 50, 100], "bake": "20s"}
    assert svcs["api"]["instance_roles"] == ["api-role"]
    assert svcs["worker"]["instance_roles"] == svcs["cache"]["instance_roles"] == []   # no instance profile
    assert svcs["api"]["listener_arn"] == f.listener_arns["api"] and svcs["api"]["regions"] == [EUW1]
    assert svcs["worker"]["regions"] == [USE1, EUW1]
    assert svcs["cache"]["launch_template"] == "cache-lt"
    assert "listener_arn" not in svcs["worker"] and "listener_arn" not in svcs["cache"]
    assert all(s["selector"] == {"Service": n} for n, s in svcs.items())


def test_config_text_is_accepted_by_the_loader(seeded):
    from fleettui.config import parse_config

    cfg = parse_config(tomllib.loads(demo_config_text(seeded.fleet, seeded.server.endpoint_url)), None, env={})
    assert [s.name for s in cfg.services] == ["web", "api", "worker", "cache", "checkout"]
    assert cfg.service("web").listener_arn == seeded.fleet.listener_arns["web"]


def test_seeding_is_fast_and_refuses_a_seeded_emulator(seeded):
    assert seeded.seconds < 15, f"seeding took {seeded.seconds:.1f}s"
    with pytest.raises(RuntimeError, match="already seeded"):
        seed_demo_fleet(seeded.server.endpoint_url)


# -- the server -------------------------------------------------------------------------------------------------

def test_two_servers_on_free_ports_share_the_emulated_state():
    with EmbeddedAws() as a, EmbeddedAws() as b:
        assert a.port != b.port and a.port > 0 and b.port > 0
        assert a.endpoint_url == f"http://127.0.0.1:{a.port}"
        for srv in (a, b):
            ident = boto3_client("sts", USE1, srv.endpoint_url).get_caller_identity()
            assert ident["Account"] == "123456789012"
        # moto's backends are process-wide: both servers show the same resources
        vpc = boto3_client("ec2", "ap-south-1", a.endpoint_url).create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        seen = boto3_client("ec2", "ap-south-1", b.endpoint_url).describe_vpcs(VpcIds=[vpc])["Vpcs"]
        assert [v["VpcId"] for v in seen] == [vpc]
        boto3_client("ec2", "ap-south-1", b.endpoint_url).delete_vpc(VpcId=vpc)
        port = a.port
    assert not a.running
    with EmbeddedAws(port) as again:              # stop() released the port
        assert again.port == port


def test_taken_port_is_an_error_not_a_hang():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(OSError, match="cannot start"):
            EmbeddedAws(s.getsockname()[1])


# -- start_demo and the benchmark fleet (these reset the shared emulator; `seeded` re-seeds after them) ----------

def test_start_demo_writes_the_config(server, tmp_path):
    from fleettui.config import load_config

    server.reset()
    srv, fleet, path = start_demo(config_dir=tmp_path / "cfg")
    try:
        assert path == tmp_path / "cfg" / "demo.toml"
        cfg = load_config(path, env={})
        assert cfg.aws.endpoint_url == srv.endpoint_url != server.endpoint_url
        assert cfg.service("api").listener_arn == fleet.listener_arns["api"]
        assert fleet.total == 76
    finally:
        srv.stop()
    server.reset()


def test_scale_fleet(server):
    server.reset()
    now = datetime.now(timezone.utc)
    fleet = seed_scale_fleet(server.endpoint_url, 700, regions=(USE1, EUW1), services=("alpha", "beta"), now=now)
    assert fleet.total == 700 and fleet.services == {"alpha": (USE1, EUW1), "beta": (USE1, EUW1)}
    assert fleet.counts == {("alpha", "1.0.0"): 116, ("alpha", "1.1.0"): 234,
                            ("beta", "1.0.0"): 116, ("beta", "1.1.0"): 234}
    by: Counter = Counter()
    for region in (USE1, EUW1):
        ec2 = boto3_client("ec2", region, server.endpoint_url)
        for page in ec2.get_paginator("describe_instances").paginate(Filters=RUNNING + [
                {"Name": "tag:Environment", "Values": ["bench"]}]):
            for r in page["Reservations"]:
                for i in r["Instances"]:
                    t = tags(i)
                    age = (now - i["LaunchTime"]) / timedelta(days=1)
                    old = t["aws:ec2launchtemplate:version"] == "1"
                    assert (age > 30) == old
                    by[(t["Service"], "1.0.0" if old else "1.1.0")] += 1
    assert by == fleet.counts
    doc = tomllib.loads(scale_config_text(fleet, server.endpoint_url))
    assert [s["name"] for s in doc["service"]] == ["alpha", "beta"]
    server.reset()
