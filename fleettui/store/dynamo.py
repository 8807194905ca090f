"""The team store (``[team]`` in the config): a lock and an audit trail in one DynamoDB table that every operator
of the account shares. Keys: ``pk`` (partition) and ``sk`` (sort), both strings.

* **Lock** (:class:`DynamoLock`): one item per service, ``pk = "lock#<service>"``. The condition of each write
  decides, never a read-back, so throttles, retries and lost answers cannot let two holders through:
  take = PutItem if there is no item, or it expired, or it is ours (same plan: a retried write whose first answer
  was lost finds its own lock and succeeds); renew = UpdateItem if still ours; release = DeleteItem if still ours;
  ``fleettui unlock`` = DeleteItem if it is still the lock the operator was shown. A condition that fails means
  another operator holds it: :class:`~fleettui.store.LockHeld` / :class:`~fleettui.store.LockLost` naming them.
  Its ``expires_at`` (epoch seconds) is the table's TTL attribute: DynamoDB removes stale locks by itself.
* **Audit** (:class:`TeamJournal`): every journal event, ``pk = "audit#<service>"``, ``sk = "<time>#<plan>#<seq>"``,
  with the operator's STS ARN, account, reason, plan and outcome. The local JSONL journal stays the write-ahead
  record: an event is written there first, then queued in a local outbox (``team-outbox.jsonl`` beside it) that
  :meth:`TeamJournal.flush` sends; what could not reach the table stays queued and goes with the next flush.
"""
from __future__ import annotations

import asyncio
import fcntl
import itertools
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from fleettui.aws.dynamodb import ConditionFailed, Item, Table
from fleettui.aws.gateway import Gateway
from fleettui.clock import SYSTEM, Clock
from fleettui.config import AwsConfig, ServiceConfig, TeamConfig
from fleettui.domain.history import EventKind, PlanRecord, plan_states
from fleettui.errors import AwsError, FleetError
from fleettui.store import EventLog, Holder, LockHeld, LockLost, StoreError
from fleettui.store.local import JsonlJournal
from fleettui.store.taglock import LOCK_TTL, when

WRITE_ATTEMPTS = 4          # a lock write: botocore's attempts (the condition makes a repeat harmless)
WRITE_BUDGET = 15.0         # seconds for one lock write, every attempt included
FLUSH_BUDGET = 10.0         # seconds for one PutItem of the outbox's flush (3 attempts): what is not sent stays queued
MAX_BODY = 300_000          # a DynamoDB item is at most 400 KB: larger events keep their fields, not their body


def lock_key(service: str) -> Item:
    return {"pk": f"lock#{service}", "sk": "lock"}


def audit_pk(service: str) -> str:
    return f"audit#{service}"


def _unreachable(team: TeamConfig, e: Exception) -> str:
    return f"the team table {team.table} ({team.region}) could not be used: {e}"


def merge_order(item: Item) -> tuple:
    """How the team's history is merged from every operator's items: by time, then by the operator's own sequence
    (two events of one operator with the same millisecond keep the order they were written in), then by key."""
    seq = item.get("seq")
    return (str(item.get("ts", "")), seq if isinstance(seq, int) else -1, str(item.get("sk", "")))


def describe_lock(item: Item, now: datetime | None = None) -> str:
    expires = datetime.fromtimestamp(int(item.get("expires_at", 0)), timezone.utc)
    what = f"{item.get('what')}, " if item.get("what") else ""
    return f"{item.get('owner', '?')} ({what}plan {item.get('plan_id', '?')}) until {when(expires, now)}"


def lock_live(item: Item | None, now: float) -> bool:
    return item is not None and int(item.get("expires_at", 0)) > now


class DynamoLock:
    """A service's lock in the team table (see the module docstring)."""

    def __init__(self, gw: Gateway, cfg: ServiceConfig, owner: str, plan_id: str, *, team: TeamConfig,
                 what: str = "", ttl: timedelta = LOCK_TTL, clock: Clock = SYSTEM):
        self.gw, self.cfg, self.owner, self.plan_id, self.team = gw, cfg, owner, plan_id, team
        self.clock = clock
        self.what, self.ttl = what, ttl
        self.table = Table(gw, team.region, team.table)       # reads
        self.key = lock_key(cfg.name)
        self._fast: Gateway | None = None

    async def _writes(self) -> Table:
        """Lock writes on a gateway of their own with few attempts and a short budget: a table that cannot be reached
        stops the plan within seconds (retrying is safe: each write's condition also accepts our own lock)."""
        if self._fast is None:
            self._fast = await Gateway(self.gw.aws, read_only=self.gw.read_only, max_attempts=WRITE_ATTEMPTS,
                                       write_budget=WRITE_BUDGET).__aenter__()
        return Table(self._fast, self.team.region, self.team.table)

    async def close(self) -> None:
        if self._fast is not None:
            fast, self._fast = self._fast, None
            await fast.__aexit__(None, None, None)

    def _expiry(self) -> tuple[int, str]:
        t = self.clock.now() + self.ttl
        return int(t.timestamp()), t.isoformat(timespec="seconds")

    async def _read(self) -> Item | None:
        try:
            return await self.table.get(self.key)
        except AwsError:
            return None          # only used to name a holder; the condition already decided

    async def _named(self) -> str:
        item = await self._read()
        return describe_lock(item, self.clock.now()) if item else "another operator's plan (its lock is already released: try again)"

    async def acquire(self) -> None:
        exp, iso = self._expiry()
        now = self.clock.now()
        item = {**self.key, "service": self.cfg.name, "owner": self.owner, "plan_id": self.plan_id, "what": self.what,
                "taken_at": now.isoformat(timespec="milliseconds"), "expires_at": exp, "expires": iso}
        try:
            await (await self._writes()).put(item, condition="attribute_not_exists(pk) OR expires_at < :now OR "
                                             "plan_id = :plan", values={":now": int(now.timestamp()), ":plan": self.plan_id})
        except ConditionFailed:
            await self.close()
            raise LockHeld(f"{self.cfg.name} is locked by {await self._named()}: wait for it, or clear a stale lock "
                           f"with `fleettui unlock {self.cfg.name}`") from None
        except FleetError as e:
            # maybe written (an answer lost on every attempt): take back what may be ours, then stop
            if getattr(e, "code", ""):      # AWS answered (not a network that is down): take back what may be ours
                try:
                    await (await self._writes()).delete(self.key, condition="plan_id = :plan",
                                                        values={":plan": self.plan_id})
                except FleetError:
                    pass
            await self.close()
            raise AwsError(f"{_unreachable(self.team, e)}; the lock on {self.cfg.name} was not taken and nothing "
                           "was changed", code=getattr(e, "code", "")) from None

    async def refresh(self) -> None:
        exp, iso = self._expiry()
        try:
            await (await self._writes()).update(self.key, "SET expires_at = :exp, expires = :iso", condition="plan_id = :plan",
                                    values={":exp": exp, ":iso": iso, ":plan": self.plan_id})
        except ConditionFailed:
            item = await self._read()
            if item is None:
                raise LockLost(f"{self.cfg.name}'s lock was removed (by `fleettui unlock`?)") from None
            raise LockLost(f"{self.cfg.name}'s lock is now held by {describe_lock(item, self.clock.now())}") from None

    async def release(self) -> None:
        """Remove it if it is still ours; another operator's lock is refused (LockHeld), a lock already gone is
        fine."""
        try:
            await (await self._writes()).delete(self.key, condition="plan_id = :plan", values={":plan": self.plan_id})
        except ConditionFailed:
            item = await self._read()
            if item is not None:
                raise LockHeld(f"{self.cfg.name}'s lock is not ours to release: held by "
                               f"{describe_lock(item, self.clock.now())}") \
                    from None
        finally:
            await self.close()

    async def holder(self) -> Holder | None:
        item = await self.table.get(self.key)
        if item is None:
            return None
        return Holder(f"{item.get('plan_id')}|{item.get('taken_at')}", item.get("plan_id"),
                      describe_lock(item, self.clock.now()))

    async def clear(self, seen: Holder) -> None:
        plan, _, taken = seen.token.partition("|")
        try:
            await (await self._writes()).delete(self.key, condition="plan_id = :plan AND taken_at = :taken",
                                                values={":plan": plan, ":taken": taken})
        except ConditionFailed:
            raise LockHeld(f"{self.cfg.name}'s lock changed while you were deciding: run `fleettui unlock "
                           f"{self.cfg.name}` again") from None
        finally:
            await self.close()


def team_lock_factory(team: TeamConfig):
    def factory(gw, cfg, owner, plan_id, **kwargs) -> DynamoLock:
        return DynamoLock(gw, cfg, owner, plan_id, team=team, **kwargs)
    factory.team = team
    return factory


class TeamJournal(EventLog):
    """The local journal (write-ahead) + the team table (see the module docstring). Reads of the plans to resume
    come from the local journal (a plan is resumed by the machine that ran it); :meth:`team_events` reads the team's
    history."""

    _seq = itertools.count()

    def __init__(self, local: JsonlJournal, aws: AwsConfig, team: TeamConfig):
        self.local, self.aws, self.team = local, aws, team
        self.drivers_dir = local.drivers_dir
        self.outbox = local.path.with_name("team-outbox.jsonl")
        self.operator: str | None = None
        self.last_error: str | None = None       # why the last flush left events in the outbox
        self._plans: dict[str, dict[str, Any]] | None = None
        self._flushing: asyncio.Lock | None = None

    @property
    def warnings(self) -> list[str]:
        return self.local.warnings

    @warnings.setter
    def warnings(self, value: list[str]) -> None:
        self.local.warnings = value

    @property
    def where(self) -> str:
        return f"{self.local.where} + team table {self.team.table} ({self.team.region})"

    def bind(self, scope) -> None:
        super().bind(scope)
        self.local.bind(scope)

    def events(self) -> Iterator[dict[str, Any]]:
        return self.local.events()

    # -- writing --------------------------------------------------------------------------------------------
    def _plan_of(self, plan_id: str, record: dict[str, Any]) -> dict[str, Any]:
        """What every item of a plan carries (its service, verb, summary, reason): from its plan_created, here or in
        the local journal (so the table's newest items alone say what changed, and why)."""
        if record.get("event") == EventKind.PLAN_CREATED and isinstance(record.get("plan"), dict):
            p = record["plan"]
            info = {"service": str(p.get("service") or record.get("service") or "-"), "verb": p.get("verb"),
                    "summary": p.get("summary"), "reason": record.get("reason")}
            if self._plans is not None:
                self._plans[plan_id] = info
            return info
        if self._plans is None:
            self._plans = {pid: {"service": r.plan.service, "verb": r.plan.verb, "summary": r.plan.summary,
                                 "reason": r.reason} for pid, r in plan_states(self.local.events()).items()}
        info = dict(self._plans.get(plan_id) or {"service": "-"})
        if isinstance(record.get("service"), str):
            info["service"] = record["service"]
        return info

    def _item(self, record: dict[str, Any]) -> Item:
        pid, event = record["plan_id"], record["event"]
        info = self._plan_of(pid, record)
        service = info["service"]
        body = json.dumps(record, separators=(",", ":"), default=str)
        scope = self.scope
        item: Item = {"pk": audit_pk(service), "sk": f"{record['ts']}#{pid}#{os.getpid()}-{next(self._seq):06d}",
                      "ts": record["ts"], "seq": record.get("seq"), "event": event, "plan_id": pid,
                      "service": service,
                      "operator": str(record.get("who") or self.operator or "unknown"),
                      "account": scope.account if scope else None, "endpoint": scope.endpoint if scope else None}
        for k in ("verb", "summary", "reason"):
            if info.get(k):
                item[k] = str(info[k])[:2000]
        for k in ("reason", "status", "step", "error"):
            if isinstance(record.get(k), (str, int)) and record.get(k) != "":
                item[k] = str(record[k])[:2000]
        if event == EventKind.PLAN_FINISHED:
            item["outcome"] = str(record.get("status") or "")
        if len(body) <= MAX_BODY:
            item["body"] = body
        return item

    @contextmanager
    def _outbox_locked(self):
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.outbox.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _append(self, event: str, plan_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        record = self.local._append(event, plan_id, fields)          # the write-ahead record, first
        line = json.dumps(self._item(record), separators=(",", ":"), default=str) + "\n"
        try:
            with self._outbox_locked():
                with open(self.outbox, "a", encoding="utf-8") as fh:
                    fh.write(line)
                    fh.flush()
                    os.fsync(fh.fileno())
        except OSError as e:
            step = fields.get("step")
            raise StoreError(f"the team outbox {self.outbox} could not be written: {e.strerror or e}", event=event,
                             step=step if isinstance(step, str) else None) from None
        return record

    def _pending_items(self) -> list[Item]:
        try:
            lines = self.outbox.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except OSError as e:
            raise StoreError(f"the team outbox {self.outbox} cannot be read: {e.strerror or e}") from None
        out = []
        for line in lines:
            try:
                item = json.loads(line)
            except (ValueError, RecursionError):
                continue             # a line torn by a crash: its event is still in the local journal
            if isinstance(item, dict) and isinstance(item.get("pk"), str) and isinstance(item.get("sk"), str):
                out.append(item)
        return out

    def pending(self) -> int:
        """Events written here that have not reached the team table yet."""
        return len(self._pending_items())

    def _drop_sent(self, sent: set[tuple[str, str]]) -> None:
        if not sent:
            return
        with self._outbox_locked():
            keep = [i for i in self._pending_items() if (i["pk"], i["sk"]) not in sent]
            tmp = self.outbox.with_suffix(".tmp")
            tmp.write_text("".join(json.dumps(i, separators=(",", ":")) + "\n" for i in keep), encoding="utf-8")
            os.replace(tmp, self.outbox)

    async def flush(self, gw: Gateway | None = None) -> int:
        """Send the outbox to the table, oldest first; return how many are still pending. Never raises for AWS:
        what did not go stays queued (and :attr:`last_error` says why). Read-only: sends nothing."""
        if gw is not None and gw.read_only:
            return self.pending()
        if self._flushing is None:
            self._flushing = asyncio.Lock()
        async with self._flushing:
            items = self._pending_items()
            if not items:
                return 0
            sent: set[tuple[str, str]] = set()
            try:
                async with Gateway(self.aws, max_attempts=3, read_budget=FLUSH_BUDGET,
                                   write_budget=FLUSH_BUDGET) as fast:
                    table = Table(fast, self.team.region, self.team.table)
                    for item in items:
                        await table.put(item)        # same key on a repeat: the same item, never a duplicate
                        sent.add((item["pk"], item["sk"]))
                self.last_error = None
            except FleetError as e:
                self.last_error = str(e)
            finally:
                self._drop_sent(sent)
            return len(items) - len(sent)

    # -- reading the team's history --------------------------------------------------------------------------
    async def team_items(self, gw: Gateway, services: list[str], *, since: str | None = None,
                         newest: int | None = None) -> list[Item]:
        """Audit items of ``services`` from the table, merged in time order (``newest``: only the last N of each
        service)."""
        table = Table(gw, self.team.region, self.team.table)
        try:
            per = await asyncio.gather(*(table.query(audit_pk(s), sk_from=since, newest_first=newest is not None,
                                                     limit=newest) for s in services))
        except AwsError as e:
            raise AwsError(_unreachable(self.team, e), code=e.code) from None
        return sorted((i for items in per for i in items), key=merge_order)

    async def team_events(self, gw: Gateway, services: list[str], *, since: str | None = None) -> list[dict]:
        """The team's journal events (as the local journal holds them), in time order."""
        out = []
        for item in await self.team_items(gw, services, since=since):
            try:
                e = json.loads(item["body"]) if "body" in item else None
            except (ValueError, RecursionError):    # not JSON, or nested too deep
                e = None
            out.append(e if isinstance(e, dict) else {k: item.get(k) for k in (
                "ts", "event", "plan_id", "service", "step", "status", "reason", "error")} | {"who": item.get("operator")})
        return out

    async def team_records(self, gw: Gateway, services: list[str], *, since: str | None = None
                           ) -> dict[str, PlanRecord]:
        return plan_states(await self.team_events(gw, services, since=since))


# ------------------------------------------------------------------------------------------- what the TUI shows

@dataclass(frozen=True)
class TeamStatus:
    """A service as the team store has it: the lock (if live) and the last change that succeeded, by anyone."""

    lock: Item | None = None
    last: Item | None = None


async def team_status(gw: Gateway, team: TeamConfig, services: list[str], *, recent: int = 25,
                      clock: Clock = SYSTEM) -> dict[str, TeamStatus]:
    """One GetItem (the lock) and one Query (the newest ``recent`` audit items) per service, concurrently."""
    table = Table(gw, team.region, team.table)

    async def one(name: str) -> TeamStatus:
        lock, items = await asyncio.gather(table.get(lock_key(name)),
                                           table.query(audit_pk(name), newest_first=True, limit=recent))
        last = next((i for i in items if i.get("event") == EventKind.PLAN_FINISHED
                     and i.get("outcome", i.get("status")) == "succeeded"), None)
        return TeamStatus(lock if lock_live(lock, clock.time()) else None, last)

    try:
        found = await asyncio.gather(*(one(n) for n in services))
    except AwsError as e:
        raise AwsError(_unreachable(team, e), code=e.code) from None
    return dict(zip(services, found))
