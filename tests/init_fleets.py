"""Fleets of the shapes `fleettui init` must recognise, built through the AWS APIs only (boto3 on the session's moto
server; image and launch dates backdated in-process like the demo's seeding), and the config a person would write
for them by hand.

One account (``seed_zoo``), two regions, every shape side by side (so that each selector must also separate its
fleet from all the others):

==============  =============================================================================================
shop            an ALB weighted over three generations in each of two regions (us-east-1 0/70/30,
                eu-west-1 0/100/0), target groups tagged fleettui:version (not fleettui:service: not made by
                fleettui): one service per region
pay             one Auto Scaling group per generation, no load balancer: pay-v1 (cold, desired 0), pay-v2,
                pay-v3, each pinned to its template version and tagged Release = its version (the generation tag)
batch           a single Auto Scaling group
cron            plain hosts without a load balancer, two generations launched from two template versions
edge            an ALB whose default action sends 1.0.0 100% and a path rule /beta/* sends 1.1.0 100%
legacy          hosts without any version tag: images named by date, each with a Name tag of its own (Terraform/
                Packer style, not a version), target groups legacy-blue/legacy-green without a generation tag,
                every host tagged App = legacy, Name = legacy and ManagedBy = terraform
store-front,    two fleets sharing every tag but Tier (Project, Environment, Team, Owner, CostCenter, an Elastic
store-back      Beanstalk environment tag, one Name per fleet)
(untagged)      one hand-built host without a tag: left out, said so
==============  =============================================================================================
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from fleettui.emulator.seeder import BASE_AMI, Seeder, backdate, ec2_backend, slug, tagspec

USE1, EUW1 = "us-east-1", "eu-west-1"
REGIONS = (USE1, EUW1)
OWNERS = {"shop": ("team-shop", "cc-1"), "pay": ("team-pay", "cc-2"), "batch": ("team-data", "cc-3"),
          "cron": ("team-ops", "cc-4"), "edge": ("team-edge", "cc-5")}


@dataclass
class Zoo:
    endpoint_url: str
    listeners: dict[str, str] = field(default_factory=dict)      # service name -> listener ARN
    untagged: str = ""


def _image(s: Seeder, region: str, name: str, age_days: float, tags: dict[str, str]) -> str:
    ec2 = s.c("ec2", region)
    builder = ec2.run_instances(ImageId=BASE_AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ami = ec2.create_image(InstanceId=builder, Name=name, TagSpecifications=tagspec("image", tags) if tags else [])[
        "ImageId"]
    ec2.terminate_instances(InstanceIds=[builder])
    ec2_backend(region).amis[ami].creation_date = s.now - timedelta(days=age_days)
    return ami


def _run(s: Seeder, region: str, lt: str, version: int, count: int, tags: dict[str, str], age_days: float) -> list[str]:
    ec2 = s.c("ec2", region)
    ids = [i["InstanceId"] for i in ec2.run_instances(
        MinCount=count, MaxCount=count, SubnetId=s.subnets(region)[0], TagSpecifications=tagspec("instance", tags),
        LaunchTemplate={"LaunchTemplateName": lt, "Version": str(version)})["Instances"]]
    backdate(region, ids, [s.now - timedelta(days=age_days)] * len(ids))
    return ids


def _group(s: Seeder, region: str, name: str, lt: str, version: int, desired: int, tags: dict[str, str],
           age_days: float) -> list[str]:
    autoscaling = s.c("autoscaling", region)
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateName": lt, "Version": str(version)},
        MinSize=desired, MaxSize=max(4, desired), DesiredCapacity=desired, VPCZoneIdentifier=s.subnets(region)[0],
        Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in tags.items()])
    ids = sorted(i["InstanceId"] for i in autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["Instances"])
    if ids:
        # moto tags a group's hosts with the template's default version, AWS with the pinned one
        ec2_backend(region).create_tags(ids, {"aws:ec2launchtemplate:version": str(version)})
        backdate(region, ids, [s.now - timedelta(days=age_days)] * len(ids))
    return ids


def _forward(weights: dict[str, int]) -> dict:
    return {"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": a, "Weight": w} for a, w in weights.items()]}}


def _alb(s: Seeder, region: str, name: str, gens: list[tuple[str, list[str], int]],
         tags: dict[str, str]) -> tuple[str, dict[str, str]]:
    """An ALB (HTTP:80) forwarding to a target group per generation, each tagged ``tags`` and
    fleettui:version = its version: (listener ARN, version -> target group ARN)."""
    elb = s.c("elbv2", region)
    lb = elb.create_load_balancer(Name=f"{name}-alb", Subnets=s.subnets(region)[:2])["LoadBalancers"][0]
    tgs = {}
    for version, ids, _ in gens:
        tgs[version] = elb.create_target_group(
            Name=f"{name}-{slug(version)}", Protocol="HTTP", Port=80, VpcId=s.vpc(region),
            Tags=[{"Key": k, "Value": v} for k, v in {**tags, "fleettui:version": version}.items()])[
            "TargetGroups"][0]["TargetGroupArn"]
        elb.register_targets(TargetGroupArn=tgs[version], Targets=[{"Id": i} for i in ids])
    arn = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[
        _forward({tgs[v]: w for v, _, w in gens})])["Listeners"][0]["ListenerArn"]
    return arn, tgs


def seed_zoo(endpoint_url: str, now: datetime | None = None) -> Zoo:
    """Every shape of the module docstring, into an empty emulator running in this process."""
    s = Seeder(endpoint_url, now or datetime.now(timezone.utc), OWNERS)
    zoo = Zoo(endpoint_url)

    # shop: an ALB over three generations in each of two regions ---------------------------------------------------
    for region, weights in ((USE1, (0, 70, 30)), (EUW1, (0, 100, 0))):
        sg = s.sg(region, "shop-sg")
        images = [s.image(region, "shop", v, age) for v, age in (("1.0.0", 30), ("1.1.0", 20), ("1.2.0", 10))]
        s.launch_template(region, "shop-lt", images, "m5.large", [sg], None, default=3)
        gens = [(v, s.run(region, "shop", v, 2, [age], lt="shop-lt", lt_version=k, image=images[k - 1]), w)
                for k, (v, age, w) in enumerate(zip(("1.0.0", "1.1.0", "1.2.0"), (28, 18, 8), weights), 1)]
        zoo.listeners[f"shop-{region}"], _ = _alb(s, region, "shop", gens, {"Team": "shop"})

    # pay: one Auto Scaling group per generation, tagged Release = its version; no load balancer -----------------
    sg = s.sg(USE1, "pay-sg")
    images = [s.image(USE1, "pay", v, age) for v, age in (("2.0.0", 40), ("2.1.0", 25), ("2.2.0", 5))]
    s.launch_template(USE1, "pay-lt", images, "c6i.large", [sg], None, default=3)
    for k, (version, desired) in enumerate((("2.0.0", 0), ("2.1.0", 2), ("2.2.0", 2)), 1):
        _group(s, USE1, f"pay-v{k}", "pay-lt", k, desired, {
            "Service": "pay", "Owner": "team-pay", "CostCenter": "cc-2", "Environment": "demo", "Release": version},
            age_days=30 - 10 * k)

    # batch: a single Auto Scaling group ---------------------------------------------------------------------------
    sg = s.sg(USE1, "batch-sg")
    image = s.image(USE1, "batch", "5.0.0", 12)
    s.launch_template(USE1, "batch-lt", [image], "m5.large", [sg], None, default=1)
    _group(s, USE1, "batch-workers", "batch-lt", 1, 3, {
        "Service": "batch", "Owner": "team-data", "CostCenter": "cc-3", "Environment": "demo"}, age_days=6)

    # cron: plain hosts, two generations from two template versions, no load balancer -----------------------------
    sg = s.sg(EUW1, "cron-sg")
    images = [s.image(EUW1, "cron", v, age) for v, age in (("0.1.0", 20), ("0.2.0", 4))]
    s.launch_template(EUW1, "cron-lt", images, "t3.small", [sg], None, default=2)
    s.run(EUW1, "cron", "0.1.0", 2, [15], lt="cron-lt", lt_version=1, image=images[0])
    s.run(EUW1, "cron", "0.2.0", 2, [2], lt="cron-lt", lt_version=2, image=images[1])

    # edge: default action 100% to 1.0.0, a path rule sends /beta/* to 1.1.0 ---------------------------------------
    sg = s.sg(USE1, "edge-sg")
    images = [s.image(USE1, "edge", v, age) for v, age in (("1.0.0", 15), ("1.1.0", 3))]
    s.launch_template(USE1, "edge-lt", images, "m5.large", [sg], None, default=2)
    gens = [("1.0.0", s.run(USE1, "edge", "1.0.0", 2, [12], lt="edge-lt", lt_version=1, image=images[0]), 100),
            ("1.1.0", s.run(USE1, "edge", "1.1.0", 2, [1], lt="edge-lt", lt_version=2, image=images[1]), 0)]
    arn, tgs = s.alb(USE1, "edge", gens)
    s.c("elbv2", USE1).create_rule(ListenerArn=arn, Priority=10, Conditions=[
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/beta/*"]}}],
        Actions=[_forward({tgs["1.0.0"]: 0, tgs["1.1.0"]: 100})])
    zoo.listeners["edge"] = arn

    # legacy: no version tag anywhere, target groups with no generation tag, Terraform-style tags ----------------
    sg = s.sg(USE1, "legacy-sg")
    old = _image(s, USE1, "legacy-2024-05-01", 200, {"Name": "legacy-ami-a", "Project": "legacy"})
    new = _image(s, USE1, "legacy-2024-06-01", 170, {"Name": "legacy-ami-b", "Project": "legacy"})
    s.launch_template(USE1, "legacy-lt", [old, new], "m5.large", [sg], None, default=2)
    tags = {"App": "legacy", "Name": "legacy", "ManagedBy": "terraform", "Owner": "team-old"}
    blue = _run(s, USE1, "legacy-lt", 1, 2, tags, 150)
    green = _run(s, USE1, "legacy-lt", 2, 2, tags, 100)
    elb = s.c("elbv2", USE1)
    lb = elb.create_load_balancer(Name="legacy-alb", Subnets=s.subnets(USE1)[:2])["LoadBalancers"][0]
    groups = {}
    for name, ids in (("legacy-blue", blue), ("legacy-green", green)):
        groups[name] = elb.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=s.vpc(USE1))[
            "TargetGroups"][0]["TargetGroupArn"]
        elb.register_targets(TargetGroupArn=groups[name], Targets=[{"Id": i} for i in ids])
    zoo.listeners["legacy"] = elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
        DefaultActions=[_forward({groups["legacy-blue"]: 20, groups["legacy-green"]: 80})])["Listeners"][0]["ListenerArn"]

    # store-front, store-back: every tag shared but Tier ---------------------------------------------------------
    sg = s.sg(EUW1, "store-sg")
    image = s.image(EUW1, "store", "3.0.0", 9)
    for tier in ("front", "back"):
        s.launch_template(EUW1, f"store-{tier}-lt", [image], "m5.large", [sg], None, default=1)
        _run(s, EUW1, f"store-{tier}-lt", 1, 2, {
            "Project": "store", "Environment": "prod", "Team": "web", "Owner": "team-store", "CostCenter": "cc-9",
            "elasticbeanstalk:environment-name": "store-prod", "Name": f"store-{tier}", "Tier": tier}, 7)

    # a hand-built host without a single tag -----------------------------------------------------------------------
    zoo.untagged = s.c("ec2", USE1).run_instances(ImageId=BASE_AMI, MinCount=1, MaxCount=1)["Instances"][0][
        "InstanceId"]
    s.finish()
    return zoo


def hand_written(zoo: Zoo) -> str:
    """The config a person writes for the zoo after reading the account (what init must reproduce)."""
    from fleettui.domain.proposal_toml import toml_str

    shop = "".join(f'''
[[service]]
name = "shop-{region}"
regions = ["{region}"]
selector = {{ Service = "shop" }}
launch_template = "shop-lt"
listener_arn = {toml_str(zoo.listeners[f"shop-{region}"])}
required_tags = ["Owner", "CostCenter"]
''' for region in REGIONS)
    return f'''[aws]
regions = ["us-east-1", "eu-west-1"]
endpoint_url = {toml_str(zoo.endpoint_url)}

[defaults]
read_only = true
latency_stat = "Average"
{shop}
[[service]]
name = "pay"
regions = ["us-east-1"]
selector = {{ Service = "pay" }}
kind = "asg"
launch_template = "pay-lt"
generation_tag = "Release"

[[service]]
name = "batch"
regions = ["us-east-1"]
selector = {{ Service = "batch" }}
launch_template = "batch-lt"

[[service]]
name = "cron"
regions = ["eu-west-1"]
selector = {{ Service = "cron" }}
launch_template = "cron-lt"

[[service]]
name = "edge"
regions = ["us-east-1"]
selector = {{ Service = "edge" }}
launch_template = "edge-lt"
listener_arn = {toml_str(zoo.listeners["edge"])}

[[service]]
name = "legacy"
regions = ["us-east-1"]
selector = {{ App = "legacy" }}
launch_template = "legacy-lt"
listener_arn = {toml_str(zoo.listeners["legacy"])}

[[service]]
name = "store-front"
regions = ["eu-west-1"]
selector = {{ Tier = "front" }}
launch_template = "store-front-lt"

[[service]]
name = "store-back"
regions = ["eu-west-1"]
selector = {{ Tier = "back" }}
launch_template = "store-back-lt"
'''


SHAPES = {          # the shape (as the issue lists them) -> the services of the zoo that have it
    "alb-three-generations-two-regions": ["shop-us-east-1", "shop-eu-west-1"],
    "one-asg-per-generation": ["pay"],
    "single-asg": ["batch"],
    "plain-hosts-no-load-balancer": ["cron"],
    "listener-rule-besides-default": ["edge"],
    "no-version-tag": ["legacy"],
    "two-fleets-sharing-most-tags": ["store-front", "store-back"],
}
