"""`fleettui doctor`: check a config against the account, read-only except EC2 DryRun.

1. The fleet as `status` reads it (:func:`fetch_snapshot`), the tags of the target groups its listeners forward to,
   and the pure checks of :mod:`fleettui.domain.doctor`.
2. IAM: would the caller's policies allow what the verbs need? Where AWS offers it, the policy simulator
   (iam:SimulatePrincipalPolicy) is asked about every statement of the operator policy generated from the config
   (``fleettui iam policy --operator``), with its resources in each of the service's regions and its conditions as
   context; where it does not (an emulator, no permission to simulate, a root or federated caller), an EC2 DryRun of
   RunInstances from each service's launch template, with its selector tags, in each of its regions (DryRun
   changes nothing: AWS answers whether the request would have been allowed). A read-only config is not checked
   for mutations: its reads worked, or step 1 said which did not.
"""
from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from fleettui.aws.ec2 import templates_by_region
from fleettui.aws.elbv2 import Elbv2, region_of, tg_name_of
from fleettui.aws.gateway import Gateway
from fleettui.aws.inventory import fetch_snapshot
from fleettui.aws.permissions import READS, iam_action
from fleettui.aws.policy import _sid, generate
from fleettui.config import Config
from fleettui.domain.doctor import Problem, config_problems
from fleettui.errors import AwsError

DENIED = ("UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "UnauthorizedAccess")


@dataclass
class Report:
    account: str | None
    services: tuple[str, ...]
    problems: list[Problem] = field(default_factory=list)
    info: list[str] = field(default_factory=list)        # how things were checked (not problems)


def principal_arn(caller_arn: str | None) -> str | None:
    """The IAM principal the simulator evaluates for a caller: a user as it is, an assumed role's role (without its
    path: the caller's ARN does not carry it); None for a root or federated caller (nothing to simulate)."""
    if not caller_arn:
        return None
    m = re.match(r"^arn:([^:]+):sts::(\d{12}):assumed-role/([^/]+)/", caller_arn)
    if m:
        return f"arn:{m.group(1)}:iam::{m.group(2)}:role/{m.group(3)}"
    if re.match(r"^arn:[^:]+:iam::\d{12}:(user|role)/", caller_arn):
        return caller_arn
    return None


def simulation_requests(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One SimulatePrincipalPolicy request per mutating statement of a generated policy and region it names
    (``aws:RequestedRegion``; a statement without one is regional by its resources' ARNs):
    its actions, its resources in that region, its conditions as context entries (the first value of a list, as one
    request would carry; ``ForAllValues`` keys as the whole list)."""
    reads = {iam_action(*a) for a in READS}
    out = []
    for st in document["Statement"]:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if set(actions) <= reads:
            continue
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        condition = st.get("Condition", {})
        wanted = condition.get("StringEquals", {}).get("aws:RequestedRegion") or [None]
        for region in (wanted if isinstance(wanted, list) else [wanted]):
            entries = []
            for op, pairs in condition.items():
                for key, value in pairs.items():
                    values = value if isinstance(value, list) else [value]
                    if op.startswith("ForAllValues:"):
                        entries.append({"ContextKeyName": key, "ContextKeyValues": values, "ContextKeyType": "stringList"})
                    else:
                        chosen = region if key == "aws:RequestedRegion" else values[0]
                        kind = "boolean" if op == "Bool" else "string"
                        entries.append({"ContextKeyName": key, "ContextKeyValues": [str(chosen)], "ContextKeyType": kind})
            out.append({"sid": st["Sid"], "region": region, "ActionNames": actions,
                        "ResourceArns": [r.replace(":*:", f":{region}:", 1) if region and r.split(":")[3:4] == ["*"]
                                         else r for r in resources],
                        "ContextEntries": entries})
    return out


def _service_of(sid: str, names: list[str]) -> str | None:
    return next((n for n in sorted(names, key=len, reverse=True) if sid.startswith(_sid(n))), None)


async def _simulate(gw: Gateway, region: str, principal: str, requests: list[dict[str, Any]],
                    names: list[str]) -> list[Problem]:
    out = []
    for req in requests:
        params = {k: v for k, v in req.items() if k not in ("sid", "region")}
        async for page in gw.paginate("iam", region, "simulate_principal_policy", PolicySourceArn=principal,
                                      **params):
            for result in page.get("EvaluationResults", ()):
                if result.get("EvalDecision") != "allowed":
                    out.append(Problem(_service_of(req["sid"], names), "iam",
                                       f"{result.get('EvalActionName')}{' in ' + req['region'] if req['region'] else ''} "
                                       f"is {result.get('EvalDecision')} "
                                       f"for {principal} (statement {req['sid']} of `fleettui iam policy --operator`: "
                                       "attach it)"))
    return out


async def _dry_run(gw: Gateway, config: Config, names: list[str]) -> tuple[list[Problem], list[str]]:
    problems, info = [], []
    for name in names:
        cfg = config.service(name)
        if not cfg.launch_template:
            continue
        per_region = await templates_by_region(gw, cfg.launch_template, cfg.regions)
        for region, template in per_region.items():
            if template is None:
                continue        # said by the inventory's check already
            # bare hosts are launched with the selector tags; a group's hosts are tagged by Auto Scaling (its
            # policy grants RunInstances from the template without request tags)
            tags = {} if cfg.kind == "asg" else {"TagSpecifications": [{"ResourceType": "instance", "Tags": [
                {"Key": k, "Value": v} for k, v in cfg.selector]}]}
            try:
                await gw.call("ec2", region, "run_instances", DryRun=True, MinCount=1, MaxCount=1,
                              LaunchTemplate={"LaunchTemplateName": template, "Version": "$Default"}, **tags)
            except AwsError as e:
                if e.code == "DryRunOperation":
                    continue
                if e.code in DENIED:
                    problems.append(Problem(name, "iam", f"ec2:RunInstances from {template} in {region} is denied "
                                                         "(EC2 DryRun): attach `fleettui iam policy --operator`"))
                else:
                    info.append(f"{name}: EC2 DryRun of RunInstances in {region}: {e}")
                continue
            info.append(f"{name}: EC2 DryRun of RunInstances in {region} answered without DryRunOperation")
    return problems, info


async def _iam(gw: Gateway, config: Config, names: list[str], caller_arn: str | None,
               gateway: Callable[..., Gateway] | None) -> tuple[list[Problem], list[str]]:
    if gw.read_only:
        return [], ["IAM: read-only, so only the reads were checked (above); the operator policy is "
                    "`fleettui iam policy --operator`"]
    principal = principal_arn(caller_arn)
    region = config.regions[0]
    why = "the caller is not an IAM user or role" if principal is None else ""
    if principal is not None:
        requests = simulation_requests(generate(config, operator=True, services=names).document)
        try:
            # one attempt: an endpoint without the simulator (an emulator answers 500) falls back at once
            async with (gateway(max_attempts=1) if gateway else Gateway(config.aws, max_attempts=1)) as iam_gw:
                problems = await _simulate(iam_gw, region, principal, requests, names)
            return problems, [f"IAM: the policy simulator checked {len(requests)} statements of the operator policy "
                              f"for {principal}"]
        except AwsError as e:
            why = f"the policy simulator is unavailable ({e})"
    problems, info = await _dry_run(gw, config, names)
    return problems, [f"IAM: {why}; checked ec2:RunInstances by EC2 DryRun only"] + info


async def check(gw: Gateway, config: Config, services: list[str] | None = None,
                gateway: Callable[..., Gateway] | None = None) -> Report:
    """Everything to fix in ``config`` (or its ``services``) against the account ``gw`` reaches."""
    snap = await fetch_snapshot(gw, config, services=services)
    names = [s.name for s in snap.services]
    by_region: dict[str, set[str]] = {}
    for svc in snap.services:
        if svc.traffic is not None:
            for arn in svc.traffic.target_groups:
                by_region.setdefault(region_of(arn), set()).add(arn)
    tg_tags: dict[str, dict[str, str]] = {}
    problems: list[Problem] = []

    async def tags(region: str, arns: set[str]) -> None:
        try:
            tg_tags.update(await Elbv2(gw, region).tags(sorted(arns)))
        except AwsError as e:
            problems.append(Problem(None, "aws", f"target group tags in {region}: {e}"))

    await asyncio.gather(*(tags(r, a) for r, a in by_region.items()))
    problems += config_problems(config, snap, tg_tags, {a: tg_name_of(a) for a in tg_tags})
    iam_problems, info = await _iam(gw, config, names, snap.caller_arn, gateway)
    return Report(account=snap.account, services=tuple(names), problems=problems + iam_problems, info=info)
