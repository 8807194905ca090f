"""The demo fleet: seeded into the embedded moto server with boto3, then used through the normal code paths.

Everything is created with plain AWS API calls (boto3), except backdating: launch times and image creation and
deprecation dates are set on moto's in-process backend objects, because no AWS API can set them. Backdating
therefore requires the server to run in this process (``EmbeddedAws``); seeding a moto server in another process
raises ``RuntimeError``.

Shape (account 123456789012; randomness only in resource ids; every age relative to ``now``):

========  ==========  ================================================================================
web       us-east-1   ALB web-alb, listener 0/90/10 over TGs web-1-4-0 / web-1-5-0 / web-1-6-0.
                      1.4.0 x15 aged 40-45 d, image deprecated 10 d ago (rollback target);
                      1.5.0 x15 aged 8-24 d (live) with one drift of each kind: instance type,
                      extra security group, image, missing Owner tag; 1.6.0 x3 aged ~1 d (canary).
api       eu-west-1   ALB api-alb, listener 0/100 over TGs api-2-2-0 (x8, ~20 d) / api-2-3-0 (x8, 3-10 d);
                      one 2.3.0 host has instance profile debug-role instead of api-role.
worker    both        ASG worker-use1 and worker-euw1, 8 each, no listener; half of each past max_age.
cache     us-east-1   3 hand-built hosts (no launch template) on image cache 0.9.1, since deregistered;
                      launch template cache-lt points at cache 1.0.0.
========  ==========  ================================================================================

1.4.0 and 2.2.0 are as large as the live generation so that a rollback passes the ``min_healthy_percent``
capacity guardrail (75 %) in the demo.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from fleettui.aws.server import EmbeddedAws, boto3_client

ACCOUNT = "123456789012"
REGIONS = ("us-east-1", "eu-west-1")
BASE_AMI = "ami-03cf127a"      # one of moto's built-in images: booted once per region to bake ours
OWNERS = {"web": ("team-storefront", "cc-1042"), "api": ("team-platform-api", "cc-1077"),
          "worker": ("team-data", "cc-2210"), "cache": ("team-platform", "cc-1001")}
BATCH = 300                    # instances per RunInstances call


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


def _backend(region: str):
    """moto's EC2 backend of this process (backdating only)."""
    from moto.ec2.models import ec2_backends

    return ec2_backends[ACCOUNT][region]


def _tagspec(kind: str, tags: dict[str, str]) -> list[dict]:
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def _slug(version: str) -> str:
    return version.replace(".", "-")


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


class _Seeder:
    """boto3 calls with a little memory (clients, VPC/subnets, builder instances) and in-process backdating."""

    def __init__(self, endpoint_url: str, now: datetime):
        self.url = endpoint_url
        self.now = now
        self._clients: dict[tuple[str, str], object] = {}
        self._builders: dict[str, str] = {}
        self._subnets: dict[str, list[str]] = {}
        self._vpcs: dict[str, str] = {}
        self.ids: dict[str, list[str]] = {}
        self.generations: dict[str, dict[str, list[str]]] = {}
        self.images: dict[tuple[str, str, str], str] = {}

    def c(self, service: str, region: str):
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = boto3_client(service, region, self.url)
        return self._clients[key]

    def check_in_process(self, region: str) -> None:
        """Backdating needs moto's backend in this process: the default VPC seen over HTTP must be in it."""
        vpc = self.vpc(region)
        if vpc not in getattr(_backend(region), "vpcs", {}):
            raise RuntimeError(f"the emulator at {self.url} does not run in this process: seeding backdates "
                               "launch and image dates through moto's in-process backend (use EmbeddedAws)")

    def vpc(self, region: str) -> str:
        if region not in self._vpcs:
            vpcs = self.c("ec2", region).describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
            self._vpcs[region] = vpcs[0]["VpcId"]
        return self._vpcs[region]

    def subnets(self, region: str) -> list[str]:
        """The default VPC's first three subnets, in AZ order."""
        if region not in self._subnets:
            subs = self.c("ec2", region).describe_subnets(Filters=[{"Name": "vpc-id", "Values": [self.vpc(region)]}])
            self._subnets[region] = [s["SubnetId"] for s in sorted(subs["Subnets"],
                                                                    key=lambda s: s["AvailabilityZone"])][:3]
        return self._subnets[region]

    # -- images, security groups, roles, launch templates ----------------------------------------------------

    def image(self, region: str, service: str, version: str, age_days: float, *, name: str | None = None,
              deprecated_days_ago: float | None = None) -> str:
        """Bake an AMI (tag Version) from a builder instance, created ``age_days`` ago."""
        ec2 = self.c("ec2", region)
        if region not in self._builders:
            self._builders[region] = ec2.run_instances(ImageId=BASE_AMI, MinCount=1, MaxCount=1,
                                                       InstanceType="t3.micro")["Instances"][0]["InstanceId"]
        ami = ec2.create_image(InstanceId=self._builders[region], Name=name or f"{service}-{version}",
                               Description=f"{service} {version} (fleettui demo)",
                               TagSpecifications=_tagspec("image", {"Service": service, "Version": version}))["ImageId"]
        img = _backend(region).amis[ami]
        img.creation_date = self.now - timedelta(days=age_days)
        if deprecated_days_ago is not None:
            img.deprecation_time = self.now - timedelta(days=deprecated_days_ago)
        self.images.setdefault((service, version, region), ami)
        return ami

    def sg(self, region: str, name: str) -> str:
        return self.c("ec2", region).create_security_group(
            GroupName=name, Description=f"{name} (fleettui demo)", VpcId=self.vpc(region))["GroupId"]

    def profile(self, name: str) -> str:
        iam = self.c("iam", "us-east-1")
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"Service": "ec2.amazonaws.com"}}]}
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        arn = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        return arn

    def launch_template(self, region: str, name: str, images: list[str], itype: str, sgs: list[str],
                        profile: str | None, default: int) -> None:
        """Version n uses images[n-1]; everything else is the same in every version."""
        ec2 = self.c("ec2", region)
        for n, ami in enumerate(images, 1):
            data: dict = {"ImageId": ami, "InstanceType": itype, "SecurityGroupIds": sgs}
            if profile:
                data["IamInstanceProfile"] = {"Name": profile}
            if n == 1:
                ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData=data,
                                           VersionDescription=f"image {ami}")
            else:
                ec2.create_launch_template_version(LaunchTemplateName=name, LaunchTemplateData=data,
                                                   VersionDescription=f"image {ami}")
        if default != 1:                        # creating versions leaves the default at 1
            ec2.modify_launch_template(LaunchTemplateName=name, DefaultVersion=str(default))

    # -- instances ------------------------------------------------------------------------------------------

    def run(self, region: str, service: str, version: str, count: int, ages: list[float], *,
            lt: str | None = None, lt_version: int | None = None, image: str | None = None,
            itype: str | None = None, sgs: list[str] | None = None, profile: str | None = None,
            drop_tags: tuple[str, ...] = ()) -> list[str]:
        """Launch ``count`` hosts spread over the subnets, backdated to ``ages`` days (cycled in launch order),
        each named ``<service>-<version>-<id tail>``."""
        ec2 = self.c("ec2", region)
        owner, cost = OWNERS[service]
        tags = {"Service": service, "Owner": owner, "CostCenter": cost, "Environment": "demo"}
        for t in drop_tags:
            tags.pop(t, None)
        subnets = self.subnets(region)
        per = [count // len(subnets) + (1 if k < count % len(subnets) else 0) for k in range(len(subnets))]
        ids: list[str] = []
        for subnet, n in zip(subnets, per):
            if not n:
                continue
            kw: dict = dict(MinCount=n, MaxCount=n, SubnetId=subnet, TagSpecifications=_tagspec("instance", tags))
            if lt:
                kw["LaunchTemplate"] = {"LaunchTemplateName": lt, "Version": str(lt_version)}
            if image:
                kw["ImageId"] = image
            if itype:
                kw["InstanceType"] = itype
            if sgs:
                kw["SecurityGroupIds"] = sgs
            if profile:
                kw["IamInstanceProfile"] = {"Name": profile}
            ids += [i["InstanceId"] for i in ec2.run_instances(**kw)["Instances"]]
        self.name_and_backdate(region, service, version, ids, ages)
        self.ids.setdefault(service, []).extend(ids)
        self.generations.setdefault(service, {}).setdefault(version, []).extend(ids)
        return ids

    def name_and_backdate(self, region: str, service: str, version: str, ids: list[str], ages: list[float]) -> None:
        ec2 = self.c("ec2", region)
        for iid in ids:
            ec2.create_tags(Resources=[iid], Tags=[{"Key": "Name", "Value": f"{service}-{_slug(version)}-{iid[-4:]}"}])
        backdate(region, ids, [self.now - timedelta(days=ages[k % len(ages)]) for k in range(len(ids))])

    def alb(self, region: str, service: str, groups: list[tuple[str, list[str], int]]) -> tuple[str, dict[str, str]]:
        """An ALB whose HTTP:80 listener forwards to one target group per generation: (version, ids, weight)."""
        elb = self.c("elbv2", region)
        lb = elb.create_load_balancer(Name=f"{service}-alb", Subnets=self.subnets(region)[:2], Scheme="internet-facing",
                                      Type="application",
                                      Tags=[{"Key": "Service", "Value": service}])["LoadBalancers"][0]
        forward, tgs = [], {}
        for version, ids, weight in groups:
            tg = elb.create_target_group(
                Name=f"{service}-{_slug(version)}", Protocol="HTTP", Port=8080, VpcId=self.vpc(region),
                TargetType="instance", HealthCheckPath="/healthz",
                Tags=[{"Key": "fleettui:service", "Value": service}, {"Key": "fleettui:version", "Value": version}],
            )["TargetGroups"][0]["TargetGroupArn"]
            elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": i, "Port": 8080} for i in ids])
            forward.append({"TargetGroupArn": tg, "Weight": weight})
            tgs[version] = tg
        arn = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[
            {"Type": "forward", "ForwardConfig": {"TargetGroups": forward}}])["Listeners"][0]["ListenerArn"]
        return arn, tgs

    def finish(self) -> None:
        for region, builder in self._builders.items():
            self.c("ec2", region).terminate_instances(InstanceIds=[builder])
        self._builders.clear()


def backdate(region: str, ids: list[str], launch_times: list[datetime]) -> None:
    """Set LaunchTime of hosts of the in-process emulator (no AWS API can)."""
    backend = _backend(region)
    wanted = dict(zip(ids, launch_times))
    for reservation in backend.reservations.values():
        for inst in reservation.instances:
            if inst.id in wanted:
                inst.launch_time = wanted.pop(inst.id)
    if wanted:
        raise RuntimeError(f"instances not found in the in-process emulator ({region}): {sorted(wanted)[:3]}")


def seed_demo_fleet(endpoint_url: str, now: datetime | None = None) -> DemoFleet:
    """Seed the demo fleet (68 hosts, 4 services, 2 regions; see the module docstring) into an *empty* emulator
    at ``endpoint_url`` that runs in this process. ``now`` anchors every age (default: the current time)."""
    s = _Seeder(endpoint_url, _aware(now))
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
    s.launch_template(use1, "web-lt", [w14, w15, w16], "m5.large", [web_sg], "web-role", default=3)
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

    s.finish()
    return DemoFleet(
        regions=REGIONS, listener_arns=listeners, instance_ids=s.ids, generations=s.generations,
        target_groups=target_groups, images=s.images, asgs=asgs, drift=drift, deregistered_images=(c091,),
        launch_templates={"web": "web-lt", "api": "api-lt", "worker": "worker-lt", "cache": "cache-lt"},
    )


def _q(v: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(v)


def _arr(vs) -> str:
    return "[" + ", ".join(_q(v) if isinstance(v, str) else str(v) for v in vs) + "]"


def _service_toml(name: str, regions, launch_template: str | None, *, listener_arn: str | None = None,
                  required_tags=("Owner", "CostCenter"), shift_steps=None, comment: str = "") -> str:
    lines = ([f"# {comment}"] if comment else []) + [
        "[[service]]",
        f"name = {_q(name)}",
        f"regions = {_arr(regions)}",
        f"selector = {{ Service = {_q(name)} }}",
        'version_tag = "Version"',
    ]
    if launch_template:
        lines += [f"launch_template = {_q(launch_template)}", 'launch_template_version = "$Default"']
    if listener_arn:
        lines += [f"listener_arn = {_q(listener_arn)}", 'generation_tag = "fleettui:version"']
    lines.append(f"required_tags = {_arr(required_tags)}")
    if shift_steps:
        lines.append(f"shift_steps = {_arr(shift_steps)}")
    return "\n".join(lines) + "\n"


def _header(endpoint_url: str, regions, title: str) -> str:
    return f"""# {title}
# Emulated AWS (moto) at {endpoint_url}: any credentials work there.
[aws]
profile = "demo"
regions = {_arr(regions)}
endpoint_url = {_q(endpoint_url)}

[defaults]
warn_age = "14d"
max_age = "30d"
refresh_seconds = 10
read_only = false
min_healthy_percent = 75
"""


def demo_config_text(fleet: DemoFleet, endpoint_url: str) -> str:
    """The TOML config for a seeded demo fleet (same keys as config.example.toml)."""
    use1, euw1 = REGIONS
    services = [
        _service_toml("web", [use1], "web-lt", listener_arn=fleet.listener_arns["web"], shift_steps=[10, 25, 50, 100],
                      comment="ALB, three generations: 1.4.0 rollback target (deprecated image), 1.5.0 live, "
                              "1.6.0 canary"),
        _service_toml("api", [euw1], "api-lt", listener_arn=fleet.listener_arns["api"], shift_steps=[10, 50, 100],
                      comment="ALB in eu-west-1: 2.3.0 live, 2.2.0 rollback target"),
        _service_toml("worker", [use1, euw1], "worker-lt",
                      comment="Auto Scaling groups in two regions, no listener"),
        _service_toml("cache", [use1], "cache-lt",
                      comment="hand-built hosts whose image was deregistered (snowflakes)"),
    ]
    return "\n".join([_header(endpoint_url, fleet.regions, "fleettui demo: the seeded fleet on the embedded AWS"),
                      *services])


def start_demo(port: int = 0, config_dir: str | Path | None = None, *,
               config_out: str | Path | None = None) -> tuple[EmbeddedAws, DemoFleet, Path]:
    """Start the emulator, seed the demo fleet and write its config: ``config_out`` if given, else
    ``<config_dir>/demo.toml`` (default: a new temporary directory). Returns (server, fleet, config path);
    the caller stops the server."""
    server = EmbeddedAws(port)
    try:
        fleet = seed_demo_fleet(server.endpoint_url)
        if config_out:
            path = Path(config_out)
        else:
            path = Path(config_dir or tempfile.mkdtemp(prefix="fleettui-demo-")) / "demo.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(demo_config_text(fleet, server.endpoint_url), encoding="utf-8")
    except BaseException:
        server.stop()
        raise
    return server, fleet, path


# -- benchmark fleet --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScaleFleet:
    regions: tuple[str, ...]
    services: dict[str, tuple[str, ...]]             # service -> regions
    counts: dict[tuple[str, str], int]               # (service, version) -> hosts, over all regions

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def seed_scale_fleet(endpoint_url: str, n_instances: int,
                     regions: tuple[str, ...] = ("us-east-1", "eu-west-1", "ap-southeast-2"),
                     services: int | tuple[str, ...] = 5, now: datetime | None = None) -> ScaleFleet:
    """A large plain fleet for benchmarks: ``n_instances`` hosts spread evenly over ``regions`` and ``services``
    (a count -> svc0, svc1, ... or names), two generations each (1.0.0: a third, aged 31-38 d; 1.1.0: the rest,
    aged 1-6 d), launched from per-region launch templates, no load balancers. RunInstances in batches of
    ``BATCH``; same in-process requirement as :func:`seed_demo_fleet`. Roughly 2-3 ms per host."""
    names = tuple(f"svc{k}" for k in range(services)) if isinstance(services, int) else tuple(services)
    s = _Seeder(endpoint_url, _aware(now))
    counts: dict[tuple[str, str], int] = {}
    shares = _split(n_instances, len(regions) * len(names))
    for r, region in enumerate(regions):
        s.check_in_process(region)
        ec2 = s.c("ec2", region)
        for k, name in enumerate(names):
            old = s.image(region, name, "1.0.0", 60)
            new = s.image(region, name, "1.1.0", 10)
            s.launch_template(region, f"{name}-lt", [old, new], "m5.large", [], None, default=2)
            share = shares[r * len(names) + k]
            for version, ami, ltv, n, ages in (("1.0.0", old, 1, share // 3, [31, 33, 35, 38]),
                                               ("1.1.0", new, 2, share - share // 3, [1, 2, 4, 6])):
                owner = f"team-{name}"
                tags = {"Service": name, "Owner": owner, "CostCenter": "cc-9000", "Environment": "bench",
                        "Name": f"{name}-{_slug(version)}"}
                done = 0
                while done < n:
                    batch = min(BATCH, n - done)
                    subnet = s.subnets(region)[(done // BATCH) % len(s.subnets(region))]
                    resp = ec2.run_instances(
                        LaunchTemplate={"LaunchTemplateName": f"{name}-lt", "Version": str(ltv)}, ImageId=ami,
                        MinCount=batch, MaxCount=batch, SubnetId=subnet, TagSpecifications=_tagspec("instance", tags))
                    ids = [i["InstanceId"] for i in resp["Instances"]]
                    backdate(region, ids, [s.now - timedelta(days=ages[j % len(ages)]) for j in range(len(ids))])
                    done += batch
                counts[(name, version)] = counts.get((name, version), 0) + n
    s.finish()
    return ScaleFleet(regions=tuple(regions), services={n: tuple(regions) for n in names}, counts=counts)


def _split(n: int, parts: int) -> list[int]:
    return [n // parts + (1 if k < n % parts else 0) for k in range(parts)]


def scale_config_text(fleet: ScaleFleet, endpoint_url: str) -> str:
    """The TOML config for a benchmark fleet from :func:`seed_scale_fleet`."""
    services = [_service_toml(name, regions, f"{name}-lt") for name, regions in fleet.services.items()]
    return "\n".join([_header(endpoint_url, fleet.regions, f"fleettui benchmark fleet: {fleet.total} hosts"),
                      *services])
