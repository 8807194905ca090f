"""A per-service lock kept in AWS, so it holds across operators' machines: the tag ``fleettui:lock`` on the
service's listener (or, without one, its launch template) = ``<owner ARN>|<plan id>|<expiry ISO-8601, UTC>``.

A tag has no compare-and-set (that is the team store's DynamoDB lock), so this one is made honest by reading:

* **acquire**: read (held by another live plan: refused, naming it); write ours *without botocore's retries* (a
  throttled write is retried by our loop, which reads again first, so a late retry can never land on a lock
  someone took meanwhile); then read back until consistent -- ``CONFIRM_READS`` reads ``settle`` seconds apart
  must all show ours; any other value means another operator wrote in between: we give way.
* **refresh** (after every step): renews only a lock that is still ours; if it is gone, or another plan's, the
  plan stops (:class:`~fleettui.store.LockLost`) -- it never overwrites another operator's lock.
* **release**: removes the tag if it is still ours.
* a stale lock is cleared by an operator with ``fleettui unlock SERVICE`` (:meth:`TagLock.clear`).

A lock left by a crashed process expires after ``LOCK_TTL``; the same plan (resume) may always re-take its own.
A tag that is not a lock we can read (a naive time, garbage) is reported as such and treated as held.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from fleettui.aws.ec2 import Ec2
from fleettui.aws.gateway import Gateway
from fleettui.clock import SYSTEM, Clock
from fleettui.config import ServiceConfig
from fleettui.errors import AwsError, FleetError
from fleettui.store import Holder, LockHeld, LockLost

LOCK_TAG = "fleettui:lock"
LOCK_TTL = timedelta(minutes=15)
CONFIRM_READS = 2            # consecutive reads that must show our value before we proceed
WRITE_ATTEMPTS = 5           # our own retries of a lock write (each one reads first)
RETRYABLE = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
             "InternalError", "ServiceUnavailable", "RequestTimeout"}

__all__ = ["LOCK_TAG", "LOCK_TTL", "LockHeld", "LockLost", "LockValue", "Malformed", "TagLock"]


def when(t: datetime, now: datetime | None = None) -> str:
    """An expiry with its date, and how far it is from ``now``."""
    delta = t - (now or datetime.now(timezone.utc))
    mins = abs(delta.total_seconds()) / 60
    rel = f"in {mins:.0f} min" if delta.total_seconds() >= 0 else f"expired {mins:.0f} min ago"
    return f"{t.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC ({rel})"


@dataclass(frozen=True)
class LockValue:
    owner: str
    plan_id: str
    expires: datetime          # always timezone-aware

    def encode(self) -> str:
        return f"{self.owner}|{self.plan_id}|{self.expires.isoformat(timespec='seconds')}"

    def live(self, now: datetime) -> bool:
        return self.expires > now

    def describe(self, now: datetime | None = None) -> str:
        return f"{self.owner} (plan {self.plan_id}) until {when(self.expires, now)}"

    @classmethod
    def decode(cls, text: str | None) -> "LockValue | Malformed | None":
        """None: no lock (no tag, or the empty value older versions left on release)."""
        if not text:
            return None
        parts = text.split("|")
        if len(parts) != 3 or not all(parts):
            return Malformed(text, "not owner|plan|expiry")
        try:
            expires = datetime.fromisoformat(parts[2].replace("Z", "+00:00"))
        except ValueError:
            return Malformed(text, f"expiry {parts[2]!r} is not a time")
        if expires.tzinfo is None:
            return Malformed(text, f"expiry {parts[2]!r} has no time zone")
        return cls(parts[0], parts[1], expires)


@dataclass(frozen=True)
class Malformed:
    """A ``fleettui:lock`` tag we cannot read: reported, never guessed at."""

    raw: str
    why: str
    plan_id = None

    def describe(self, now: datetime | None = None) -> str:
        return f"a malformed lock tag {self.raw[:120]!r} ({self.why})"


class TagLock:
    def __init__(self, gw: Gateway, cfg: ServiceConfig, owner: str, plan_id: str, *, settle: float | None = None,
                 what: str = "", clock: Clock = SYSTEM):
        self.gw, self.cfg, self.owner, self.plan_id, self.clock = gw, cfg, owner, plan_id, clock
        # time between confirming reads: long enough for another operator's read-then-write to land
        self.settle = settle if settle is not None else (0.2 if gw.aws.endpoint_url else 1.0)
        self._where: tuple[str, str, str] | None = None
        self._once: Gateway | None = None

    async def _resource(self) -> tuple[str, str, str]:
        """(kind, region, resource id) that carries the lock tag."""
        if self._where is not None:
            return self._where
        if self.cfg.listener_arn:
            self._where = ("elbv2", self.cfg.listener_region, self.cfg.listener_arn)
        elif self.cfg.launch_template:
            region = self.cfg.regions[0]
            rid = await Ec2(self.gw, region).launch_template_id(self.cfg.launch_template)
            if rid is None:
                raise FleetError(f"launch template {self.cfg.launch_template} not found in {region}: "
                                 "nothing to hold the lock")
            self._where = ("ec2", region, rid)
        else:
            raise FleetError(f"{self.cfg.name} has neither listener_arn nor launch_template to hold a lock")
        return self._where

    async def raw(self) -> str | None:
        kind, region, rid = await self._resource()
        if kind == "elbv2":
            resp = await self.gw.call("elbv2", region, "describe_tags", ResourceArns=[rid])
            tags = {t["Key"]: t["Value"] for d in resp.get("TagDescriptions", ()) for t in d.get("Tags", ())}
        else:
            tags = await Ec2(self.gw, region).tags_of(rid, LOCK_TAG)
        return tags.get(LOCK_TAG)

    async def read(self) -> LockValue | Malformed | None:
        return LockValue.decode(await self.raw())

    def _mine(self, current) -> bool:
        return isinstance(current, LockValue) and current.plan_id == self.plan_id

    def _blocks(self, current) -> bool:
        return isinstance(current, Malformed) or (isinstance(current, LockValue) and not self._mine(current)
                                                  and current.live(self.clock.now()))

    async def _gateway_once(self) -> Gateway:
        """Lock writes go out once (no botocore retry that could land late, over a lock taken meanwhile)."""
        if self._once is None:
            self._once = await Gateway(self.gw.aws, read_only=self.gw.read_only, max_attempts=1).__aenter__()
        return self._once

    async def _write(self, value: str) -> None:
        kind, region, rid = await self._resource()
        gw = await self._gateway_once()
        if kind == "elbv2":
            await gw.call("elbv2", region, "add_tags", ResourceArns=[rid], Tags=[{"Key": LOCK_TAG, "Value": value}])
        else:
            await gw.call("ec2", region, "create_tags", Resources=[rid], Tags=[{"Key": LOCK_TAG, "Value": value}])

    async def _remove(self) -> None:
        kind, region, rid = await self._resource()
        if kind == "elbv2":
            await self.gw.call("elbv2", region, "remove_tags", ResourceArns=[rid], TagKeys=[LOCK_TAG])
        else:
            await self.gw.call("ec2", region, "delete_tags", Resources=[rid], Tags=[{"Key": LOCK_TAG}])

    def _value(self) -> str:
        return LockValue(self.owner, self.plan_id, self.clock.now() + LOCK_TTL).encode()

    async def acquire(self) -> None:
        try:
            for attempt in range(WRITE_ATTEMPTS):
                current = await self.read()
                if self._blocks(current):
                    if isinstance(current, Malformed):
                        raise LockHeld(f"{self.cfg.name}'s lock tag {LOCK_TAG} is {current.describe(self.clock.now())}: clear it "
                                       f"with `fleettui unlock {self.cfg.name}`")
                    raise LockHeld(f"{self.cfg.name} is locked by {current.describe(self.clock.now())}: wait for it, resume or "
                                   f"abandon that plan, or clear a stale lock with `fleettui unlock {self.cfg.name}`")
                try:
                    await self._write(self._value())
                except AwsError as e:
                    if e.code and e.code not in RETRYABLE:
                        raise
                    # throttled (not written), or the answer was lost (maybe written): read again, then decide
                    await self.clock.sleep(min(2.0, self.settle * 2 ** attempt))
                    if not self._mine(await self.read()):
                        continue
                if await self._confirm():
                    return
            raise LockHeld(f"could not take {self.cfg.name}'s lock after {WRITE_ATTEMPTS} attempts (AWS kept "
                           "throttling or losing the writes): nothing was changed, try again")
        except BaseException:
            await self.close()
            raise

    async def _confirm(self) -> bool:
        """Read back until consistent: CONFIRM_READS reads, ``settle`` apart, all ours. Another operator's value
        means they wrote after us: we give way (LockHeld). No value: lost, write again."""
        for k in range(CONFIRM_READS):
            if k:
                await self.clock.sleep(self.settle)
            current = await self.read()
            if current is None:
                return False
            if not self._mine(current):
                raise LockHeld(f"{self.cfg.name} was just locked by "
                               + (current.describe(self.clock.now()) if current is not None else "someone else"))
        return True

    async def refresh(self) -> None:
        current = await self.read()
        if not self._mine(current):
            raise LockLost(self._lost(current))
        await self._write(self._value())
        current = await self.read()
        if not self._mine(current):
            raise LockLost(self._lost(current))

    def _lost(self, current) -> str:
        if current is None:
            return f"{self.cfg.name}'s lock was removed (by `fleettui unlock`?)"
        return f"{self.cfg.name}'s lock is now held by {current.describe(self.clock.now())}"

    async def release(self) -> None:
        try:
            if self._mine(await self.read()):
                await self._remove()
        finally:
            await self.close()

    async def close(self) -> None:
        if self._once is not None:
            once, self._once = self._once, None
            await once.__aexit__(None, None, None)

    async def holder(self) -> Holder | None:
        raw = await self.raw()
        current = LockValue.decode(raw)
        if current is None:
            return None
        return Holder(raw, current.plan_id, current.describe(self.clock.now()))

    async def clear(self, seen: Holder) -> None:
        """``fleettui unlock``: remove the tag, only if it still has the value the operator confirmed."""
        if await self.raw() != seen.token:
            raise LockHeld(f"{self.cfg.name}'s lock changed while you were deciding: run `fleettui unlock "
                           f"{self.cfg.name}` again")
        await self._remove()
