"""A per-service lock kept in AWS, so it holds across operators' machines: the tag ``fleettui:lock`` on the
service's listener (or, without one, its launch template) = ``<owner ARN>|<plan id>|<expiry ISO-8601>``.

Taken before a plan runs, refreshed after every step, released (value emptied) when the plan ends. A lock
left by a crashed process expires after ``LOCK_TTL``; the same plan (resume) may always re-take its own lock.
Read-then-write is not atomic on AWS tags: after writing we read back and give way if another owner won.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from fleettui.aws.ec2 import Ec2
from fleettui.aws.elbv2 import Elbv2
from fleettui.aws.gateway import Gateway
from fleettui.config import ServiceConfig
from fleettui.errors import FleetError

LOCK_TAG = "fleettui:lock"
LOCK_TTL = timedelta(minutes=15)


class LockHeld(FleetError):
    exit_code = 2


@dataclass(frozen=True)
class LockValue:
    owner: str
    plan_id: str
    expires: datetime

    def encode(self) -> str:
        return f"{self.owner}|{self.plan_id}|{self.expires.isoformat(timespec='seconds')}"

    @classmethod
    def decode(cls, text: str | None) -> "LockValue | None":
        try:
            owner, plan_id, expires = (text or "").split("|")
            return cls(owner, plan_id, datetime.fromisoformat(expires))
        except ValueError:
            return None


class TagLock:
    def __init__(self, gw: Gateway, cfg: ServiceConfig, owner: str, plan_id: str):
        self.gw, self.cfg, self.owner, self.plan_id = gw, cfg, owner, plan_id

    async def _resource(self) -> tuple[str, str, str]:
        """(kind, region, resource id) that carries the lock tag."""
        if self.cfg.listener_arn:
            return "elbv2", self.cfg.listener_region, self.cfg.listener_arn
        if self.cfg.launch_template:
            region = self.cfg.regions[0]
            rid = await Ec2(self.gw, region).launch_template_id(self.cfg.launch_template)
            if rid is None:
                raise FleetError(f"launch template {self.cfg.launch_template} not found in {region}: "
                                 "nothing to hold the lock")
            return "ec2", region, rid
        raise FleetError(f"{self.cfg.name} has neither listener_arn nor launch_template to hold a lock")

    async def read(self) -> LockValue | None:
        kind, region, rid = await self._resource()
        if kind == "elbv2":
            tags = (await Elbv2(self.gw, region).tags([rid])).get(rid, {})
        else:
            tags = await Ec2(self.gw, region).tags_of(rid, LOCK_TAG)
        return LockValue.decode(tags.get(LOCK_TAG))

    async def _write(self, value: str) -> None:
        kind, region, rid = await self._resource()
        if kind == "elbv2":
            await Elbv2(self.gw, region).add_tags(rid, {LOCK_TAG: value})
        else:
            await Ec2(self.gw, region).create_tags(rid, {LOCK_TAG: value})

    def _held_by_other(self, current: LockValue | None) -> bool:
        return (current is not None and current.plan_id != self.plan_id
                and current.expires > datetime.now(timezone.utc))

    async def acquire(self) -> None:
        current = await self.read()
        if self._held_by_other(current):
            raise LockHeld(f"{self.cfg.name} is locked by {current.owner} (plan {current.plan_id}) until "
                           f"{current.expires:%H:%M:%S} UTC: wait for it, or resume/abandon that plan")
        await self.refresh()
        current = await self.read()
        if self._held_by_other(current):   # another operator wrote in between
            raise LockHeld(f"{self.cfg.name} was just locked by {current.owner} (plan {current.plan_id})")

    async def refresh(self) -> None:
        await self._write(LockValue(self.owner, self.plan_id, datetime.now(timezone.utc) + LOCK_TTL).encode())

    async def release(self) -> None:
        current = await self.read()
        if current is not None and current.plan_id == self.plan_id:
            await self._write("")
