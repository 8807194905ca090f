"""The action layer both the TUI and the CLI call: intent -> plan (with guardrails) -> execute -> journal."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from fleettui import paths
from fleettui.actions import guardrails
from fleettui.actions.executor import Executor, Outcome, StepEvent
from fleettui.actions.planning import PlanError
from fleettui.actions.verbs import VERBS, Intent
from fleettui.aws.ec2 import template_key
from fleettui.aws.gateway import Gateway, _is_loopback
from fleettui.aws.inventory import fetch_snapshot
from fleettui.config import Config
from fleettui.domain.history import EventKind, PlanRecord
from fleettui.domain.model import Snapshot
from fleettui.domain.plan import Plan
from fleettui.errors import AwsError, FleetError
from fleettui.format import printable
from fleettui.store import EventLog, LockFactory
from fleettui.store.local import JsonlJournal
from fleettui.store.taglock import TagLock


@dataclass
class Actions:
    config: Config
    gw: Gateway
    read_only: bool
    journal: EventLog = field(default_factory=lambda: JsonlJournal(paths.journal_path()))
    lock: LockFactory = TagLock
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
        verb = VERBS.get(intent.verb)
        if verb is None:
            raise PlanError(f"unknown action {intent.verb!r} (allowed: {', '.join(VERBS)})")
        cfg = self.config.service(intent.service)
        snap = snapshot or await self.snapshot([intent.service])
        plan = await verb.plan(self, intent, snap)
        return guardrails.check(plan, snap, cfg, read_only=self.read_only)

    def executor(self, on_event=None, heartbeat=None) -> Executor:
        return Executor(self.gw, self.journal, who=self._who or "unknown", poll_seconds=self.poll,
                        timeout_seconds=self.timeout_seconds, on_event=on_event, heartbeat=heartbeat)

    async def _locked(self, plan: Plan, on_event, body) -> Outcome:
        """Run ``body(executor)`` holding the service's lock in AWS (refreshed after every step)."""
        lock = self.lock(self.gw, self.config.service(plan.service), await self.who(), plan.id)
        await lock.acquire()
        try:
            return await body(self.executor(on_event, heartbeat=lock.refresh))
        finally:
            try:
                await asyncio.shield(lock.release())
            except (FleetError, asyncio.CancelledError):
                pass  # expires by itself after its time to live

    async def execute(self, plan: Plan, reason: str = "", on_event=None) -> Outcome:
        if plan.refusal:
            raise FleetError(f"refused: {plan.refusal}")
        return await self._locked(plan, on_event, lambda ex: ex.run(plan, reason))

    async def resume(self, record: PlanRecord, on_event=None) -> Outcome:
        if self.read_only:
            raise FleetError("read-only mode: cannot resume a plan")
        self.journal.append(EventKind.PLAN_RESUMED, record.plan.id, who=await self.who())
        return await self._locked(record.plan, on_event, lambda ex: ex.resume(record))

    async def abandon(self, record: PlanRecord) -> None:
        self.journal.append(EventKind.PLAN_FINISHED, record.plan.id, status="abandoned", who=await self.who())

    async def dry_run(self, plan: Plan) -> list[str]:
        """Ask AWS whether the plan's launches would be allowed (EC2 DryRun); change nothing."""
        notes: list[str] = []
        if self.read_only:
            return ["read-only mode: EC2 DryRun checks skipped"]
        for st in plan.steps:
            if st.kind != "launch":
                continue
            p = st.params
            try:
                await self.gw.call("ec2", st.region, "run_instances", MinCount=1, MaxCount=1, DryRun=True,
                                   LaunchTemplate={template_key(p["launch_template"]): p["launch_template"],
                                                   "Version": str(p["version"])})
            except AwsError as e:
                if e.code == "DryRunOperation":
                    notes.append(f"{st.id}: EC2 DryRun: launch would succeed")
                    continue
                notes.append(f"{st.id}: EC2 DryRun: {e}")
        return notes


def describe_event(e: StepEvent) -> str:
    n = len(e.plan.steps)
    mark = {"started": "…", "succeeded": "✓", "failed": "✗", "skipped": "↷"}[e.state]
    text = f"{mark} [{e.index + 1}/{n}] {printable(e.step.description)}"
    return text + (f": {printable(e.error)}" if e.error else "")
