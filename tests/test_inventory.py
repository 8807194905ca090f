"""Inventory against the seeded moto server, through aiobotocore like production."""
import asyncio
import json

import pytest

from fleettui.aws.gateway import Gateway
from fleettui.aws.inventory import fetch_snapshot
from fleettui.cli import main
from fleettui.config import AwsConfig
from fleettui.errors import AwsError


def snapshot(demo, **kw):
    config = demo.config()

    async def run():
        async with Gateway(config.aws) as gw:
            snap = await fetch_snapshot(gw, config, **kw)
            return snap, gw.request_count

    return asyncio.run(run())


def test_web_generations_weights_and_roles(demo):
    snap, _ = snapshot(demo)
    web = snap.service("web")
    assert [(g.version, g.weight, g.labels) for g in web.generations] == [
        ("1.4.0", 0, ()), ("1.5.0", 90, ("live",)), ("1.6.0", 10, ("canary",))]
    assert (web.rollback.source, web.rollback.target) == ("1.6.0", "1.5.0")
    assert [g.total for g in web.generations] == [15, 15, 3]
    assert all(g.healthy == g.total for g in web.generations)
    assert snap.account == "123456789012"


def test_every_seeded_drift_kind_is_found(demo):
    snap, _ = snapshot(demo)
    kinds = {f.kind for s in snap.services for i in s.instances for f in i.findings}
    assert {"drift:instance_type", "drift:security_groups", "drift:image", "drift:tags", "drift:image_deprecated",
            "drift:iam_instance_profile", "drift:launch_template", "drift:image_deregistered",
            "age:warn", "age:max"} <= kinds
    web = snap.service("web")
    old = web.generation("1.4.0")
    assert old.image.deprecated
    assert all(i.age_level == "error" for i in old.instances)     # 40-45 days, max_age 30d
    cache = snap.service("cache")
    assert all(not g.image.reproducible for g in cache.generations)


def test_api_rollback_ready_and_worker_asg_in_two_regions(demo):
    snap, _ = snapshot(demo)
    api = snap.service("api")
    assert [(g.version, g.weight) for g in api.generations] == [("2.2.0", 0), ("2.3.0", 100)]
    assert api.rollback.ready
    worker = snap.service("worker")
    assert {i.region for i in worker.instances} == {"us-east-1", "eu-west-1"}
    assert all(i.asg for i in worker.instances)
    assert all(g.weight is None for g in worker.generations)
    assert worker.live is not None and worker.rollback_target is None


def test_requests_per_refresh_are_bounded(demo):
    """No per-instance calls: the count doesn't depend on the number of hosts."""
    snap, count = snapshot(demo)
    assert snap.instance_count >= 40
    assert count < 40


def test_only_selected_services(demo):
    snap, _ = snapshot(demo, services=["api"])
    assert [s.name for s in snap.services] == ["api"]


def test_status_json_contract(demo, capsys):
    assert main(["status", "--config", str(demo.config_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"generated_at", "profile", "regions", "services", "errors", "signals_error"}
    assert doc["errors"] == []                  # one {"region", "message"} per region that could not be read
    web = next(s for s in doc["services"] if s["name"] == "web")
    # the contract's keys are all there (additions are allowed: role, other_rules, rollback)
    assert set(web) >= {"name", "regions", "listener_arn", "generations"}
    gen = web["generations"][1]
    assert set(gen) >= {"version", "image_id", "image_created", "weight", "live", "rollback_target", "healthy",
                        "total", "oldest_age_days", "newest_age_days", "instances"}
    assert (gen["version"], gen["weight"], gen["live"]) == ("1.5.0", 90, True)
    # roles as values, and the rollback rule: the canary 1.6.0 is undone, 1.5.0 (live) is where B sends traffic
    assert [(g["version"], g["role"], g["rollback_target"]) for g in web["generations"]] == [
        ("1.4.0", "idle", False), ("1.5.0", "live", True), ("1.6.0", "canary", False)]
    assert (web["rollback"]["from"], web["rollback"]["to"], web["rollback"]["ready"]) == ("1.6.0", "1.5.0", True)
    # every role value, and one role per generation: api's older generation is the rollback target; without a
    # listener (worker, cache) the generation with the most running hosts is live and nothing is a rollback target;
    # web's rollback target is live itself (rollback_target: true, role: live)
    roles = {s["name"]: [(g["version"], g["role"], g["live"], g["rollback_target"]) for g in s["generations"]]
             for s in doc["services"]}
    assert roles == {
        "web": [("1.4.0", "idle", False, False), ("1.5.0", "live", True, True), ("1.6.0", "canary", False, False)],
        "api": [("2.2.0", "rollback_target", False, True), ("2.3.0", "live", True, False)],
        "worker": [("3.1.0", "live", True, False)],
        "cache": [(demo.fleet.deregistered_images[0], "live", True, False)],    # its image is gone: named by id
        "checkout": [("1.9.0", "idle", False, False), ("2.0.0", "rollback_target", False, True),   # 1.9.0: cold
                     ("2.1.0", "live", True, False)],
    }
    inst = gen["instances"][0]
    assert set(inst) == {"id", "region", "az", "type", "state", "health", "age_days", "launch_template_version",
                         "asg", "findings"}
    findings = [f for g in web["generations"] for i in g["instances"] for f in i["findings"]]
    assert all(set(f) == {"kind", "severity", "expected", "actual", "message"} for f in findings)
    assert all(f["severity"] in ("warn", "error") for f in findings)


def test_status_ids_match_boto3(demo, capsys):
    """Agrees with a plain describe-instances on instance ids per service."""
    assert main(["status", "--config", str(demo.config_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for svc in doc["services"]:
        ours = {i["id"] for g in svc["generations"] for i in g["instances"]}
        theirs = set()
        for region in svc["regions"]:
            ec2 = demo.client("ec2", region)
            for page in ec2.get_paginator("describe_instances").paginate(Filters=[
                    {"Name": "tag:Service", "Values": [svc["name"]]},
                    {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]):
                theirs |= {i["InstanceId"] for r in page["Reservations"] for i in r["Instances"]}
        assert ours == theirs, svc["name"]


def test_status_table_renders(demo, capsys):
    assert main(["status", "--config", str(demo.config_path), "--service", "web"]) == 0
    text = capsys.readouterr().out
    assert "1.5.0" in text and "live" in text and "90%" in text and "rollback" in text


def test_unknown_service_is_bad_input(demo, capsys):
    assert main(["status", "--config", str(demo.config_path), "--service", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope" in err


def test_endpoint_down_is_one_line_exit_1(tmp_path, capsys, monkeypatch):
    from faults import RetryClock

    RetryClock(monkeypatch, factor=100)      # botocore's 8 attempts, their back-off 100x shorter
    cfg = tmp_path / "c.toml"
    cfg.write_text('[aws]\nregions=["us-east-1"]\nendpoint_url="http://127.0.0.1:9"\n'
                   '[[service]]\nname="web"\nselector={Service="web"}\n', encoding="utf-8")
    assert main(["status", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot reach" in err and "Traceback" not in err


def test_no_credentials_is_one_line(tmp_path, monkeypatch):
    async def run():
        async with Gateway(AwsConfig(regions=("us-east-1",), endpoint_url="https://ec2.invalid.example")) as gw:
            await gw.call("ec2", "us-east-1", "describe_instances")

    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(AwsError) as e:
        asyncio.run(run())
    assert "credentials" in str(e.value)
