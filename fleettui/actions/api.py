"""The action layer both the TUI and the CLI call: intent -> plan (with guardrails) -> execute -> journal."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from fleettui import paths
from fleettui.actions import guardrails, planners
from fleettui.actions.executor import Executor, Outcome, StepEvent
from fleettui.actions.journal import Journal, PlanRecord
from fleettui.actions.lock import ServiceLock
from fleettui.aws.gateway import Gateway, _is_loopback
from fleettui.aws.inventory import fetch_snapshot
from fleettui.config import Config
from fleettui.domain.model import Snapshot
from fleettui.domain.plan import Plan
from fleettui.errors import AwsError, FleetError

VERBS = ("replace", "launch", "shift", "decommission", "rollback")


@dataclass(frozen=True)
class Intent:
    """What the operator asked for, from a key press or a command line."""

    verb: str
    service: str
    hosts: tuple[str, ...] = ()          # replace: explicit instance ids (marked hosts)
    drifted: bool = False                # replace: all drifted hosts
    aged: bool = False                   # replace: all hosts over max_age
    version: str | None = None           # shift target / decommission generation
    weight: int | None = None            # shift: weight for `version`
    weights: tuple[tuple[str, int], ...] = ()   # shift: explicit version=weight pairs
    lt_version: int | None = None        # launch: launch template version (default: declared)
    count: int | None = None             # launch: hosts (default: size of the live generation)
    ramp: tuple[int, ...] = ()           # rollback: optional ramp percentages


@dataclass
class Actions:
    config: Config
    gw: Gateway
    read_only: bool
    journal: Journal = field(default_factory=lambda: Journal(paths.journal_path()))
    poll_seconds: float | None = None
    timeout_seconds: float = 900.0
    _who: str | None = None

    @property
    def poll(self) -> float:
        if self.poll_seconds is not None:
            return self.poll_seconds
        return 0.2 if _is_loopback(self.config.aws.endpoint_url) else 5.0

    async def who(self) -> str:
        if self._who is None:
            region = (self.config.regions or ("us-east-1",))[0]
            try:
                self._who = (await self.gw.caller_identity(region)).get("Arn") or "unknown"
            except AwsError:
                self._who = "unknown (sts:GetCallerIdentity failed)"
        return self._who

    async def snapshot(self, services: list[str] | None = None) -> Snapshot:
        return await fetch_snapshot(self.gw, self.config, services=services)

    async def plan(self, intent: Intent, snapshot: Snapshot | None = None) -> Plan:
        """The guarded plan for ``intent`` (fresh snapshot of the service unless one is given)."""
        if intent.verb not in VERBS:
            raise planners.PlanError(f"unknown action {intent.verb!r} (allowed: {', '.join(VERBS)})")
        cfg = self.config.service(intent.service)
        snap = snapshot or await self.snapshot([intent.service])
        svc = snap.service(intent.service)
        if intent.verb == "replace":
            hosts = planners.select_hosts(svc, ids=list(intent.hosts), drifted=intent.drifted, aged=intent.aged,
                                          generation=intent.version if not intent.hosts else None)
            plan = planners.plan_replace(snap, cfg, hosts)
        elif intent.verb == "launch":
            plan = planners.plan_launch(snap, cfg, await self._launch_target(snap, intent))
        elif intent.verb == "shift":
            if intent.weights:
                weights = dict(intent.weights)
            elif intent.version is not None and intent.weight is not None:
                weights = planners.weights_for_shift(svc, intent.version, intent.weight)
            else:
                raise planners.PlanError("shift needs VERSION=WEIGHT pairs, or a version and a weight")
            plan = planners.plan_shift(snap, cfg, weights)
        elif intent.verb == "decommission":
            if not intent.version:
                raise planners.PlanError("decommission needs a generation (version)")
            plan = planners.plan_decommission(snap, cfg, intent.version)
        else:
            plan = planners.plan_rollback(snap, cfg, ramp=list(intent.ramp) or None)
        return guardrails.check(plan, snap, cfg, read_only=self.read_only)

    async def _launch_target(self, snap: Snapshot, intent: Intent) -> planners.LaunchTarget:
        cfg = self.config.service(intent.service)
        svc = snap.service(intent.service)
        if not cfg.launch_template:
            raise planners.PlanError(f"{cfg.name} has no launch_template in the config")
        region = cfg.listener_region or cfg.regions[0]
        key = "LaunchTemplateId" if cfg.launch_template.startswith("lt-") else "LaunchTemplateName"
        if intent.lt_version is not None and intent.lt_version < 1:
            raise planners.PlanError(f"--lt-version must be at least 1 (got {intent.lt_version})")
        if intent.count is not None and intent.count < 1:
            raise planners.PlanError(f"--count must be at least 1 (got {intent.count})")
        want = str(intent.lt_version) if intent.lt_version is not None else cfg.launch_template_version
        try:
            resp = await self.gw.call("ec2", region, "describe_launch_template_versions",
                                      **{key: cfg.launch_template}, Versions=[want])
        except AwsError as e:
            code = getattr(e, "code", "") or ""
            if "VersionNotFound" in code:
                raise planners.PlanError(f"{cfg.launch_template} has no version {want} in {region}") from None
            if "NotFound" in code:
                raise planners.PlanError(f"launch template {cfg.launch_template} not found in {region}") from None
            raise
        versions = resp.get("LaunchTemplateVersions") or []
        if not versions:
            raise planners.PlanError(f"{cfg.launch_template} has no version {want} in {region}")
        ltv = versions[0]
        image_id = (ltv.get("LaunchTemplateData") or {}).get("ImageId")
        if not image_id:
            raise planners.PlanError(f"{cfg.launch_template} v{ltv['VersionNumber']} names no image")
        images = (await self.gw.call("ec2", region, "describe_images", ImageIds=[image_id])).get("Images") or []
        if not images:
            raise planners.PlanError(f"image {image_id} of {cfg.launch_template} v{ltv['VersionNumber']} "
                                     "does not exist (deregistered?)")
        tags = {t["Key"]: t["Value"] for t in images[0].get("Tags") or ()}
        version = tags.get(cfg.version_tag) or images[0].get("Name") or image_id
        live = svc.live or (svc.generations[-1] if svc.generations else None)
        template_tg = next((a for g in reversed(svc.generations) for a in g.target_group_arns), None)
        return planners.LaunchTarget(
            version=version, image_id=image_id, launch_template_version=int(ltv["VersionNumber"]), region=region,
            count=intent.count if intent.count is not None else (live.total if live else 1),
            template_target_group=template_tg,
            subnets=tuple(sorted({i.subnet_id for i in (live.instances if live else ()) if i.subnet_id
                                  and i.region == region})),
        )

    def executor(self, on_event=None, heartbeat=None) -> Executor:
        return Executor(self.gw, self.journal, who=self._who or "unknown", poll_seconds=self.poll,
                        timeout_seconds=self.timeout_seconds, on_event=on_event, heartbeat=heartbeat)

    async def _locked(self, plan: Plan, on_event, body) -> Outcome:
        """Run ``body(executor)`` holding the service's lock in AWS (refreshed after every step)."""
        lock = ServiceLock(self.gw, self.config.service(plan.service), await self.who(), plan.id)
        await lock.acquire()
        try:
            return await body(self.executor(on_event, heartbeat=lock.refresh))
        finally:
            try:
                await asyncio.shield(lock.release())
            except (FleetError, asyncio.CancelledError):
                pass  # expires by itself after LOCK_TTL

    async def execute(self, plan: Plan, reason: str = "", on_event=None) -> Outcome:
        if plan.refusal:
            raise FleetError(f"refused: {plan.refusal}")
        return await self._locked(plan, on_event, lambda ex: ex.run(plan, reason))

    async def resume(self, record: PlanRecord, on_event=None) -> Outcome:
        if self.read_only:
            raise FleetError("read-only mode: cannot resume a plan")
        self.journal.append("plan_resumed", record.plan.id, who=await self.who())
        return await self._locked(record.plan, on_event, lambda ex: ex.resume(record))

    async def dry_run(self, plan: Plan) -> list[str]:
        """Ask AWS whether the plan's launches would be allowed (EC2 DryRun); change nothing."""
        notes: list[str] = []
        if self.read_only:
            return ["read-only mode: EC2 DryRun checks skipped"]
        for st in plan.steps:
            if st.kind != "launch":
                continue
            p = st.params
            key = "LaunchTemplateId" if p["launch_template"].startswith("lt-") else "LaunchTemplateName"
            kwargs: dict[str, Any] = dict(LaunchTemplate={key: p["launch_template"], "Version": str(p["version"])},
                                          MinCount=1, MaxCount=1, DryRun=True)
            try:
                await self.gw.call("ec2", st.region, "run_instances", **kwargs)
            except AwsError as e:
                if getattr(e, "code", "") == "DryRunOperation":
                    notes.append(f"{st.id}: EC2 DryRun: launch would succeed")
                    continue
                notes.append(f"{st.id}: EC2 DryRun: {e}")
        return notes


def describe_event(e: StepEvent) -> str:
    n = len(e.plan.steps)
    mark = {"started": "…", "succeeded": "✓", "failed": "✗", "skipped": "↷"}[e.state]
    text = f"{mark} [{e.index + 1}/{n}] {e.step.description}"
    return text + (f": {e.error}" if e.error else "")
