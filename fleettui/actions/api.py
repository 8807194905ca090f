"""The action layer both the TUI and the CLI call: intent -> plan (with guardrails) -> execute -> journal."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fleettui.actions import guardrails
from fleettui.actions.executor import Executor, Outcome, StepEvent
from fleettui.actions.planning import PlanError
from fleettui.actions.verbs import VERBS, Intent
from fleettui.actions.steps import PLAN_TAG, STEP_TAG
from fleettui.aws.ec2 import Ec2, template_key
from fleettui.aws.elbv2 import Elbv2
from fleettui.aws.gateway import Gateway, _is_loopback
from fleettui.aws.inventory import fetch_snapshot
from fleettui.clock import SYSTEM, Clock
from fleettui.config import Config
from fleettui.domain.history import EventKind, PlanRecord, PlanStatus, Scope
from fleettui.domain.model import Snapshot
from fleettui.domain.plan import Plan
from fleettui.errors import AwsError, ConfigError, FleetError
from fleettui.format import printable
from fleettui.store import EventLog, LockFactory, LockHeld, LockLost, StoreError
from fleettui.store.local import JsonlJournal, journal_path_for
from fleettui.store.taglock import TagLock


class OtherAws(ConfigError):
    """A plan made against another account or endpoint: never resumed here."""


MAX_REASON = 1000        # characters of an operator's reason (journals and the team table keep it whole)


def check_reason(reason: str) -> str:
    """A reason as the journal and the team table keep it: valid UTF-8 text (a byte that is not one arrives from the
    command line as a lone surrogate) of at most :data:`MAX_REASON` characters. Else one line saying what is
    allowed (ConfigError: exit 2, before anything is journaled)."""
    bad = next((n for n, c in enumerate(reason) if 0xD800 <= ord(c) <= 0xDFFF), None)
    if bad is not None:
        code = ord(reason[bad])
        byte = f" (the byte 0x{code - 0xDC00:02x})" if 0xDC80 <= code <= 0xDCFF else ""
        raise ConfigError(f"the reason is not valid UTF-8 at character {bad + 1}{byte}: type it in UTF-8")
    if len(reason) > MAX_REASON:
        raise ConfigError(f"the reason is {len(reason):,} characters long; at most {MAX_REASON:,} are allowed (a line: "
                          "a ticket, a link)")
    return reason


@dataclass
class Actions:
    config: Config
    gw: Gateway
    read_only: bool
    journal: EventLog | None = None          # default: the local journal of this config's endpoint
    lock: LockFactory = TagLock
    poll_seconds: float | None = None
    timeout_seconds: float = 900.0
    clock: Clock = SYSTEM                    # every wait and time stamp of the plans it runs (tests: virtual)
    _who: str | None = None
    _scope: Scope | None = None

    def __post_init__(self) -> None:
        if self.journal is None:
            self.journal = JsonlJournal(journal_path_for(self.config.aws.endpoint_url), clock=self.clock)

    @property
    def poll(self) -> float:
        if self.poll_seconds is not None:
            return self.poll_seconds
        return 0.2 if _is_loopback(self.config.aws.endpoint_url) else 5.0

    async def scope(self) -> Scope:
        """The AWS this acts on (account from STS GetCallerIdentity, once); binds the journal to it. Without an
        account nothing is planned or resumed: a plan must say which AWS it changed."""
        if self._scope is None:
            region = (self.config.regions or ("us-east-1",))[0]
            try:
                ident = await self.gw.caller_identity(region)
            except AwsError as e:
                raise AwsError(f"cannot tell which AWS account this is (sts:GetCallerIdentity: {e}): nothing was "
                               "done", code=e.code) from None
            arn = str(ident.get("Arn") or "")
            parts = arn.split(":")
            aws = self.config.aws
            self._scope = Scope(account=str(ident.get("Account") or (parts[4] if len(parts) > 4 else "unknown")),
                                partition=parts[1] if len(parts) > 1 and parts[1] else "aws",
                                endpoint=aws.endpoint_url or "aws", profile=aws.profile, regions=tuple(aws.regions))
            self._who = arn or "unknown"
            self.journal.bind(self._scope)
            self.journal.operator = self._who
        return self._scope

    async def who(self) -> str:
        await self.scope()
        return self._who

    async def unfinished(self, *, driven: bool = False) -> list[PlanRecord]:
        """Plans left unfinished against this AWS (account + endpoint), oldest first: what resume and the start-up
        offer consider. Plans of another account or endpoint are never offered, nor (unless ``driven``) plans a
        live process of this machine is driving. (Nothing unfinished at all: no need to ask STS which account.)"""
        if not self.journal.unfinished(driven=driven):
            return []
        return self.journal.unfinished(await self.scope(), driven=driven)

    async def resumable(self, plan_id: str | None = None) -> PlanRecord | None:
        """``plan_id``'s record if it can be resumed here (else one-line ConfigError), or the most recent unfinished
        plan of this AWS (None: there is none)."""
        if plan_id is None:
            records = await self.unfinished()
            return records[-1] if records else None
        rec = self.journal.record(plan_id)
        if rec is None:
            raise ConfigError(f"no plan {plan_id} in the journal {self.journal.where}")
        await self._same_aws(rec)
        if not rec.resumable:
            raise ConfigError(f"plan {plan_id} is {rec.status}: nothing to resume")
        return rec

    async def _same_aws(self, rec: PlanRecord) -> None:
        here = await self.scope()
        if not here.same_aws(rec.scope):
            there = rec.scope.label if rec.scope else "an AWS it did not record (journaled by an older fleettui)"
            raise OtherAws(f"plan {rec.plan.id} was made against {there}; this is {here.label}: refused (use that "
                           "plan's config and profile)")

    async def snapshot(self, services: list[str] | None = None) -> Snapshot:
        return await fetch_snapshot(self.gw, self.config, services=services)

    async def plan(self, intent: Intent, snapshot: Snapshot | None = None) -> Plan:
        """The guarded plan for ``intent`` (fresh snapshot of the service unless one is given)."""
        verb = VERBS.get(intent.verb)
        if verb is None:
            raise PlanError(f"unknown action {intent.verb!r} (allowed: {', '.join(VERBS)})")
        cfg = self.config.service(intent.service)
        await self.scope()
        snap = snapshot or await self.snapshot([intent.service])
        unread = [e for e in snap.errors if e.region in cfg.regions or e.region == cfg.listener_region]
        if unread:   # never plan (capacity, last generation…) from a partial view of the service
            raise AwsError(f"cannot plan {intent.verb} for {cfg.name}: {unread[0].region} could not be read: "
                           f"{unread[0].message}")
        plan = await verb.plan(self, intent, snap)
        return guardrails.check(plan, snap, cfg, read_only=self.read_only)

    def executor(self, on_event=None, heartbeat=None) -> Executor:
        return Executor(self.gw, self.journal, who=self._who or "unknown", poll_seconds=self.poll,
                        timeout_seconds=self.timeout_seconds, on_event=on_event, heartbeat=heartbeat,
                        clock=self.clock)

    async def _locked(self, record: PlanRecord, on_event, *, new: bool) -> Outcome:
        """Run the plan holding the service's lock in AWS (renewed after every step while it is still ours). The
        journal is written first (a journal that cannot be written stops everything before any change), the lock
        taken second; a storage error or a lost lock later is reported with what AWS already did."""
        plan = record.plan
        lock = self.lock(self.gw, self.config.service(plan.service), await self.who(), plan.id,
                         what=f"{plan.verb} {plan.service}", clock=self.clock)
        try:
            await lock.acquire()
        except BaseException as e:
            if new:   # journaled but never run: not a plan to resume
                try:
                    self.journal.append(EventKind.PLAN_FINISHED, plan.id, status=PlanStatus.REFUSED.value,
                                        error=str(e) if isinstance(e, FleetError) else type(e).__name__)
                except StoreError:
                    pass
            raise
        finally:
            await self.journal.flush(self.gw)

        async def heartbeat() -> None:      # between steps: renew the lock, send the team store what is queued
            await lock.refresh()
            await self.journal.flush(self.gw)

        try:
            with self.journal.driving(plan.id):
                return await self.executor(on_event, heartbeat=heartbeat).resume(record)
        except StoreError as e:
            raise StoreError(self._journal_lost(record, e)) from None
        except LockLost as e:
            left = record.remaining
            try:
                self.journal.append(EventKind.PLAN_FINISHED, plan.id, status=PlanStatus.FAILED.value,
                                    failed_step=left[0] if left else None, error=f"lock lost: {e}")
            except StoreError:
                pass
            raise LockLost(f"{e}: stopped with {self._done_text(record, set(record.done))}; nothing more was done. "
                           f"`fleettui resume {plan.id}` once they are finished") from None
        finally:
            try:
                await asyncio.shield(lock.release())
            except (FleetError, asyncio.CancelledError):
                pass  # expires by itself after its time to live
            try:
                await asyncio.shield(self.journal.flush(self.gw))
            except asyncio.CancelledError:
                pass  # still queued: sent with the next action

    @staticmethod
    def _done_text(record: PlanRecord, done: set[str]) -> str:
        n = len(record.plan.steps)
        if len(done) == n:
            return f"all {n} steps done in AWS"
        ids = [s.id for s in record.plan.steps if s.id in done]
        return f"{len(ids)} of {n} steps done in AWS" + (f" ({', '.join(ids)})" if ids else "")

    def _journal_lost(self, record: PlanRecord, e: StoreError) -> str:
        """The truth about AWS when the journal failed mid-plan: the first failed append says where we were."""
        first = e
        while isinstance(first.__context__, StoreError):
            first = first.__context__
        done = set(record.done)
        if first.event == EventKind.STEP_SUCCEEDED and first.step:
            done.add(first.step)
        if first.event == EventKind.PLAN_FINISHED:
            done = {s.id for s in record.plan.steps}
        text = self._done_text(record, done)
        if first.event in (EventKind.STEP_NOTE, EventKind.STEP_FAILED) and first.step:
            text += f", {first.step} was under way"
        more = "" if len(done) == len(record.plan.steps) else (
            f"; nothing more was done: `fleettui resume {record.plan.id}` once the journal can be written")
        return f"{text}; {first}{more}"

    async def execute(self, plan: Plan, reason: str = "", on_event=None) -> Outcome:
        check_reason(reason)
        if plan.refusal:
            raise FleetError(f"refused: {plan.refusal}")
        await self.scope()
        await self.journal.flush(self.gw)     # what an earlier run could not send to the team store, first
        record = self.executor(on_event).start(plan, reason)     # StoreError here: nothing was sent
        return await self._locked(record, on_event, new=True)

    async def resume(self, record: PlanRecord, on_event=None) -> Outcome:
        if self.read_only:
            raise FleetError("read-only mode: cannot resume a plan")
        await self._same_aws(record)
        pid = self.journal.driver(record.plan.id)
        if pid is not None:
            raise LockHeld(f"plan {record.plan.id} ({record.plan.verb} {record.plan.service}) is being driven by "
                           f"process {pid} on this machine: nothing done (stop that process first"
                           + (f", or `fleettui rollout abort {record.plan.service}`)" if record.plan.verb == "rollout"
                              else ")"))
        self.journal.append(EventKind.PLAN_RESUMED, record.plan.id, who=await self.who())
        return await self._locked(record, on_event, new=False)

    async def abandon(self, record: PlanRecord) -> list[tuple[str, str]]:
        """Mark the plan abandoned, release its lock (if it still holds it) and return what it left behind. Read-only:
        refused before anything is written (a plan marked abandoned while its lock and traffic stay is a lie)."""
        if self.read_only:
            raise FleetError(f"read-only mode: plan {record.plan.id} was not marked abandoned and its lock was not "
                             "released (start without --read-only to abandon it)")
        await self._same_aws(record)
        left = await self.leftovers(record)
        self.journal.append(EventKind.PLAN_FINISHED, record.plan.id, status="abandoned", who=await self.who())
        try:
            await self.lock(self.gw, self.config.service(record.plan.service), await self.who(),
                            record.plan.id, clock=self.clock).release()
        except LockHeld:
            pass          # another operator's lock now: not ours to remove
        await self.journal.flush(self.gw)
        return left

    async def leftovers(self, record: PlanRecord) -> list[tuple[str, str]]:
        """What an unfinished plan left in AWS, as (what, the command that cleans it up): hosts it launched that
        still run outside every target group, and target groups it created that no listener forwards to."""
        plan, out = record.plan, []
        aws = "aws" + (f" --endpoint-url {self.config.aws.endpoint_url}" if self.config.aws.endpoint_url else "")
        for st in plan.steps:
            elb = Elbv2(self.gw, st.region)
            if st.kind == "launch":
                hosts = await Ec2(self.gw, st.region).tagged({PLAN_TAG: plan.id, STEP_TAG: st.id})
                registered: set[str] = set()
                for reg in (s for s in plan.steps if s.kind == "register" and s.params.get("launch_step") == st.id):
                    arns = list(reg.params.get("target_groups") or ())
                    for name in reg.params.get("target_group_names") or ():
                        arn = await elb.target_group_arn(name)
                        arns += [arn] if arn else []
                    for arn in arns:
                        registered |= {i for i, state in (await elb.target_health(arn)).items() if state != "unused"}
                loose = [i["InstanceId"] for i in hosts if i["InstanceId"] not in registered]
                if loose:
                    out.append((f"{len(loose)} host(s) launched by {st.id}, running in no target group: "
                                f"{', '.join(loose)}", f"{aws} ec2 terminate-instances --region {st.region} "
                                f"--instance-ids {' '.join(loose)}"))
            elif st.kind == "create_target_group":
                arn = await elb.target_group_arn(st.params["name"])
                if arn is None or any(s.kind == "listener_add" and s.id in record.done for s in plan.steps):
                    continue
                listener_arn = self.config.service(plan.service).listener_arn
                traffic = await elb.traffic_model(listener_arn) if listener_arn else None
                if traffic is None or all(arn not in f.target_groups for f in traffic.forwards):
                    out.append((f"target group {st.params['name']} created by {st.id}, on no listener",
                                f"{aws} elbv2 delete-target-group --region {st.region} --target-group-arn {arn}"))
        return out

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
