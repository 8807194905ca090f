"""What workers tell the app (harlequin style): typed messages, handled with ``@on`` on the UI thread."""
from __future__ import annotations

from textual.message import Message

from fleettui.domain.model import Snapshot
from fleettui.domain.signals import Signals


class SnapshotReady(Message):
    """A refresh read the fleet."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class RefreshFailed(Message):
    """A refresh could not read the fleet; ``notify`` False when the operator was told already."""

    def __init__(self, error: str, *, notify: bool = True) -> None:
        super().__init__()
        self.error = error
        self.notify = notify


class ActionFinished(Message):
    """A plan ran (or stopped): the fleet changed, refresh when the main screen is in front."""


class SignalsReady(Message):
    """A signals fetch read CloudWatch (its ``error`` set when CloudWatch could not be read)."""

    def __init__(self, signals: Signals) -> None:
        super().__init__()
        self.signals = signals


class SignalsFailed(Message):
    """A signals fetch failed outright: ``error`` is "signals unavailable: …"; the inventory is unaffected."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class TeamReady(Message):
    """The team store was read: per service its live lock and last change (``error``: it could not be read)."""

    def __init__(self, team: dict, error: str | None = None) -> None:
        super().__init__()
        self.team = team
        self.error = error
