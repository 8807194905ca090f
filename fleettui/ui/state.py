"""What the screens show, in one place: the snapshot and its views, marks, the region filter, the last error.
The app owns one :class:`ViewState`; the header, the status line and help read it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fleettui.domain.model import Service, Snapshot
from fleettui.domain.signals import ServiceSignals, Signals
from fleettui.ui.data.view import ServiceView, views_for


@dataclass
class ViewState:
    snapshot: Snapshot | None = None
    views: dict[str, ServiceView] = field(default_factory=dict)
    marks: set[str] = field(default_factory=set)
    region_filter: str | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    refresh_count: int = 0           # finished refreshes (success or failure); tests wait on it
    executing: bool = False          # a plan is being executed (q asks twice)
    signals: Signals | None = None   # the latest golden signals and alarms (their own poller)
    team: dict = field(default_factory=dict)   # service -> store.dynamo.TeamStatus (team mode: locks, last change)
    team_error: str | None = None

    def service_signals(self, name: str | None) -> ServiceSignals | None:
        if self.signals is None or name is None or name not in self.signals.services:
            return None
        return self.signals.services[name]

    @property
    def stale(self) -> bool:
        return self.last_error is not None and self.snapshot is not None

    def snapshot_ready(self, snapshot: Snapshot) -> bool:
        """Swap in a new snapshot; True when it is the first one."""
        first = self.snapshot is None
        self.snapshot = snapshot
        self.views = views_for(snapshot)
        self.last_error = None
        self.last_error_at = None
        self.refresh_count += 1
        return first

    def failed(self, error: str, at: datetime, *, counts: bool = True) -> None:
        self.last_error = error
        self.last_error_at = at
        if counts:
            self.refresh_count += 1

    def service(self, name: str | None) -> Service | None:
        if self.snapshot is None or name is None:
            return None
        return self.snapshot.service(name)

    def marks_in(self, service: Service) -> list[str]:
        return [i.id for i in service.instances if i.id in self.marks]
