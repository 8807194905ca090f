"""The pure part of `fleettui init` and `fleettui doctor`: choosing a selector, recognising other tools' tags and
version tags, joining hosts into fleets, the commented TOML (hostile strings included), and doctor's simulator
requests. Hand-made AWS response items, no emulator."""
from __future__ import annotations

import tomllib

import pytest

from fleettui.aws.doctor import principal_arn, simulation_requests
from fleettui.config import parse_config
from fleettui.domain.discovery import (Comment, RegionScan, Scan, ServiceProposal, _version_key, choose_selector,
                                       fleets_of, hosts_of, propose, service_name, tool_of, versionish)
from fleettui.domain.proposal_toml import config_text, service_lines


# ------------------------------------------------------------------------------------------------ selectors

def test_the_smallest_separating_tag_set_preferring_service_keys():
    web = [{"Service": "web", "CostCenter": "cc-1", "Environment": "prod"}] * 3
    api = [{"Service": "api", "CostCenter": "cc-2", "Environment": "prod"}]
    # Service and CostCenter each separate alone: the service-like key wins; Environment never separates
    assert choose_selector(web, api) == ({"Service": "web"}, "")


def test_two_fleets_sharing_most_tags_are_separated_by_the_one_that_differs():
    common = {"Project": "store", "Environment": "prod", "Team": "web", "Owner": "o"}
    front = [{**common, "Tier": "front", "Name": "store-front"}] * 2
    back = [{**common, "Tier": "back", "Name": "store-back"}] * 2
    assert choose_selector(front, back) == ({"Tier": "front"}, "")


def test_two_keys_when_no_single_one_separates():
    fleet = [{"App": "shop", "Env": "prod"}]
    others = [{"App": "shop", "Env": "staging"}, {"App": "cart", "Env": "prod"}]
    assert choose_selector(fleet, others) == ({"App": "shop", "Env": "prod"}, "")


def test_tags_of_other_tools_names_and_versions_never_select():
    tags = {"Name": "web", "aws:autoscaling:groupName": "web-asg", "aws:cloudformation:stack-name": "web-prod",
            "elasticbeanstalk:environment-name": "web-env", "ManagedBy": "terraform", "terraform": "true",
            "Version": "1.2.3", "AppVersion": "1.2.3", "fleettui:version": "1.2.3", "kubernetes.io/cluster/x": "owned",
            "Wild": "web-*"}
    others = [{"Environment": "prod"}]
    selector, why = choose_selector([tags], others)
    assert selector is None
    assert why == "its hosts share no tag of their own (only Name, version tags or tags of other tools)"
    assert [tool_of(k, v) for k, v in tags.items()] == [
        "Name", "Auto Scaling", "CloudFormation", "Elastic Beanstalk", "Terraform", "Terraform", None, None, "fleettui",
        "Kubernetes", None]
    assert versionish("Version") and versionish("app_version") and versionish("GitSha") and not versionish("Server")


def test_no_selector_when_every_shared_tag_is_also_on_another_host():
    fleet = [{"Environment": "prod", "Team": "a"}]
    others = [{"Environment": "prod", "Team": "a", "Service": "x"}]
    selector, why = choose_selector(fleet, others, other_names=["i-0other"])
    assert selector is None
    assert why == "every tag its hosts share (Environment=prod, Team=a) is also on 1 other host (i-0other)"


@pytest.mark.parametrize("text, name", [("Web", "web"), ("store front", "store-front"), ("api--v2", "api-v2"),
                                        ("__x__", "x"), ("Ünïcode", "n-code"), ("***", "")])
def test_service_names_follow_the_config_rule(text, name):
    assert service_name(text) == name


# ------------------------------------------------------------------------------------------------- versions

def image(name, tags=None, created="2026-01-01T00:00:00Z", image_id=None):
    return {"ImageId": image_id or f"ami-{abs(hash(name)) % 10**8:08d}", "Name": name, "CreationDate": created,
            "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}


def test_the_version_tag_differs_between_the_images_and_is_named_like_one():
    images = [image("web-a", {"Version": "1.0", "Name": "web-ami-a", "Pipeline": "x", "SourceAMI": "ami-1"}),
              image("web-b", {"Version": "1.1", "Name": "web-ami-b", "Pipeline": "y", "SourceAMI": "ami-2"})]
    assert _version_key(images) == ("Version", "it differs between its images", ["Pipeline"])
    images = [image("a", {"app_version": "1"}), image("b", {"app_version": "2"})]
    assert _version_key(images)[0] == "app_version"


def test_no_version_tag_the_ami_name_then():
    # the Name tag differs between the images (a Packer/Terraform convention) but is not a version
    images = [image("legacy-1", {"Name": "legacy-ami-a"}), image("legacy-2", {"Name": "legacy-ami-b"})]
    assert _version_key(images) == (None, "its images carry no tag naming a version", [])
    # a Version tag with one value for every build names no version
    images = [image("x-1", {"Version": "latest"}), image("x-2", {"Version": "latest"})]
    assert _version_key(images)[:2] == (None, "the tag Version is not on every image or has one value for all of them")
    assert _version_key([])[0] is None
    # one build: its Version tag is taken
    assert _version_key([image("w", {"Version": "3.1.0"})])[0] == "Version"


# --------------------------------------------------------------------------------------------------- fleets

def inst(iid, tags, image_id="ami-1", lt=None):
    t = dict(tags)
    if lt:
        t["aws:ec2launchtemplate:id"] = lt
    return {"InstanceId": iid, "ImageId": image_id, "Tags": [{"Key": k, "Value": v} for k, v in t.items()]}


def scan(*regions: RegionScan) -> Scan:
    return Scan(regions=tuple(r.region for r in regions), account="123456789012", region_scans=regions)


def test_hosts_are_joined_by_target_group_group_and_template_and_loose_ones_by_their_tags():
    use1 = RegionScan("us-east-1", instances=[
        inst("i-1", {"Service": "web"}), inst("i-2", {"Service": "web", "Extra": "1"}),     # one target group
        inst("i-3", {"Service": "job", "aws:autoscaling:groupName": "job-asg"}),            # one group
        inst("i-4", {"Service": "job", "aws:autoscaling:groupName": "job-asg"}),
        inst("i-5", {"Service": "cache"}), inst("i-6", {"Service": "cache"}),                # hand-built
        inst("i-7", {}),                                                                     # nothing at all
        inst("i-8", {"eks:cluster-name": "k"}),                                              # a Kubernetes node
    ], targets={"arn:tg/web": {"i-1": "healthy", "i-2": "healthy"}})
    euw1 = RegionScan("eu-west-1", instances=[inst("i-9", {"Service": "job"}, lt="lt-eu")],
                      launch_templates=[{"LaunchTemplateId": "lt-eu", "LaunchTemplateName": "job-lt"}],
                      groups=[{"AutoScalingGroupName": "job-eu", "LaunchTemplate": {"LaunchTemplateName": "job-lt"},
                               "Instances": []}])
    s = scan(use1, euw1)
    hosts, nodes = hosts_of(s)
    assert [h.id for h in nodes] == ["i-8"]
    fleets, left = fleets_of(s, hosts)
    # job in us-east-1 (its group) and in eu-west-1 (its template): the same tags of their own, one fleet
    assert sorted(sorted(h.id for h in f.hosts) for f in fleets) == [["i-1", "i-2"], ["i-3", "i-4", "i-9"],
                                                                     ["i-5", "i-6"]]
    assert [h.id for h in left] == ["i-7"]
    proposal = propose(s)
    assert [(p.name, p.regions, p.selector) for p in proposal.services] == [
        ("job", ("eu-west-1", "us-east-1"), {"Service": "job"}), ("cache", ("us-east-1",), {"Service": "cache"}),
        ("web", ("us-east-1",), {"Service": "web"})]
    assert proposal.left_out == [
        "1 Kubernetes node (managed by their cluster, not by fleettui): i-8",
        '1 host with no tag of their own and in no target group, Auto Scaling group or launch template: i-7 (tag them, '
        'e.g. Service = "…", and run init again)']
    web = next(p for p in proposal.services if p.name == "web")
    assert proposal.selector_problems(web, {"Service": "cache"}) == [
        "it also takes 2 other hosts (2 of cache)", "it misses 2 of the 2 hosts found for web"]
    assert proposal.selector_problems(web, {"Service": "web"}) == []


# ---------------------------------------------------------------------------------------------------- TOML

HOSTILE = 'a "quoted"\nnew line\x1b[31m\x7f\\ end'


def test_hostile_strings_are_data_in_values_and_escaped_in_comments():
    svc = ServiceProposal(name="web", regions=("us-east-1",), selector={"Service": HOSTILE, "we ird key": "x"},
                          version_tag=HOSTILE, launch_template=HOSTILE, required_tags=(HOSTILE,),
                          hosts=(("us-east-1", "i-1"),), origin=f"launch template {HOSTILE}",
                          notes=[f"note {HOSTILE}"], comments=[Comment("generation_tag", None, f"why {HOSTILE}")])
    text = config_text(propose(scan()), [svc], profile=HOSTILE, endpoint_url="http://127.0.0.1:1",
                       written_on="today")
    doc = tomllib.loads(text)
    assert doc["service"][0]["selector"] == {"Service": HOSTILE, "we ird key": "x"}
    assert doc["service"][0]["launch_template"] == HOSTILE and doc["aws"]["profile"] == HOSTILE
    config = parse_config(doc, None, env={})
    assert dict(config.service("web").selector)["Service"] == HOSTILE
    for line in text.splitlines():
        assert "\x1b" not in line and "\x7f" not in line
        if line.startswith("#"):
            assert "new line" not in line or "\\n" in line


def test_a_service_without_a_selector_is_written_commented_out_with_why():
    svc = ServiceProposal(name="web", regions=("us-east-1",), selector=None, launch_template="web-lt",
                          why_no_selector="its hosts share no tag of their own", hosts=(("us-east-1", "i-1"),),
                          origin="launch template web-lt",
                          comments=[Comment("selector", None, "tag its hosts and set it here")])
    lines = service_lines(svc)
    assert "# [[service]]" in lines and '# launch_template = "web-lt"' in lines and '# selector = "…"' in lines
    assert not any(line.startswith("[") or line.startswith("name") for line in lines)
    assert tomllib.loads("\n".join(lines)) == {}


# ------------------------------------------------------------------------------------------- doctor's IAM

def test_the_simulator_principal_of_a_caller():
    assert principal_arn("arn:aws:iam::123456789012:user/ops") == "arn:aws:iam::123456789012:user/ops"
    assert principal_arn("arn:aws:sts::123456789012:assumed-role/Ops/alice") == "arn:aws:iam::123456789012:role/Ops"
    assert principal_arn("arn:aws:iam::123456789012:root") is None
    assert principal_arn("arn:aws:sts::123456789012:federated-user/bob") is None
    assert principal_arn(None) is None


def test_one_simulation_per_mutating_statement_and_region_with_its_conditions_as_context():
    from pathlib import Path

    from fleettui.aws.policy import generate
    from fleettui.config import load_config

    config = load_config(Path(__file__).resolve().parents[1] / "config.example.toml")
    requests = simulation_requests(generate(config, operator=True, services=["web"]).document)
    launch = [r for r in requests if r["sid"] == "WebLaunchTaggedInstances"]
    assert [r["region"] for r in launch] == ["eu-west-1", "us-east-1"]
    assert launch[0]["ActionNames"] == ["ec2:RunInstances"]
    assert launch[0]["ResourceArns"] == ["arn:aws:ec2:eu-west-1:123456789012:instance/*"]
    context = {e["ContextKeyName"]: (e["ContextKeyValues"], e["ContextKeyType"]) for e in launch[0]["ContextEntries"]}
    assert context["aws:RequestTag/Service"] == (["web"], "string")
    assert context["aws:RequestedRegion"] == (["eu-west-1"], "string")
    assert context["ec2:LaunchTemplate"] == (["arn:aws:ec2:*:123456789012:launch-template/*"], "string")
    shift = [r for r in requests if r["sid"] == "WebShiftListenerWeights"]
    assert len(shift) == 1 and shift[0]["region"] is None and shift[0]["ResourceArns"][0] == config.service(
        "web").listener_arn
    assert not any(set(r["ActionNames"]) & {"ec2:DescribeInstances"} for r in requests)     # reads are not simulated


def _groups_scan(group_tags):
    images = {"ami-1": image("pay-1", {"Version": "1.0"}, image_id="ami-1"),
              "ami-2": image("pay-2", {"Version": "2.0"}, "2026-02-01T00:00:00Z", image_id="ami-2")}
    instances, groups = [], []
    for n, (ami, version) in enumerate((("ami-1", "1.0"), ("ami-2", "2.0")), 1):
        name = f"pay-v{n}"
        tags = {"Service": "pay", **{k: v.replace("{v}", version) for k, v in group_tags.items()}}
        instances.append(inst(f"i-{n}", {**tags, "aws:autoscaling:groupName": name}, image_id=ami))
        groups.append({"AutoScalingGroupName": name, "Instances": [{"InstanceId": f"i-{n}"}],
                       "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]})
    return scan(RegionScan("us-east-1", instances=instances, groups=groups, images=images))


def test_one_group_per_generation_is_kind_asg_only_with_a_tag_naming_the_version():
    [pay] = propose(_groups_scan({"Release": "{v}"})).services
    assert (pay.kind, pay.generation_tag, pay.versions) == ("asg", "Release", ("1.0", "2.0"))
    assert [c.key for c in pay.comments] == ["launch_template"]       # none in this hand-made account
    [pay] = propose(_groups_scan({})).services
    assert (pay.kind, pay.generation_tag) == ("hosts", None)
    [kind] = [c for c in pay.comments if c.key == "kind"]
    assert kind.value == '"asg"' and kind.why == (
        "its Auto Scaling groups (pay-v1, pay-v2) look like one per generation, but they lack a tag naming their "
        "version (e.g. fleettui:version): tag them (propagated at launch); then it can be managed as generations")
