"""The time the code asks, never the wall directly: ``now()`` (an aware UTC datetime), ``monotonic()`` (seconds,
for intervals) and ``await sleep(seconds)``.

Everything that waits or stamps a time in the action layer takes a :class:`Clock`: the executor and its steps
(read-back polls, a rollout's bake, its re-checks and lock renewals), the locks (expiry, back-off between
writes), the journals (event times) and ``rollout status --wait``. Production runs on :data:`SYSTEM`; tests run
on a :class:`VirtualClock`, where a 10-minute bake or a 15-minute lock expiry takes no real time and nothing
depends on how fast the machine is.

What stays on real time on purpose: the gateway's budgets for one AWS call (``asyncio.timeout``: they bound a
network that does not answer, which only real time can), botocore's own retry back-off, and the TUI's timers.
"""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone


class Clock:
    """The system's time (see the module docstring)."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def time(self) -> float:
        """Seconds since the epoch (what a lock's ``expires_at`` is compared with)."""
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


SYSTEM = Clock()


class VirtualClock(Clock):
    """Time that moves only when the code sleeps or a test advances it.

    ``autojump`` (the default): ``await sleep(s)`` moves the clock ``s`` seconds forward at once and yields to the
    event loop once, so other tasks run in between (time as the sleeper sees it is exact: a bake of 600 s ends
    after 600 virtual seconds of polls, whatever the machine's load). Several tasks sleeping at once each move it
    forward: virtual time is then an upper bound of what each of them waited, which is what the deadlines of the
    code need (a deadline is never reached early).

    ``autojump=False``: time stands still until the test calls :meth:`advance`; a sleeper waits until its deadline
    has been passed. A test can then act at an exact moment -- while a rollout bakes, say -- with the code under
    test parked in its sleep (:meth:`sleeping` waits for that), and nothing races on how fast the machine is.
    Sleepers on another thread's event loop are woken on their own loop.
    """

    def __init__(self, start: datetime | None = None, *, tick: float = 0.0, autojump: bool = True):
        """``tick``: each reading of the time moves it that much forward (distinct, ordered event times, as the
        wall gives them; 0: time stands still between sleeps)."""
        start = start or datetime.now(timezone.utc)
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs an aware start time")
        self._t = start.timestamp()
        self.tick = tick
        self.autojump = autojump
        self.slept = 0.0           # virtual seconds slept in all (tests may assert waits happened)
        self._sleepers: list[tuple[float, asyncio.Future]] = []

    def _read(self) -> float:
        t = self._t
        self._t += self.tick
        return t

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._read(), timezone.utc)

    def time(self) -> float:
        return self._read()

    def monotonic(self) -> float:
        return self._t

    def advance(self, seconds: float | timedelta) -> None:
        """Move time forward (e.g. past a lock's expiry); with ``autojump=False``, wake the sleepers whose time has
        come."""
        s = seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)
        if s < 0:
            raise ValueError("time does not go back")
        self._t += s
        for deadline, fut in list(self._sleepers):
            if deadline <= self._t:
                self._sleepers.remove((deadline, fut))
                fut.get_loop().call_soon_threadsafe(_wake, fut)

    @property
    def sleepers(self) -> int:
        """Tasks parked in :meth:`sleep` (``autojump=False``)."""
        return len(self._sleepers)

    async def sleeping(self, count: int = 1, *, turns: int = 100_000) -> None:
        """Wait (yielding to the loop) until ``count`` tasks are parked in :meth:`sleep`; AssertionError after
        ``turns`` turns of the loop without that (a test that waits for nothing must not hang)."""
        for _ in range(turns):
            if len(self._sleepers) >= count:
                return
            await asyncio.sleep(0)
        raise AssertionError(f"expected {count} sleeping task(s), found {len(self._sleepers)}")

    async def sleep(self, seconds: float) -> None:
        s = max(0.0, float(seconds))
        self.slept += s
        if self.autojump:
            self._t += s
            await asyncio.sleep(0)
            return
        fut = asyncio.get_running_loop().create_future()
        entry = (self._t + s, fut)
        self._sleepers.append(entry)
        try:
            await fut
        finally:
            if entry in self._sleepers:
                self._sleepers.remove(entry)


def _wake(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)
