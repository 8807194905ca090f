"""The demo fleet: seeded into the embedded moto server with boto3, then used through the normal code paths.

Backdating (LaunchTime, image creation and deprecation dates) sets attributes on moto's in-process backend,
so it requires the server to run in this process (``EmbeddedAws``); everything else is plain AWS API calls.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from fleettui.aws.server import EmbeddedAws, boto3_client

ACCOUNT = "123456789012"
REGIONS = ("us-east-1", "eu-west-1")
BASE_AMI = "ami-03cf127a"      # one of moto's built-in images, used to build ours
TAGS = {"Owner": "team-platform", "CostCenter": "cc-1042", "Environment": "demo"}


@dataclass(frozen=True)
class DemoFleet:
    regions: tuple[str, ...]
    listener_arns: dict[str, str] = field(default_factory=dict)
    instance_ids: dict[str, list[str]] = field(default_factory=dict)


def _backend(region: str):
    from moto.ec2.models import ec2_backends

    return ec2_backends[ACCOUNT][region]


def _tagspec(kind: str, tags: dict[str, str]) -> list[dict]:
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


class _Seeder:
    def __init__(self, endpoint_url: str, now: datetime):
        self.url = endpoint_url
        self.now = now
        self.ids: dict[str, list[str]] = {}
        self.listeners: dict[str, str] = {}
        self._clients: dict[tuple[str, str], object] = {}
        self._builders: dict[str, str] = {}

    def c(self, service: str, region: str):
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = boto3_client(service, region, self.url)
        return self._clients[key]

    def subnets(self, region: str) -> list[str]:
        subs = self.c("ec2", region).describe_subnets()["Subnets"]
        return [s["SubnetId"] for s in sorted(subs, key=lambda s: s["AvailabilityZone"])][:3]

    def vpc(self, region: str) -> str:
        return self.c("ec2", region).describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]

    def image(self, region: str, name: str, version: str, age_days: float, deprecated_days_ago: float | None = None):
        ec2 = self.c("ec2", region)
        if region not in self._builders:
            self._builders[region] = ec2.run_instances(ImageId=BASE_AMI, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        ami = ec2.create_image(InstanceId=self._builders[region], Name=name,
                               TagSpecifications=_tagspec("image", {"Version": version}))["ImageId"]
        img = _backend(region).amis[ami]
        img.creation_date = self.now - timedelta(days=age_days)
        if deprecated_days_ago is not None:
            img.deprecation_time = self.now - timedelta(days=deprecated_days_ago)
        return ami

    def sg(self, region: str, name: str) -> str:
        return self.c("ec2", region).create_security_group(GroupName=name, Description=f"{name} (demo)",
                                                            VpcId=self.vpc(region))["GroupId"]

    def profile(self, name: str) -> str:
        iam = self.c("iam", "us-east-1")
        iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
        arn = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        return arn

    def launch_template(self, region: str, name: str, images: list[str], itype: str, sgs: list[str],
                        profile: str | None, default: int) -> None:
        ec2 = self.c("ec2", region)
        for n, ami in enumerate(images):
            data = {"ImageId": ami, "InstanceType": itype, "SecurityGroupIds": sgs}
            if profile:
                data["IamInstanceProfile"] = {"Name": profile}
            if n == 0:
                ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData=data)
            else:
                ec2.create_launch_template_version(LaunchTemplateName=name, LaunchTemplateData=data)
        ec2.modify_launch_template(LaunchTemplateName=name, DefaultVersion=str(default))

    def run(self, region: str, service: str, version: str, count: int, ages: list[float], *, lt: str | None = None,
            lt_version: int | None = None, image: str | None = None, itype: str = "m5.large",
            sgs: list[str] | None = None, profile: str | None = None, tags: dict[str, str] | None = None,
            drop_tags: tuple[str, ...] = ()) -> list[str]:
        """Launch ``count`` hosts (spread over subnets), backdated to ``ages`` days (cycled)."""
        ec2 = self.c("ec2", region)
        all_tags = {"Service": service, **TAGS, "Name": f"{service}-{version}", **(tags or {})}
        for t in drop_tags:
            all_tags.pop(t, None)
        subnets = self.subnets(region)
        ids: list[str] = []
        per = [count // len(subnets) + (1 if k < count % len(subnets) else 0) for k in range(len(subnets))]
        for subnet, n in zip(subnets, per):
            if not n:
                continue
            kw: dict = dict(MinCount=n, MaxCount=n, SubnetId=subnet, TagSpecifications=_tagspec("instance", all_tags))
            if lt:
                kw["LaunchTemplate"] = {"LaunchTemplateName": lt, "Version": str(lt_version)}
            if image:
                kw["ImageId"] = image
            kw["InstanceType"] = itype
            if sgs:
                kw["SecurityGroupIds"] = sgs
            if profile:
                kw["IamInstanceProfile"] = {"Name": profile}
            ids += [i["InstanceId"] for i in ec2.run_instances(**kw)["Instances"]]
        be = _backend(region)
        for k, iid in enumerate(ids):
            be.get_instance(iid).launch_time = self.now - timedelta(days=ages[k % len(ages)])
        self.ids.setdefault(service, []).extend(ids)
        return ids

    def alb(self, region: str, service: str, groups: list[tuple[str, list[str], int]]) -> str:
        """An ALB whose listener forwards to one target group per generation: (version, instance ids, weight)."""
        elb = self.c("elbv2", region)
        lb = elb.create_load_balancer(Name=f"{service}-alb", Subnets=self.subnets(region)[:2],
                                      Tags=[{"Key": "Service", "Value": service}])["LoadBalancers"][0]
        forward = []
        for version, ids, weight in groups:
            tg = elb.create_target_group(
                Name=f"{service}-{version.replace('.', '-')}", Protocol="HTTP", Port=8080, VpcId=self.vpc(region),
                HealthCheckPath="/healthz",
                Tags=[{"Key": "fleettui:service", "Value": service}, {"Key": "fleettui:version", "Value": version}],
            )["TargetGroups"][0]["TargetGroupArn"]
            elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": i, "Port": 8080} for i in ids])
            forward.append({"TargetGroupArn": tg, "Weight": weight})
        arn = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[
            {"Type": "forward", "ForwardConfig": {"TargetGroups": forward}}])["Listeners"][0]["ListenerArn"]
        self.listeners[service] = arn
        return arn

    def finish(self) -> None:
        for region, builder in self._builders.items():
            self.c("ec2", region).terminate_instances(InstanceIds=[builder])


def seed_demo_fleet(endpoint_url: str, now: datetime | None = None) -> DemoFleet:
    """Seed the demo fleet (68 hosts, 4 services, 2 regions) into the emulator at ``endpoint_url``."""
    s = _Seeder(endpoint_url, now or datetime.now(timezone.utc))
    use1, euw1 = REGIONS

    # web: behind an ALB, three generations 0 / 90 / 10, drifted and over-age hosts
    web_role = "web-role"
    s.profile(web_role)
    s.profile("debug-role")
    web_sg, debug_sg = s.sg(use1, "web-sg"), s.sg(use1, "debug-sg")
    w14 = s.image(use1, "web-1.4.0", "1.4.0", 60, deprecated_days_ago=10)
    w15 = s.image(use1, "web-1.5.0", "1.5.0", 25)
    w16 = s.image(use1, "web-1.6.0", "1.6.0", 2)
    w15b = s.image(use1, "web-1.5.0-rebuilt", "1.5.0", 20)   # same version, another image: a snowflake
    s.launch_template(use1, "web-lt", [w14, w15, w16], "m5.large", [web_sg], web_role, default=3)
    common = dict(lt="web-lt", sgs=[web_sg], profile=web_role)
    g14 = s.run(use1, "web", "1.4.0", 15, [40, 42, 45], lt_version=1, image=w14, **common)
    g15 = s.run(use1, "web", "1.5.0", 11, [8, 10, 12, 16, 20, 24], lt_version=2, image=w15, **common)
    g15 += s.run(use1, "web", "1.5.0", 1, [18], lt_version=2, image=w15, itype="m5.xlarge", lt="web-lt",
                 sgs=[web_sg], profile=web_role)
    g15 += s.run(use1, "web", "1.5.0", 1, [15], lt_version=2, image=w15, lt="web-lt", sgs=[web_sg, debug_sg],
                 profile=web_role)
    g15 += s.run(use1, "web", "1.5.0", 1, [11], lt_version=2, image=w15b, **common)
    g15 += s.run(use1, "web", "1.5.0", 1, [9], lt_version=2, image=w15, drop_tags=("Owner",), **common)
    g16 = s.run(use1, "web", "1.6.0", 3, [0.8, 1.0, 1.2], lt_version=3, image=w16, **common)
    s.alb(use1, "web", [("1.4.0", g14, 0), ("1.5.0", g15, 90), ("1.6.0", g16, 10)])

    # api: eu-west-1, rollback target at full size, one host with a debug IAM profile
    api_sg = s.sg(euw1, "api-sg")
    s.profile("api-role")
    a22 = s.image(euw1, "api-2.2.0", "2.2.0", 30)
    a23 = s.image(euw1, "api-2.3.0", "2.3.0", 12)
    s.launch_template(euw1, "api-lt", [a22, a23], "c6i.large", [api_sg], "api-role", default=2)
    apis = dict(lt="api-lt", sgs=[api_sg], itype="c6i.large")
    g22 = s.run(euw1, "api", "2.2.0", 8, [19, 20, 21], lt_version=1, image=a22, profile="api-role", **apis)
    g23 = s.run(euw1, "api", "2.3.0", 7, [3, 5, 7, 10], lt_version=2, image=a23, profile="api-role", **apis)
    g23 += s.run(euw1, "api", "2.3.0", 1, [6], lt_version=2, image=a23, profile="debug-role", **apis)
    s.alb(euw1, "api", [("2.2.0", g22, 0), ("2.3.0", g23, 100)])

    # worker: Auto Scaling groups in both regions, no listener; half the hosts past max_age
    for region, asg in ((use1, "worker-use1"), (euw1, "worker-euw1")):
        sg = s.sg(region, "worker-sg")
        ami = s.image(region, "worker-3.1.0", "3.1.0", 50)
        s.launch_template(region, "worker-lt", [ami], "m5.large", [sg], None, default=1)
        autoscaling = s.c("autoscaling", region)
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=asg, LaunchTemplate={"LaunchTemplateName": "worker-lt", "Version": "1"},
            MinSize=4, MaxSize=16, DesiredCapacity=8, VPCZoneIdentifier=",".join(s.subnets(region)),
            Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": True}
                  for k, v in {"Service": "worker", **TAGS, "Name": "worker-3.1.0"}.items()])
        ids = [i["InstanceId"] for i in autoscaling.describe_auto_scaling_groups(
            AutoScalingGroupNames=[asg])["AutoScalingGroups"][0]["Instances"]]
        be = _backend(region)
        for k, iid in enumerate(sorted(ids)):
            be.get_instance(iid).launch_time = s.now - timedelta(days=(35 + k) if k % 2 else (5 + k))
        s.ids.setdefault("worker", []).extend(ids)

    # cache: hand-built hosts (no launch template) whose image was deregistered since
    cache_sg = s.sg(use1, "cache-sg")
    c091 = s.image(use1, "cache-0.9.1", "0.9.1", 200)
    c100 = s.image(use1, "cache-1.0.0", "1.0.0", 5)
    s.launch_template(use1, "cache-lt", [c100], "r6g.large", [cache_sg], None, default=1)
    s.run(use1, "cache", "0.9.1", 3, [90, 120, 150], image=c091, itype="r6g.large", sgs=[cache_sg])
    s.c("ec2", use1).deregister_image(ImageId=c091)

    s.finish()
    return DemoFleet(regions=REGIONS, listener_arns=dict(s.listeners), instance_ids=dict(s.ids))


def demo_config_text(fleet: DemoFleet, endpoint_url: str) -> str:
    use1, euw1 = REGIONS
    return f'''# fleettui demo config: the seeded fleet on the embedded emulated AWS at {endpoint_url}
[aws]
profile = "demo"
regions = ["{use1}", "{euw1}"]
endpoint_url = "{endpoint_url}"

[defaults]
warn_age = "14d"
max_age = "30d"
refresh_seconds = 10
read_only = false
min_healthy_percent = 75

[[service]]
name = "web"
regions = ["{use1}"]
selector = {{ Service = "web" }}
version_tag = "Version"
launch_template = "web-lt"
launch_template_version = "$Default"
listener_arn = "{fleet.listener_arns['web']}"
generation_tag = "fleettui:version"
required_tags = ["Owner", "CostCenter"]
shift_steps = [10, 25, 50, 100]

[[service]]
name = "api"
regions = ["{euw1}"]
selector = {{ Service = "api" }}
launch_template = "api-lt"
listener_arn = "{fleet.listener_arns['api']}"
required_tags = ["Owner", "CostCenter"]
shift_steps = [10, 50, 100]

[[service]]
name = "worker"
regions = ["{use1}", "{euw1}"]
selector = {{ Service = "worker" }}
launch_template = "worker-lt"
required_tags = ["Owner"]

[[service]]
name = "cache"
regions = ["{use1}"]
selector = {{ Service = "cache" }}
launch_template = "cache-lt"
required_tags = ["Owner"]
'''


def start_demo(port: int = 0, config_out: str | Path | None = None) -> tuple[EmbeddedAws, DemoFleet, Path]:
    """Start the emulator, seed the demo fleet and write its config file (a temp dir unless given)."""
    server = EmbeddedAws(port)
    try:
        fleet = seed_demo_fleet(server.endpoint_url)
        path = Path(config_out) if config_out else Path(tempfile.mkdtemp(prefix="fleettui-demo-")) / "demo.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(demo_config_text(fleet, server.endpoint_url), encoding="utf-8")
    except BaseException:
        server.stop()
        raise
    return server, fleet, path


def seed_scale_fleet(endpoint_url: str, n_instances: int, regions: tuple[str, ...] = ("us-east-1", "eu-west-1",
                     "ap-southeast-2"), services: int = 5, now: datetime | None = None) -> dict[str, list[str]]:
    """A large plain fleet for benchmarks: ``services`` services × 2 generations spread over ``regions``.
    Returns the config's [[service]] names -> regions. Launched in batches of up to 500 per call."""
    s = _Seeder(endpoint_url, now or datetime.now(timezone.utc))
    per_region = [n_instances // len(regions) + (1 if k < n_instances % len(regions) else 0)
                  for k in range(len(regions))]
    for region, count in zip(regions, per_region):
        ec2 = s.c("ec2", region)
        be = _backend(region)
        for k in range(services):
            name = f"svc{k}"
            old = s.image(region, f"{name}-1.0.0", "1.0.0", 40)
            new = s.image(region, f"{name}-1.1.0", "1.1.0", 5)
            s.launch_template(region, f"{name}-lt", [old, new], "m5.large", [], None, default=2)
            share = count // services + (1 if k < count % services else 0)
            for version, ami, ltv, n, age in (("1.0.0", old, 1, share // 3, 35), ("1.1.0", new, 2, share - share // 3, 3)):
                done = 0
                while done < n:
                    batch = min(500, n - done)
                    resp = ec2.run_instances(
                        LaunchTemplate={"LaunchTemplateName": f"{name}-lt", "Version": str(ltv)}, ImageId=ami,
                        MinCount=batch, MaxCount=batch, InstanceType="m5.large",
                        TagSpecifications=_tagspec("instance", {"Service": name, **TAGS, "Name": f"{name}-{version}"}))
                    for i in resp["Instances"]:
                        be.get_instance(i["InstanceId"]).launch_time = s.now - timedelta(days=age)
                    done += batch
    s.finish()
    return {f"svc{k}": list(regions) for k in range(services)}
