"""The demo fleet (``fleettui --demo``, ``fleettui demo serve``, the tests): seeded into the embedded moto server
with boto3 (``fleettui.emulator.seeder``: plain AWS API calls, backdated in-process), then used through the normal
code paths.

Shape (account 123456789012; randomness only in resource ids; every age relative to ``now``):

========  ==========  ================================================================================
web       us-east-1   ALB web-alb, listener 0/90/10 over TGs web-1-4-0 / web-1-5-0 / web-1-6-0.
                      1.4.0 x15 aged 40-45 d, image deprecated 10 d ago (rollback target);
                      1.5.0 x15 aged 8-24 d (live) with one drift of each kind: instance type,
                      extra security group, image, missing Owner tag; 1.6.0 x3 aged ~1 d (canary);
                      1.7.0 baked, not deployed: image (6 h old) + launch template version 4, the
                      template's default (``L`` / ``fleettui launch web`` launch it).
api       eu-west-1   ALB api-alb, listener 0/100 over TGs api-2-2-0 (x8, ~20 d) / api-2-3-0 (x8, 3-10 d);
                      one 2.3.0 host has instance profile debug-role instead of api-role.
worker    both        ASG worker-use1 and worker-euw1, 8 each, no listener; half of each past max_age.
cache     us-east-1   3 hand-built hosts (no launch template) on image cache 0.9.1, since deregistered;
                      launch template cache-lt points at cache 1.0.0.
checkout  us-east-1   ``kind = "asg"``: one Auto Scaling group per generation (checkout-1-9-0 / -2-0-0 / -2-1-0,
                      each pinned to its launch template version and attached to its own target group), ALB
                      checkout-alb at 0/0/100: 2.1.0 x4 live, 2.0.0 x4 warm (rollback target), 1.9.0 cold
                      (desired 0); 2.2.0 baked, not deployed (checkout-lt v4, the default).
========  ==========  ================================================================================

1.4.0 and 2.2.0 are as large as the live generation so that a rollback passes the ``min_healthy_percent``
capacity guardrail (75 %) in the demo.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fleettui.emulator.config_writer import header, service_toml
from fleettui.emulator.scenarios import Scenario
from fleettui.emulator.metrics import seed_metrics
from fleettui.emulator.seeder import ACCOUNT, Seeder, aware

REGIONS = ("us-east-1", "eu-west-1")
OWNERS = {"web": ("team-storefront", "cc-1042"), "api": ("team-platform-api", "cc-1077"),
          "worker": ("team-data", "cc-2210"), "cache": ("team-platform", "cc-1001"),
          "checkout": ("team-payments", "cc-1050")}


@dataclass(frozen=True)
class DemoFleet:
    """What was seeded, for the config writer, the CLI and tests. Ids are the only random part."""
    regions: tuple[str, ...]
    listener_arns: dict[str, str] = field(default_factory=dict)        # service -> listener ARN (web, api)
    instance_ids: dict[str, list[str]] = field(default_factory=dict)   # service -> running host ids
    generations: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # service -> version -> ids
    target_groups: dict[str, dict[str, str]] = field(default_factory=dict)      # service -> version -> TG ARN
    images: dict[tuple[str, str, str], str] = field(default_factory=dict)       # (service, version, region) -> AMI
    launch_templates: dict[str, str] = field(default_factory=dict)     # service -> launch template name
    asgs: dict[str, str] = field(default_factory=dict)                 # ASG name -> region
    drift: dict[str, str] = field(default_factory=dict)                # drift kind -> the one host seeded with it
    deregistered_images: tuple[str, ...] = ()
    account: str = ACCOUNT

    @property
    def total(self) -> int:
        return sum(len(ids) for ids in self.instance_ids.values())


def seed_demo_fleet(endpoint_url: str, now: datetime | None = None) -> DemoFleet:
    """Seed the demo fleet (76 hosts, 5 services, 2 regions; see the module docstring) into an *empty* emulator
    at ``endpoint_url`` that runs in this process. ``now`` anchors every age (default: the current time)."""
    s = Seeder(endpoint_url, aware(now), OWNERS)
    use1, euw1 = REGIONS
    for region in REGIONS:
        s.check_in_process(region)
    if s.c("ec2", use1).describe_launch_templates(Filters=[{"Name": "launch-template-name",
                                                            "Values": ["web-lt"]}])["LaunchTemplates"]:
        raise RuntimeError(f"the emulator at {endpoint_url} is already seeded: reset it first")
    drift: dict[str, str] = {}
    listeners: dict[str, str] = {}
    target_groups: dict[str, dict[str, str]] = {}

    # web: behind an ALB, three generations at 0 / 90 / 10, drifted and over-age hosts ---------------------
    s.profile("web-role")
    s.profile("debug-role")
    web_sg, debug_sg = s.sg(use1, "web-sg"), s.sg(use1, "debug-sg")
    w14 = s.image(use1, "web", "1.4.0", 60, deprecated_days_ago=10)
    w15 = s.image(use1, "web", "1.5.0", 25)
    w16 = s.image(use1, "web", "1.6.0", 2)
    w15b = s.image(use1, "web", "1.5.0", 20, name="web-1.5.0-hotfix")   # same version, an image the LT never had
    w17 = s.image(use1, "web", "1.7.0", 0.25)                           # baked by CI, not deployed yet
    s.launch_template(use1, "web-lt", [w14, w15, w16, w17], "m5.large", [web_sg], "web-role", default=4)
    web = dict(lt="web-lt", profile="web-role")
    g14 = s.run(use1, "web", "1.4.0", 15, [40, 41, 42, 43, 44, 45], lt_version=1, image=w14, **web)
    s.run(use1, "web", "1.5.0", 11, [8, 10, 12, 13, 16, 18, 20, 22, 24], lt_version=2, image=w15, **web)
    drift["instance_type"], = s.run(use1, "web", "1.5.0", 1, [17], lt_version=2, image=w15, itype="m5.xlarge", **web)
    drift["security_groups"], = s.run(use1, "web", "1.5.0", 1, [15], lt_version=2, image=w15,
                                      sgs=[web_sg, debug_sg], **web)
    drift["image"], = s.run(use1, "web", "1.5.0", 1, [11], lt_version=2, image=w15b, **web)
    drift["tags"], = s.run(use1, "web", "1.5.0", 1, [9], lt_version=2, image=w15, drop_tags=("Owner",), **web)
    g15 = s.generations["web"]["1.5.0"]
    g16 = s.run(use1, "web", "1.6.0", 3, [0.8, 1.0, 1.2], lt_version=3, image=w16, **web)
    listeners["web"], target_groups["web"] = s.alb(use1, "web", [("1.4.0", g14, 0), ("1.5.0", g15, 90),
                                                                 ("1.6.0", g16, 10)])

    # api: eu-west-1, the rollback target still at full size, one host with a debug instance profile -------
    s.profile("api-role")
    api_sg = s.sg(euw1, "api-sg")
    a22 = s.image(euw1, "api", "2.2.0", 30)
    a23 = s.image(euw1, "api", "2.3.0", 12)
    s.launch_template(euw1, "api-lt", [a22, a23], "c6i.large", [api_sg], "api-role", default=2)
    api = dict(lt="api-lt", profile="api-role")
    g22 = s.run(euw1, "api", "2.2.0", 8, [19, 20, 21], lt_version=1, image=a22, **api)
    s.run(euw1, "api", "2.3.0", 7, [3, 4, 5, 7, 8, 10], lt_version=2, image=a23, **api)
    drift["iam_instance_profile"], = s.run(euw1, "api", "2.3.0", 1, [6], lt_version=2, image=a23,
                                           lt="api-lt", profile="debug-role")
    listeners["api"], target_groups["api"] = s.alb(euw1, "api", [("2.2.0", g22, 0),
                                                                 ("2.3.0", s.generations["api"]["2.3.0"], 100)])

    # worker: one Auto Scaling group per region, no listener; half of the hosts past max_age ----------------
    asgs: dict[str, str] = {}
    owner, cost = OWNERS["worker"]
    for region, asg in ((use1, "worker-use1"), (euw1, "worker-euw1")):
        sg = s.sg(region, "worker-sg")
        ami = s.image(region, "worker", "3.1.0", 50)          # AMIs are regional: one per region, same Version
        s.launch_template(region, "worker-lt", [ami], "m5.large", [sg], None, default=1)
        autoscaling = s.c("autoscaling", region)
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=asg, LaunchTemplate={"LaunchTemplateName": "worker-lt", "Version": "$Default"},
            MinSize=4, MaxSize=16, DesiredCapacity=8, VPCZoneIdentifier=",".join(s.subnets(region)),
            Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in
                  {"Service": "worker", "Owner": owner, "CostCenter": cost, "Environment": "demo"}.items()])
        ids = sorted(i["InstanceId"] for i in autoscaling.describe_auto_scaling_groups(
            AutoScalingGroupNames=[asg])["AutoScalingGroups"][0]["Instances"])
        s.name_and_backdate(region, "worker", "3.1.0", ids, [5, 33, 7, 36, 9, 39, 11, 42])
        s.ids.setdefault("worker", []).extend(ids)
        s.generations.setdefault("worker", {}).setdefault("3.1.0", []).extend(ids)
        asgs[asg] = region

    # cache: hand-built hosts (no launch template) whose image has been deregistered since ------------------
    cache_sg = s.sg(use1, "cache-sg")
    c091 = s.image(use1, "cache", "0.9.1", 200)
    c100 = s.image(use1, "cache", "1.0.0", 5)
    s.launch_template(use1, "cache-lt", [c100], "r6g.large", [cache_sg], None, default=1)
    s.run(use1, "cache", "0.9.1", 3, [90, 120, 150], image=c091, itype="r6g.large", sgs=[cache_sg])
    s.c("ec2", use1).deregister_image(ImageId=c091)

    # checkout: one Auto Scaling group per generation behind an ALB: live, warm previous, cold older ------------
    s.profile("checkout-role")
    co_sg = s.sg(use1, "checkout-sg")
    co_images = [s.image(use1, "checkout", v, age) for v, age in (("1.9.0", 30), ("2.0.0", 12), ("2.1.0", 4),
                                                                   ("2.2.0", 0.25))]
    s.launch_template(use1, "checkout-lt", co_images, "c6i.large", [co_sg], "checkout-role", default=4)
    listeners["checkout"], target_groups["checkout"] = s.alb(use1, "checkout", [("1.9.0", [], 0), ("2.0.0", [], 0),
                                                                                ("2.1.0", [], 100)])
    for lt_version, (version, desired, ages) in enumerate((("1.9.0", 0, [0]), ("2.0.0", 4, [10, 11]),
                                                           ("2.1.0", 4, [3, 3.5])), 1):
        name = s.asg_generation(use1, "checkout", version, "checkout-lt", lt_version, desired,
                                target_groups["checkout"][version], ages)
        asgs[name] = use1

    s.finish()
    return DemoFleet(
        regions=REGIONS, listener_arns=listeners, instance_ids=s.ids, generations=s.generations,
        target_groups=target_groups, images=s.images, asgs=asgs, drift=drift, deregistered_images=(c091,),
        launch_templates={"web": "web-lt", "api": "api-lt", "worker": "worker-lt", "cache": "cache-lt",
                          "checkout": "checkout-lt"},
    )


def demo_config_text(fleet: DemoFleet, endpoint_url: str) -> str:
    """The TOML config for a seeded demo fleet (same keys as config.example.toml)."""
    use1, euw1 = REGIONS
    services = [
        service_toml("web", [use1], "web-lt", listener_arn=fleet.listener_arns["web"], shift_steps=[10, 25, 50, 100],
                     alarms=["web-"],
                     instance_roles=["web-role"],
                     comment="ALB, three generations: 1.4.0 rollback target (deprecated image), 1.5.0 live, "
                             "1.6.0 canary")
        + 'rollout_steps = [25, 50, 100]\nbake = "20s"        # short, for the demo (real services: minutes)\n',
        service_toml("api", [euw1], "api-lt", listener_arn=fleet.listener_arns["api"], shift_steps=[10, 50, 100],
                     instance_roles=["api-role"],
                     comment="ALB in eu-west-1: 2.3.0 live, 2.2.0 rollback target"),
        service_toml("worker", [use1, euw1], "worker-lt", instance_roles=[],
                     comment="Auto Scaling groups in two regions, no listener"),
        service_toml("cache", [use1], "cache-lt", instance_roles=[],
                     comment="hand-built hosts whose image was deregistered (snowflakes)"),
        service_toml("checkout", [use1], "checkout-lt", listener_arn=fleet.listener_arns["checkout"],
                     instance_roles=["checkout-role"], extra=('kind = "asg"', "keep_warm = 1", "keep = 3"),
                     comment="one Auto Scaling group per generation: 2.1.0 live, 2.0.0 warm, 1.9.0 cold (at 0)"),
    ]
    return "\n".join([header(endpoint_url, fleet.regions, "fleettui demo: the seeded fleet on the embedded AWS"),
                      *services])


SCENARIO = Scenario(seed=seed_demo_fleet, config_text=demo_config_text, metrics=seed_metrics)
