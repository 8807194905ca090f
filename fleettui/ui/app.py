"""The Textual app. One factory, :func:`make_app`, is used by the CLI, the tests and the snapshot apps.

The app keeps the lifecycle, the gateways and the pollers; what the screens show is in one
:class:`~fleettui.ui.state.ViewState` (``app.state``); the action flows (plan → confirm → execute) are in
:mod:`fleettui.ui.flows`. The UI never waits on AWS: the inventory refresh is a
:class:`~fleettui.ui.poller.Poller` (a worker, re-armed only when it has ended, so polls never overlap; while
another screen is in front a refresh that falls due waits for the main screen), and it reports with typed
messages (:mod:`fleettui.ui.messages`) handled with ``@on``. A failed refresh keeps the last snapshot and marks
it STALE with its age.

Two Gateways are open for the app's lifetime. The refresh's (I/O and response parsing: seconds of CPU for a
large fleet) lives on a :class:`~fleettui.aws.background.BackgroundLoop`, a thread with its own event loop; the
refresh worker only awaits its result, and everything that touches the app stays on the UI thread. The action
layer's (``self.gateway``: plans and steps, small and interactive) lives on the UI loop.
"""
from __future__ import annotations

import asyncio
import traceback
from contextlib import AsyncExitStack
from datetime import datetime, timezone
from fnmatch import fnmatch
from typing import Awaitable, Callable

from textual import events, on
from textual.app import App
from textual.binding import Binding
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from fleettui.aws.background import BackgroundLoop
from fleettui.context import Context
from fleettui.domain.model import Service, Snapshot
from fleettui.domain.signals import Signals
from fleettui.errors import FleetError
from fleettui.format import printable
from fleettui.ui.flows import Flows
from fleettui.ui.messages import (
    ActionFinished, RefreshFailed, SignalsFailed, SignalsReady, SnapshotReady, TeamReady,
)
from fleettui.ui.poller import Poller
from fleettui.ui.screens.main import MainScreen
from fleettui.ui.state import ViewState
from fleettui.ui.widgets.header import FleetHeader

Clock = Callable[[], datetime]
Fetch = Callable[[object], Awaitable[Snapshot]]   # (gateway) -> Snapshot; runs on the background loop
SignalsFetch = Callable[[object, Snapshot], Awaitable[Signals]]   # (gateway, snapshot) -> Signals; same loop
BACKGROUND_CLOSE_SECONDS = 5.0    # at exit, how long to wait for the refresh thread to finish what it is parsing


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class FleetApp(App[int]):
    HORIZONTAL_BREAKPOINTS = [(0, "-small"), (100, "-narrow"), (130, "-wide")]
    CSS_PATH = "app.tcss"
    TITLE = "fleettui"
    ENABLE_COMMAND_PALETTE = False

    BINDINGS = [
        Binding("question_mark", "help", "Help", tooltip="Keys, filter syntax and the effective settings"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, ctx: Context, *, clock: Clock | None = None, actions_factory=None,
                 auto_refresh: bool = True, fetch: Fetch | None = None,
                 signals_fetch: SignalsFetch | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.config = ctx.config
        self.now: Clock = clock or _utcnow
        self.polling = auto_refresh
        self._fetch = fetch
        self._signals_fetch = signals_fetch
        self._actions_factory = actions_factory
        self.state = ViewState()
        self.gateway = None               # the action layer's, on the UI loop
        self._background: BackgroundLoop | None = None   # the refresh's thread and loop
        self._refresh_gateway = None      # the refresh's, on the background loop: never use it on this one
        self._actions = None
        self._stack = AsyncExitStack()
        self.main = MainScreen()
        self.flows = Flows(self)
        self.pollers: list[Poller] = []
        self.inventory = self.add_poller("refresh", self._refresh_job,
                                         every=lambda: self.config.defaults.refresh_seconds)
        # started after the first snapshot (it reads the generations); never delays or fails the inventory
        self.signals_poller = self.add_poller("signals", self._signals_job,
                                              every=lambda: self.config.defaults.signals_refresh_seconds)
        # team mode: every operator's locks and last changes, with the fleet's cadence
        self.team_poller = self.add_poller("team", self._team_job, every=lambda: self.config.defaults.refresh_seconds)

    def add_poller(self, name: str, job, *, every) -> Poller:
        poller = Poller(self, name, job, every=every, auto=self.polling, home=lambda: self.screen is self.main)
        self.pollers.append(poller)
        return poller

    # ------------------------------------------------------------------------------------------ state
    # read-through to self.state: the screens, the tests and the benchmarks read these
    snapshot = property(lambda self: self.state.snapshot)
    views = property(lambda self: self.state.views)
    marks = property(lambda self: self.state.marks)
    last_error = property(lambda self: self.state.last_error)
    last_error_at = property(lambda self: self.state.last_error_at)
    refresh_count = property(lambda self: self.state.refresh_count)
    executing = property(lambda self: self.state.executing)
    stale = property(lambda self: self.state.stale)
    signals = property(lambda self: self.state.signals)

    @property
    def region_filter(self) -> str | None:
        return self.state.region_filter

    @region_filter.setter
    def region_filter(self, value: str | None) -> None:
        self.state.region_filter = value

    @property
    def refreshing(self) -> bool:
        return self.inventory.running

    @property
    def _refresh_due(self) -> bool:
        return self.inventory.due

    @property
    def read_only(self) -> bool:
        return self.ctx.read_only

    @property
    def demo(self) -> bool:
        return self.ctx.demo is not None

    @property
    def production(self) -> bool:
        pattern = self.config.defaults.production_pattern
        return bool(pattern) and fnmatch(self.ctx.profile_label, pattern)

    @property
    def regions_shown(self) -> tuple[str, ...]:
        return self.snapshot.regions if self.snapshot else self.config.regions

    @property
    def endpoint_label(self) -> str:
        return self.config.aws.endpoint_url or "AWS (default endpoints)"

    @property
    def current_service(self) -> Service | None:
        return self.state.service(self.main.service_name)

    def marks_in(self, service: Service) -> list[str]:
        return self.state.marks_in(service)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {"drift": "#d670d6"}

    async def console_fetch(self, gw, region: str, instance_id: str) -> str:
        """A host's console output (decoded), for the host detail."""
        from fleettui.aws.cloudwatch import console_output

        return await console_output(gw, region, instance_id)

    async def cpu_fetch(self, gw, region: str, instance_id: str):
        """A host's CPUUtilization over the signals window (Points, oldest first), for the host detail."""
        from fleettui.aws.signals import instance_cpu

        return await instance_cpu(gw, self.config, region, instance_id, now=self.now())

    async def health_fetch(self, gw, region: str, tg_arn: str, instance_id: str):
        """A host's TargetHealth in one target group (State, Reason, Description) or None, for the host detail."""
        from fleettui.aws.elbv2 import Elbv2

        return await Elbv2(gw, region).target_health_of(tg_arn, instance_id)

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Every notification (screens' too) is plain text with control characters escaped: they carry versions,
        reasons and AWS error messages, which are data, never markup or terminal control."""
        super().notify(printable(message), title=printable(title), severity=severity, timeout=timeout, markup=False)

    @property
    def actions(self):
        """The action layer (created on first use, on this app's gateway)."""
        if self._actions is None:
            if self._actions_factory is not None:
                self._actions = self._actions_factory(self.gateway)
            else:
                self._actions = self.ctx.actions(self.gateway)
        return self._actions

    @property
    def journal(self):
        return self._actions.journal if self._actions is not None else self.ctx.store.journal

    def journal_records(self) -> list:
        """Every plan in the journal (empty when it cannot be read: the views that show history say so)."""
        try:
            return list(self.journal.records().values())
        except (FleetError, OSError, ValueError, KeyError):
            return []

    # ------------------------------------------------------------------------------------------ lifecycle
    async def on_mount(self) -> None:
        self._background = BackgroundLoop(name="fleettui-refresh")
        await self.push_screen(self.main)
        self.set_interval(0.1, self._tick_spinner)
        self.set_interval(1.0, self._tick_second)
        try:
            self.gateway = await self._stack.enter_async_context(self.ctx.gateway())
            self._refresh_gateway = await asyncio.wrap_future(self._background.enter(self.ctx.gateway))
        except FleetError as e:
            self.state.failed(str(e), self.now(), counts=False)
            self.main.update_fleet()
            return
        self.start_refresh()

    async def on_unmount(self) -> None:
        for poller in self.pollers:
            poller.stop()
        try:
            await self._stack.aclose()
        finally:
            if self._background is not None:
                # workers (an in-flight refresh) are cancelled by now; close the refresh's gateway and join its
                # thread without blocking this loop
                await asyncio.to_thread(self._background.close, BACKGROUND_CLOSE_SECONDS)

    def _tick_spinner(self) -> None:
        if self.refreshing:
            self._refresh_headers(tick=True)

    rollouts_text: str = ""          # running rollouts of any service, for the header of every screen

    def _tick_second(self) -> None:
        running = sorted({r.plan.service for r in self.journal_records()
                          if r.plan.verb == "rollout" and r.status == "running"})
        text = self._rollouts_text(running)
        if text != self.rollouts_text:
            self.rollouts_text = text
            self._refresh_headers()
        if self.stale:
            self._refresh_headers()
        if self.screen is self.main and (self.stale or self.current_service and self.current_service.name in running):
            # the STALE age, the bake's countdown, the latest analysis; query(), not query_one(): a timer that
            # fires while the screen's widgets are (un)mounted must not take the app down (NoMatches, seen once)
            self.main.query("#status").refresh()

    def _rollouts_text(self, services: list[str]) -> str:
        """"rollout web 1.7.0 1/2 50% baking 12s" per running rollout (from the journal, whoever drives it)."""
        from fleettui.actions import rollouts

        out = []
        for name in services:
            try:
                v = rollouts.view(self.journal, name, self.now())
            except (FleetError, OSError, ValueError, KeyError):
                continue
            if v is None or v.status != "running":
                continue
            left = f" {max(0, int(v.remaining))}s" if v.phase == "baking" and v.remaining is not None else ""
            gone = " (unwatched)" if v.unwatched_since is not None else ""
            out.append(f"rollout {name} {v.canary} {v.stage}/{v.stages} {v.weight}% {v.phase}{left}{gone}")
        return " · ".join(out)


    def _refresh_headers(self, tick: bool = False) -> None:
        screens = [self.screen] + ([self.main] if self.main is not self.screen else [])
        for header in (h for screen in screens for h in screen.query(FleetHeader)):
            header.tick() if tick else header.refresh()

    # ------------------------------------------------------------------------------------------ refresh
    def start_refresh(self) -> None:
        """Refresh now in a worker, unless one is already running (polls never overlap)."""
        if self.refreshing:
            return
        self.inventory.run_now()
        self._refresh_headers(tick=True)

    def _on_timer(self) -> None:
        self.inventory.fire()

    def main_resumed(self) -> None:
        for poller in self.pollers:
            poller.home_again()

    def _fetch_job(self):
        """The refresh as a coroutine for the background loop: it gets values, never the app."""
        gw, fetch, config, now = self._refresh_gateway, self._fetch, self.config, self.now()

        async def job() -> Snapshot:
            if fetch is not None:
                return await fetch(gw)
            from fleettui.aws.inventory import fetch_snapshot

            return await fetch_snapshot(gw, config, now=now)
        return job()

    async def _refresh_job(self) -> None:
        try:
            # cancelling this worker (quit) cancels the background task through the wrapped future
            snap = await asyncio.wrap_future(self._background.submit(self._fetch_job()))
        except FleetError as e:
            self.post_message(RefreshFailed(" ".join(str(e).split())))
        else:
            self.post_message(SnapshotReady(snap))

    @on(SnapshotReady)
    def _snapshot_ready(self, message: SnapshotReady) -> None:
        first = self.state.snapshot_ready(message.snapshot)
        self.main.update_fleet()
        self._refresh_headers()
        if self.config.team is not None:      # read with the fleet: who holds what, who changed what last
            self.team_poller.run_now()
        if first:
            self.signals_poller.run_now()
            self.flows.offer_resume()

    def _signals_fetch_job(self, snap: Snapshot):
        """The signals fetch as a coroutine for the background loop, on the refresh's gateway: values only."""
        gw, fetch, config, now = self._refresh_gateway, self._signals_fetch, self.config, self.now()

        async def job() -> Signals:
            if fetch is not None:
                return await fetch(gw, snap)
            from fleettui.aws.signals import fetch_signals

            return await fetch_signals(gw, snap, config, now=now)
        return job()

    async def _signals_job(self) -> None:
        snap = self.snapshot
        if snap is None or self._background is None:
            return
        try:
            signals = await asyncio.wrap_future(self._background.submit(self._signals_fetch_job(snap)))
        except FleetError as e:
            self.post_message(SignalsFailed(f"signals unavailable: {' '.join(str(e).split())}"))
        else:
            self.post_message(SignalsReady(signals))

    async def _team_job(self) -> None:
        snap, team = self.snapshot, self.config.team
        if snap is None or team is None or self._background is None:
            return
        gw, names = self._refresh_gateway, [s.name for s in snap.services]

        async def job():
            from fleettui.store.dynamo import team_status

            return await team_status(gw, team, names)
        try:
            found = await asyncio.wrap_future(self._background.submit(job()))
        except FleetError as e:
            self.post_message(TeamReady(self.state.team, f"team store: {' '.join(str(e).split())}"))
        else:
            self.post_message(TeamReady(found))

    @on(TeamReady)
    def _team_ready(self, message: TeamReady) -> None:
        self.state.team, self.state.team_error = message.team, message.error
        self.main.update_signals()

    @on(SignalsReady)
    def _signals_ready(self, message: SignalsReady) -> None:
        self.state.signals = message.signals
        self.main.update_signals()

    @on(SignalsFailed)
    def _signals_failed(self, message: SignalsFailed) -> None:
        # the last signals stay (marked unavailable), the inventory is untouched
        previous = self.state.signals or Signals()
        self.state.signals = Signals(previous.generated_at, previous.services, message.error, previous.window_s)
        self.main.update_signals()

    @on(RefreshFailed)
    def _refresh_failed(self, message: RefreshFailed) -> None:
        what = "refresh failed" if self.snapshot is None else "refresh failed, showing the last snapshot"
        self.state.failed(message.error, self.now())
        if message.notify:
            self.notify(f"{what}: {message.error}", severity="error", timeout=8, markup=False)
        self.main.update_fleet()
        self._refresh_headers()

    @on(ActionFinished)
    def _action_finished(self) -> None:
        # the locks as last read may include the plan that just ended: read them again with the refresh
        from dataclasses import replace

        self.state.team = {name: replace(t, lock=None) for name, t in self.state.team.items()}
        # the fleet changed: refresh now, or as soon as the main screen is back
        self.inventory.due = True
        if self.screen is self.main:
            self.start_refresh()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Any worker that fails (a bug, an unexpected error) becomes one notification, never a traceback."""
        if event.state != WorkerState.ERROR:
            return
        err = event.worker.error
        log = _log_traceback(err)
        if event.worker.name == self.inventory.name:
            self.post_message(RefreshFailed(f"{type(err).__name__}: {err}", notify=False))
        elif event.worker.name == self.signals_poller.name:
            self.post_message(SignalsFailed(f"signals unavailable: {type(err).__name__}: {err}"))
        self.notify(f"{event.worker.name or 'task'} failed: {type(err).__name__}: {err}" +
                    (f" (traceback in {log})" if log else ""), severity="error", timeout=10, markup=False)

    def on_key(self, event: events.Key) -> None:
        """Runs before the app checks bindings. With an Input focused, a key gets here either from that Input
        (a :class:`~fleettui.ui.widgets.prompt.KeyInput` has already run its own bindings in arrival order, and
        marks it: its bindings are checked as usual) or because it was queued for another widget before the Input
        took the focus (typed or pasted right after `/` or `:`). Those go through the Input, in arrival order:
        `/drift⏎` pasted is a filter, not a refresh (`r`) and a lost enter."""
        if (isinstance(self.focused, Input) and not getattr(event, "from_input", False)
                and not getattr(event, "replayed", False)):
            replay = events.Key(event.key, event.character)
            replay.replayed = True
            self.focused._forward_event(replay)
            event.prevent_default()
            event.stop()

    # ------------------------------------------------------------------------------------------ actions
    def all_bindings(self) -> list[tuple[str, Binding, str]]:
        from fleettui.ui.screens.main import is_mutating
        from fleettui.ui.widgets.fleet_table import FleetTable

        out = []
        for where, cls in (("hosts", FleetTable), ("", MainScreen), ("", FleetApp)):
            for b in cls.BINDINGS:
                note = "disabled: read-only" if self.read_only and is_mutating(b.action) else ""
                out.append((where, b, note))
        return out

    async def action_quit(self) -> None:
        if self.executing and not getattr(self, "_quit_armed", False):
            self._quit_armed = True
            self.notify("an action is running: q again quits anyway (the plan stays in the journal and is "
                        "offered for resume next time)", severity="warning", timeout=6)
            self.set_timer(6, lambda: setattr(self, "_quit_armed", False))
            return
        self.exit(0)

    def action_help(self) -> None:
        from fleettui.ui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.all_bindings()))

    def action_audit(self) -> None:
        from fleettui.ui.screens.audit import AuditScreen

        self.with_history(lambda records, where, error: self.push_screen(AuditScreen(records, where, error)))

    def with_history(self, show, services: list[str] | None = None) -> None:
        """``show(records, where, error)`` with the plans of the journal: in team mode the team's (every operator's,
        read from the table in a worker; this machine's journal if the table cannot be read, with the reason),
        else this machine's."""
        journal = self.journal
        team = self.config.team

        def local(error: str | None = None) -> None:
            try:
                records, err = list(journal.records().values()), error
            except FleetError as e:
                records, err = [], str(e)
            for w in journal.warnings:
                self.notify(w, severity="warning", markup=False)
            show(records, journal.where if team is None else f"this machine's journal {journal.local.where}", err)

        if team is None or self.gateway is None:
            local()
            return
        names = services or [s.name for s in self.config.services]

        async def fetch() -> None:
            try:
                records = list((await journal.team_records(self.gateway, names)).values())
            except FleetError as e:
                local(f"the team table could not be read ({e}); showing this machine's journal")
                return
            if journal.team_skipped:             # items of the table that are not ours: skipped (one toast)
                n = journal.team_skipped
                self.notify(f"{n} item{'s' if n != 1 else ''} of the team table skipped (not fleettui's), the first: "
                            f"{journal.team_warnings[0].split(': skipped ', 1)[-1]} — `fleettui audit` names them",
                            severity="warning", markup=False)
            show(records, f"team table {team.table} ({team.region})", None)
        self.run_worker(fetch(), name="team-history", group="team-history", exclusive=True, exit_on_error=False)

    def start_action(self, name: str) -> None:
        """A verb's key: see :mod:`fleettui.ui.flows`."""
        self.flows.start(name)

    def offer_resume(self) -> None:
        self.flows.offer_resume()


def _log_traceback(err: BaseException | None) -> str | None:
    if err is None:
        return None
    try:
        from fleettui import paths

        path = paths.ensure_dir(paths.log_dir()) / "fleettui.log"
        with open(path, "a", encoding="utf-8") as fh:
            fh.write("".join(traceback.format_exception(err)))
        return str(path)
    except OSError:
        return None


def make_app(ctx: Context, *, clock: Clock | None = None, actions_factory=None, auto_refresh: bool = True,
             fetch: Fetch | None = None, signals_fetch: SignalsFetch | None = None,
             console_fetch=None, cpu_fetch=None, health_fetch=None) -> FleetApp:
    """The app for ``ctx``.

    ``clock`` () -> aware datetime ("now" for ages and STALE); ``actions_factory`` (gateway) -> Actions;
    ``auto_refresh`` False refreshes once at start and then only on ``r``; ``fetch`` (gateway) -> Snapshot
    replaces the AWS inventory (snapshot tests, benchmarks): like the inventory it runs on the refresh's
    background loop with the gateway opened there, so it must not touch the app. ``signals_fetch`` (gateway,
    snapshot) -> Signals replaces CloudWatch the same way. ``console_fetch`` async (gateway, region, instance id)
    -> str replaces GetConsoleOutput for the host detail (snapshot apps); ``cpu_fetch`` async (gateway, region,
    instance id) -> Points and ``health_fetch`` async (gateway, region, target group arn, instance id) -> TargetHealth
    dict replace its CPU trend and target health the same way.
    """
    app = FleetApp(ctx, clock=clock, actions_factory=actions_factory, auto_refresh=auto_refresh, fetch=fetch,
                   signals_fetch=signals_fetch)
    if console_fetch is not None:
        app.console_fetch = console_fetch
    if cpu_fetch is not None:
        app.cpu_fetch = cpu_fetch
    if health_fetch is not None:
        app.health_fetch = health_fetch
    return app


def run_tui(ctx: Context) -> int:
    app = make_app(ctx)
    app.run()
    return app.return_code or 0
