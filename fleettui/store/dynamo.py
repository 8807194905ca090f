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
import base64
import errno
import fcntl
import itertools
import json
import math
import os
import stat
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from fleettui.aws.dynamodb import ConditionFailed, Item, Table, decode, encode
from fleettui.aws.gateway import Gateway
from fleettui.clock import SYSTEM, Clock
from fleettui.config import AwsConfig, ServiceConfig, TeamConfig
from fleettui.domain.history import EventKind, PlanRecord, plan_states, unreadable
from fleettui.errors import AwsError, FleetError
from fleettui.format import printable
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
    return (str(item.get("ts", "")), seq if isinstance(seq, int) and not isinstance(seq, bool) else -1,
            str(item.get("sk", "")))


LATEST_EXPIRY = 253402300799      # 9999-12-31T23:59:59Z: a later expiry is not a time (nor one a TTL ever reaches)
FIELD_SHOWN = 300                 # characters of one field of a lock item in a message


@dataclass(frozen=True)
class LockItem:
    """A lock item as read from the table, whoever wrote it. ``problem`` says what makes it not a lock fleettui
    wrote (None: well-formed); whatever it holds, :meth:`live` answers as the take condition decides (a lock blocks
    unless its ``expires_at`` is a number in the past) and ``token`` names it exactly (``fleettui unlock`` removes
    it only if it is still this item)."""

    raw: dict[str, Any]                    # as DynamoDB holds it: {"owner": {"S": "…"}, "expires_at": {"N": "…"}}
    owner: str | None
    plan_id: str | None
    what: str | None
    taken_at: str | None
    expires_at: float | None               # epoch seconds, when it is a number
    problem: str | None

    @property
    def item(self) -> Item:
        return decode(self.raw)

    @property
    def token(self) -> str:
        """The item exactly as read (binary values as {"$b64": …}): what :meth:`DynamoLock.clear` compares."""
        return json.dumps(self.raw, sort_keys=True, separators=(",", ":"), default=_b64)

    def live(self, now: float) -> bool:
        return self.expires_at is None or self.expires_at >= now

    def describe(self, now: datetime | None = None) -> str:
        """The holder in words, every field escaped and capped (it is shown and put in error messages)."""
        def show(v: str | None, default: str = "?") -> str:
            return printable(v, FIELD_SHOWN) if v else default

        if self.problem is None:
            expires = datetime.fromtimestamp(self.expires_at, timezone.utc)
            what = f"{show(self.what)}, " if self.what else ""
            return f"{show(self.owner)} ({what}plan {show(self.plan_id)}) until {when(expires, now)}"
        fields = ", ".join(f"{printable(k, 60)} {printable(_shown(v), FIELD_SHOWN)}"
                           for k, v in sorted(self.raw.items()) if k not in ("pk", "sk"))
        return f"a malformed lock item ({printable(self.problem, 200)}): {fields or 'no fields'}"


def _b64(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"$b64": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"{type(value).__name__} in a lock item")


def _unb64(d: dict) -> Any:
    return base64.b64decode(d["$b64"]) if set(d) == {"$b64"} and isinstance(d["$b64"], str) else d


def _shown(v: Any) -> str:
    """A typed DynamoDB value as text: its value for S/N, else its JSON ({"NULL": true})."""
    if isinstance(v, dict) and len(v) == 1 and isinstance(v.get("S"), str):
        return repr(v["S"])
    if isinstance(v, dict) and len(v) == 1 and isinstance(v.get("N"), str):
        return v["N"]
    return json.dumps(v, sort_keys=True, default=lambda o: _b64(o) if isinstance(o, (bytes, bytearray)) else str(o))


def read_lock(raw: dict[str, Any]) -> LockItem:
    """A lock item as DynamoDB holds it, parsed without trusting any of it (see :class:`LockItem`)."""
    item = decode(raw)
    text = {k: item[k] if isinstance(item.get(k), str) else None for k in ("owner", "plan_id", "what", "taken_at")}
    expiry = raw.get("expires_at")
    number = item.get("expires_at") if isinstance(expiry, dict) and "N" in expiry else None
    if isinstance(number, (int, float)) and not isinstance(number, bool):
        expires_at: float | None = float(number)
    else:
        expires_at = None
    problem = None
    if expiry is None:
        problem = "no expiry: it never expires by itself"
    elif expires_at is None:
        problem = f"its expiry {_shown(expiry)[:60]} is not a number of seconds: it never expires by itself"
    elif expires_at < 0:
        problem = f"its expiry {_shown(expiry)[:60]} is before 1970: taken like an expired lock"
    elif not math.isfinite(expires_at) or expires_at > LATEST_EXPIRY:
        problem = f"its expiry {_shown(expiry)[:60]} is not a time: it never expires by itself"
        expires_at = None
    elif not text["owner"] or not text["plan_id"]:
        problem = "no owner or plan"
    else:
        wrong = [k for k in ("owner", "plan_id", "what", "taken_at") if k in raw and text[k] is None]
        if wrong:
            problem = f"its {wrong[0].replace('_', ' ')} is not text"
    return LockItem(raw, text["owner"], text["plan_id"], text["what"], text["taken_at"], expires_at, problem)


def describe_lock(item: Item, now: datetime | None = None) -> str:
    """A decoded lock item in words (see :meth:`LockItem.describe`)."""
    return read_lock(encode(item)).describe(now)


def lock_live(item: Item | None, now: float) -> bool:
    return item is not None and read_lock(encode(item)).live(now)


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

    async def _read(self) -> LockItem | None:
        try:
            raw = await self.table.get_raw(self.key)
        except AwsError:
            return None          # only used to name a holder; the condition already decided
        return read_lock(raw) if raw else None

    async def _named(self) -> str:
        item = await self._read()
        return item.describe(self.clock.now()) if item else "another operator's plan (its lock is already released: try again)"

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
            raise LockLost(f"{self.cfg.name}'s lock is now held by {item.describe(self.clock.now())}") from None
        except AwsError as e:        # not renewed, still ours: the caller holds (a rollout) or goes on
            raise AwsError(_unreachable(self.team, e), code=e.code) from None

    async def release(self) -> None:
        """Remove it if it is still ours; another operator's lock is refused (LockHeld), a lock already gone is
        fine."""
        try:
            await (await self._writes()).delete(self.key, condition="plan_id = :plan", values={":plan": self.plan_id})
        except ConditionFailed:
            item = await self._read()
            if item is not None:
                raise LockHeld(f"{self.cfg.name}'s lock is not ours to release: held by "
                               f"{item.describe(self.clock.now())}") from None
        finally:
            await self.close()

    async def holder(self) -> Holder | None:
        raw = await self.table.get_raw(self.key)
        if raw is None:
            return None
        item = read_lock(raw)
        return Holder(item.token, item.plan_id, item.describe(self.clock.now()))

    async def clear(self, seen: Holder) -> None:
        """Remove the item only if every attribute still has the value (and type) shown: whatever it holds, a lock
        item can be cleared, and never one that changed (a retake, a renewal) since the operator saw it."""
        try:
            shown = json.loads(seen.token, object_hook=_unb64)
            if not isinstance(shown, dict):
                raise ValueError
        except ValueError:
            raise LockHeld(f"{self.cfg.name}'s lock changed while you were deciding: run `fleettui unlock "
                           f"{self.cfg.name}` again") from None
        condition, names, values = _unchanged(shown, [k for k in shown if k not in self.key])
        if len(condition) > MAX_EXPRESSION:       # hundreds of attributes: those a take or renewal changes
            condition, names, values = _unchanged(shown, [k for k in LOCK_FIELDS if k in shown])
        try:
            await (await self._writes()).delete(self.key, condition=condition, names=names or None,
                                                raw_values=values or None)
        except ConditionFailed:
            raise LockHeld(f"{self.cfg.name}'s lock changed while you were deciding: run `fleettui unlock "
                           f"{self.cfg.name}` again") from None
        finally:
            await self.close()


LOCK_FIELDS = ("owner", "plan_id", "what", "taken_at", "expires_at", "expires")     # what a take writes
MAX_EXPRESSION = 3500            # DynamoDB's limit on one expression is 4 KB
SCALAR = ("S", "N", "BOOL", "B")


def _unchanged(shown: dict[str, Any], attrs: list[str]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A condition that holds only while each of ``attrs`` still has its value as shown (scalars) or its type
    (NULL, maps, lists, sets: compared by type, as every DynamoDB comparator allows)."""
    names, values, parts = {}, {}, ["attribute_exists(pk)"]
    for n, k in enumerate(sorted(attrs)):
        v = shown[k]
        names[f"#a{n}"] = k
        kind = next(iter(v)) if isinstance(v, dict) and len(v) == 1 else None
        if kind in SCALAR:
            values[f":v{n}"] = v
            parts.append(f"#a{n} = :v{n}")
        else:
            values[f":v{n}"] = {"S": str(kind)}
            parts.append(f"attribute_type(#a{n}, :v{n})")
    return " AND ".join(parts), names, values


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
        service = _text(info["service"])
        scope = self.scope
        seq = record.get("seq")
        item: Item = {"pk": audit_pk(service),
                      "sk": _text(f"{record['ts']}#{pid}#{os.getpid()}-{next(self._seq):06d}"),
                      "ts": _text(record["ts"]), "seq": seq if isinstance(seq, int) else None, "event": _text(event),
                      "plan_id": _text(pid), "service": service,
                      "operator": _text(record.get("who") or self.operator or "unknown"),
                      "account": scope.account if scope else None, "endpoint": scope.endpoint if scope else None}
        for k in ("verb", "summary", "reason"):
            if info.get(k):
                item[k] = _text(info[k])
        for k in ("reason", "status", "step", "error"):
            if isinstance(record.get(k), (str, int)) and record.get(k) != "":
                item[k] = _text(record[k])
        if event == EventKind.PLAN_FINISHED:
            item["outcome"] = _text(record.get("status") or "")
        item["body"], cut = fitted_body(record)
        if cut:
            item["cut"] = cut
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
        data = (json.dumps(self._item(record), separators=(",", ":"), default=str) + "\n").encode("utf-8")
        try:
            with self._outbox_locked():
                _append_line(self.outbox, data)
        except OSError as e:
            step = fields.get("step")
            raise StoreError(f"the team outbox {self.outbox} could not be written: {e.strerror or e}", event=event,
                             step=step if isinstance(step, str) else None) from None
        return record

    @property
    def unsent_path(self) -> Path:
        """Where events that cannot ever be sent are set aside (beside the outbox), each with why."""
        return self.outbox.with_name("team-outbox.unsent.jsonl")

    def _read_outbox(self) -> tuple[list[Item], list[tuple[int, str]]]:
        """(the items queued, in order; the lines that are not one: (line number, text)) -- a line torn by a crash
        mid-write, or not ours. Each item knows its line (``_line``, not sent)."""
        try:
            data = _read_regular(self.outbox)
        except FileNotFoundError:
            return [], []
        except OSError as e:
            raise StoreError(f"the team outbox {self.outbox} cannot be read: {e.strerror or e}") from None
        items, bad = [], []
        for n, raw in enumerate(data.split(b"\n"), 1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw.decode("utf-8", errors="replace"))
            except (ValueError, RecursionError):
                item = None
            if isinstance(item, dict) and isinstance(item.get("pk"), str) and isinstance(item.get("sk"), str) \
                    and item["pk"] and item["sk"]:
                item.pop("_line", None)
                items.append({**item, "_line": n})
            else:
                bad.append((n, raw.decode("utf-8", errors="replace")))
        return items, bad

    def _pending_items(self) -> list[Item]:
        return [_unlined(i) for i in self._read_outbox()[0]]

    def pending(self) -> int:
        """Events written here that have not reached the team table yet."""
        return len(self._pending_items())

    def unsent(self) -> list[dict[str, Any]]:
        """The events set aside because they can never be sent ({"error", "line"} each), oldest first."""
        try:
            data = _read_regular(self.unsent_path)
        except FileNotFoundError:
            return []
        except OSError as e:
            raise StoreError(f"{self.unsent_path} cannot be read: {e.strerror or e}") from None
        out = []
        for raw in data.split(b"\n"):
            try:
                entry = json.loads(raw.decode("utf-8", errors="replace")) if raw.strip() else None
            except (ValueError, RecursionError):
                entry = {"error": "a torn line", "line": raw.decode("utf-8", errors="replace")}
            if isinstance(entry, dict):
                out.append(entry)
        return out

    def _settle(self, sent: set[tuple[str, str]], aside: dict[tuple[str, str], str]) -> None:
        """Drop what was sent from the outbox; move what can never be sent (``aside``: key -> why) and every line
        that is not an item to the unsent file, each with why: nothing later waits behind them."""
        with self._outbox_locked():
            items, bad = self._read_outbox()
            moved = sorted([(i["_line"], _dumps(_unlined(i)), aside[(i["pk"], i["sk"])]) for i in items
                            if (i["pk"], i["sk"]) in aside]
                           + [(n, text, f"line {n} of the outbox is not an event (a torn or foreign line; its event, "
                                        f"if ours, is in the local journal {self.local.path})") for n, text in bad])
            if not sent and not moved:
                return
            if moved:
                stamp = self.local.clock.now().isoformat(timespec="seconds")
                _append_line(self.unsent_path, "".join(
                    _dumps({"at": stamp, "error": why, "line": line}) + "\n" for _, line, why in moved).encode("utf-8"))
            keep = [i for i in items if (i["pk"], i["sk"]) not in sent and (i["pk"], i["sk"]) not in aside]
            tmp = self.outbox.with_suffix(".tmp")
            tmp.write_text("".join(_dumps(_unlined(i)) + "\n" for i in keep), encoding="utf-8")
            os.replace(tmp, self.outbox)

    async def flush(self, gw: Gateway | None = None) -> int:
        """Send the outbox to the table, oldest first; return how many are still pending. Never raises for AWS:
        what did not go because the table could not be used stays queued (and :attr:`last_error` says why) and goes
        with the next flush; an event the table refuses as such (an invalid item) is set aside in
        :attr:`unsent_path` and the others go on. Each put is conditional: an existing item is never replaced (one
        already there is our own earlier attempt). Read-only: sends nothing, writes nothing."""
        if gw is not None and gw.read_only:
            return self.pending()
        if self._flushing is None:
            self._flushing = asyncio.Lock()
        async with self._flushing:
            items, bad = self._read_outbox()
            if not items and not bad:
                return 0
            sent: set[tuple[str, str]] = set()
            aside: dict[tuple[str, str], str] = {}
            self.last_error = None
            try:
                async with Gateway(self.aws, max_attempts=3, read_budget=FLUSH_BUDGET,
                                   write_budget=FLUSH_BUDGET) as fast:
                    table = Table(fast, self.team.region, self.team.table)
                    for item in map(_unlined, items):
                        try:
                            await table.put(item, condition="attribute_not_exists(pk)")
                        except ConditionFailed:
                            pass                 # there already: an earlier attempt whose answer was lost
                        except AwsError as e:
                            if e.code not in REFUSED_ITEM:
                                raise            # the table cannot be used now: this and the rest wait
                            aside[(item["pk"], item["sk"])] = str(e)
                            continue
                        except (ValueError, TypeError, UnicodeError) as e:     # the item cannot even be sent
                            aside[(item["pk"], item["sk"])] = f"{type(e).__name__}: {e}"
                            continue
                        sent.add((item["pk"], item["sk"]))
            except FleetError as e:
                self.last_error = str(e)
            finally:
                self._settle(sent, aside)
            return len(items) - len(sent) - len(aside)

    # -- reading the team's history --------------------------------------------------------------------------
    async def team_items(self, gw: Gateway, services: list[str], *, since: str | None = None,
                         newest: int | None = None) -> list[Item]:
        """Audit items of ``services`` from the table as stored (unchecked), merged in time order (``newest``: only
        the last N of each service)."""
        table = Table(gw, self.team.region, self.team.table)
        try:
            per = await asyncio.gather(*(table.query(audit_pk(s), sk_from=since, newest_first=newest is not None,
                                                     limit=newest) for s in services))
        except AwsError as e:
            raise AwsError(_unreachable(self.team, e), code=e.code) from None
        return sorted((i for items in per for i in items), key=merge_order)

    async def team_events(self, gw: Gateway, services: list[str], *, since: str | None = None) -> list[dict]:
        """The team's journal events (as the local journal holds them: what :func:`plan_states` folds), in time
        order. An item that is not one of our events is skipped, with one line in :attr:`team_warnings` naming its
        key (the first five, then how many more)."""
        out, skipped = [], []
        for item in await self.team_items(gw, services, since=since):
            event, why = audit_event(item)
            if event is None:
                skipped.append(f"item {item_key(item)}: {why}")
            else:
                out.append(event)
        shown = skipped[:5] + ([f"and {len(skipped) - 5} more"] if len(skipped) > 5 else [])
        self.team_warnings = [f"team table {printable(self.team.table, 100)}: skipped {s}" for s in shown]
        self.team_skipped = len(skipped)
        return out

    team_warnings: list[str] = []
    team_skipped = 0

    async def team_records(self, gw: Gateway, services: list[str], *, since: str | None = None
                           ) -> dict[str, PlanRecord]:
        return plan_states(await self.team_events(gw, services, since=since))


# ------------------------------------------------------------------------------------- items: writing, reading

REFUSED_ITEM = {"ValidationException", "SerializationException"}     # the item itself is refused: set it aside
MAX_TEXT = 2000           # a text attribute of an audit item (summary, reason, error…), in characters
CUT_TEXT = 200            # an over-size body: each text longer than this is cut to it …
CUT_LIST = 50             # … and each list longer than this (but a plan's steps) to this many items


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    """Text DynamoDB accepts and reads back as written: valid UTF-8 (a lone surrogate, e.g. from a non-UTF-8 byte
    on the command line, becomes its escape), at most ``limit`` characters."""
    text = str(value).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit]


def _cut(value: Any, key: str = "") -> Any:
    """``value`` with every text over CUT_TEXT characters and every list over CUT_LIST items (a plan's steps
    excepted) shortened, each saying how much was cut; types unchanged."""
    if isinstance(value, str):
        value = _text(value, 10 * MAX_BODY)
        return value if len(value) <= CUT_TEXT else value[:CUT_TEXT] + f"…({len(value) - CUT_TEXT} more)"
    if isinstance(value, dict):
        return {k: _cut(v, k) for k, v in value.items()}
    if not isinstance(value, (list, tuple)):
        return value
    if key == "steps" or len(value) <= CUT_LIST:
        return [_cut(v) for v in value]
    kept = [_cut(v) for v in value[:CUT_LIST]]
    return kept + [f"…({len(value) - CUT_LIST} more)"] if all(isinstance(v, str) for v in value) else kept


def _unlined(item: Item) -> Item:
    return {k: v for k, v in item.items() if k != "_line"}


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), default=str)


def fitted_body(record: dict[str, Any]) -> tuple[str, str | None]:
    """The event as the item's ``body`` (JSON), and None -- or, when it is larger than :data:`MAX_BODY`, the event
    cut to fit (long texts and lists shortened; then the plan's step parameters, then its steps, dropped) with a
    ``cut`` field saying so, and that sentence. Never a body that does not read back as the same kind of event."""
    body = _dumps(record)
    if len(body) <= MAX_BODY:
        return body, None
    why = f"the event was {len(body):,} characters: texts over {CUT_TEXT} and lists over {CUT_LIST} items shortened"
    cut = {**_cut(record), "cut": why}
    plan = cut.get("plan") if isinstance(cut.get("plan"), dict) else None
    if len(_dumps(cut)) > MAX_BODY and plan is not None and isinstance(plan.get("steps"), list):
        plan["steps"] = [{**st, "params": {}} for st in plan["steps"] if isinstance(st, dict)]
        cut["cut"] = why = why + "; the steps' parameters dropped"
    if len(_dumps(cut)) > MAX_BODY and plan is not None and isinstance(plan.get("steps"), list):
        n = len(plan["steps"])
        while len(_dumps(cut)) > MAX_BODY and plan["steps"]:
            plan["steps"] = plan["steps"][: len(plan["steps"]) // 2]
        cut["cut"] = why = why + f"; only its first {len(plan['steps'])} of {n} steps kept"
    if len(_dumps(cut)) > MAX_BODY:           # nothing left to cut but the event itself: what folds, and why
        cut = {k: cut[k] for k in ("ts", "event", "plan_id", "step", "who", "status", "reason") if k in cut}
        if plan is not None:
            cut["plan"] = {**{k: plan[k] for k in ("id", "verb", "service", "summary", "generation") if k in plan},
                           "steps": []}
        cut["cut"] = why = why + "; everything else dropped"
    return _dumps(cut), why


def item_key(item: Item) -> str:
    """An item's key as a warning names it (escaped, capped)."""
    return printable(f"{item.get('pk')} {item.get('sk')}", 200)


ITEM_FIELDS = ("ts", "event", "plan_id", "service", "step", "status", "reason", "error")


def audit_event(item: Item) -> tuple[dict[str, Any] | None, str | None]:
    """(the event an audit item holds, None), or (None, why it is not one of ours). The event is its ``body``; an
    item without one (an older fleettui left over-size bodies out) is rebuilt from its fields, which fold as any
    event but a ``plan_created``. Every event returned passes :func:`~fleettui.domain.history.unreadable`."""
    if "body" in item:
        body = item["body"]
        if not isinstance(body, str):
            return None, "its body is not text"
        try:
            event = json.loads(body, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            return None, "its body is not JSON (not written by fleettui)"
    else:
        event = {k: item[k] for k in ITEM_FIELDS if item.get(k) is not None}
        if item.get("operator") is not None:
            event["who"] = item["operator"]
    why = unreadable(event)
    if why is None and event["event"] == EventKind.PLAN_CREATED and "body" not in item:
        why = "plan_created without its plan (the item has no body)"
    return (None, why) if why else (event, None)


def _regular(fd: int) -> None:
    mode = os.fstat(fd).st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
    if not stat.S_ISREG(mode):
        raise OSError(errno.EINVAL, "not a regular file (a FIFO, socket or device: never waited on)")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")      # NaN, Infinity: Python reads them, no JSON reader does


def _read_regular(path: Path) -> bytes:
    """A file's bytes -- only a regular file (a FIFO or a device there is refused, never waited on)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        _regular(fd)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _append_line(path: Path, data: bytes) -> None:
    """Append ``data`` (whole lines) durably; a last line torn by a crash is never joined to it."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o600)
    try:
        _regular(fd)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------------------- what the TUI shows

@dataclass(frozen=True)
class TeamStatus:
    """A service as the team store has it: the lock (if live) and the last change that succeeded, by anyone."""

    lock: LockItem | None = None
    last: Item | None = None


def _last_change(item: Item) -> bool:
    """A plan_finished that succeeded, with the fields the status line shows as text (else not shown)."""
    return (item.get("event") == EventKind.PLAN_FINISHED and item.get("outcome", item.get("status")) == "succeeded"
            and all(isinstance(item.get(k), str) for k in ("ts", "plan_id"))
            and all(item.get(k) is None or isinstance(item[k], str) for k in ("operator", "summary", "verb", "reason")))


async def team_status(gw: Gateway, team: TeamConfig, services: list[str], *, recent: int = 25,
                      clock: Clock = SYSTEM) -> dict[str, TeamStatus]:
    """One GetItem (the lock) and one Query (the newest ``recent`` audit items) per service, concurrently. Items
    not of our shape never fail it: a lock item is shown as read (:class:`LockItem`), an audit item that is not a
    change that succeeded is passed over."""
    table = Table(gw, team.region, team.table)

    async def one(name: str) -> TeamStatus:
        raw, items = await asyncio.gather(table.get_raw(lock_key(name)),
                                          table.query(audit_pk(name), newest_first=True, limit=recent))
        lock = read_lock(raw) if raw is not None else None
        last = next((i for i in items if _last_change(i)), None)
        return TeamStatus(lock if lock is not None and lock.live(clock.time()) else None, last)

    try:
        found = await asyncio.gather(*(one(n) for n in services))
    except AwsError as e:
        raise AwsError(_unreachable(team, e), code=e.code) from None
    return dict(zip(services, found))
