"""The Textual app. One factory, :func:`make_app`, is used by the CLI, the tests and the snapshot apps.

The UI never waits on AWS: a refresh runs in a worker, and the next one is armed (``set_timer``) only when it
has finished, so polls never overlap; while another screen (detail, help, a dialog) is on top the timer does
not poll, and the refresh that fell due runs when the main screen is back. A failed refresh keeps the last
snapshot and marks it STALE with its age.

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

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from fleettui.aws.background import BackgroundLoop
from fleettui.context import Context
from fleettui.domain.model import Service, Snapshot
from fleettui.errors import FleetError
from fleettui.format import printable
from fleettui.ui.data.view import ServiceView, views_for
from fleettui.ui.screens.main import MainScreen
from fleettui.ui.widgets.header import FleetHeader

Clock = Callable[[], datetime]
Fetch = Callable[[object], Awaitable[Snapshot]]   # (gateway) -> Snapshot; runs on the background loop
BACKGROUND_CLOSE_SECONDS = 5.0    # at exit, how long to wait for the refresh thread to finish what it is parsing


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class FleetApp(App[int]):
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (130, "-wide")]
    CSS_PATH = "app.tcss"
    TITLE = "fleettui"
    ENABLE_COMMAND_PALETTE = False

    BINDINGS = [
        Binding("question_mark", "help", "Help", tooltip="Keys, filter syntax and the effective settings"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, ctx: Context, *, clock: Clock | None = None, actions_factory=None,
                 auto_refresh: bool = True, fetch: Fetch | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.config = ctx.config
        self.now: Clock = clock or _utcnow
        self.polling = auto_refresh
        self._fetch = fetch
        self._actions_factory = actions_factory
        self.snapshot: Snapshot | None = None
        self.views: dict[str, ServiceView] = {}
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self.refreshing = False
        self.executing = False            # a plan is being executed (q asks twice)
        self.refresh_count = 0            # finished refreshes (success or failure); tests wait on it
        self.marks: set[str] = set()
        self.region_filter: str | None = None
        self.gateway = None               # the action layer's, on the UI loop
        self._background: BackgroundLoop | None = None   # the refresh's thread and loop
        self._refresh_gateway = None      # the refresh's, on the background loop: never use it on this one
        self._actions = None
        self._stack = AsyncExitStack()
        self._timer: Timer | None = None
        self._refresh_due = False
        self.main = MainScreen()

    # ------------------------------------------------------------------------------------------ state
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
    def stale(self) -> bool:
        return self.last_error is not None and self.snapshot is not None

    @property
    def regions_shown(self) -> tuple[str, ...]:
        return self.snapshot.regions if self.snapshot else self.config.regions

    @property
    def endpoint_label(self) -> str:
        return self.config.aws.endpoint_url or "AWS (default endpoints)"

    @property
    def current_service(self) -> Service | None:
        if self.snapshot is None or self.main.service_name is None:
            return None
        return self.snapshot.service(self.main.service_name)

    def marks_in(self, service: Service) -> list[str]:
        return [i.id for i in service.instances if i.id in self.marks]

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {"drift": "#d670d6"}

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

    # ------------------------------------------------------------------------------------------ lifecycle
    async def on_mount(self) -> None:
        self._background = BackgroundLoop(name="fleettui-refresh")
        await self.push_screen(self.main)
        self._spinner = self.set_interval(0.1, self._tick_spinner, pause=True)
        self.set_interval(1.0, self._tick_second)
        try:
            self.gateway = await self._stack.enter_async_context(self.ctx.gateway())
            self._refresh_gateway = await asyncio.wrap_future(self._background.enter(self.ctx.gateway))
        except FleetError as e:
            self.last_error = str(e)
            self.last_error_at = self.now()
            self.main.update_fleet()
            return
        self.start_refresh()

    async def on_unmount(self) -> None:
        try:
            await self._stack.aclose()
        finally:
            if self._background is not None:
                # workers (an in-flight refresh) are cancelled by now; close the refresh's gateway and join its
                # thread without blocking this loop
                await asyncio.to_thread(self._background.close, BACKGROUND_CLOSE_SECONDS)

    def _tick_spinner(self) -> None:
        for header in self.screen.query(FleetHeader):
            header.tick()

    def _tick_second(self) -> None:
        if self.stale:
            self._refresh_headers()
            if self.screen is self.main:
                self.main.query_one("#status").refresh()

    # ------------------------------------------------------------------------------------------ refresh
    def start_refresh(self) -> None:
        """Refresh now in a worker, unless one is already running (polls never overlap)."""
        if self.refreshing:
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._refresh_due = False
        self.refreshing = True
        self._spinner.resume()
        self._tick_spinner()
        self.run_worker(self._refresh(), name="refresh", group="refresh", exclusive=True, exit_on_error=False)

    def _fetch_job(self):
        """The refresh as a coroutine for the background loop: it gets values, never the app."""
        gw, fetch, config, now = self._refresh_gateway, self._fetch, self.config, self.now()

        async def job() -> Snapshot:
            if fetch is not None:
                return await fetch(gw)
            from fleettui.aws.inventory import fetch_snapshot

            return await fetch_snapshot(gw, config, now=now)
        return job()

    async def _refresh(self) -> None:
        ok = False
        try:
            # cancelling this worker (quit) cancels the background task through the wrapped future
            snap = await asyncio.wrap_future(self._background.submit(self._fetch_job()))
            ok = True
        except FleetError as e:
            self.last_error = " ".join(str(e).split())
            self.last_error_at = self.now()
            what = "refresh failed" if self.snapshot is None else "refresh failed, showing the last snapshot"
            self.notify(f"{what}: {self.last_error}", severity="error", timeout=8, markup=False)
        finally:
            self.refreshing = False
            self.refresh_count += 1
            self._spinner.pause()
            if not ok and self.last_error is None:
                self.last_error = "refresh failed (see the notification)"
                self.last_error_at = self.now()
        first = ok and self.snapshot is None
        if ok:
            self.snapshot = snap
            self.views = views_for(snap)
            self.last_error = None
            self.last_error_at = None
        self.main.update_fleet()
        self._refresh_headers()
        self._arm_timer()
        if first:
            self.offer_resume()

    def _refresh_headers(self) -> None:
        for header in self.screen.query(FleetHeader):
            header.refresh()

    def _arm_timer(self) -> None:
        if self.polling and self._timer is None:
            self._timer = self.set_timer(self.config.defaults.refresh_seconds, self._on_timer, name="refresh")

    def _on_timer(self) -> None:
        self._timer = None
        if self.screen is not self.main:
            self._refresh_due = True       # a modal or another screen is open: poll when the main screen is back
            return
        self.start_refresh()

    def main_resumed(self) -> None:
        if self._refresh_due:
            self.start_refresh()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Any worker that fails (a bug, an unexpected error) becomes one notification, never a traceback."""
        if event.state != WorkerState.ERROR:
            return
        err = event.worker.error
        log = _log_traceback(err)
        if event.worker.name == "refresh":
            self.refreshing = False
            self._spinner.pause()
            self.last_error = f"{type(err).__name__}: {err}"
            self.last_error_at = self.now()
            self.main.update_fleet()
            self._arm_timer()
        self.notify(f"{event.worker.name or 'task'} failed: {type(err).__name__}: {err}" +
                    (f" (traceback in {log})" if log else ""), severity="error", timeout=10, markup=False)

    def on_key(self, event: events.Key) -> None:
        """Runs before the app checks bindings. With an Input focused, a key gets here either from the Input (it
        did not consume it: enter, escape…) or because it was queued for another widget before the Input took
        the focus (typed or pasted right after `/` or `:`). Either way it goes through the Input once more, in
        arrival order, and comes back marked to have its binding checked: `/drift⏎` pasted is a filter, not a
        refresh (`r`) and a lost enter."""
        if isinstance(self.focused, Input) and not getattr(event, "replayed", False):
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

        journal = self._actions.journal if self._actions is not None else self.ctx.store.journal
        try:
            records, error = list(journal.records().values()), None
        except FleetError as e:
            records, error = [], str(e)
        for w in journal.warnings:
            self.notify(w, severity="warning", markup=False)
        self.push_screen(AuditScreen(records, journal.where, error))

    # ---- actions: intent -> plan (worker) -> confirm -> execute with progress -> refresh
    def start_action(self, name: str) -> None:
        """A verb's key (R / L / W / B / ctrl+d…) on the selected service: its intent from what is on screen."""
        from fleettui.actions.verbs import VERBS, Selection

        if self.read_only:
            self.notify("read-only mode: actions are disabled", severity="warning")
            return
        svc = self.current_service
        if svc is None or self.gateway is None:
            self.notify("no fleet loaded yet: wait for the refresh (r)", severity="warning")
            return
        if any(w.group == "action" and w.is_running for w in self.workers):
            self.notify("an action is already being planned or run", severity="warning")
            return
        verb = VERBS[name]
        gen = self.main.selected_generation()
        try:
            intent = verb.intent_for(Selection(svc, gen.version if gen else None, tuple(self.marks_in(svc))))
        except FleetError as e:
            self.notify(str(e), severity="warning", markup=False)
            return
        if verb.dialog == "weights":
            self.run_worker(self._shift_flow(svc, intent.to), name="weights", group="action", exit_on_error=False)
            return
        self.run_worker(self._action_flow(intent), name=name, group="action", exit_on_error=False)

    async def _shift_flow(self, svc: Service, selected: str | None) -> None:
        from fleettui.actions.verbs import Shift
        from fleettui.ui.dialogs.weights import WeightsDialog

        cfg = self.config.service(svc.name)
        choice = await self.push_screen_wait(WeightsDialog(svc, cfg.shift_steps, selected))
        if choice is None:
            return
        version, weight = choice
        await self._action_flow(Shift(svc.name, to=version, weight=weight))

    async def _action_flow(self, intent) -> None:
        from fleettui.ui.dialogs.confirm import ConfirmPlanDialog

        try:
            # what the operator sees is what gets planned; a STALE snapshot is re-read from AWS first
            plan = await self.actions.plan(intent, None if self.stale else self.snapshot)
        except FleetError as e:
            self.notify(f"cannot plan {intent.verb}: {e}", severity="error", timeout=8, markup=False)
            return
        reason = await self.push_screen_wait(ConfirmPlanDialog(plan))
        if reason is None:
            self.notify(f"{plan.verb} cancelled: nothing was changed", timeout=3)
            return
        await self._execute(plan, reason)

    async def _execute(self, plan, reason: str, record=None) -> None:
        from fleettui.ui.screens.progress import ProgressScreen

        progress = ProgressScreen(plan, resuming=record is not None)
        await self.push_screen(progress)
        self.executing = True
        try:
            if record is not None:
                outcome = await self.actions.resume(record, on_event=progress.on_step)
            else:
                outcome = await self.actions.execute(plan, reason, on_event=progress.on_step)
        except FleetError as e:
            progress.finish_error(str(e))
            self.notify(f"{plan.verb} {plan.service}: {e}", severity="error", timeout=8, markup=False)
        else:
            progress.finish(outcome)
            if outcome.ok:
                self.notify(f"✓ {plan.summary}", timeout=6, markup=False)
            else:
                self.notify(f"{plan.verb} {plan.service} failed at {outcome.failed_step.id if outcome.failed_step else '?'}"
                            f": {outcome.error}", severity="error", timeout=10, markup=False)
        finally:
            self.executing = False
            self._refresh_due = True          # the fleet changed: refresh as soon as the main screen is back
            if self.screen is self.main:
                self.start_refresh()

    def offer_resume(self) -> None:
        """At start-up: plans left unfinished in the journal (crash, Ctrl-C, network loss)."""
        if self.read_only or self.gateway is None:
            return
        self.run_worker(self._resume_flow(), name="resume", group="action", exit_on_error=False)

    async def _resume_flow(self) -> None:
        from fleettui.ui.dialogs.resume import ResumeDialog

        try:
            unfinished = await self.actions.unfinished()      # only this account + endpoint's plans
        except FleetError as e:
            self.notify(f"cannot read the journal: {e}", severity="warning", markup=False)
            return
        for w in self.actions.journal.warnings:
            self.notify(w, severity="warning", markup=False)
        if not unfinished:
            return
        choice = await self.push_screen_wait(ResumeDialog(unfinished))
        if choice is None:
            return
        what, record = choice
        if what == "abandon":
            await self.actions.abandon(record)
            self.notify(f"plan {record.plan.id} marked abandoned", timeout=4)
            return
        await self._execute(record.plan, record.reason, record=record)


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
             fetch: Fetch | None = None) -> FleetApp:
    """The app for ``ctx``.

    ``clock`` () -> aware datetime ("now" for ages and STALE); ``actions_factory`` (gateway) -> Actions;
    ``auto_refresh`` False refreshes once at start and then only on ``r``; ``fetch`` (gateway) -> Snapshot
    replaces the AWS inventory (snapshot tests, benchmarks): like the inventory it runs on the refresh's
    background loop with the gateway opened there, so it must not touch the app.
    """
    return FleetApp(ctx, clock=clock, actions_factory=actions_factory, auto_refresh=auto_refresh, fetch=fetch)


def run_tui(ctx: Context) -> int:
    app = make_app(ctx)
    app.run()
    return app.return_code or 0
