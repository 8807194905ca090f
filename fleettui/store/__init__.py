"""Where plans are recorded and services are locked, behind two small protocols.

* :class:`EventLog`: append-only plan events (see :mod:`fleettui.domain.history`); today a local JSONL file
  (:class:`~fleettui.store.local.JsonlJournal`).
* :class:`Lock`: one service at a time; today a tag on the service's listener or launch template
  (:class:`~fleettui.store.taglock.TagLock`).

The context builds them once (:meth:`fleettui.context.Context.store`); the action layer only sees the protocols.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol

from fleettui.domain.history import PlanRecord, plan_states


class EventLog(ABC):
    """Append-only plan events; what a plan's state is comes from the pure fold over them."""

    @abstractmethod
    def append(self, event: str, plan_id: str, **fields: Any) -> dict[str, Any]: ...

    @abstractmethod
    def events(self) -> Iterator[dict[str, Any]]: ...

    @property
    @abstractmethod
    def where(self) -> str: ...

    def records(self) -> dict[str, PlanRecord]:
        return plan_states(self.events())

    def record(self, plan_id: str) -> PlanRecord | None:
        return self.records().get(plan_id)

    def unfinished(self) -> list[PlanRecord]:
        return [r for r in self.records().values() if r.resumable]


class Lock(Protocol):
    async def acquire(self) -> None: ...

    async def refresh(self) -> None: ...

    async def release(self) -> None: ...


# (gateway, service config, owner ARN, plan id) -> Lock
LockFactory = Callable[[Any, Any, str, str], Lock]


@dataclass(frozen=True)
class Store:
    """The journal and the lock factory of one context."""

    journal: EventLog
    lock: LockFactory
