"""`fleettui init` on fleets of every shape the issue lists, built through the AWS APIs only (tests/init_fleets.py):
`init --yes --write` then `status --json` shows the same generations, weights and hosts as the config a person
writes by hand for the same fleet, and `doctor` finds nothing to fix; on an account with nothing to manage it says so
and writes nothing."""
from __future__ import annotations

import json
import pickle
import tomllib

import pytest

from fleettui.cli import main
from fleettui.config import load_config
from init_fleets import REGIONS, SHAPES, hand_written, seed_zoo


@pytest.fixture(scope="session")
def zoo_state(aws_server):
    """The zoo seeded once per process and kept as moto's state (restored before each test, like the demo)."""
    aws_server.reset()
    zoo = seed_zoo(aws_server.endpoint_url)
    return aws_server.save_state(), pickle.dumps(zoo)


@pytest.fixture
def zoo(aws_server, zoo_state, tmp_path):
    state, seeded = zoo_state
    aws_server.restore_state(state)
    zoo = pickle.loads(seeded)
    zoo.hand = tmp_path / "hand.toml"
    zoo.hand.write_text(hand_written(zoo), encoding="utf-8")
    return zoo


_WRITTEN: dict[str, str] = {}        # the config init writes for the zoo: the same state each time, so once a process


@pytest.fixture
def written(zoo, tmp_path, capsys):
    path = tmp_path / "init.toml"
    if zoo.endpoint_url not in _WRITTEN:
        code = main(["init", "--endpoint-url", zoo.endpoint_url, *(a for r in REGIONS for a in ("--region", r)),
                     "--yes", "--write", str(path)])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        _WRITTEN[zoo.endpoint_url] = path.read_text(encoding="utf-8")
        _WRITTEN["out"] = captured.out
    path.write_text(_WRITTEN[zoo.endpoint_url], encoding="utf-8")
    return path


def status(path, capsys) -> dict:
    assert main(["status", "--json", "--config", str(path)]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


_DOCS: dict[str, dict] = {}       # status --json of both configs, read once a process (the same restored state)


def both(zoo, written, capsys) -> tuple[dict, dict]:
    if not _DOCS:
        _DOCS["init"], _DOCS["hand"] = status(written, capsys), status(zoo.hand, capsys)
    return _DOCS["init"], _DOCS["hand"]


def view(doc: dict, name: str) -> dict:
    """What the issue compares: the service's generations, their weights (and other rules) and their hosts."""
    svc = next(s for s in doc["services"] if s["name"] == name)
    return {"regions": sorted(svc["regions"]), "listener_arn": svc["listener_arn"], "generations": [
        {"version": g["version"], "weight": g["weight"], "role": g["role"], "other_rules": g["other_rules"],
         "healthy": g["healthy"], "total": g["total"], "group": (g["group"] or {}).get("name"),
         "hosts": sorted((i["id"], i["region"], i["state"], i["health"], tuple(sorted(f["kind"] for f in i["findings"])))
                         for i in g["instances"])}
        for g in svc["generations"]]}


# what each shape's fleet is (version, weight, hosts; a service without a listener says weight 0), so that the
# comparison cannot pass on two empty views
EXPECTED = {
    "shop-us-east-1": [("1.0.0", 0, 2), ("1.1.0", 70, 2), ("1.2.0", 30, 2)],
    "shop-eu-west-1": [("1.0.0", 0, 2), ("1.1.0", 100, 2), ("1.2.0", 0, 2)],
    "pay": [("2.0.0", 0, 0), ("2.1.0", 0, 2), ("2.2.0", 0, 2)],
    "batch": [("5.0.0", 0, 3)],
    "cron": [("0.1.0", 0, 2), ("0.2.0", 0, 2)],
    "edge": [("1.0.0", 100, 2), ("1.1.0", 0, 2)],
    "legacy": [("legacy-2024-05-01", 20, 2), ("legacy-2024-06-01", 80, 2)],
    "store-front": [("3.0.0", 0, 2)],
    "store-back": [("3.0.0", 0, 2)],
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_status_of_the_config_init_writes_is_the_status_of_the_hand_written_one(shape, zoo, written, capsys):
    mine, theirs = both(zoo, written, capsys)
    for name in SHAPES[shape]:
        assert view(mine, name) == view(theirs, name), name
        gens = view(mine, name)["generations"]
        assert [(g["version"], g["weight"], g["total"]) for g in gens] == EXPECTED[name]
    if shape == "listener-rule-besides-default":
        beta = view(mine, "edge")["generations"][1]
        assert [r["weight"] for r in beta["other_rules"]] == [100] and "/beta/*" in beta["other_rules"][0]["rule"]
    if shape == "one-asg-per-generation":
        assert [g["group"] for g in view(mine, "pay")["generations"]] == ["pay-v1", "pay-v2", "pay-v3"]


def test_init_writes_every_shape_and_nothing_else(zoo, written):
    config = tomllib.loads(written.read_text(encoding="utf-8"))
    names = [s["name"] for s in config["service"]]
    assert sorted(names) == sorted(n for ns in SHAPES.values() for n in ns)
    assert config["aws"] == {"regions": ["eu-west-1", "us-east-1"], "endpoint_url": zoo.endpoint_url}
    assert config["defaults"]["read_only"] is True


def _service(path, name) -> dict:
    return next(s for s in tomllib.loads(path.read_text(encoding="utf-8"))["service"] if s["name"] == name)


def test_what_init_decided_for_each_shape(zoo, written):
    text = written.read_text(encoding="utf-8")
    shop = _service(written, "shop-us-east-1")
    assert (shop["selector"], shop["regions"], shop["listener_arn"], shop["version_tag"], shop["generation_tag"]) == (
        {"Service": "shop"}, ["us-east-1"], zoo.listeners["shop-us-east-1"], "Version", "fleettui:version")
    assert _service(written, "shop-eu-west-1")["listener_arn"] == zoo.listeners["shop-eu-west-1"]
    assert "shop has a listener in each of eu-west-1, us-east-1: one service per region" in text
    pay = _service(written, "pay")
    assert (pay["kind"], pay["generation_tag"], pay["launch_template"]) == ("asg", "Release", "pay-lt")
    batch = _service(written, "batch")             # one group for every generation: not one group per generation
    assert "kind" not in batch and batch["launch_template"] == "batch-lt" and "listener_arn" not in batch
    assert "listener_arn" not in _service(written, "cron")
    assert _service(written, "edge")["listener_arn"] == zoo.listeners["edge"]
    # no version tag: versions are AMI names, said in commented lines (and never the images' Name tags)
    legacy = _service(written, "legacy")
    assert legacy["selector"] == {"App": "legacy"} and "version_tag" not in legacy and "generation_tag" not in legacy
    block = text[text.index("# legacy:"):text.index("\n\n", text.index("# legacy:"))]
    assert '# version_tag = "Version"' in block and "its images carry no tag naming a version" in block
    assert '# generation_tag = "fleettui:version"' in block
    assert "not used as selector or version: Name; Terraform (ManagedBy)" in " ".join(block.split())
    # two fleets sharing every tag but one: that one; the Name each carries and Elastic Beanstalk's are not used
    assert _service(written, "store-front")["selector"] == {"Tier": "front"}
    assert _service(written, "store-back")["selector"] == {"Tier": "back"}
    assert _service(written, "store-front")["required_tags"] == ["CostCenter", "Environment", "Owner", "Project",
                                                                   "Team"]
    assert "Elastic Beanstalk (elasticbeanstalk:environment-name)" in text
    assert f"not proposed: 1 host with no tag of their own" in text and zoo.untagged in text


def test_init_shows_each_fleet_as_status_does_before_writing(zoo, written):
    shown = _WRITTEN["out"]
    assert "shop-us-east-1  (us-east-1)  rollback: take 1.2.0 out of traffic → 1.1.0 gets 100%" in shown
    assert shown.index("rollback: take 1.2.0 out") < shown.index("wrote ")
    assert "edge  (us-east-1)  rollback:" in shown and "+1 rule" in shown


def test_doctor_finds_nothing_to_fix_in_what_init_wrote(zoo, written, capsys):
    assert main(["doctor", "--config", str(written)]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == "nothing to fix: 9 services checked against account 123456789012"
    assert main(["doctor", "--json", "--config", str(written)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True and doc["problems"] == [] and len(doc["services"]) == 9


def test_an_account_with_nothing_to_manage_says_so_and_writes_nothing(aws_server, monkeypatch, tmp_path, capsys):
    """Another account of the emulator (moto's STS AssumeRole into it: a real, empty account)."""
    from fleettui.emulator.server import boto3_client

    creds = boto3_client("sts", "us-east-1", aws_server.endpoint_url).assume_role(
        RoleArn="arn:aws:iam::222222222222:role/onboarding", RoleSessionName="init")["Credentials"]
    for var, key in (("AWS_ACCESS_KEY_ID", "AccessKeyId"), ("AWS_SECRET_ACCESS_KEY", "SecretAccessKey"),
                     ("AWS_SESSION_TOKEN", "SessionToken")):
        monkeypatch.setenv(var, creds[key])
    path = tmp_path / "config.toml"
    regions = ["--region", "us-east-1", "--region", "eu-west-1"]
    assert main(["init", "--endpoint-url", aws_server.endpoint_url, *regions, "--yes", "--write", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == ("no fleet found in us-east-1, eu-west-1 (no host): nothing to manage; "
                                            "nothing written")
    assert not path.exists()
    assert main(["init", "--endpoint-url", aws_server.endpoint_url, *regions, "--json", "--write", str(path)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert (doc["account"], doc["services"], doc["status"], doc["written"]) == ("222222222222", [], None, None)
    assert not path.exists()


def test_hostile_tag_values_are_written_as_data_and_select_their_hosts(aws_server, monkeypatch, tmp_path, capsys):
    """Tags are anyone's text: quotes, a newline, DEL, non-ASCII, a TOML comment sign. The config keeps them exact in
    values (the selector still takes the hosts), escaped in comments; the screen shows them escaped."""
    from fleettui.emulator.server import boto3_client

    creds = boto3_client("sts", "us-east-1", aws_server.endpoint_url).assume_role(
        RoleArn="arn:aws:iam::333333333333:role/onboarding", RoleSessionName="init")["Credentials"]
    env = {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
           "AWS_SESSION_TOKEN": creds["SessionToken"]}
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    import boto3

    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=aws_server.endpoint_url,
                       aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                       aws_session_token=env["AWS_SESSION_TOKEN"])
    hostile = 'we"b # x\nnext\x7fé'
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId="ami-03cf127a", MinCount=2, MaxCount=2, TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "Service", "Value": hostile},
                                              {"Key": "Own er", "Value": "a\\b"}]}])["Instances"]]
    path = tmp_path / "config.toml"
    assert main(["init", "--endpoint-url", aws_server.endpoint_url, "--region", "us-east-1", "--yes", "--write",
                 str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x7f" not in out and "we\"b # x\\nnext\\x7fé" in out
    text = path.read_text(encoding="utf-8")
    config = load_config(path)
    [svc] = config.services
    assert svc.name == "we-b-x-next" and dict(svc.selector) == {"Service": hostile}
    assert svc.required_tags == ("Own er",)
    assert all("\x7f" not in line and not line.startswith("next") for line in text.splitlines())
    assert main(["status", "--json", "--config", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted(i["id"] for g in doc["services"][0]["generations"] for i in g["instances"]) == sorted(ids)
