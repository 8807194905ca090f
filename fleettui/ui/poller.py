"""A job that runs again and again, the dolphie way: in a worker, re-armed (``set_timer``) only when it has
ended, so two runs never overlap; while a screen other than the main one is in front, a run that falls due
waits, and runs when the main screen is back.

The inventory refresh is one; a second (signals) is::

    self.signals = self.add_poller("signals", self._signals_job, every=lambda: cfg.signals_seconds)

The job reports what it found by posting messages (see :mod:`fleettui.ui.messages`); the poller only runs it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Awaitable, Callable

from textual.timer import Timer

if TYPE_CHECKING:
    from textual.app import App


class Poller:
    def __init__(self, app: "App", name: str, job: Callable[[], Awaitable[None]], *, every: Callable[[], float],
                 auto: bool = True, home: Callable[[], bool]) -> None:
        """``job`` runs in a worker named ``name``; ``every`` () -> seconds between the end of one run and the
        start of the next; ``auto`` False runs only on :meth:`run_now`; ``home`` () -> the main screen is in
        front."""
        self.app = app
        self.name = name
        self.job = job
        self.every = every
        self.auto = auto
        self.home = home
        self.running = False
        self.due = False                 # fell due while another screen was in front
        self._timer: Timer | None = None

    def run_now(self) -> None:
        """Run the job now, unless it is running already (then nothing: runs never overlap)."""
        if self.running:
            return
        self._cancel_timer()
        self.due = False
        self.running = True
        self.app.run_worker(self._run(), name=self.name, group=self.name, exclusive=True, exit_on_error=False)

    def fire(self) -> None:
        """The timer went off: run, or hold until the main screen is back."""
        self._timer = None
        if not self.home():
            self.due = True
            return
        self.run_now()

    def home_again(self) -> None:
        """The main screen is in front again: run what fell due meanwhile."""
        if self.due:
            self.run_now()

    def stop(self) -> None:
        self._cancel_timer()

    async def _run(self) -> None:
        try:
            await self.job()
        finally:
            self.running = False
            self._arm()

    def _arm(self) -> None:
        if self.auto and self._timer is None:
            self._timer = self.app.set_timer(self.every(), self.fire, name=self.name)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
