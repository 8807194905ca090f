"""Left pane: one entry per service with its generation count and a health / drift / age summary."""
from __future__ import annotations

from textual.binding import Binding
from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from fleettui.domain.model import Service
from fleettui.domain.signals import ServiceSignals
from fleettui.format import printable


def _short(text: str, width: int = 10) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def service_prompt(s: Service, compact: bool = False, signals: ServiceSignals | None = None,
                   locked_by: str | None = None) -> Content:
    hosts = s.instances
    healthy = sum(1 for i in hosts if i.is_healthy)
    drift = sum(1 for i in hosts if i.drifted)
    aged = sum(1 for i in hosts if i.age_level)
    aged_error = any(i.age_level == "error" for i in hosts)
    gens = len(s.generations)
    ok = healthy == len(hosts)
    live = s.live
    gap = " " if compact else "  "
    alarm = bool(signals and (signals.firing or signals.worse))
    mark = []
    if signals is not None and signals.worse:
        mark.append(("✗ worse", "bold $text-error"))
    if signals is not None and signals.firing:
        mark.append((f"{' ' if mark else ''}{len(signals.firing)} alarm{'s' if len(signals.firing) != 1 else ''}",
                     "bold $text-error"))
    return Content.assemble(
        (printable(s.name), "bold $text-error" if alarm else "bold"), gap, (f"{gens} gen", "$text-muted"),
        (f"{gap}live {_short(printable(live.version))}" if live else "", "$text-muted"),
        "\n",
        (f"{healthy}/{len(hosts)} {'✓' if ok else '✗'}", "$text-success" if ok else "bold $text-error"),
        gap, (f"{drift} drift", "$drift" if drift else "$text-muted"),
        gap, (f"{aged} aged", ("bold $text-error" if aged_error else "$text-warning") if aged else "$text-muted"),
        *((("\n",) + tuple(mark)) if mark else ()),
        *((("\n", (f"locked: {printable(locked_by, 60)}", "bold $text-warning")) if locked_by else ())),
    )


class ServiceList(OptionList):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "first", "First", show=False),
        Binding("G", "last", "Last", show=False),
    ]

    services: tuple[Service, ...] = ()

    def _prompt(self, s: Service) -> Content:
        team = self.app.state.team.get(s.name)
        lock = team.lock if team is not None else None
        owner = None if lock is None else "malformed lock" if lock.problem else str(lock.owner).rsplit("/", 1)[-1]
        return service_prompt(s, self.narrow, self.app.state.service_signals(s.name), owner)

    @property
    def narrow(self) -> bool:
        return 0 < self.size.width < 30

    def show_services(self, services: tuple[Service, ...], selected: str | None) -> None:
        """Replace the entries (same order) keeping the highlight on ``selected``."""
        self.services = services
        names = [o.id for o in self.options]
        if names == [s.name for s in services]:
            for s in services:
                self.replace_option_prompt(s.name, self._prompt(s))
        else:
            self.set_options(Option(self._prompt(s), id=s.name) for s in services)
        if selected is not None:
            self.select_name(selected)

    def on_resize(self) -> None:
        if self.services:
            for s in self.services:
                self.replace_option_prompt(s.name, self._prompt(s))

    def select_name(self, name: str) -> None:
        try:
            index = self.get_option_index(name)
        except Exception:  # noqa: BLE001 - OptionDoesNotExist
            return
        if self.highlighted != index:
            self.highlighted = index
