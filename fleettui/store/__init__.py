"""Where plans are recorded and services are locked, behind two small protocols.

* :class:`EventLog`: append-only plan events (see :mod:`fleettui.domain.history`); today a local JSONL file
  (:class:`~fleettui.store.local.JsonlJournal`), one per endpoint (real AWS: one per machine; an emulator: one
  per instance).
* :class:`Lock`: one service at a time; today a tag on the service's listener or launch template
  (:class:`~fleettui.store.taglock.TagLock`).

Scoping: a log is bound once to the :class:`Scope` (account, partition, endpoint, profile, regions) the context
acts on (:meth:`EventLog.bind`, from STS); every ``plan_created`` it appends records that scope, and
:meth:`EventLog.unfinished` with a scope returns only the plans of that AWS. The context builds the store once
(:meth:`fleettui.context.Context.store`); the action layer only sees the protocols.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

from fleettui.domain.history import EventKind, PlanRecord, Scope, plan_states
from fleettui.errors import FleetError

__all__ = ["EventLog", "Holder", "Lock", "LockFactory", "LockHeld", "LockLost", "Scope", "Store", "StoreError"]


class StoreError(FleetError):
    """The journal could not be read or written (disk full, read-only, not a file...). ``event`` and ``step`` say
    which append failed, so the caller can tell the operator truthfully what AWS already did."""

    exit_code = 1

    def __init__(self, message: str, *, event: str | None = None, step: str | None = None):
        super().__init__(message)
        self.event, self.step = event, step


class LockHeld(FleetError):
    """Another operator holds the service's lock (or its tag is not a lock we can read): nothing was done."""

    exit_code = 2


class LockLost(FleetError):
    """A lock we held is no longer ours (taken over, or cleared by hand): stop before the next mutating step."""

    exit_code = 1


class EventLog(ABC):
    """Append-only plan events; what a plan's state is comes from the pure fold over them."""

    scope: Scope | None = None
    operator: str | None = None          # the STS ARN of whoever appends (set by the action layer)
    warnings: list[str]

    def bind(self, scope: Scope) -> None:
        """The AWS this log's new plans act on (recorded in each ``plan_created``)."""
        self.scope = scope

    read_only = False           # a read-only context's log: every append refused, before anything is written

    def append(self, event: str, plan_id: str, **fields: Any) -> dict[str, Any]:
        event = str(getattr(event, "value", event))
        if self.read_only:
            step = fields.get("step")
            raise StoreError(f"read-only mode: nothing is written to the journal ({event} of plan {plan_id} refused)",
                             event=event, step=step if isinstance(step, str) else None)
        if event == EventKind.PLAN_CREATED and self.scope is not None and "scope" not in fields:
            fields["scope"] = self.scope.to_dict()
        return self._append(event, plan_id, fields)

    @abstractmethod
    def _append(self, event: str, plan_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Write one event durably (raise :class:`StoreError` if it could not be)."""

    @abstractmethod
    def events(self) -> Iterator[dict[str, Any]]:
        """Every readable event in order; unreadable ones are skipped, each with one line in :attr:`warnings`."""

    @property
    @abstractmethod
    def where(self) -> str: ...

    def pending(self) -> int:
        """Events not yet in the shared store (the team table); a local-only log has none."""
        return 0

    async def flush(self, gw: Any = None) -> int:
        """Send what is pending to the shared store; returns how many are still pending (never raises for AWS)."""
        return 0

    def records(self) -> dict[str, PlanRecord]:
        return plan_states(self.events())

    def record(self, plan_id: str) -> PlanRecord | None:
        return self.records().get(plan_id)

    def unfinished(self, scope: Scope | None = None, *, driven: bool = False) -> list[PlanRecord]:
        """Resumable plans, oldest first; with ``scope``, only those made against that AWS. A plan that a live
        process of this machine is driving right now (a rollout's bake, another terminal's replace) is not one,
        unless ``driven``."""
        return [r for r in self.records().values()
                if r.resumable and (scope is None or scope.same_aws(r.scope))
                and (driven or self.driver(r.plan.id) is None)]

    # -- which process drives a plan (plans are resumed by the machine that ran them, so this is local) --------
    drivers_dir: Path | None = None

    @contextmanager
    def driving(self, plan_id: str) -> Iterator[None]:
        """While the body runs, this process is the plan's driver (a pid file, removed at the end)."""
        path = self.drivers_dir / plan_id if self.drivers_dir else None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(f"{os.getpid()}\n", encoding="utf-8")
            except OSError:
                path = None           # no pid file: another process may resume it, as before
        try:
            yield
        finally:
            if path is not None:
                path.unlink(missing_ok=True)

    def driver(self, plan_id: str, *, others: bool = True) -> int | None:
        """The pid of a live process of this machine driving ``plan_id`` (None: nobody; with ``others``, this
        process does not count)."""
        if self.drivers_dir is None:
            return None
        try:
            pid = int((self.drivers_dir / plan_id).read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            return None
        if pid == os.getpid():
            return None if others else pid
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None                       # died (SIGKILL, power): its pid file stayed behind
        except PermissionError:
            pass                              # alive, another user's
        try:                                  # a reused pid is not a fleettui
            if b"fleettui" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                return None
        except OSError:
            pass
        return pid


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as read: ``token`` is what :meth:`Lock.clear` must still find, ``text`` names the holder
    (owner, plan, expiry with its date -- or what is wrong with a malformed lock)."""

    token: str
    plan_id: str | None
    text: str

    @property
    def record(self) -> str:
        """The token as a journal records it (a lock item can hold hundreds of KB: the first 2,000 characters)."""
        return self.token if len(self.token) <= 2000 else self.token[:2000] + f"…({len(self.token) - 2000} more)"


class Lock(Protocol):
    async def acquire(self) -> None:
        """Take the lock or raise :class:`LockHeld` (naming the holder); never lets two holders through."""

    async def refresh(self) -> None:
        """Renew it if it is still ours, else raise :class:`LockLost` (naming who has it now)."""

    async def release(self) -> None:
        """Remove it if it is still ours."""

    async def holder(self) -> Holder | None:
        """Who holds it now (None: nobody)."""

    async def clear(self, seen: Holder) -> None:
        """`fleettui unlock`: remove it whoever holds it, only if it is still ``seen`` (else LockHeld)."""


# (gateway, service config, owner ARN, plan id, what="shift web") -> Lock
LockFactory = Callable[[Any, Any, str, str], Lock]


@dataclass(frozen=True)
class Store:
    """The journal and the lock factory of one context."""

    journal: EventLog
    lock: LockFactory
