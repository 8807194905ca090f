"""`fleettui iam policy --init` is enough for `fleettui init` and the reads of `fleettui doctor`, proven on the
emulated AWS with IAM enforcement on (tests/init_iam_emulator.py: the demo fleet in a process of its own, fleettui
running as IAM users holding only its policies); a read the policy lacks is listed, not fatal; doctor tells an operator
whose policy lacks a launch permission."""
from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from fleettui.cli import main
from fleettui.config import load_config

REPO = Path(__file__).resolve().parents[1]
REGIONS = ["--region", "us-east-1", "--region", "eu-west-1"]


class AuthAws:
    def __init__(self, info: dict, config_path: Path):
        self.info = info
        self.config_path = config_path
        self.endpoint_url = info["endpoint_url"]

    def become(self, monkeypatch, user: str) -> None:
        for var, value in self.info["keys"][user].items():
            monkeypatch.setenv(var, value)


@pytest.fixture(scope="module")
def auth_aws(tmp_path_factory):
    config_path = tmp_path_factory.mktemp("init-iam") / "demo.toml"
    proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "init_iam_emulator.py"), str(config_path)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO, text=True)
    try:
        line = proc.stdout.readline()
        assert line, f"the emulator process ended without starting (exit {proc.wait()})"
        yield AuthAws(json.loads(line), config_path)
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_authentication_is_really_on(auth_aws, monkeypatch, capsys, tmp_path):
    """The init policy is not everything: a user with it cannot do what it does not grant (here: run doctor's EC2
    DryRun of a launch, an ec2:RunInstances), and unknown keys are refused."""
    import boto3
    from botocore.exceptions import ClientError

    anonymous = boto3.client("ec2", region_name="us-east-1", endpoint_url=auth_aws.endpoint_url,
                             aws_access_key_id="testing", aws_secret_access_key="testing")
    with pytest.raises(ClientError):
        anonymous.describe_instances()
    keys = auth_aws.info["keys"]["init"]
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=auth_aws.endpoint_url,
                       aws_access_key_id=keys["AWS_ACCESS_KEY_ID"], aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"])
    ec2.describe_instances()
    with pytest.raises(ClientError) as e:
        ec2.run_instances(ImageId="ami-03cf127a", MinCount=1, MaxCount=1, DryRun=True)
    assert e.value.response["Error"]["Code"] != "DryRunOperation"


def test_the_init_policy_is_enough_for_init(auth_aws, monkeypatch, tmp_path, capsys):
    auth_aws.become(monkeypatch, "init")
    path = tmp_path / "config.toml"
    assert main(["init", "--endpoint-url", auth_aws.endpoint_url, *REGIONS, "--yes", "--write", str(path)]) == 0
    captured = capsys.readouterr()
    assert "could not read" not in captured.err, captured.err
    mine, theirs = load_config(path), load_config(auth_aws.config_path)
    assert sorted(s.name for s in mine.services) == ["api", "cache", "checkout", "web", "worker"]
    for svc in theirs.services:
        got = mine.service(svc.name)
        assert (got.selector, got.listener_arn, got.launch_template, got.kind, got.instance_roles) == (
            svc.selector, svc.listener_arn, svc.launch_template, svc.kind, svc.instance_roles)


def test_without_regions_init_asks_the_account_for_them(auth_aws, monkeypatch, tmp_path, capsys):
    """DescribeRegions (in the init policy): every region of the account is read; those without a fleet add nothing."""
    auth_aws.become(monkeypatch, "init")
    assert main(["init", "--endpoint-url", auth_aws.endpoint_url, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["unreadable"] == [] and len(doc["regions"]) > 10 and {"us-east-1", "eu-west-1"} <= set(doc["regions"])
    assert not any(r.startswith(("cn-", "us-gov-")) for r in doc["regions"])      # another partition: not this account's
    assert sorted(s["name"] for s in doc["services"]) == ["api", "cache", "checkout", "web", "worker"]
    assert tomllib.loads(doc["config"])["aws"]["regions"] == ["us-east-1", "eu-west-1"]


def test_a_read_the_policy_lacks_is_listed_not_fatal(auth_aws, monkeypatch, tmp_path, capsys):
    auth_aws.become(monkeypatch, "init-no-elb")
    path = tmp_path / "config.toml"
    assert main(["init", "--endpoint-url", auth_aws.endpoint_url, *REGIONS, "--yes", "--write", str(path)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "could not read elbv2:DescribeLoadBalancers in us-east-1, eu-west-1: access denied for "
        "elbv2:describe_load_balancers in us-east-1: User: arn:aws:iam::123456789012:user/init-no-elb is not "
        "authorized to perform: elasticloadbalancing:DescribeLoadBalancers"), err
    config = load_config(path)
    assert len(config.services) == 5 and config.service("web").listener_arn is None      # no listener could be seen
    assert "# could not read elbv2:DescribeLoadBalancers in us-east-1" in path.read_text(encoding="utf-8")


def test_an_account_that_cannot_be_read_at_all_is_one_line_not_an_empty_proposal(auth_aws, monkeypatch, tmp_path,
                                                                                 capsys):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIANOBODY0000000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "nobody")
    path = tmp_path / "config.toml"
    assert main(["init", "--endpoint-url", auth_aws.endpoint_url, *REGIONS, "--yes", "--write", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("fleettui: could not read the account: ") and "nothing to manage" not in captured.out
    assert len(captured.err.strip().splitlines()) == 1 and not path.exists()
    assert main(["init", "--endpoint-url", auth_aws.endpoint_url, "--json"]) == 1        # DescribeRegions refused
    assert capsys.readouterr().err.startswith("fleettui: ")


def test_the_init_policy_is_enough_for_doctors_reads(auth_aws, monkeypatch, capsys):
    auth_aws.become(monkeypatch, "init")
    assert main(["doctor", "--read-only", "--config", str(auth_aws.config_path)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == (
        "nothing to fix: 5 services checked against account 123456789012")


def test_doctor_checks_the_operators_launch_permission(auth_aws, monkeypatch, capsys):
    """moto has no policy simulator: doctor falls back to EC2 DryRun, which AWS (here moto) authorises like a launch."""
    auth_aws.become(monkeypatch, "operator")
    assert main(["doctor", "--config", str(auth_aws.config_path)]) == 0
    out = capsys.readouterr().out
    assert "IAM: the policy simulator is unavailable (" in out and "checked ec2:RunInstances by EC2 DryRun only" in out
    auth_aws.become(monkeypatch, "reader")
    assert main(["doctor", "--config", str(auth_aws.config_path)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    denied = [line for line in lines if "is denied (EC2 DryRun)" in line]
    assert [line.split(":")[0] for line in denied] == ["web", "api", "worker", "worker", "cache", "checkout"]
    assert denied[0] == ("web: ec2:RunInstances from web-lt in us-east-1 is denied (EC2 DryRun): attach `fleettui iam "
                         "policy --operator`")
    assert lines[-1] == "6 things to fix (5 services checked against account 123456789012)"


def test_doctor_falls_back_at_once_where_the_simulator_is_missing(auth_aws, monkeypatch, capsys):
    """A caller allowed to simulate, on an endpoint without the simulator (moto answers 500): one attempt, then the
    DryRun (no retries: the gateway doctor opens for the simulator makes a single attempt)."""
    auth_aws.become(monkeypatch, "admin")
    assert main(["doctor", "--config", str(auth_aws.config_path)]) == 0
    out = capsys.readouterr().out
    assert "IAM: the policy simulator is unavailable (iam:simulate_principal_policy in us-east-1 failed" in out
    assert "checked ec2:RunInstances by EC2 DryRun only" in out


# -- the policy itself, by reading ----------------------------------------------------------------------------------

def test_the_init_policy_reads_only_and_the_shipped_file_is_current(capsys):
    from fleettui.aws import permissions
    from fleettui.aws.policy import INIT_USES_READS, init_policy

    assert INIT_USES_READS <= permissions.READS
    doc = init_policy().document
    actions = {a for st in doc["Statement"] for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])}
    assert actions == {permissions.iam_action(*a) for a in INIT_USES_READS | permissions.INIT_READS}
    assert not actions & {permissions.iam_action(*a) for a in permissions.MUTATING | permissions.TEAM_INIT}
    scoped = {st["Sid"]: st["Resource"] for st in doc["Statement"] if st["Resource"] != "*"}
    assert scoped == {"FleettuiInitGetInstanceProfile": "arn:aws:iam::*:instance-profile/*",
                      "FleettuiInitSimulatePrincipalPolicy": ["arn:aws:iam::*:user/*", "arn:aws:iam::*:role/*"]}
    assert main(["iam", "policy", "--init", "--json"]) == 0          # no config needed
    assert capsys.readouterr().out == (REPO / "iam" / "fleettui-init.json").read_text(), \
        "iam/fleettui-init.json is stale: `fleettui iam policy --init --json > iam/fleettui-init.json`"
    assert main(["iam", "policy", "--init", "--service", "web"]) == 2


def test_parliament_finds_nothing_in_the_init_policy():
    parliament = pytest.importorskip("parliament")
    from parliament import analyze_policy_string, enhance_finding, override_config

    override_config(str(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml"))
    policy = analyze_policy_string((REPO / "iam" / "fleettui-init.json").read_text(), include_community_auditors=True)
    assert [(f.issue, f.severity) for f in map(enhance_finding, policy.findings)] == []
