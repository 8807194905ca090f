"""What an entry point (CLI command or TUI) runs with: the validated config, read-only flag, and, for
``--demo``, the embedded AWS it started. Builds gateways; owns the demo server's lifetime. The only module that
imports ``fleettui.emulator`` (for ``--demo`` and ``demo serve``; a layering test checks it)."""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from fleettui.aws.gateway import Gateway
from fleettui.clock import SYSTEM, Clock
from fleettui.config import Config, load_config
from fleettui.errors import ConfigError
from fleettui.store import Store
from fleettui.store.local import JsonlJournal, fresh_endpoint_dir, journal_path_for, remove_endpoint_dir
from fleettui.store.taglock import TagLock


DEMO_TEAM_TABLE = "fleettui"     # the demo (and `demo serve`) run in team mode on this table of the emulator


def demo_team() -> dict:
    """The team table the emulator creates for the demo: the one `fleettui team init` creates."""
    from fleettui.aws.dynamodb import TABLE_SPEC, TTL_ATTRIBUTE

    return {"table": DEMO_TEAM_TABLE, "spec": TABLE_SPEC, "ttl_attribute": TTL_ATTRIBUTE}


@dataclass
class Context:
    config: Config
    read_only: bool
    demo: object | None = None      # fleettui.emulator.server.EmbeddedAws when --demo
    clock: Clock = SYSTEM           # what plans wait on and stamp events with (tests: a VirtualClock)
    _store: Store | None = field(default=None, repr=False)

    def gateway(self, **kwargs) -> Gateway:
        return Gateway(self.config.aws, read_only=self.read_only, **kwargs)

    @property
    def store(self) -> Store:
        """Where this context's plans are journaled and how its services are locked (built once): the journal of
        this config's endpoint (an emulator's lives and dies with it). Actions bind it to the account (STS)."""
        if self._store is None:
            local = JsonlJournal(journal_path_for(self.config.aws.endpoint_url), clock=self.clock)
            if self.config.team is None:
                self._store = Store(journal=local, lock=TagLock)
            else:      # [team]: the shared DynamoDB table (the local journal stays the write-ahead record)
                from fleettui.store.dynamo import TeamJournal, team_lock_factory

                self._store = Store(journal=TeamJournal(local, self.config.aws, self.config.team),
                                    lock=team_lock_factory(self.config.team))
            self._store.journal.read_only = self.read_only
        return self._store

    def actions(self, gw: Gateway, **kwargs):
        """The action layer on ``gw`` with this context's config, read-only flag and store."""
        from fleettui.actions.api import Actions

        return Actions(config=self.config, gw=gw, read_only=self.read_only, journal=self.store.journal,
                       lock=self.store.lock, clock=self.clock, **kwargs)

    @property
    def mode(self) -> str:
        """"team" with a shared store ([team]), else "solo" (this machine's journal, the tag lock)."""
        return "solo" if self.config.team is None else "team"

    @property
    def profile_label(self) -> str:
        return self.config.aws.profile or ("demo" if self.demo else os.environ.get("AWS_PROFILE", "default"))

    def close(self) -> None:
        if self.demo is not None:
            self.demo.stop()
            remove_endpoint_dir(self.demo.endpoint_url)
            self.demo = None


def open_context(*, config_path: str | Path | None = None, demo: bool = False, read_only: bool | None = None,
                 profile: str | None = None, regions: list[str] | None = None, progress=None,
                 clock: Clock = SYSTEM) -> Context:
    """Load config (or start and seed the embedded AWS for --demo) and apply command-line overrides."""
    server = None
    if demo:
        from fleettui.emulator import start_demo  # moto is heavy: import only when asked for

        if progress:
            progress("starting embedded AWS (moto) and seeding the demo fleet…")
        # the demo's config and journal live in its emulator instance's own state dir, removed when it stops
        server, _fleet, path = start_demo(config_dir=fresh_endpoint_dir, team=demo_team())
        config_path = path
    try:
        config = load_config(config_path)
        if regions:
            config = config.limited_to(regions)
    except BaseException:
        if server is not None:
            server.stop()
        raise
    if profile:
        config = replace(config, aws=replace(config.aws, profile=profile))
    ro = config.defaults.read_only if read_only is None else read_only
    return Context(config=config, read_only=ro, demo=server, clock=clock)


def serve_demo(*, port: int = 0, config_out: str | Path | None = None, bad: tuple[str, ...] = ()):
    """``fleettui demo serve``: start the embedded AWS on ``port`` of 127.0.0.1 (0: a free one), seed the demo fleet
    and write its config (``config_out``, else in this server's own state dir, which also holds the journal of
    every client of this server). Returns (server, fleet, config path); the caller stops the server and calls
    :func:`demo_stopped`. A port in use is bad input (ConfigError: one line, exit 2), not an internal error."""
    from fleettui.emulator import start_demo
    from fleettui.emulator.server import HOST

    try:
        return start_demo(port=port, config_out=config_out, config_dir=fresh_endpoint_dir, bad=set(bad),
                          team=demo_team())
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise ConfigError(f"demo serve: port {port} on {HOST} is in use (choose another --port, or 0 for a free "
                              "one)") from None
        raise


def demo_stopped(server) -> None:
    """A `demo serve` emulator stopped: its state directory goes with it."""
    remove_endpoint_dir(server.endpoint_url)
