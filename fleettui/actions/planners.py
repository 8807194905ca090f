"""Planners: snapshot + intent -> Plan. Pure (no I/O); guardrails are applied by :func:`guardrails.check`.

Every plan is replace-only: hosts are launched fresh, then old ones are drained and terminated; traffic moves
only through listener weights.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone

from fleettui.config import ServiceConfig
from fleettui.domain.model import Generation, Instance, Service, Snapshot
from fleettui.domain.plan import Plan, Step, new_plan_id, step
from fleettui.errors import ConfigError

MANAGED_TAG_PREFIXES = ("aws:", "fleettui:")


class PlanError(ConfigError):
    """The intent itself is invalid (unknown generation, bad weights…): exit 2, nothing happens."""


def _service(snapshot: Snapshot, cfg: ServiceConfig) -> Service:
    svc = snapshot.service(cfg.name)
    if svc is None:
        raise PlanError(f"service {cfg.name!r} is not in the snapshot")
    return svc


def _generation(svc: Service, version: str) -> Generation:
    gen = svc.generation(version)
    if gen is None:
        allowed = ", ".join(g.version for g in svc.generations) or "none running"
        raise PlanError(f"{svc.name} has no generation {version!r} (generations: {allowed})")
    return gen


def serving(svc: Service) -> list[Generation]:
    """Generations that serve traffic: weight > 0 with a listener, all of them without one."""
    if svc.listener_arn is None or all(g.weight is None for g in svc.generations):
        return list(svc.generations)
    return [g for g in svc.generations if g.weight]


def healthy_serving(svc: Service) -> int:
    return sum(g.healthy for g in serving(svc))


def current_weights(svc: Service) -> dict[str, int]:
    return {g.version: g.weight or 0 for g in svc.generations if g.weight is not None}


def _copied_tags(hosts: list[Instance], cfg: ServiceConfig) -> dict[str, str]:
    """Tags a replacement carries: the service selector plus the (non-managed) tags its predecessors share."""
    tags: dict[str, str] = {}
    if hosts:
        common = dict(hosts[0].tags)
        for h in hosts[1:]:
            common = {k: v for k, v in common.items() if h.tags.get(k) == v}
        tags.update({k: v for k, v in common.items() if not k.startswith(MANAGED_TAG_PREFIXES) and k != "Name"})
    tags.update(dict(cfg.selector))
    return tags


def tg_name(cfg: ServiceConfig, version: str) -> str:
    """Target group name for a generation: prefix + version, within AWS's 32 chars of [A-Za-z0-9-]."""
    name = re.sub(r"[^A-Za-z0-9-]+", "-", f"{cfg.target_group_prefix or cfg.name + '-'}{version}").strip("-")
    return name[:32].rstrip("-")


def _stamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- replace hosts --------------------------------------------------------------------------------------------

def select_hosts(svc: Service, *, ids: list[str] | None = None, drifted: bool = False, aged: bool = False,
                 generation: str | None = None) -> list[Instance]:
    """Hosts to replace, oldest first: explicit ids, else drifted and/or over max_age ones."""
    hosts = svc.instances
    if generation is not None:
        hosts = _generation(svc, generation).instances
    if ids:
        known = {i.id: i for i in svc.instances}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise PlanError(f"{svc.name} has no instance {', '.join(unknown)}")
        chosen = [known[i] for i in ids]
    else:
        chosen = [h for h in hosts
                  if (drifted and h.drifted) or (aged and h.age_level == "error")]
    return sorted(chosen, key=lambda h: (-h.age_days, h.id))


def plan_replace(snapshot: Snapshot, cfg: ServiceConfig, hosts: list[Instance], reason: str = "") -> Plan:
    svc = _service(snapshot, cfg)
    if not hosts:
        raise PlanError(f"nothing to replace in {svc.name}: no host selected (mark hosts, or use --drifted / --aged)")
    gen_of = {i.id: g for g in svc.generations for i in g.instances}
    total = max(1, sum(g.total for g in serving(svc)))
    batch_size = max(1, total * (100 - cfg.min_healthy_percent) // 100)
    steps: list[Step] = []
    warnings: list[str] = []
    n = 0
    # group: (generation, region, asg) keeps each batch homogeneous
    groups: dict[tuple[str, str, str | None], list[Instance]] = defaultdict(list)
    for h in hosts:
        groups[(gen_of[h.id].version, h.region, h.asg)].append(h)
    for (version, region, asg), members in groups.items():
        gen = gen_of[members[0].id]
        for start in range(0, len(members), batch_size):
            batch = members[start:start + batch_size]
            old = [h.id for h in batch]
            if asg:
                n += 1
                steps.append(step(n, "asg_scale_out", region, f"scale {asg} out by {len(batch)}",
                                  asg=asg, add=len(batch), replacing=old))
                n += 1
                steps.append(step(n, "asg_wait_in_service", region, f"wait for {len(batch)} new hosts in {asg}",
                                  asg=asg, scale_step=f"s{n - 1}", replacing=old))
                n += 1
                steps.append(step(n, "asg_terminate", region, f"terminate {len(batch)} old hosts through {asg}",
                                  asg=asg, instance_ids=old))
                continue
            lt_version = batch[0].expected_launch_template_version or svc.declared_launch_template_version
            if not cfg.launch_template or lt_version is None:
                raise PlanError(f"cannot replace {', '.join(old)}: {svc.name} has no launch template version to "
                                "launch from (set launch_template in the config)")
            if lt_version != gen.launch_template_version and gen.launch_template_version is not None:
                warnings.append(f"{version} in {region} launches from v{lt_version}")
            if batch[0].expected_launch_template_version is None:
                warnings.append(f"{', '.join(old)} cannot be reproduced: replaced from declared "
                                f"v{svc.declared_launch_template_version} (a new generation)")
            tgs = [a for a in gen.target_group_arns if a.split(":")[3] == region]
            n += 1
            launch_id = f"s{n}"
            steps.append(step(n, "launch", region,
                              f"launch {len(batch)} × {cfg.launch_template} v{lt_version} for {version}",
                              count=len(batch), launch_template=cfg.launch_template, version=lt_version,
                              subnets=sorted({h.subnet_id for h in batch if h.subnet_id}),
                              tags=_copied_tags(batch, cfg), name=f"{svc.name}-{version}"))
            n += 1
            steps.append(step(n, "wait_running", region, "wait until they are running", launch_step=launch_id))
            if tgs:
                n += 1
                steps.append(step(n, "register", region, "register them in the generation's target group",
                                  target_groups=tgs, launch_step=launch_id))
                n += 1
                steps.append(step(n, "wait_healthy", region, "wait until they are healthy",
                                  target_groups=tgs, launch_step=launch_id))
                n += 1
                steps.append(step(n, "deregister", region, f"drain {len(batch)} old hosts",
                                  target_groups=tgs, instance_ids=old))
            n += 1
            steps.append(step(n, "terminate", region, f"terminate {', '.join(old)}", instance_ids=old))
    plan = Plan(
        id=new_plan_id(), verb="replace", service=svc.name,
        summary=f"replace {len(hosts)} host(s) of {svc.name} (launch first, then drain and terminate; "
                f"batches of {batch_size})",
        steps=tuple(steps), hosts_affected=tuple(h.id for h in hosts),
        capacity_before=100, capacity_min=100,
        weights_before=current_weights(svc), weights_after=current_weights(svc),
        warnings=tuple(dict.fromkeys(warnings)), created_at=_stamp(),
    )
    return plan


# -- launch generation ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LaunchTarget:
    """What a new generation is launched from (resolved by the action layer before planning)."""

    version: str
    image_id: str
    launch_template_version: int
    region: str
    count: int
    template_target_group: str | None    # an existing TG to copy port/protocol/VPC/health check from
    subnets: tuple[str, ...] = ()


def plan_launch(snapshot: Snapshot, cfg: ServiceConfig, target: LaunchTarget, reason: str = "") -> Plan:
    svc = _service(snapshot, cfg)
    if svc.generation(target.version) is not None:
        raise PlanError(f"{svc.name} already runs generation {target.version}; replace hosts or shift weights")
    if target.count < 1:
        raise PlanError(f"--count must be at least 1 (got {target.count})")
    if any(i.asg for i in svc.instances):
        raise PlanError(f"{svc.name} is managed by Auto Scaling: point the group at the new launch template "
                        "version and replace hosts (fleettui replace --all) instead")
    region = target.region
    steps: list[Step] = []
    n = 0
    name = tg_name(cfg, target.version)
    if cfg.listener_arn:
        if not target.template_target_group:
            raise PlanError(f"{svc.name} has no target group to copy settings from")
        n += 1
        steps.append(step(n, "create_target_group", region, f"create target group {name}",
                          name=name, copy_from=target.template_target_group,
                          tags={"fleettui:service": svc.name, cfg.generation_tag: target.version}))
    n += 1
    launch_id = f"s{n}"
    tags = _copied_tags(list(svc.live.instances if svc.live else svc.instances), cfg)
    steps.append(step(n, "launch", region,
                      f"launch {target.count} × {cfg.launch_template} v{target.launch_template_version} "
                      f"({target.image_id})",
                      count=target.count, launch_template=cfg.launch_template,
                      version=target.launch_template_version, subnets=list(target.subnets), tags=tags,
                      name=f"{svc.name}-{target.version}"))
    n += 1
    steps.append(step(n, "wait_running", region, "wait until they are running", launch_step=launch_id))
    if cfg.listener_arn:
        n += 1
        steps.append(step(n, "register", region, f"register them in {name}", target_group_names=[name],
                          launch_step=launch_id))
        n += 1
        steps.append(step(n, "wait_healthy", region, "wait until they are healthy", target_group_names=[name],
                          launch_step=launch_id))
        n += 1
        steps.append(step(n, "listener_add", region, f"add {name} to the listener at weight 0",
                          listener_arn=cfg.listener_arn, target_group_name=name))
    weights = current_weights(svc)
    after = dict(weights, **({target.version: 0} if cfg.listener_arn else {}))
    return Plan(
        id=new_plan_id(), verb="launch", service=svc.name,
        summary=f"launch generation {target.version} of {svc.name}: {target.count} host(s) from "
                f"{cfg.launch_template} v{target.launch_template_version}, no traffic yet",
        steps=tuple(steps), weights_before=weights, weights_after=after, created_at=_stamp(),
    )


# -- shift weights --------------------------------------------------------------------------------------------

def weights_for_shift(svc: Service, version: str, weight: int) -> dict[str, int]:
    """Give ``version`` ``weight`` percent; the rest keeps its proportions (or goes to live if none had any)."""
    if not 0 <= weight <= 100:
        raise PlanError(f"weight must be 0-100 (got {weight})")
    _generation(svc, version)
    current = current_weights(svc)
    others = {v: w for v, w in current.items() if v != version}
    rest = 100 - weight
    total = sum(others.values())
    if total == 0:
        fallback = svc.live.version if svc.live and svc.live.version != version else None
        if fallback is None:
            fallback = next((v for v in reversed(list(others)) if v != version), None)
        if fallback is None and rest:
            raise PlanError(f"{version} is the only generation: it must take 100%")
        out = {v: 0 for v in others}
        if fallback:
            out[fallback] = rest
    else:
        out = {v: rest * w // total for v, w in others.items()}
        # hand rounding leftovers to the largest
        leftover = rest - sum(out.values())
        if leftover:
            out[max(others, key=lambda v: others[v])] += leftover
    out[version] = weight
    return out


def plan_shift(snapshot: Snapshot, cfg: ServiceConfig, weights: dict[str, int], reason: str = "",
               verb: str = "shift") -> Plan:
    svc = _service(snapshot, cfg)
    if not svc.listener_arn:
        raise PlanError(f"{svc.name} has no listener_arn in the config: nothing to shift")
    for v, w in weights.items():
        _generation(svc, v)
        if not isinstance(w, int) or not 0 <= w <= 100:
            raise PlanError(f"weight for {v} must be an integer 0-100 (got {w})")
    full = {g.version: 0 for g in svc.generations if g.target_group_arns}
    full.update(weights)
    if sum(full.values()) != 100:
        raise PlanError(f"weights must add up to 100 (got {sum(full.values())}: "
                        + ", ".join(f"{v}={w}" for v, w in full.items()) + ")")
    for v in full:
        if not svc.generation(v).target_group_arns:
            raise PlanError(f"{v} has no target group on the listener: launch it with fleettui first")
    by_arn = {}
    for v, w in full.items():
        arns = svc.generation(v).target_group_arns
        for k, a in enumerate(arns):
            by_arn[a] = w // len(arns) + (w % len(arns) if k == 0 else 0)
    region = svc.listener_arn.split(":")[3]
    before = current_weights(svc)
    desc = ", ".join(f"{v} {before.get(v, 0)}→{w}%" for v, w in full.items())
    steps = (step(1, "set_weights", region, f"set listener weights: {desc}", listener_arn=svc.listener_arn,
                  weights=by_arn),)
    return Plan(
        id=new_plan_id(), verb=verb, service=svc.name, summary=f"{verb} {svc.name}: {desc}", steps=steps,
        capacity_before=100, capacity_min=_capacity_after_weights(svc, full),
        weights_before=before, weights_after=full, created_at=_stamp(),
    )


def _capacity_after_weights(svc: Service, weights: dict[str, int]) -> int:
    """Healthy hosts per share of traffic after the change, as a percent of what the live generation has for
    all of it today (the least provisioned generation that takes traffic decides). 100 when live has no
    healthy host: nothing can get worse, and a rollback must never be blocked by an outage."""
    live = svc.live
    if live is None or live.healthy == 0:
        return 100
    per_percent = [svc.generation(v).healthy / w for v, w in weights.items() if w]
    if not per_percent:
        return 0
    return min(100, round(100 * min(per_percent) / (live.healthy / 100)))


def plan_rollback(snapshot: Snapshot, cfg: ServiceConfig, reason: str = "", ramp: list[int] | None = None) -> Plan:
    svc = _service(snapshot, cfg)
    target = svc.rollback_target
    if target is None:
        raise PlanError(f"{svc.name} has no rollback target: {svc.rollback.reason}")
    plan = plan_shift(snapshot, cfg, {g.version: (100 if g is target else 0) for g in svc.generations
                                      if g.target_group_arns}, reason, verb="rollback")
    if ramp:
        if sorted(set(ramp)) != list(ramp) or ramp[-1] != 100 or ramp[0] <= 0:
            raise PlanError(f"ramp must increase and end at 100 (got {ramp})")
        steps = []
        for k, pct in enumerate(ramp, 1):
            w = weights_for_shift(svc, target.version, pct)
            sub = plan_shift(snapshot, cfg, w, verb="rollback").steps[0]
            steps.append(Step(id=f"s{k}", kind=sub.kind, region=sub.region,
                              description=f"{target.version} to {pct}%: " + sub.description, params=sub.params))
        plan = Plan(**{**plan.__dict__, "steps": tuple(steps)})
    summary = f"roll {svc.name} back to {target.version}: all traffic in " + (
        f"{len(ramp)} steps" if ramp else "one listener change")
    return Plan(**{**plan.__dict__, "summary": summary, "warnings": (svc.rollback.reason,) if not svc.rollback.ready
                   else ()})


# -- decommission ---------------------------------------------------------------------------------------------

def plan_decommission(snapshot: Snapshot, cfg: ServiceConfig, version: str, reason: str = "") -> Plan:
    svc = _service(snapshot, cfg)
    gen = _generation(svc, version)
    steps: list[Step] = []
    n = 0
    ids_by_region: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for h in gen.instances:
        ids_by_region[(h.region, h.asg)].append(h.id)
    for (region, asg), ids in ids_by_region.items():
        tgs = [a for a in gen.target_group_arns if a.split(":")[3] == region]
        if tgs:
            n += 1
            steps.append(step(n, "deregister", region, f"drain {len(ids)} hosts from {version}'s target group",
                              target_groups=tgs, instance_ids=ids))
        n += 1
        if asg:
            steps.append(step(n, "asg_terminate", region, f"terminate {len(ids)} hosts through {asg}",
                              asg=asg, instance_ids=ids))
        else:
            steps.append(step(n, "terminate", region, f"terminate {len(ids)} hosts", instance_ids=ids))
    if gen.target_group_arns and svc.listener_arn:
        region = svc.listener_arn.split(":")[3]
        n += 1
        steps.append(step(n, "listener_remove", region, f"remove {version}'s target group from the listener",
                          listener_arn=svc.listener_arn, target_groups=list(gen.target_group_arns)))
        for arn in gen.target_group_arns:
            n += 1
            steps.append(step(n, "delete_target_group", region, f"delete target group {arn.split('/')[-2]}",
                              target_group=arn))
    before_healthy = healthy_serving(svc)
    after_healthy = sum(g.healthy for g in serving(svc) if g is not gen)
    cap = 100 if before_healthy == 0 else min(100, round(100 * after_healthy / before_healthy))
    return Plan(
        id=new_plan_id(), verb="decommission", service=svc.name,
        summary=f"decommission {svc.name} {version}: drain, terminate {gen.total} host(s)"
                + (", remove and delete its target group" if gen.target_group_arns else ""),
        steps=tuple(steps), hosts_affected=tuple(h.id for h in gen.instances),
        capacity_before=100, capacity_min=cap,
        weights_before=current_weights(svc),
        weights_after={v: w for v, w in current_weights(svc).items() if v != version},
        confirm_phrase=version, created_at=_stamp(),
    )
