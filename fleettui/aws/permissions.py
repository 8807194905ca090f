"""The AWS operations fleettui calls: the one declaration the gateway's allowlist, the generated IAM policies
(:mod:`fleettui.aws.policy`) and the tests build on.

Keys are (botocore service name, operation). A test scans the code for every ``gw.call`` / ``gw.paginate`` /
``gw.wait`` and checks that this declaration names exactly what the code can call, so it cannot go stale; another
pins :data:`MUTATING` to the exact expected set, so an operation added here is a reviewed decision.
"""
from __future__ import annotations

# Reads: AWS offers no resource-level control for any of them (see README "Permissions"), so the policies grant
# them on "*". sts:GetCallerIdentity needs no permission at all; it is listed because fleettui calls it.
READS: frozenset[tuple[str, str]] = frozenset({
    ("ec2", "DescribeInstances"),
    ("ec2", "DescribeImages"),
    ("ec2", "DescribeLaunchTemplates"),
    ("ec2", "DescribeLaunchTemplateVersions"),
    ("ec2", "DescribeTags"),
    ("autoscaling", "DescribeAutoScalingGroups"),
    ("elbv2", "DescribeListeners"),
    ("elbv2", "DescribeRules"),
    ("elbv2", "DescribeTargetGroups"),
    ("elbv2", "DescribeTargetHealth"),
    ("elbv2", "DescribeTags"),
    ("cloudwatch", "GetMetricData"),
    ("cloudwatch", "DescribeAlarms"),
    ("ec2", "GetConsoleOutput"),
    ("sts", "GetCallerIdentity"),
    ("dynamodb", "GetItem"),        # the team store ([team]): a service's lock item
    ("dynamodb", "Query"),          # the team's audit, per service
    ("dynamodb", "DescribeTable"),
})

# Mutations: nothing else that changes AWS can leave this process (the gateway's before-call hook).
MUTATING: frozenset[tuple[str, str]] = frozenset({
    ("ec2", "RunInstances"),
    ("ec2", "TerminateInstances"),
    ("ec2", "CreateTags"),
    ("ec2", "DeleteTags"),          # only to release the lock tag on a launch template (IAM: that key only)
    ("elbv2", "RegisterTargets"),
    ("elbv2", "DeregisterTargets"),
    ("elbv2", "ModifyListener"),
    ("elbv2", "ModifyRule"),
    ("elbv2", "CreateTargetGroup"),
    ("elbv2", "DeleteTargetGroup"),
    ("elbv2", "AddTags"),
    ("elbv2", "RemoveTags"),
    ("autoscaling", "TerminateInstanceInAutoScalingGroup"),
    ("autoscaling", "SetDesiredCapacity"),
    ("autoscaling", "CreateAutoScalingGroup"),      # a generation's own group, pinned to a launch template version
    ("autoscaling", "UpdateAutoScalingGroup"),      # capacity only (ONLY_PARAMS)
    ("autoscaling", "DeleteAutoScalingGroup"),      # an emptied generation group (decommission)
    ("dynamodb", "PutItem"),        # the team store ([team]): take a lock (conditional), write an audit event
    ("dynamodb", "UpdateItem"),     # renew a lock that is still ours (conditional)
    ("dynamodb", "DeleteItem"),     # release a lock that is still ours, or `fleettui unlock` (conditional)
})

# `fleettui team init` only: creating the team's table. Not on the runtime allowlist: only the gateway that command
# opens allows them (Gateway(allow=TEAM_INIT)), and a separate small policy grants them (iam/fleettui-team-init.json).
TEAM_INIT: frozenset[tuple[str, str]] = frozenset({
    ("dynamodb", "CreateTable"),
    ("dynamodb", "UpdateContinuousBackups"),
    ("dynamodb", "UpdateTimeToLive"),
})

# `fleettui init` and `fleettui doctor` only, besides the reads above (discovery of an account that has no config yet,
# and doctor's IAM check): all read-only, in no runtime policy; `fleettui iam policy --init` grants them with the reads
# init uses (:func:`fleettui.aws.policy.init_policy`). iam:SimulatePrincipalPolicy changes nothing (AWS's access level
# for it is Read) but its name is not a read prefix, so the gateway needs it declared here.
INIT_READS: frozenset[tuple[str, str]] = frozenset({
    ("ec2", "DescribeRegions"),
    ("elbv2", "DescribeLoadBalancers"),
    ("iam", "GetInstanceProfile"),              # the roles of a launch template's instance profile (instance_roles)
    ("iam", "SimulatePrincipalPolicy"),         # doctor: would the caller's policies allow what the verbs need
})

# Every operation the gateway lets through as a read (the hook's test, besides the Describe/List/Get prefixes).
ALL_READS: frozenset[tuple[str, str]] = READS | INIT_READS

# Mutations allowed with these parameters only (the gateway's hook refuses any other): a group's launch template,
# subnets, health checks… are never changed in place, only its capacity.
ONLY_PARAMS: dict[tuple[str, str], frozenset[str]] = {
    ("autoscaling", "UpdateAutoScalingGroup"): frozenset({"AutoScalingGroupName", "MinSize", "MaxSize",
                                                          "DesiredCapacity"}),
}

# botocore service name -> IAM action prefix
IAM_PREFIX = {"ec2": "ec2", "elbv2": "elasticloadbalancing", "autoscaling": "autoscaling", "sts": "sts",
              "cloudwatch": "cloudwatch", "dynamodb": "dynamodb", "iam": "iam"}


def iam_action(service: str, operation: str) -> str:
    """``("elbv2", "ModifyListener")`` -> ``"elasticloadbalancing:ModifyListener"``."""
    return f"{IAM_PREFIX[service]}:{operation}"
