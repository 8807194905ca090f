"""Seeding helpers for scenarios: boto3 calls with a little memory, and backdating through moto's in-process
backend.

Everything is created with plain AWS API calls (boto3), except backdating: launch times and image creation and
deprecation dates are set on moto's in-process backend objects, because no AWS API can set them. Backdating
therefore requires the server to run in this process (``EmbeddedAws``); seeding a moto server in another process
raises ``RuntimeError``.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from fleettui.emulator.server import boto3_client

ACCOUNT = "123456789012"       # moto's default account: everything seeded lives in it
BASE_AMI = "ami-03cf127a"      # one of moto's built-in images: booted once per region to bake ours


def ec2_backend(region: str):
    """moto's EC2 backend of this process (backdating only)."""
    from moto.ec2.models import ec2_backends

    return ec2_backends[ACCOUNT][region]


def tagspec(kind: str, tags: dict[str, str]) -> list[dict]:
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def slug(version: str) -> str:
    return version.replace(".", "-")


def aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


class Seeder:
    """boto3 calls with a little memory (clients, VPC/subnets, builder instances) and in-process backdating.
    ``owners`` (service -> (Owner, CostCenter) tag values) is what :meth:`run` tags each host with."""

    def __init__(self, endpoint_url: str, now: datetime, owners: dict[str, tuple[str, str]] | None = None):
        self.url = endpoint_url
        self.now = now
        self.owners = owners or {}
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
        if vpc not in getattr(ec2_backend(region), "vpcs", {}):
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
                               TagSpecifications=tagspec("image", {"Service": service, "Version": version}))["ImageId"]
        img = ec2_backend(region).amis[ami]
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
        owner, cost = self.owners[service]
        tags = {"Service": service, "Owner": owner, "CostCenter": cost, "Environment": "demo"}
        for t in drop_tags:
            tags.pop(t, None)
        subnets = self.subnets(region)
        per = [count // len(subnets) + (1 if k < count % len(subnets) else 0) for k in range(len(subnets))]
        ids: list[str] = []
        for subnet, n in zip(subnets, per):
            if not n:
                continue
            kw: dict = dict(MinCount=n, MaxCount=n, SubnetId=subnet, TagSpecifications=tagspec("instance", tags))
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
            ec2.create_tags(Resources=[iid], Tags=[{"Key": "Name", "Value": f"{service}-{slug(version)}-{iid[-4:]}"}])
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
                Name=f"{service}-{slug(version)}", Protocol="HTTP", Port=8080, VpcId=self.vpc(region),
                TargetType="instance", HealthCheckPath="/healthz",
                Tags=[{"Key": "fleettui:service", "Value": service}, {"Key": "fleettui:version", "Value": version}],
            )["TargetGroups"][0]["TargetGroupArn"]
            if ids:
                elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": i, "Port": 8080} for i in ids])
            forward.append({"TargetGroupArn": tg, "Weight": weight})
            tgs[version] = tg
        arn = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[
            {"Type": "forward", "ForwardConfig": {"TargetGroups": forward}}])["Listeners"][0]["ListenerArn"]
        return arn, tgs

    def asg_generation(self, region: str, service: str, version: str, lt: str, lt_version: int, desired: int,
                       target_group: str, ages: list[float]) -> str:
        """A generation as its own Auto Scaling group (the server-group model, fleettui.domain.asg): named
        ``<service>-<version>``, pinned to launch template version ``lt_version``, attached to ``target_group``,
        tagged (propagated) with the service, owner tags and the generation tag; its hosts backdated to ``ages``."""
        name = f"{service}-{slug(version)}"
        owner, cost = self.owners[service]
        tags = {"Service": service, "Owner": owner, "CostCenter": cost, "Environment": "demo",
                "fleettui:version": version, "Name": name}
        autoscaling = self.c("autoscaling", region)
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateName": lt, "Version": str(lt_version)},
            MinSize=0 if desired == 0 else desired, MaxSize=max(8, 2 * desired), DesiredCapacity=desired,
            VPCZoneIdentifier=",".join(self.subnets(region)), TargetGroupARNs=[target_group],
            Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in tags.items()])
        ids = sorted(i["InstanceId"] for i in autoscaling.describe_auto_scaling_groups(
            AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["Instances"])
        if ids:
            # moto tags a group's hosts with the template's default version, not the pinned one (AWS: the pinned)
            ec2_backend(region).create_tags(ids, {"aws:ec2launchtemplate:version": str(lt_version)})
            self.name_and_backdate(region, service, version, ids, ages)
        self.ids.setdefault(service, []).extend(ids)
        self.generations.setdefault(service, {}).setdefault(version, []).extend(ids)
        return name

    def finish(self) -> None:
        for region, builder in self._builders.items():
            self.c("ec2", region).terminate_instances(InstanceIds=[builder])
        self._builders.clear()


def backdate(region: str, ids: list[str], launch_times: list[datetime]) -> None:
    """Set LaunchTime of hosts of the in-process emulator (no AWS API can)."""
    backend = ec2_backend(region)
    wanted = dict(zip(ids, launch_times))
    for reservation in backend.reservations.values():
        for inst in reservation.instances:
            if inst.id in wanted:
                inst.launch_time = wanted.pop(inst.id)
    if wanted:
        raise RuntimeError(f"instances not found in the in-process emulator ({region}): {sorted(wanted)[:3]}")

