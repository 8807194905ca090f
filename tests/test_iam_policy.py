"""The IAM policies: one declaration of the operations fleettui calls (fleettui.aws.permissions) that cannot go stale,
an allowlist pinned to the exact expected set, policies generated from the config with every mutation narrowed,
the shipped files current, and an IAM linter (parliament) without high-risk findings."""
import json
import pathlib
import re

import botocore.session
import pytest
from botocore import xform_name

from fleettui.aws import permissions
from fleettui.aws.gateway import MUTATING_ALLOWLIST
from fleettui.aws.policy import SCOPED_READS, generate
from fleettui.cli import main
from fleettui.config import load_config

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config.example.toml"
CALL = re.compile(r'\.(call|paginate|wait)\(\s*"(\w+)",\s*[^,]+,\s*"(\w+)"')

# The mutations fleettui may send, pinned: adding one is a reviewed change of this list, not only of the code.
EXPECTED_MUTATIONS = {
    ("ec2", "RunInstances"), ("ec2", "TerminateInstances"), ("ec2", "CreateTags"), ("ec2", "DeleteTags"),
    ("elbv2", "RegisterTargets"), ("elbv2", "DeregisterTargets"), ("elbv2", "ModifyListener"),
    ("elbv2", "ModifyRule"), ("elbv2", "CreateTargetGroup"), ("elbv2", "DeleteTargetGroup"),
    ("elbv2", "AddTags"), ("elbv2", "RemoveTags"),
    ("autoscaling", "TerminateInstanceInAutoScalingGroup"), ("autoscaling", "SetDesiredCapacity"),
    ("autoscaling", "CreateAutoScalingGroup"), ("autoscaling", "UpdateAutoScalingGroup"),
    ("autoscaling", "DeleteAutoScalingGroup"),
    ("dynamodb", "PutItem"), ("dynamodb", "UpdateItem"), ("dynamodb", "DeleteItem"),
}
# `fleettui team init` only (its own gateway and its own policy), never on the runtime allowlist
EXPECTED_TEAM_INIT = {("dynamodb", "CreateTable"), ("dynamodb", "UpdateContinuousBackups"),
                      ("dynamodb", "UpdateTimeToLive")}


def _operations_in_code() -> set[tuple[str, str]]:
    session = botocore.session.get_session()
    found = set()
    for path in (ROOT / "fleettui").rglob("*.py"):
        for kind, service, name in CALL.findall(path.read_text(encoding="utf-8")):
            model = session.get_service_model(service)
            if kind == "wait":
                op = session.get_waiter_model(service).get_waiter(
                    "".join(p.capitalize() for p in name.split("_"))).operation
            else:
                op = {xform_name(o): o for o in model.operation_names}[name]
            found.add((service, op))
    assert len(found) > 15, found  # the scan itself works
    return found


def _actions(doc: dict) -> set[str]:
    out = set()
    for st in doc["Statement"]:
        out.update([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    return out


def _listify(v):
    return v if isinstance(v, list) else [v]


def test_the_declaration_is_exactly_what_the_code_calls():
    assert _operations_in_code() == (permissions.READS | permissions.MUTATING | permissions.TEAM_INIT
                                     | permissions.INIT_READS)
    assert not permissions.READS & permissions.MUTATING and not permissions.INIT_READS & permissions.MUTATING


def test_mutating_allowlist_is_pinned_to_the_expected_set():
    assert set(MUTATING_ALLOWLIST) == EXPECTED_MUTATIONS
    assert MUTATING_ALLOWLIST is permissions.MUTATING
    assert set(permissions.TEAM_INIT) == EXPECTED_TEAM_INIT and not permissions.TEAM_INIT & MUTATING_ALLOWLIST


def test_shipped_policies_are_the_output_of_the_command_for_the_example_config(capsys):
    for flag, name in (("--operator", "fleettui-operator.json"), ("--read-only", "fleettui-readonly.json"),
                       ("--team-init", "fleettui-team-init.json")):
        assert main(["iam", "policy", flag, "--json", "--config", str(EXAMPLE)]) == 0
        printed = capsys.readouterr().out
        assert printed == (ROOT / "iam" / name).read_text(), f"iam/{name} is stale: regenerate it (README Permissions)"


def test_policies_grant_exactly_the_declared_operations():
    config = load_config(EXAMPLE)
    reads = {permissions.iam_action(*o) for o in permissions.READS}
    mutations = {permissions.iam_action(*o) for o in permissions.MUTATING}
    assert _actions(generate(config, operator=False).document) == reads
    # with [team] the lock is an item of the table: the tag lock's own operations are not granted
    tag_lock = {"ec2:DeleteTags", "elasticloadbalancing:RemoveTags"}
    assert _actions(generate(config, operator=True).document) == (reads | mutations | {"iam:PassRole"}) - tag_lock
    solo = parse_config_without_team()
    assert _actions(generate(solo, operator=True).document) == (reads | mutations | {"iam:PassRole"}) - {
        "dynamodb:" + op for _, op in permissions.READS | permissions.MUTATING if _ == "dynamodb"}
    statements = _by_sid(generate(config, operator=True).document)
    locks, audit = statements["FleettuiTeamLockItems"], statements["FleettuiTeamAuditItems"]
    assert locks["Resource"] == audit["Resource"] == "arn:aws:dynamodb:eu-west-1:123456789012:table/fleettui"
    assert locks["Action"] == ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert locks["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["lock#*"]}}
    # issue 23: the audit is append-only -- no UpdateItem or DeleteItem of an audit item
    assert audit["Action"] == "dynamodb:PutItem" or audit["Action"] == ["dynamodb:PutItem"]
    assert audit["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["audit#*"]}}
    assert not [st for st in statements.values() if st.get("Resource") == locks["Resource"]
                and st["Sid"] not in ("FleettuiTeamLockItems", "FleettuiTeamAuditItems", "FleettuiReadTeamTable")]


def parse_config_without_team():
    import tomllib

    from fleettui.config import parse_config

    data = tomllib.loads(EXAMPLE.read_text())
    del data["team"]
    return parse_config(data, EXAMPLE)


def test_no_write_on_star_and_every_wildcard_write_is_conditioned():
    config = load_config(EXAMPLE)
    web = config.service("web")
    doc = generate(config, operator=True).document
    reads = {permissions.iam_action(*o) for o in permissions.READS}
    for st in doc["Statement"]:
        if set(_listify(st["Action"])) <= reads:
            scoped = {permissions.iam_action(*o) for o in SCOPED_READS}
            if set(_listify(st["Action"])) <= scoped:       # reads AWS can scope: on their resource type
                assert all(r.endswith(("alarm:*", "instance/*")) for r in _listify(st["Resource"])), st
            elif all(a.startswith("dynamodb:") for a in _listify(st["Action"])):     # the team table's only
                assert st["Resource"] == "arn:aws:dynamodb:eu-west-1:123456789012:table/fleettui", st
            else:
                assert st["Resource"] == "*"    # AWS has no resource-level control for these reads
            continue
        assert not set(_listify(st["Action"])) & reads, st["Sid"]
        for resource in _listify(st["Resource"]):
            assert resource != "*", st["Sid"]
            exact = resource == web.listener_arn or resource == web.listener_arn.replace(
                ":listener/", ":listener-rule/") + "/*"
            assert exact or st.get("Condition"), f"{st['Sid']}: {resource} without a condition"


def _by_sid(doc):
    return {st["Sid"]: st for st in doc["Statement"]}


def test_each_mutation_is_scoped_by_the_service_tags_template_listener_and_naming():
    config = parse_config_without_team()        # solo: the lock is the listener's tag
    web = config.service("web")
    st = _by_sid(generate(config, operator=True, services=["web"]).document)
    assert not any(sid.startswith("Worker") for sid in st)          # --service: only that service
    selector = {"Service": "web", "Environment": "prod"}
    regions = ["eu-west-1", "us-east-1"]
    launch = st["WebLaunchTaggedInstances"]
    assert launch["Resource"] == "arn:aws:ec2:*:123456789012:instance/*"
    assert launch["Condition"]["StringEquals"] == {
        **{f"aws:RequestTag/{k}": v for k, v in selector.items()}, "aws:RequestedRegion": regions}
    assert launch["Condition"]["ArnLike"] == {"ec2:LaunchTemplate": "arn:aws:ec2:*:123456789012:launch-template/*"}
    assert st["WebTagInstancesAtLaunch"]["Condition"]["StringEquals"]["ec2:CreateAction"] == "RunInstances"
    retire = st["WebRetireOwnHosts"]
    assert set(retire["Action"]) == {"ec2:TerminateInstances", "autoscaling:SetDesiredCapacity",
                                     "autoscaling:TerminateInstanceInAutoScalingGroup"}      # web: kind "hosts"
    assert retire["Condition"]["StringEquals"] == {
        **{f"aws:ResourceTag/{k}": v for k, v in selector.items()}, "aws:RequestedRegion": regions}
    assert "WebCreateGenerationGroups" not in st                   # web is not kind = "asg"
    create = _by_sid(generate(config, operator=True, services=["worker"]).document)["WorkerCreateGenerationGroups"]
    assert create["Resource"] == (
        "arn:aws:autoscaling:*:123456789012:autoScalingGroup:*:autoScalingGroupName/worker-*")
    assert create["Condition"] == {"StringEquals": {"aws:RequestTag/Service": "worker",
                                                    "aws:RequestTag/Environment": "prod",
                                                    "aws:RequestedRegion": regions},
                                   "Bool": {"autoscaling:LaunchTemplateVersionSpecified": "true"}}
    worker = _by_sid(generate(config, operator=True, services=["worker"]).document)
    assert {"autoscaling:UpdateAutoScalingGroup", "autoscaling:DeleteAutoScalingGroup"} <= set(
        worker["WorkerRetireOwnHosts"]["Action"])
    assert "WorkerLaunchTaggedInstances" not in worker and "WorkerTagInstancesAtLaunch" not in worker
    assert st["WebShiftListenerWeights"]["Resource"] == [
        web.listener_arn, web.listener_arn.replace(":listener/", ":listener-rule/") + "/*"]
    assert st["WebLockOnListener"]["Resource"] == web.listener_arn
    assert st["WebLockOnListener"]["Condition"] == {"ForAllValues:StringEquals": {"aws:TagKeys": ["fleettui:lock"]}}
    groups = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-*"
    for sid in ("WebCreateGenerationTargetGroups", "WebTagTargetGroupsAtCreation", "WebUseGenerationTargetGroups"):
        assert st[sid]["Resource"] == groups
    assert st["WebUseGenerationTargetGroups"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/fleettui:service": "web"}}
    assert st["WebPassInstanceRoles"]["Resource"] == ["arn:aws:iam::123456789012:role/web-instance"]
    assert st["WebPassInstanceRoles"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}


def test_what_the_config_does_not_say_stays_conservative_and_says_how_to_narrow(tmp_path):
    text = EXAMPLE.read_text().replace('instance_roles = ["web-instance"]', "").replace(
        'launch_template = "worker-lt"', 'launch_template = "lt-0123456789abcdef0"')
    path = tmp_path / "c.toml"
    path.write_text(text)
    config = load_config(path)
    generated = generate(config, operator=True)
    st = _by_sid(generated.document)
    assert st["WebPassInstanceRoles"]["Resource"] == ["arn:aws:iam::123456789012:role/*"]
    assert "PassedToService" in json.dumps(st["WebPassInstanceRoles"]["Condition"])
    assert any(n.startswith("web: instance_roles not set") for n in generated.notes)
    assert any(n.startswith("web: launch_template 'web-lt' is a name") for n in generated.notes)
    # an id names the one template; instance_roles = [] means no PassRole at all
    lt = "arn:aws:ec2:*:123456789012:launch-template/lt-0123456789abcdef0"
    assert st["WorkerLaunchFromTemplate"]["Condition"]["ArnLike"] == {"ec2:LaunchTemplate": lt}
    assert "WorkerPassInstanceRoles" not in st
    assert not any(n.startswith("worker: launch_template") for n in generated.notes)


def test_example_operator_policy_fits_a_managed_policy():
    doc = json.loads((ROOT / "iam" / "fleettui-operator.json").read_text())
    assert len(json.dumps(doc, separators=(",", ":"))) <= 6144   # AWS's limit for a managed policy


@pytest.mark.parametrize("argv, needle", [
    (["iam", "policy"], "choose one of --read-only, --operator or --team-init"),
    (["iam", "policy", "--operator", "--read-only"], "choose one of --read-only, --operator or --team-init"),
    (["iam", "policy", "--operator", "--service", "nope"], "unknown service 'nope'"),
    (["iam", "policy", "--read-only", "--service", "web"], "--service narrows the operator policy only"),
])
def test_bad_iam_policy_usage_is_one_line_exit_2(argv, needle, capsys):
    assert main([*argv, "--config", str(EXAMPLE)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and needle in captured.err


def test_human_output_lists_statements_and_notes(capsys):
    assert main(["iam", "policy", "--operator", "--config", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "WebRetireOwnHosts" in out and "aws:ResourceTag/Service = \"web\"" in out
    assert "To narrow further:" in out and "web: launch_template 'web-lt' is a name" in out


# -- an IAM linter from the field ---------------------------------------------------------------------------------
# parliament (duo-labs) with its community auditors. Findings it reports on these policies that are accepted, each
# for a stated reason; any other finding fails.
ACCEPTED = {
    # The community auditor flags any policy holding iam:PassRole and ec2:RunInstances, whatever their resources
    # (it reads actions only). fleettui must launch hosts with their instance role; the PassRole statement is
    # checked below to name only the declared roles and only towards EC2.
    ("PRIVILEGE_ESCALATION", "HIGH"), ("PERMISSIONS_MANAGEMENT_ACTIONS", "MEDIUM"),
    # RunInstances is split in two statements (instance: with request tags; the other resources: from the
    # template), AWS's documented pattern; parliament wants every required resource type in each statement.
    # Likewise a listener ARN is app/ or net/, never both.
    ("RESOURCE_MISMATCH", "MEDIUM"),
    # parliament's IAM definitions predate elasticloadbalancing:CreateAction (tag-on-create authorization).
    ("UNKNOWN_CONDITION_FOR_ACTION", "MEDIUM"),
}


def _lint(doc: dict) -> list[tuple[str, str, str]]:
    parliament = pytest.importorskip("parliament")
    from parliament import analyze_policy_string, enhance_finding, override_config

    override_config(str(pathlib.Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml"))
    policy = analyze_policy_string(json.dumps(doc), include_community_auditors=True)
    return [(f.issue, f.severity, f"{f.detail} {f.location}") for f in map(enhance_finding, policy.findings)]


@pytest.mark.parametrize("name", ["fleettui-operator.json", "fleettui-readonly.json", "fleettui-team-init.json"])
def test_parliament_finds_nothing_high_risk_beyond_the_accepted(name):
    doc = json.loads((ROOT / "iam" / name).read_text())
    findings = _lint(doc)
    assert [f for f in findings if (f[0], f[1]) not in ACCEPTED] == []
    assert not any(f[0] == "RESOURCE_STAR" for f in findings)
    if name in ("fleettui-readonly.json", "fleettui-team-init.json"):
        assert findings == []
    escalation = [f for f in findings if f[0] == "PRIVILEGE_ESCALATION"]
    assert all("CreateEC2WithExistingIP" in f[2] for f in escalation)
    for st in doc["Statement"]:
        if "iam:PassRole" in _listify(st["Action"]):
            assert all(re.fullmatch(r"arn:aws:iam::\d{12}:role/[\w+=,.@-]+", r) for r in _listify(st["Resource"]))
            assert st["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}


def test_parliament_does_flag_a_write_on_star():
    """The lint above can fail: the old hand-written policy's kind of statement is reported."""
    findings = _lint({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ec2:TerminateInstances"], "Resource": "*"}]})
    assert any(f[0] == "RESOURCE_STAR" for f in findings)


def test_the_tags_the_policy_names_are_the_ones_fleettui_writes():
    from fleettui.aws import policy
    from fleettui.store.taglock import LOCK_TAG

    assert policy.LOCK_TAG == LOCK_TAG
    from fleettui.store.dynamo import audit_pk, lock_key

    assert [lock_key("web")["pk"].replace("web", "*")] == policy.TEAM_LOCK_KEYS
    assert [audit_pk("web").replace("web", "*")] == policy.TEAM_AUDIT_KEYS
    launch = (ROOT / "fleettui" / "actions" / "verbs" / "launch.py").read_text()
    assert f'tags={{"{policy.SERVICE_TAG}": svc.name' in launch
