"""Drift and age rules, and generation roles, on hand-made AWS descriptions (pure domain, no server)."""
from datetime import datetime, timedelta, timezone

import pytest

from fleettui.config import ServiceConfig
from fleettui.domain.build import RawService, build_service
from fleettui.domain.rules import age_findings

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
DAY = 86400


def svc_cfg(**kw):
    base = dict(name="web", regions=("us-east-1",), selector=(("Service", "web"),), launch_template="web-lt",
                required_tags=("Owner",), listener_arn=None, warn_age_s=14 * DAY, max_age_s=30 * DAY)
    base.update(kw)
    return ServiceConfig(**base)


def image(image_id, version, created_days_ago, **extra):
    return {"ImageId": image_id, "Name": f"web-{version}", "State": "available",
            "CreationDate": (NOW - timedelta(days=created_days_ago)).isoformat(),
            "Tags": [{"Key": "Version", "Value": version}], **extra}


def lt(version, image_id, default=False, **data):
    d = {"ImageId": image_id, "InstanceType": "m5.large", "SecurityGroupIds": ["sg-web"],
         "IamInstanceProfile": {"Name": "web-role"}}
    d.update(data)
    return {"LaunchTemplateId": "lt-1", "LaunchTemplateName": "web-lt", "VersionNumber": version,
            "DefaultVersion": default, "LaunchTemplateData": d}


def inst(iid, image_id, lt_version, age_days=1.0, **over):
    tags = {"Service": "web", "Owner": "team", "aws:ec2launchtemplate:id": "lt-1",
            "aws:ec2launchtemplate:version": str(lt_version)}
    tags.update(over.pop("tags", {}))
    d = {"InstanceId": iid, "ImageId": image_id, "InstanceType": "m5.large", "_region": "us-east-1",
         "LaunchTime": NOW - timedelta(days=age_days), "State": {"Name": "running"},
         "Placement": {"AvailabilityZone": "us-east-1a"}, "SubnetId": "subnet-a",
         "SecurityGroups": [{"GroupId": "sg-web"}],
         "IamInstanceProfile": {"Arn": "arn:aws:iam::1:instance-profile/web-role"},
         "Tags": [{"Key": k, "Value": v} for k, v in tags.items() if v is not None]}
    d.update(over)
    return d


def build(instances, *, images=None, lts=None, listener=None, tgs=None, **cfg):
    raw = RawService(
        config=svc_cfg(**cfg), instances=instances,
        images=images or {"ami-old": image("ami-old", "1.0", 40), "ami-new": image("ami-new", "2.0", 2)},
        lt_versions={"us-east-1": lts or [lt(1, "ami-old"), lt(2, "ami-new", default=True)]},
        listener=listener, target_groups=tgs or {},
    )
    return build_service(raw, NOW)


def kinds(service, iid):
    return {f.kind for i in service.instances if i.id == iid for f in i.findings}


def test_clean_host_has_no_findings():
    s = build([inst("i-1", "ami-new", 2)])
    assert kinds(s, "i-1") == set()


@pytest.mark.parametrize("override, kind, expected, actual", [
    ({"InstanceType": "m5.xlarge"}, "drift:instance_type", "m5.large", "m5.xlarge"),
    ({"SecurityGroups": [{"GroupId": "sg-web"}, {"GroupId": "sg-debug"}]}, "drift:security_groups", "sg-web",
     "sg-debug,sg-web"),
    ({"IamInstanceProfile": {"Arn": "arn:aws:iam::1:instance-profile/debug"}}, "drift:iam_instance_profile",
     "web-role", "debug"),
    ({"ImageId": "ami-other"}, "drift:image", "ami-new", "ami-other"),
    ({"tags": {"Owner": None}}, "drift:tags", "Owner", "(none)"),
])
def test_each_drift_rule_reports_expected_and_actual(override, kind, expected, actual):
    images = {"ami-old": image("ami-old", "1.0", 40), "ami-new": image("ami-new", "2.0", 2),
              "ami-other": image("ami-other", "2.0", 3)}
    s = build([inst("i-1", "ami-new", 2, **override)], images=images)
    f = next(f for i in s.instances for f in i.findings if f.kind == kind)
    assert (f.expected, f.actual) == (expected, actual)


def test_subnet_drift_when_template_pins_a_subnet():
    lts = [lt(2, "ami-new", default=True, NetworkInterfaces=[{"SubnetId": "subnet-b", "Groups": ["sg-web"]}],
              SecurityGroupIds=[])]
    s = build([inst("i-1", "ami-new", 2)], lts=lts)
    f = next(f for f in s.instances[0].findings if f.kind == "drift:subnet")
    assert (f.expected, f.actual) == ("subnet-b", "subnet-a")


def test_launch_template_version_differs_from_declared():
    # v3 is declared with the same image but another instance type: hosts from v2 must be replaced
    lts = [lt(1, "ami-old"), lt(2, "ami-new"), lt(3, "ami-new", default=True, InstanceType="m6i.large")]
    s = build([inst("i-1", "ami-new", 2)], lts=lts)
    f = next(f for f in s.instances[0].findings if f.kind == "drift:launch_template_version")
    assert (f.expected, f.actual) == ("v3", "v2")
    assert s.instances[0].expected_launch_template_version == 3


def test_host_not_launched_from_the_template_is_a_snowflake():
    s = build([inst("i-1", "ami-new", 2, tags={"aws:ec2launchtemplate:id": None,
                                                "aws:ec2launchtemplate:version": None})])
    assert "drift:launch_template" in kinds(s, "i-1")


def test_deprecated_and_deregistered_images():
    images = {"ami-old": image("ami-old", "1.0", 40, DeprecationTime=(NOW - timedelta(days=1)).isoformat()),
              "ami-new": image("ami-new", "2.0", 2)}
    s = build([inst("i-1", "ami-old", 1), inst("i-2", "ami-gone", 1)], images=images)
    assert "drift:image_deprecated" in kinds(s, "i-1")
    assert "drift:image_deregistered" in kinds(s, "i-2")
    gone = next(g for g in s.generations if g.version == "ami-gone")
    assert not gone.image.reproducible


@pytest.mark.parametrize("age_days, kinds_", [(1, []), (14, ["age:warn"]), (20, ["age:warn"]), (30, ["age:max"]),
                                              (45, ["age:max"])])
def test_age_rules(age_days, kinds_):
    assert [f.kind for f in age_findings(age_days * DAY, 14 * DAY, 30 * DAY)] == kinds_


def test_generations_weights_and_roles():
    arn = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web-{}/x"
    listener = {"DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": arn.format("a"), "Weight": 0}, {"TargetGroupArn": arn.format("b"), "Weight": 90},
        {"TargetGroupArn": arn.format("c"), "Weight": 10}]}}]}
    images = {"ami-a": image("ami-a", "1.4", 60), "ami-b": image("ami-b", "1.5", 25), "ami-c": image("ami-c", "1.6", 2)}
    lts = [lt(1, "ami-a"), lt(2, "ami-b"), lt(3, "ami-c", default=True)]
    tgs = {arn.format(x): {"name": f"web-{x}", "tags": {"fleettui:version": v}, "health": {f"i-{x}": "healthy"}}
           for x, v in (("a", "1.4"), ("b", "1.5"), ("c", "1.6"))}
    s = build([inst("i-a", "ami-a", 1, 40), inst("i-b", "ami-b", 2, 10), inst("i-c", "ami-c", 3, 1)],
              images=images, lts=lts, listener=listener, tgs=tgs, listener_arn="arn:aws:elasticloadbalancing:"
              "us-east-1:123456789012:listener/app/web/x/y")
    # the rollback rule: undo the newest generation that receives traffic (the 1.6 canary): 1.5 gets 100%
    assert [(g.version, g.weight, g.labels) for g in s.generations] == [
        ("1.4", 0, ()), ("1.5", 90, ("live",)), ("1.6", 10, ("canary",))]
    assert s.rollback.ready and s.rollback.target == "1.5" and s.rollback.source == "1.6"
    assert "take 1.6 out of traffic → 1.5 gets 100%" in s.rollback.reason
    assert all(i.health == "healthy" for i in s.instances)
    # the age rule of the old generation
    assert s.generations[0].instances[0].age_level == "error"


def test_weight_to_target_group_without_instances_is_a_warning():
    arn = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web-ghost/x"
    listener = {"DefaultActions": [{"Type": "forward", "TargetGroupArn": arn}]}
    s = build([inst("i-1", "ami-new", 2)], listener=listener,
              tgs={arn: {"name": "web-ghost", "tags": {"fleettui:version": "9.9"}, "health": {}}})
    assert any("web-ghost" in w for w in s.warnings)


def _three(weights, healthy=("healthy", "healthy", "healthy"), rules=None):
    """web 1.4 / 1.5 / 1.6 behind one listener with the given raw AWS weights (and optional extra rules)."""
    arn = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web-{}/x"
    listener_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/x/y"
    listener = {"ListenerArn": listener_arn, "DefaultActions": [{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": arn.format(x), "Weight": w} for x, w in zip("abc", weights)]}}]}
    images = {"ami-a": image("ami-a", "1.4", 60), "ami-b": image("ami-b", "1.5", 25), "ami-c": image("ami-c", "1.6", 2)}
    lts = [lt(1, "ami-a"), lt(2, "ami-b"), lt(3, "ami-c", default=True)]
    tgs = {arn.format(x): {"name": f"web-{x}", "tags": {"fleettui:version": v}, "health": {f"i-{x}": h}}
           for (x, v), h in zip((("a", "1.4"), ("b", "1.5"), ("c", "1.6")), healthy)}
    raw = RawService(
        config=svc_cfg(listener_arn=listener_arn), instances=[inst("i-a", "ami-a", 1, 40), inst("i-b", "ami-b", 2, 10),
                                                              inst("i-c", "ami-c", 3, 1)],
        images=images, lt_versions={"us-east-1": lts}, listener=listener, target_groups=tgs,
        rules={listener_arn: rules or []})
    return build_service(raw, NOW), arn


@pytest.mark.parametrize("weights, source, target, roles", [
    ((0, 90, 10), "1.6", "1.5", ("idle", "live", "canary")),                  # canary: take it out, live gets 100%
    ((0, 0, 100), "1.6", "1.5", ("idle", "rollback_target", "live")),         # full rollout: one step back
    ((0, 100, 0), "1.5", "1.4", ("rollback_target", "live", "idle")),         # after a rollback: one further back
    ((20, 30, 50), "1.6", "1.5", ("idle", "rollback_target", "live")),        # three-way split: 1.5 is the target
    ((995, 4, 0), "1.5", "1.4", ("live", "canary", "idle")),                  # 0.4% is traffic: 1.5 is not idle
])
def test_rollback_undoes_the_newest_generation_that_receives_traffic(weights, source, target, roles):
    s, _ = _three(weights)
    assert s.rollback.ready and (s.rollback.source, s.rollback.target) == (source, target)
    assert tuple(g.role.value for g in s.generations) == roles


def test_rollback_target_skips_generations_without_healthy_hosts():
    s, _ = _three((0, 90, 10), healthy=("healthy", "unhealthy", "healthy"))
    assert s.rollback.target == "1.4"          # 1.5 has no healthy host: the next older one that has


def test_weights_are_exact_as_aws_holds_them():
    s, _ = _three((995, 4, 0))
    assert [round(g.weight, 2) for g in s.generations] == [99.6, 0.4, 0.0]
    assert s.generation("1.5").receives_traffic and not s.generation("1.6").receives_traffic


def test_a_non_default_rule_counts_as_traffic():
    listener_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/x/y"
    arn = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web-{}/x"
    static = {"RuleArn": "arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/web/x/y/r1", "Priority": "10",
              "IsDefault": False, "Conditions": [{"Field": "path-pattern", "Values": ["/static/*"]}],
              "Actions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
                  {"TargetGroupArn": arn.format("c"), "Weight": 1}]}}]}
    s, _ = _three((0, 100, 0), rules=[static])
    new = s.generation("1.6")
    assert new.weight == 0 and new.receives_traffic
    assert new.other_traffic == (("rule 10 (path /static/*) of listener web", 100.0),)
    assert (s.rollback.source, s.rollback.target) == ("1.6", "1.5")   # the rule makes 1.6 the newest receiving


def test_rollback_candidates_mark_the_rule_target_and_weigh_capacity():
    from fleettui.actions.verbs.rollback import candidates

    s, _ = _three((0, 90, 10))
    got = [(c.version, c.healthy, c.image, c.capacity_percent, c.default) for c in candidates(s)]
    assert got == [("1.5", 1, "available", 100, True), ("1.4", 1, "available", 100, False)]


def test_last_rollback_is_offered_only_while_it_is_the_newest_traffic_change():
    from fleettui.domain.history import PlanRecord, last_rollback
    from fleettui.domain.plan import Plan

    def rec(verb, status="succeeded", service="web"):
        return PlanRecord(plan=Plan(id=f"p-{verb}", verb=verb, service=service, summary="", steps=()), who="op",
                          reason="", created="", status=status)

    assert last_rollback([rec("shift"), rec("rollback")], "web").plan.verb == "rollback"
    assert last_rollback([rec("rollback"), rec("shift")], "web") is None           # shifted forward since
    assert last_rollback([rec("rollback"), rec("shift", "failed")], "web").plan.verb == "rollback"
    assert last_rollback([rec("rollback", service="api")], "web") is None


# -- every finding exactly as the operator sees it (kind, severity, expected, actual, message) ----------------

LT2 = dict(template_id="lt-1", template_name="web-lt", version=2, image_id="ami-new", instance_type="m5.large",
           security_group_ids=frozenset({"sg-web"}), iam_instance_profile="web-role", subnet_id=None)
HOST = dict(instance_type="m5.large", image_id="ami-new", security_group_ids=frozenset({"sg-web"}),
            iam_instance_profile="web-role", subnet_id="subnet-a", tags={"Owner": "team", "Cost": "cc"},
            launch_template_version="2", expected_lt_version=2, declared_template="web-lt",
            required_tags=("Owner", "Cost"))


def _findings(lt_over=None, image_over=None, **host):
    from fleettui.domain.model import Image, LaunchTemplateVersion
    from fleettui.domain.rules import drift_findings

    lt_ = None if lt_over == "none" else LaunchTemplateVersion(**{**LT2, **(lt_over or {})})
    img = Image(**{"id": "ami-new", "name": "web-2.0", "version": "2.0", "created": NOW, "state": "available",
                   **(image_over or {})})
    return [tuple(vars(f).values()) for f in drift_findings(**{**HOST, **host}, launched_from=lt_, image=img)]


@pytest.mark.parametrize("case, want", [
    (dict(), []),
    (dict(lt_over="none"), [("drift:launch_template", "error", "web-lt", "v2 (another template)",
                             "not launched from the service's launch template (hand-built host)")]),
    (dict(lt_over="none", launch_template_version=None), [
        ("drift:launch_template", "error", "web-lt", "(none)",
         "not launched from the service's launch template (hand-built host)")]),
    (dict(lt_over="none", declared_template=None), []),
    (dict(image_id="ami-other"), [("drift:image", "error", "ami-new", "ami-other",
                                   "image differs from launch template v2")]),
    (dict(lt_over={"image_id": None}, image_id="ami-other"), []),
    (dict(expected_lt_version=3), [("drift:launch_template_version", "warn", "v3", "v2",
                                    "launched from v2, its generation is declared at v3")]),
    (dict(expected_lt_version=None), []),
    (dict(instance_type="m5.xlarge"), [("drift:instance_type", "error", "m5.large", "m5.xlarge",
                                        "instance type outside the launch template")]),
    (dict(lt_over={"instance_type": None}, instance_type="m5.xlarge"), []),
    (dict(security_group_ids=frozenset({"sg-web", "sg-debug"})), [
        ("drift:security_groups", "error", "sg-web", "sg-debug,sg-web", "security groups outside the launch template")]),
    (dict(security_group_ids=frozenset()), [
        ("drift:security_groups", "error", "sg-web", "(none)", "security groups outside the launch template")]),
    (dict(lt_over={"security_group_ids": frozenset()}, security_group_ids=frozenset({"sg-x"})), []),
    (dict(iam_instance_profile="debug"), [("drift:iam_instance_profile", "error", "web-role", "debug",
                                           "IAM instance profile outside the launch template")]),
    (dict(iam_instance_profile=None), [("drift:iam_instance_profile", "error", "web-role", "(none)",
                                        "IAM instance profile outside the launch template")]),
    (dict(lt_over={"iam_instance_profile": None}, iam_instance_profile="debug"), []),
    (dict(lt_over={"subnet_id": "subnet-b"}), [("drift:subnet", "error", "subnet-b", "subnet-a",
                                                "subnet outside the launch template")]),
    (dict(lt_over={"subnet_id": "subnet-b"}, subnet_id=None), [("drift:subnet", "error", "subnet-b", "(none)",
                                                                "subnet outside the launch template")]),
    (dict(tags={"Owner": "team"}), [("drift:tags", "warn", "Cost,Owner", "Owner", "missing required tag(s): Cost")]),
    (dict(tags={"Owner": ""}), [("drift:tags", "warn", "Cost,Owner", "(none)",
                                 "missing required tag(s): Owner, Cost")]),
    (dict(image_over={"state": "missing"}), [("drift:image_deregistered", "error", "available", "missing",
                                              "image ami-new is missing: host cannot be reproduced (snowflake)")]),
    (dict(image_over={"state": "missing", "deprecated": True}), [
        ("drift:image_deregistered", "error", "available", "missing",
         "image ami-new is missing: host cannot be reproduced (snowflake)")]),
    (dict(image_over={"deprecated": True, "deprecation_time": NOW - timedelta(days=3)}), [
        ("drift:image_deprecated", "warn", "not deprecated", "deprecated 2026-11-19", "image ami-new is deprecated")]),
    (dict(image_over={"deprecated": True}), [("drift:image_deprecated", "warn", "not deprecated", "deprecated ?",
                                              "image ami-new is deprecated")]),
    (dict(image_id="ami-other", instance_type="m5.xlarge", tags={}), [   # several at once, in this order
        ("drift:image", "error", "ami-new", "ami-other", "image differs from launch template v2"),
        ("drift:instance_type", "error", "m5.large", "m5.xlarge", "instance type outside the launch template"),
        ("drift:tags", "warn", "Cost,Owner", "(none)", "missing required tag(s): Owner, Cost")]),
], ids=lambda v: "" if isinstance(v, list) else None)
def test_every_drift_finding_as_shown(case, want):
    assert _findings(**case) == want


@pytest.mark.parametrize("age_days, want", [
    (13.9, []),
    (14, [("age:warn", "warn", "< 14d", "14.0d", "older than warn_age (14d)")]),
    (29.95, [("age:warn", "warn", "< 14d", "29.9d", "older than warn_age (14d)")]),
    (30, [("age:max", "error", "< 30d", "30.0d", "older than max_age (30d): replace")]),
    (45.25, [("age:max", "error", "< 30d", "45.2d", "older than max_age (30d): replace")]),
])
def test_every_age_finding_as_shown(age_days, want):
    assert [tuple(vars(f).values()) for f in age_findings(age_days * DAY, 14 * DAY, 30 * DAY)] == want


def test_a_generation_whose_image_is_gone_stops_the_rollback_rule():
    """1.5's image is deregistered: its host is known by the AMI id, with no creation date (sorted first), so
    nothing tells where it stands; rollback is not ready rather than jumping past it to 1.4."""
    s, _ = _three((0, 0, 100))
    assert s.generation("9.9") is None
    raw_images = {"ami-a": image("ami-a", "1.4", 60), "ami-c": image("ami-c", "1.6", 2)}
    arn = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web-{}/x"
    listener_arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/x/y"
    listener = {"ListenerArn": listener_arn, "DefaultActions": [{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": arn.format(x), "Weight": w} for x, w in zip("abc", (0, 0, 100))]}}]}
    tgs = {arn.format(x): {"name": f"web-{x}", "tags": {"fleettui:version": v}, "health": {f"i-{x}": "healthy"}}
           for x, v in (("a", "1.4"), ("b", "1.5"), ("c", "1.6"))}       # i-b still registered and healthy
    raw = RawService(config=svc_cfg(listener_arn=listener_arn), images=raw_images, listener=listener,
                     instances=[inst("i-a", "ami-a", 1, 40), inst("i-b", "ami-b", 2, 10), inst("i-c", "ami-c", 3, 1)],
                     lt_versions={"us-east-1": [lt(1, "ami-a"), lt(2, "ami-b"), lt(3, "ami-c", default=True)]},
                     target_groups=tgs, rules={listener_arn: []})
    svc = build_service(raw, NOW)
    assert [g.version for g in svc.generations] == ["ami-b", "1.4", "1.6"]
    assert svc.rollback_target is None and not svc.rollback.ready
    assert svc.rollback.reason.startswith("cannot place ami-b among the generations: its image is missing")
