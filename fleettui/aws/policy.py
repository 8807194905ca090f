"""IAM policies generated from the config: the operations of :mod:`fleettui.aws.permissions`, each mutation on the
narrowest resources and conditions AWS supports for it (``fleettui iam policy``).

Pure: config in, policy document out (no AWS call). Where the config does not say enough to narrow a statement
(a launch template given by name, instance roles not declared, no listener ARN naming the account), the statement
stays conservative and a note says which config key narrows it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fleettui.aws.permissions import INIT_READS, MUTATING, READS, TEAM_INIT, iam_action
from fleettui.config import Config, ServiceConfig

LOCK_TAG = "fleettui:lock"           # fleettui.store.taglock.LOCK_TAG (store imports aws, not the other way)
SERVICE_TAG = "fleettui:service"     # tag on the target groups fleettui creates (actions.verbs.launch)
RUN_RESOURCES = ("subnet/*", "security-group/*", "network-interface/*", "volume/*", "key-pair/*")


@dataclass
class GeneratedPolicy:
    document: dict[str, Any]
    notes: list[str] = field(default_factory=list)   # how to narrow what the config left conservative


def _sid(*parts: str) -> str:
    return "".join(w[:1].upper() + w[1:] for p in parts for w in re.split(r"[^A-Za-z0-9]+", p) if w)


def _statement(sid: str, actions: list[tuple[str, str]], resources: list[str],
               condition: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    assert all(a in MUTATING | TEAM_INIT for a in actions), actions    # only declared mutations are ever granted
    st: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": sorted(iam_action(*a) for a in actions),
                          "Resource": resources if len(resources) > 1 else resources[0]}
    if condition:
        st["Condition"] = condition
    return st


# Reads that AWS can scope to a resource type: granted on that type, not on "*".
SCOPED_READS = {("cloudwatch", "DescribeAlarms"): "arn:{p}:cloudwatch:*:{a}:alarm:*",
                ("ec2", "GetConsoleOutput"): "arn:{p}:ec2:*:{a}:instance/*"}


# The team table's reads (granted on that table only, and only with [team] in the config).
TEAM_READS = frozenset(a for a in READS if a[0] == "dynamodb")
TEAM_LOCK_WRITES = sorted(a for a in MUTATING if a[0] == "dynamodb")      # take, renew, release, unlock
TEAM_AUDIT_WRITES = [("dynamodb", "PutItem")]     # the audit is append-only: fleettui only ever puts its items
TEAM_LOCK_KEYS, TEAM_AUDIT_KEYS = ["lock#*"], ["audit#*"]     # the partitions fleettui writes (store.dynamo)


def team_table_arn(config: Config, partition: str, account: str) -> str:
    return f"arn:{partition}:dynamodb:{config.team.region}:{account}:table/{config.team.table}"


def read_statement(partition: str = "aws", account: str = "*", config: Config | None = None) -> list[dict[str, Any]]:
    """The reads: on "*" where AWS offers no resource-level control, on their resource type where it does (the team
    table's on that table)."""
    out = [{"Sid": "FleettuiReadFleet", "Effect": "Allow",
            "Action": sorted(iam_action(*a) for a in READS if a not in SCOPED_READS and a not in TEAM_READS),
            "Resource": "*"}]
    out.append({"Sid": "FleettuiReadScoped", "Effect": "Allow",
                "Action": sorted(iam_action(*a) for a in SCOPED_READS),
                "Resource": sorted(arn.format(p=partition, a=account) for arn in SCOPED_READS.values())})
    if config is not None and config.team is not None:
        out.append({"Sid": "FleettuiReadTeamTable", "Effect": "Allow",
                    "Action": sorted(iam_action(*a) for a in TEAM_READS),
                    "Resource": team_table_arn(config, partition, account)})
    return out


def _arn_parts(config: Config, cfg: ServiceConfig) -> tuple[str, str]:
    """(partition, account) from the service's listener ARN, else any listener ARN of the config, else "*"."""
    arn = cfg.listener_arn or next((s.listener_arn for s in config.services if s.listener_arn), None)
    return (arn.split(":")[1], arn.split(":")[4]) if arn else ("aws", "*")


def service_statements(config: Config, cfg: ServiceConfig, notes: list[str]) -> list[dict[str, Any]]:
    part, acct = _arn_parts(config, cfg)
    name = cfg.name
    selector = dict(cfg.selector)
    request_tags = {f"aws:RequestTag/{k}": v for k, v in selector.items()}
    resource_tags = {f"aws:ResourceTag/{k}": v for k, v in selector.items()}
    lock_only = {"ForAllValues:StringEquals": {"aws:TagKeys": [LOCK_TAG]}}

    # EC2 and Auto Scaling ARNs name any region; the condition aws:RequestedRegion keeps them to the service's
    in_regions = {"aws:RequestedRegion": list(cfg.regions)}

    def ec2(what: str, account: str = acct) -> str:
        return f"arn:{part}:ec2:*:{account}:{what}"

    out: list[dict[str, Any]] = []
    instances = [ec2("instance/*")]
    if cfg.launch_template:
        lt = cfg.launch_template
        if lt.startswith("lt-"):
            lt_arn = ec2(f"launch-template/{lt}")
        else:
            lt_arn = ec2("launch-template/*")
            notes.append(f"{name}: launch_template {lt!r} is a name, so RunInstances is allowed from any launch "
                         f"template in {', '.join(cfg.regions)} (still only with the tags {_show(selector)}); "
                         f"set launch_template to its id (lt-…) to allow that template only")
        from_template = {"ArnLike": {"ec2:LaunchTemplate": lt_arn}}
        if cfg.kind == "asg":
            # hosts come from Auto Scaling (which tags them); AWS checks ec2:RunInstances from the template when
            # a group is created from it, without the request's tags
            out.append(_statement(_sid(name, "LaunchFromTemplate"), [("ec2", "RunInstances")],
                                  [*instances, ec2("image/*", ""), *(ec2(what) for what in RUN_RESOURCES), lt_arn],
                                  {"StringEquals": in_regions, **from_template}))
        else:
            out.append(_statement(_sid(name, "LaunchTaggedInstances"), [("ec2", "RunInstances")], instances,
                                  {"StringEquals": {**request_tags, **in_regions}, **from_template}))
            out.append(_statement(_sid(name, "LaunchFromTemplate"), [("ec2", "RunInstances")],
                                  [ec2("image/*", ""), *(ec2(what) for what in RUN_RESOURCES), lt_arn],
                                  {"StringEquals": in_regions, **from_template}))
            out.append(_statement(_sid(name, "TagInstancesAtLaunch"), [("ec2", "CreateTags")], instances,
                                  {"StringEquals": {"ec2:CreateAction": "RunInstances", **request_tags,
                                                    **in_regions}}))
        if cfg.instance_roles != ():
            roles = cfg.instance_roles or ("*",)
            if cfg.instance_roles is None:
                notes.append(f"{name}: instance_roles not set, so iam:PassRole allows passing any role of account "
                             f"{acct} to EC2; set instance_roles to the role(s) of {lt}'s instance profile "
                             f"([] when it has none)")
            out.append({"Sid": _sid(name, "PassInstanceRoles"), "Effect": "Allow", "Action": "iam:PassRole",
                        "Resource": [f"arn:{part}:iam::{acct}:role/{r}" for r in roles],
                        "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}})
        if not cfg.listener_arn and config.team is None:   # solo: the lock is a tag on its launch template
            out.append(_statement(_sid(name, "LockOnLaunchTemplate"), [("ec2", "CreateTags"), ("ec2", "DeleteTags")],
                                  [lt_arn],
                                  {**lock_only, "StringEquals": {"aws:RequestedRegion": cfg.regions[0]}}))
    out.append(_statement(_sid(name, "RetireOwnHosts"),
                          [("ec2", "TerminateInstances"), ("autoscaling", "SetDesiredCapacity"),
                           ("autoscaling", "TerminateInstanceInAutoScalingGroup"),
                           *((("autoscaling", "UpdateAutoScalingGroup"), ("autoscaling", "DeleteAutoScalingGroup"))
                             if cfg.kind == "asg" else ())],
                          [*instances, f"arn:{part}:autoscaling:*:{acct}:autoScalingGroup:*:autoScalingGroupName/*"],
                          {"StringEquals": {**resource_tags, **in_regions}}))
    # one Auto Scaling group per generation (fleettui.domain.asg): named <service>-<version>, tagged like its hosts,
    # pinned to a launch template version (resized and deleted as RetireOwnHosts: by the service's tags). Only for
    # kind = "asg": a service whose groups are only detected gets no statement to create, resize or delete them
    if cfg.kind == "asg":
        out.append(_statement(_sid(name, "CreateGenerationGroups"), [("autoscaling", "CreateAutoScalingGroup")],
                              [f"arn:{part}:autoscaling:*:{acct}:autoScalingGroup:*:autoScalingGroupName/{name}-*"],
                              {"StringEquals": {**request_tags, **in_regions},
                               "Bool": {"autoscaling:LaunchTemplateVersionSpecified": "true"}}))
    if cfg.listener_arn:
        listener = cfg.listener_arn
        region = cfg.listener_region
        rules = listener.replace(":listener/", ":listener-rule/", 1) + "/*"
        prefix = re.sub(r"[^A-Za-z0-9-]+", "-", cfg.target_group_prefix or f"{name}-").lstrip("-")
        groups = f"arn:{part}:elasticloadbalancing:{region}:{acct}:targetgroup/{prefix}*"
        out.append(_statement(_sid(name, "ShiftListenerWeights"),
                              [("elbv2", "ModifyListener"), ("elbv2", "ModifyRule")], [listener, rules]))
        if config.team is None:       # solo: the lock is a tag on the listener (with [team]: an item of the table)
            out.append(_statement(_sid(name, "LockOnListener"), [("elbv2", "AddTags"), ("elbv2", "RemoveTags")],
                                  [listener], lock_only))
        out.append(_statement(_sid(name, "CreateGenerationTargetGroups"), [("elbv2", "CreateTargetGroup")],
                              [groups], {"StringEquals": {f"aws:RequestTag/{SERVICE_TAG}": name}}))
        out.append(_statement(_sid(name, "TagTargetGroupsAtCreation"), [("elbv2", "AddTags")], [groups],
                              {"StringEquals": {"elasticloadbalancing:CreateAction": "CreateTargetGroup"}}))
        out.append(_statement(_sid(name, "UseGenerationTargetGroups"),
                              [("elbv2", "RegisterTargets"), ("elbv2", "DeregisterTargets"),
                               ("elbv2", "DeleteTargetGroup")], [groups],
                              {"StringEquals": {f"aws:ResourceTag/{SERVICE_TAG}": name}}))
    if acct == "*":
        notes.append(f"{name}: no listener_arn in the config names the AWS account, so the ARNs say account \"*\" "
                     "(the policy still only works in the account it is attached in)")
    return out


def _show(tags: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in tags.items())


def generate(config: Config, *, operator: bool, services: list[str] | None = None,
             team_init: bool = False) -> GeneratedPolicy:
    """The read-only policy, or the operator policy for ``services`` (default: every service of the config), or
    (``team_init``) the small policy of `fleettui team init` alone."""
    notes: list[str] = []
    part, acct = _arn_parts(config, config.services[0]) if config.services else ("aws", "*")
    if team_init:
        table = team_table_arn(config, part, acct)
        return GeneratedPolicy({"Version": "2012-10-17", "Statement": [
            _statement("FleettuiTeamInitCreateTable", sorted(TEAM_INIT), [table]),
            {"Sid": "FleettuiTeamInitDescribeTable", "Effect": "Allow",
             "Action": [iam_action("dynamodb", "DescribeTable")], "Resource": table}]}, notes)
    statements = read_statement(part, acct, config)
    if operator:
        chosen = [config.service(n) for n in services] if services else list(config.services)
        for cfg in chosen:
            statements += service_statements(config, cfg, notes)
        if config.team is not None:     # the team store: the lock items, and the audit items put only
            table = [team_table_arn(config, part, acct)]
            statements.append(_statement("FleettuiTeamLockItems", TEAM_LOCK_WRITES, table,
                                         {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": TEAM_LOCK_KEYS}}))
            statements.append(_statement("FleettuiTeamAuditItems", TEAM_AUDIT_WRITES, table,
                                         {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": TEAM_AUDIT_KEYS}}))
    return GeneratedPolicy({"Version": "2012-10-17", "Statement": statements}, notes)


# `fleettui init` and `fleettui doctor`: the inventory's reads (what `status` reads, without CloudWatch, consoles or the
# team table) and the reads only they make (permissions.INIT_READS). No config is needed: init runs before there is one.
INIT_USES_READS = frozenset({
    ("ec2", "DescribeInstances"), ("ec2", "DescribeImages"), ("ec2", "DescribeLaunchTemplates"),
    ("ec2", "DescribeLaunchTemplateVersions"), ("autoscaling", "DescribeAutoScalingGroups"),
    ("elbv2", "DescribeListeners"), ("elbv2", "DescribeRules"), ("elbv2", "DescribeTargetGroups"),
    ("elbv2", "DescribeTargetHealth"), ("elbv2", "DescribeTags"), ("sts", "GetCallerIdentity"),
})
# init's reads that AWS can scope to a resource type
INIT_SCOPED = {("iam", "GetInstanceProfile"): ("arn:{p}:iam::{a}:instance-profile/*",),
               ("iam", "SimulatePrincipalPolicy"): ("arn:{p}:iam::{a}:user/*", "arn:{p}:iam::{a}:role/*")}


def init_policy(partition: str = "aws", account: str = "*") -> GeneratedPolicy:
    """The read-only policy of `fleettui init` and `fleettui doctor` (``fleettui iam policy --init``): reads only,
    on "*" where AWS has no resource-level control, else on their resource type. Doctor's IAM check asks about the
    caller's own policies (the operator's): this policy is not what it checks."""
    on_star = sorted(iam_action(*a) for a in INIT_USES_READS | INIT_READS if a not in INIT_SCOPED)
    statements = [{"Sid": "FleettuiInitReadAccount", "Effect": "Allow", "Action": on_star, "Resource": "*"}]
    for (service, op), arns in sorted(INIT_SCOPED.items()):
        resources = [arn.format(p=partition, a=account) for arn in arns]
        statements.append({"Sid": _sid("FleettuiInit", op), "Effect": "Allow", "Action": iam_action(service, op),
                           "Resource": resources if len(resources) > 1 else resources[0]})
    return GeneratedPolicy({"Version": "2012-10-17", "Statement": statements})
