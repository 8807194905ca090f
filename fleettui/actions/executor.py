"""Run a Plan step by step against AWS, journaling every step. Each step is idempotent, so a plan cut off
anywhere (crash, Ctrl-C, network loss) is resumed by running the steps not yet marked succeeded again.

Launches are idempotent without ClientToken (which emulators ignore): every launched instance is tagged
with ``fleettui:plan`` and ``fleettui:step``, and a launch step first counts what it already launched.
"""
from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from fleettui.actions.journal import Journal, PlanRecord
from fleettui.aws.gateway import Gateway
from fleettui.aws.inventory import describe_instances
from fleettui.domain.plan import Plan, Step
from fleettui.errors import AwsError, FleetError

PLAN_TAG = "fleettui:plan"
STEP_TAG = "fleettui:step"
NOT_FOUND = ("InvalidInstanceID.NotFound", "TargetGroupNotFound", "TargetGroupNotFoundException",
             "InvalidTarget")


@dataclass
class StepEvent:
    """Progress for a UI: ``state`` is started | succeeded | failed | skipped."""

    plan: Plan
    step: Step
    index: int
    state: str
    error: str | None = None


@dataclass
class Outcome:
    plan: Plan
    status: str                          # succeeded | failed
    failed_step: Step | None = None
    error: str | None = None
    done: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


class Executor:
    def __init__(self, gw: Gateway, journal: Journal, *, who: str, poll_seconds: float = 5.0,
                 timeout_seconds: float = 900.0,
                 on_event: Callable[[StepEvent], Awaitable[None] | None] | None = None,
                 heartbeat: Callable[[], Awaitable[None]] | None = None):
        self.gw = gw
        self.journal = journal
        self.who = who
        self.poll = poll_seconds
        self.timeout = timeout_seconds
        self.on_event = on_event
        self.heartbeat = heartbeat      # e.g. refresh the service lock between steps

    # -- driving --------------------------------------------------------------------------------------------
    def start(self, plan: Plan, reason: str) -> PlanRecord:
        if not plan.runnable:
            raise FleetError(f"plan {plan.id} cannot run: {plan.refusal or 'it has no steps'}")
        region = plan.steps[0].region
        self.journal.append("plan_created", plan.id, service=plan.service, verb=plan.verb, who=self.who,
                            reason=reason, region=region, plan=plan.to_dict())
        return PlanRecord(plan=plan, who=self.who, reason=reason, created="")

    async def run(self, plan: Plan, reason: str = "") -> Outcome:
        return await self.resume(self.start(plan, reason))

    async def resume(self, record: PlanRecord) -> Outcome:
        plan = record.plan
        self._memo = record.memo
        for index, st in enumerate(plan.steps):
            if st.id in record.done:
                await self._emit(StepEvent(plan, st, index, "skipped"))
                continue
            self.journal.append("step_started", plan.id, step=st.id, kind=st.kind, region=st.region)
            await self._emit(StepEvent(plan, st, index, "started"))
            mark = len(self.gw.mutations)
            try:
                detail = await getattr(self, f"_{st.kind}")(plan, st)
            except Exception as e:  # noqa: BLE001 - journaled and shown, never a traceback
                msg = str(e) if isinstance(e, FleetError) else f"internal error: {e.__class__.__name__}: {e}"
                self.journal.append("step_failed", plan.id, step=st.id, error=msg,
                                    request_ids=self._request_ids(mark))
                self.journal.append("plan_finished", plan.id, status="failed", failed_step=st.id)
                await self._emit(StepEvent(plan, st, index, "failed", msg))
                return Outcome(plan, "failed", st, msg, tuple(record.done))
            except asyncio.CancelledError:
                # Ctrl-C / app exit: no plan_finished, so the plan is offered for resume
                self.journal.append("step_failed", plan.id, step=st.id, error="interrupted",
                                    request_ids=self._request_ids(mark))
                raise
            self.journal.append("step_succeeded", plan.id, step=st.id, request_ids=self._request_ids(mark),
                                **({"detail": detail} if detail else {}))
            record.done.add(st.id)
            await self._emit(StepEvent(plan, st, index, "succeeded"))
            if self.heartbeat is not None and index + 1 < len(plan.steps):
                try:
                    await self.heartbeat()
                except FleetError as e:  # the lock just expires later; the plan goes on
                    self.journal.append("warning", plan.id, step=st.id, message=f"lock refresh failed: {e}")
        self.journal.append("plan_finished", plan.id, status="succeeded")
        return Outcome(plan, "succeeded", done=tuple(record.done))

    def _request_ids(self, mark: int) -> list[str]:
        return [f"{op} {rid}" for op, rid in self.gw.mutations[mark:]]

    async def _emit(self, event: StepEvent) -> None:
        if self.on_event is not None:
            result = self.on_event(event)
            if asyncio.iscoroutine(result):
                await result

    def _note(self, plan: Plan, st: Step, **note: Any) -> None:
        self.journal.append("step_note", plan.id, step=st.id, note=note)
        self._memo.setdefault(st.id, {}).update(note)

    # -- helpers --------------------------------------------------------------------------------------------
    async def _launched(self, plan: Plan, region: str, step_id: str) -> list[dict[str, Any]]:
        return await describe_instances(self.gw, region, ((PLAN_TAG, plan.id), (STEP_TAG, step_id)),
                                        states=["pending", "running"])

    async def _tg_arns(self, region: str, st: Step) -> list[str]:
        arns = list(st.params.get("target_groups") or ())
        names = list(st.params.get("target_group_names") or ())
        if names:
            resp = await self.gw.call("elbv2", region, "describe_target_groups", Names=names)
            arns += [g["TargetGroupArn"] for g in resp["TargetGroups"]]
        return arns

    async def _listener_forward(self, arn: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        region = arn.split(":")[3]
        resp = await self.gw.call("elbv2", region, "describe_listeners", ListenerArns=[arn])
        listener = resp["Listeners"][0]
        action = next((a for a in listener.get("DefaultActions") or () if a.get("Type") == "forward"), None)
        if action is None:
            raise FleetError(f"listener {arn} has no forward action")
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
        if not groups and action.get("TargetGroupArn"):
            groups = [{"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}]
        return action, [dict(g) for g in groups or ()]

    async def _set_forward(self, arn: str, action: dict[str, Any], groups: list[dict[str, Any]]) -> None:
        region = arn.split(":")[3]
        forward: dict[str, Any] = {"TargetGroups": [{"TargetGroupArn": g["TargetGroupArn"],
                                                     "Weight": int(g.get("Weight", 0))} for g in groups]}
        sticky = (action.get("ForwardConfig") or {}).get("TargetGroupStickinessConfig")
        if sticky:
            forward["TargetGroupStickinessConfig"] = sticky
        await self.gw.call("elbv2", region, "modify_listener", ListenerArn=arn,
                           DefaultActions=[{"Type": "forward", "ForwardConfig": forward}])

    async def _wait_for(self, what: str, check: Callable[[], Awaitable[bool]]) -> None:
        """Read back until ``check`` is true (bounded): used where AWS offers no waiter."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while not await check():
            if loop.time() > deadline:
                raise FleetError(f"gave up after {self.timeout:g}s waiting for {what}")
            await asyncio.sleep(self.poll)

    # -- step kinds (each safe to run again) -------------------------------------------------------------------
    async def _launch(self, plan: Plan, st: Step) -> dict[str, Any]:
        p = st.params
        existing = await self._launched(plan, st.region, st.id)
        need = int(p["count"]) - len(existing)
        if need <= 0:
            return await self._trim_launch(plan, st)
        subnets = list(p.get("subnets") or ()) or [None]
        per_subnet = Counter(subnets[(len(existing) + k) % len(subnets)] for k in range(need))
        template = p["launch_template"]
        lt = {"LaunchTemplateId" if template.startswith("lt-") else "LaunchTemplateName": template,
              "Version": str(p["version"])}
        tags = dict(p.get("tags") or {})
        tags.update({"Name": p.get("name") or plan.service, PLAN_TAG: plan.id, STEP_TAG: st.id})
        spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
        for n, (subnet, count) in enumerate(sorted(per_subnet.items(), key=lambda kv: str(kv[0]))):
            kwargs: dict[str, Any] = dict(LaunchTemplate=lt, MinCount=count, MaxCount=count,
                                          TagSpecifications=spec,
                                          ClientToken=f"{plan.id}-{st.id}-{len(existing)}-{n}")
            if subnet:
                kwargs["SubnetId"] = subnet
            await self.gw.call("ec2", st.region, "run_instances", **kwargs)
        return await self._trim_launch(plan, st)

    async def _trim_launch(self, plan: Plan, st: Step) -> dict[str, Any]:
        """Reconcile to exactly ``count``: a RunInstances retried by botocore after its response was lost is
        deduplicated by ClientToken on AWS, but not by every emulator; surplus hosts this step just launched
        (never registered anywhere) are terminated, newest first."""
        mine = await self._launched(plan, st.region, st.id)
        mine.sort(key=lambda i: (i["LaunchTime"], i["InstanceId"]))
        surplus = [i["InstanceId"] for i in mine[int(st.params["count"]):]]
        if surplus:
            await self.gw.call("ec2", st.region, "terminate_instances", InstanceIds=surplus)
        kept = [i["InstanceId"] for i in mine[:int(st.params["count"])]]
        return {"instances": kept, **({"surplus_terminated": surplus} if surplus else {})}

    async def _wait_running(self, plan: Plan, st: Step) -> dict[str, Any]:
        ids = [i["InstanceId"] for i in await self._launched(plan, st.region, st.params["launch_step"])]
        if not ids:
            raise FleetError("no instances from the launch step were found")
        await self.gw.wait("ec2", st.region, "instance_running", InstanceIds=ids, delay=self.poll,
                           timeout=self.timeout)
        return {"instances": ids}

    async def _register(self, plan: Plan, st: Step) -> dict[str, Any]:
        ids = [i["InstanceId"] for i in await self._launched(plan, st.region, st.params["launch_step"])]
        for arn in await self._tg_arns(st.region, st):
            await self.gw.call("elbv2", st.region, "register_targets", TargetGroupArn=arn,
                               Targets=[{"Id": i} for i in ids])
        return {"instances": ids}

    async def _wait_healthy(self, plan: Plan, st: Step) -> None:
        ids = [i["InstanceId"] for i in await self._launched(plan, st.region, st.params["launch_step"])]
        for arn in await self._tg_arns(st.region, st):
            await self.gw.wait("elbv2", st.region, "target_in_service", TargetGroupArn=arn,
                               Targets=[{"Id": i} for i in ids], delay=self.poll, timeout=self.timeout)

    async def _deregister(self, plan: Plan, st: Step) -> None:
        ids = set(st.params["instance_ids"])
        for arn in await self._tg_arns(st.region, st):
            resp = await self.gw.call("elbv2", st.region, "describe_target_health", TargetGroupArn=arn)
            present = [d["Target"] for d in resp.get("TargetHealthDescriptions", ())
                       if d["Target"]["Id"] in ids and d["TargetHealth"]["State"] != "draining"]
            if present:
                try:
                    await self.gw.call("elbv2", st.region, "deregister_targets", TargetGroupArn=arn,
                                       Targets=present)
                except AwsError as e:
                    # a retry after a lost response: the targets are already gone (AWS accepts the repeat,
                    # emulators answer InvalidTarget); `drained` below reads back what is really there
                    if getattr(e, "code", "") != "InvalidTarget":
                        raise

            async def drained(arn=arn) -> bool:
                r = await self.gw.call("elbv2", st.region, "describe_target_health", TargetGroupArn=arn)
                return not any(d["Target"]["Id"] in ids for d in r.get("TargetHealthDescriptions", ())
                               if d["TargetHealth"]["State"] not in ("unused",))

            await self._wait_for("targets to drain", drained)

    async def _terminate(self, plan: Plan, st: Step) -> dict[str, Any]:
        ids = list(st.params["instance_ids"])
        alive = await describe_instances(self.gw, st.region, (), [{"Name": "instance-id", "Values": ids}])
        todo = [i["InstanceId"] for i in alive if i["State"]["Name"] not in ("shutting-down", "terminated")]
        if todo:
            await self.gw.call("ec2", st.region, "terminate_instances", InstanceIds=todo)
        return {"terminated": todo}

    async def _asg(self, region: str, name: str) -> dict[str, Any]:
        resp = await self.gw.call("autoscaling", region, "describe_auto_scaling_groups",
                                  AutoScalingGroupNames=[name])
        if not resp["AutoScalingGroups"]:
            raise FleetError(f"Auto Scaling group {name} not found in {region}")
        return resp["AutoScalingGroups"][0]

    async def _asg_scale_out(self, plan: Plan, st: Step) -> dict[str, Any]:
        p = st.params
        group = await self._asg(st.region, p["asg"])
        target = self._memo.get(st.id, {}).get("desired")
        if target is None:
            target = int(group["DesiredCapacity"]) + int(p["add"])
            self._note(plan, st, desired=target)   # remembered before acting: a re-run sets the same value
        if target > int(group["MaxSize"]):
            raise FleetError(f"{p['asg']} MaxSize {group['MaxSize']} is below the {target} hosts needed to surge; "
                             "raise MaxSize first")
        if int(group["DesiredCapacity"]) != target:
            await self.gw.call("autoscaling", st.region, "set_desired_capacity", AutoScalingGroupName=p["asg"],
                               DesiredCapacity=target, HonorCooldown=False)
        return {"desired": target}

    async def _asg_wait_in_service(self, plan: Plan, st: Step) -> None:
        p = st.params
        old = set(p["replacing"])
        target = int(self._memo.get(p["scale_step"], {}).get("desired", 0))

        async def ready() -> bool:
            group = await self._asg(st.region, p["asg"])
            fresh = [i for i in group["Instances"] if i["InstanceId"] not in old
                     and i["LifecycleState"] == "InService" and i.get("HealthStatus", "Healthy") == "Healthy"]
            return len(fresh) >= target - len(old)

        await self._wait_for(f"new hosts in {p['asg']}", ready)

    async def _asg_terminate(self, plan: Plan, st: Step) -> dict[str, Any]:
        p = st.params
        group = await self._asg(st.region, p["asg"])
        members = {i["InstanceId"] for i in group["Instances"] if not i["LifecycleState"].startswith("Terminat")}
        done = []
        for iid in p["instance_ids"]:
            if iid in members:
                try:
                    await self.gw.call("autoscaling", st.region, "terminate_instance_in_auto_scaling_group",
                                       InstanceId=iid, ShouldDecrementDesiredCapacity=True)
                except AwsError:
                    # botocore's retry of a call whose response was lost finds the host already gone from the
                    # group (AWS: ValidationError): read back, and only a host still in service is a failure
                    group = await self._asg(st.region, p["asg"])
                    if any(i["InstanceId"] == iid and not i["LifecycleState"].startswith("Terminat")
                           for i in group["Instances"]):
                        raise
                done.append(iid)
        return {"terminated": done}

    async def _find_target_group(self, region: str, name: str) -> str | None:
        try:
            resp = await self.gw.call("elbv2", region, "describe_target_groups", Names=[name])
        except AwsError as e:
            if getattr(e, "code", "") not in NOT_FOUND:
                raise
            return None
        return resp["TargetGroups"][0]["TargetGroupArn"] if resp.get("TargetGroups") else None

    async def _create_target_group(self, plan: Plan, st: Step) -> dict[str, Any]:
        p = st.params
        existing = await self._find_target_group(st.region, p["name"])
        if existing:
            return {"target_group": existing, "reused": True}
        src = (await self.gw.call("elbv2", st.region, "describe_target_groups",
                                  TargetGroupArns=[p["copy_from"]]))["TargetGroups"][0]
        keys = ("Protocol", "Port", "VpcId", "HealthCheckProtocol", "HealthCheckPort", "HealthCheckEnabled",
                "HealthCheckPath", "HealthCheckIntervalSeconds", "HealthCheckTimeoutSeconds",
                "HealthyThresholdCount", "UnhealthyThresholdCount", "TargetType", "Matcher")
        kwargs = {k: src[k] for k in keys if src.get(k) is not None}
        try:
            resp = await self.gw.call("elbv2", st.region, "create_target_group", Name=p["name"],
                                      Tags=[{"Key": k, "Value": v} for k, v in (p.get("tags") or {}).items()],
                                      **kwargs)
        except AwsError as e:
            # the call went through but its response was lost, and botocore's retry found the name taken
            # (AWS itself answers a repeat with the same settings with the same group; emulators do not)
            if getattr(e, "code", "") != "DuplicateTargetGroupName":
                raise
            existing = await self._find_target_group(st.region, p["name"])
            if existing is None:
                raise
            return {"target_group": existing, "reused": True}
        return {"target_group": resp["TargetGroups"][0]["TargetGroupArn"]}

    async def _listener_add(self, plan: Plan, st: Step) -> None:
        p = st.params
        arn = (await self._tg_arns(st.region, Step(st.id, st.kind, st.region, "", {
            "target_group_names": [p["target_group_name"]]})))[0]
        action, groups = await self._listener_forward(p["listener_arn"])
        if all(g["TargetGroupArn"] != arn for g in groups):
            await self._set_forward(p["listener_arn"], action, groups + [{"TargetGroupArn": arn, "Weight": 0}])

    async def _set_weights(self, plan: Plan, st: Step) -> dict[str, Any]:
        p = st.params
        wanted = {a: int(w) for a, w in p["weights"].items()}
        action, groups = await self._listener_forward(p["listener_arn"])
        unknown = [g["TargetGroupArn"].split("/")[-2] for g in groups
                   if g["TargetGroupArn"] not in wanted and int(g.get("Weight", 0))]
        if unknown:
            raise FleetError(f"the listener changed since this plan was made (target group {', '.join(unknown)} "
                             "takes traffic): make a new plan")
        merged = [{"TargetGroupArn": g["TargetGroupArn"], "Weight": wanted.get(g["TargetGroupArn"], 0)}
                  for g in groups]
        merged += [{"TargetGroupArn": a, "Weight": w} for a, w in wanted.items()
                   if all(g["TargetGroupArn"] != a for g in groups)]
        if {g["TargetGroupArn"]: int(g.get("Weight", 0)) for g in groups} != \
                {g["TargetGroupArn"]: g["Weight"] for g in merged}:
            await self._set_forward(p["listener_arn"], action, merged)

        async def applied() -> bool:
            _, now = await self._listener_forward(p["listener_arn"])
            actual = {g["TargetGroupArn"]: int(g.get("Weight", 0)) for g in now}
            return all(actual.get(a, 0) == w for a, w in wanted.items())

        await self._wait_for("the listener to report the new weights", applied)
        return {"weights": {a.split("/")[-2]: w for a, w in wanted.items()}}

    async def _listener_remove(self, plan: Plan, st: Step) -> None:
        p = st.params
        remove = set(p["target_groups"])
        action, groups = await self._listener_forward(p["listener_arn"])
        busy = [g for g in groups if g["TargetGroupArn"] in remove and int(g.get("Weight", 0))]
        if busy:
            raise FleetError(f"{busy[0]['TargetGroupArn'].split('/')[-2]} takes traffic again "
                             f"(weight {busy[0]['Weight']}): not removing it")
        kept = [g for g in groups if g["TargetGroupArn"] not in remove]
        if len(kept) != len(groups):
            if not kept:
                raise FleetError("refusing to leave the listener without a target group")
            await self._set_forward(p["listener_arn"], action, kept)

    async def _delete_target_group(self, plan: Plan, st: Step) -> None:
        try:
            await self.gw.call("elbv2", st.region, "delete_target_group", TargetGroupArn=st.params["target_group"])
        except AwsError as e:
            if getattr(e, "code", "") not in NOT_FOUND:
                raise
