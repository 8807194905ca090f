"""The screen an operator lives in: services on the left, the selected service's hosts by generation."""
from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, OptionList, Static

from fleettui.format import printable
from fleettui.ui.data.filter import NO_FILTER, Filter, FilterError, parse_filter
from fleettui.ui.data.view import Entry, Section, rows_for
from fleettui.ui.widgets.fleet_table import FleetTable
from fleettui.ui.widgets.footer import FleetFooter
from fleettui.ui.widgets.header import FleetHeader
from fleettui.ui.widgets.prompt import PromptBar
from fleettui.ui.widgets.services import ServiceList
from fleettui.ui.widgets.status import ServiceStatus

if TYPE_CHECKING:
    from fleettui.ui.app import FleetApp

from fleettui.actions.verbs import VERBS


def is_mutating(action: str) -> bool:
    """Bindings of the verbs (``verb('rollback')``…) change AWS; every other binding only reads. Textual's
    check_action gets the action's name ("verb"), the help screen the binding's whole action string."""
    return action == "verb" or action.startswith("verb(")

COMMANDS = {
    "service NAME": "show a service (also :s NAME)",
    "region NAME": "only hosts in one region (:region all shows every region)",
    "audit": "the action journal: who did what, why, and how it ended",
    "unmark": "clear all marks",
    "refresh": "refresh now (same as r)",
    "services": "show or hide the services pane (same as s)",
    "help": "keys, filter syntax and the effective settings (same as ?)",
    "quit": "leave fleettui (also :q)",
}


class MainScreen(Screen):
    app: "FleetApp"

    BINDINGS = [
        Binding("slash", "filter", "Filter", tooltip="Filter hosts: text, drift, aged, age>14d, v:1.5, state:running"),
        Binding("colon", "command", "Command", tooltip=":service NAME, :region NAME|all, :audit"),
        Binding("escape", "back", "Clear/back", show=False),
        Binding("r", "refresh", "Refresh"),
        Binding("tab", "switch_pane", "Switch pane", show=False),
        Binding("s", "toggle_services", "Services", tooltip="Show or hide the services pane (hidden below 100 "
                "columns)"),
        Binding("A", "sort('age')", "Sort by age", show=False),
        Binding("V", "sort('version')", "Sort by version", show=False),
        Binding("S", "sort('state')", "Sort by state", show=False),
        *[Binding(v.key, f"verb('{v.name}')", v.label, tooltip=v.tooltip) for v in VERBS.values() if v.key],
    ]

    # read keys that leave the key bar first when it does not fit (help lists every key)
    FOOTER_DROP = ("select", "toggle_mark", "command", "refresh", "toggle_services", "filter")
    NARROW = 100          # below this width the services pane starts hidden

    def __init__(self) -> None:
        super().__init__(id="main")
        self.services_shown: bool | None = None       # None: by width; True/False: the operator chose (s)
        self.service_name: str | None = None
        self.filter: Filter = NO_FILTER
        self.sort: tuple[str, bool] | None = None

    # ------------------------------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield FleetHeader()
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield Label("SERVICES", classes="pane-title")
                yield ServiceList(id="services")
            with Vertical(id="right"):
                yield ServiceStatus(id="status")
                yield PromptBar("/", "drift  aged  age>14d  v:1.5  state:running  region:eu-west-1  !term  text…",
                                "tab: complete · enter: keep · esc: clear", completer=self.filter_candidates,
                                id="filter")
                yield PromptBar(":", "service web · region eu-west-1 · region all · audit · help",
                                "tab: complete · enter: run · esc: close", completer=self.command_candidates,
                                id="command")
                yield FleetTable(marks=self.app.marks, id="table")
                yield Static(id="empty")
        yield FleetFooter()

    @property
    def table(self) -> FleetTable:
        return self.query_one(FleetTable)

    @property
    def filter_bar(self) -> PromptBar:
        return self.query_one("#filter", PromptBar)

    @property
    def command_bar(self) -> PromptBar:
        return self.query_one("#command", PromptBar)

    def on_mount(self) -> None:
        self.query_one(FleetHeader).set_class(self.app.production, "production")
        self.update_fleet()
        self.table.focus()

    def on_resize(self) -> None:
        self._show_services()

    def _show_services(self) -> None:
        shown = self.services_shown if self.services_shown is not None else self.size.width >= self.NARROW
        self.query_one("#left").display = shown
        if not shown and self.focused is self.query_one(ServiceList):
            self.table.focus()

    def action_toggle_services(self) -> None:
        left = self.query_one("#left")
        self.services_shown = not left.display
        self._show_services()

    def on_screen_resume(self) -> None:
        self.app.main_resumed()

    # ------------------------------------------------------------------------------------------ data -> view
    def update_fleet(self) -> None:
        """After every refresh (success or failure): services, status, table; cursor/marks/filter/sort kept."""
        app = self.app
        snap = app.snapshot
        empty = self.query_one("#empty", Static)
        self.query_one(FleetHeader).refresh()
        if snap is None:
            self.table.display = False
            empty.display = True
            if app.last_error:
                empty.update(Content.assemble(
                    ("Cannot read the fleet\n\n", "bold $text-error"), (app.last_error, "$text-error"),
                    ("\n\nCheck the profile, credentials and endpoint (? shows the effective settings); "
                     "r retries.", "$text-muted")))
            else:
                empty.update(Content.assemble(("Reading the fleet from ", "$text-muted"),
                                              (app.endpoint_label, "bold"), ("…", "$text-muted")))
            self.query_one(ServiceStatus).refresh(layout=True)
            return
        empty.display = not snap.services
        empty.update(Content.from_markup("[$text-muted]No services configured.[/]"))
        self.table.display = bool(snap.services)
        names = [s.name for s in snap.services]
        if self.service_name not in names:
            self.service_name = names[0] if names else None
        self.query_one(ServiceList).show_services(snap.services, self.service_name)
        self._set_suggestions(names)
        self.apply_view()
        self.refresh_status()

    def apply_view(self, keep: str | None = None) -> None:
        """Recompute the table rows from the current service, filter, region and sort (one list pass)."""
        view = self.app.views.get(self.service_name or "")
        table = self.table
        table.sort = self.sort
        table.set_signals(self.app.state.service_signals(self.service_name))
        if view is None:
            table.set_rows([], {})
        else:
            rows = rows_for(view, self.filter, region=self.app.region_filter, sort=self.sort, marks=self.app.marks)
            what = []
            if self.filter.active:
                what.append(f"/{self.filter.text}")
            if self.app.region_filter:
                what.append(f"region {self.app.region_filter}")
            table.empty_message = (f"no hosts match {' and '.join(what)}  (esc clears the filter)" if what
                                   else "no hosts in this service")
            table.set_rows(rows, view.widths, keep=keep)

    def update_signals(self) -> None:
        """New signals (or their failure): headers, the services pane, the banner; the inventory is untouched."""
        self.query_one(FleetHeader).refresh()
        snap = self.app.snapshot
        if snap is not None:
            self.query_one(ServiceList).show_services(snap.services, self.service_name)
        self.table.set_signals(self.app.state.service_signals(self.service_name))
        self.refresh_status()

    def refresh_status(self) -> None:
        self.query_one(ServiceStatus).refresh(layout=True)

    def _set_suggestions(self, names: list[str]) -> None:
        words = [f"service {n}" for n in names] + [f"region {r}" for r in self.app.config.regions]
        words += ["region all", "audit", "unmark", "refresh", "help", "quit"]
        self.command_bar.input.suggester = SuggestFromList(words, case_sensitive=False)

    def select_service(self, name: str) -> None:
        if name == self.service_name:
            return
        self.service_name = name
        self.query_one(ServiceList).select_name(name)
        self.apply_view(keep="")
        self.refresh_status()
        self.table.first_host()

    # ------------------------------------------------------------------------------------------ events
    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self.select_service(event.option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.select_service(event.option.id)
        self.table.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.parent is None or event.input.parent.parent is not self.filter_bar:
            return
        try:
            flt = parse_filter(event.value)
        except FilterError as e:
            self.filter_bar.set_error(str(e))
            return
        self.filter_bar.set_error(None)
        self.filter = flt
        self.apply_view()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        bar = event.input.parent.parent if event.input.parent else None
        if bar is self.filter_bar:
            if self.filter_bar.error:
                return
            if not event.value.strip():
                self.filter_bar.close()
            self.table.focus()
        elif bar is self.command_bar:
            error = self.run_command(event.value)
            if error:
                self.command_bar.set_error(error)
                return
            self.command_bar.input.value = ""
            self.command_bar.close()
            if self.is_current:
                self.table.focus()

    def on_fleet_table_row_selected(self, event: FleetTable.RowSelected) -> None:
        if isinstance(event.row, Entry) and self.app.snapshot is not None:
            from fleettui.ui.screens.detail import HostDetailScreen

            svc = self.app.snapshot.service(self.service_name or "")
            self.app.push_screen(HostDetailScreen(event.row.inst, event.row.gen, svc))
        elif isinstance(event.row, Section) and self.app.snapshot is not None:
            from fleettui.ui.screens.generation import GenerationScreen

            svc = self.app.snapshot.service(self.service_name or "")
            gen = event.row.gen
            # team mode: the weight history of every operator (the team's audit), else this machine's journal
            self.app.with_history(lambda records, _where, _error: self.app.push_screen(
                GenerationScreen(svc, gen, records)), services=[svc.name])

    def on_fleet_table_marks_changed(self, _event: FleetTable.MarksChanged) -> None:
        self.refresh_status()

    # ------------------------------------------------------------------------------------------ commands
    def run_command(self, text: str) -> str | None:
        """Run a `:` command; returns an error message (shown inline) or None."""
        words = text.split()
        if not words:
            return None
        cmd, args = words[0].lower(), words[1:]
        app = self.app
        if cmd in ("service", "svc", "s"):
            names = [s.name for s in app.snapshot.services] if app.snapshot else [s.name for s in app.config.services]
            if len(args) != 1:
                return f"usage: :service NAME (one of {', '.join(names)})"
            if args[0] not in names:
                return f"unknown service {args[0]!r} (one of {', '.join(names)})"
            self.select_service(args[0])
            return None
        if cmd in ("region", "r"):
            regions = list(app.config.regions)
            if len(args) != 1:
                return f"usage: :region NAME|all (one of {', '.join(regions)})"
            if args[0] == "all":
                app.region_filter = None
            elif args[0] in regions:
                app.region_filter = args[0]
            else:
                return f"unknown region {args[0]!r} (configured: {', '.join(regions)}, or all)"
            self.query_one(FleetHeader).refresh()
            self.apply_view()
            self.refresh_status()
            return None
        if cmd == "audit":
            app.action_audit()
            return None
        if cmd == "unmark":
            app.marks.clear()
            self.table.refresh_marks()
            self.refresh_status()
            return None
        if cmd == "refresh":
            app.start_refresh()
            return None
        if cmd == "services":
            self.action_toggle_services()
            return None
        if cmd in ("help", "h"):
            app.action_help()
            return None
        if cmd in ("quit", "q", "q!"):
            app.exit(0)
            return None
        return f"unknown command {cmd!r} (commands: service, region, audit, unmark, refresh, services, help, quit)"

    # ------------------------------------------------------------------------------------------ tab completion
    def command_candidates(self, value: str) -> list[str]:
        app = self.app
        names = [s.name for s in app.snapshot.services] if app.snapshot else [s.name for s in app.config.services]
        phrases = [f"service {n}" for n in names] + [f"region {r}" for r in app.config.regions]
        phrases += ["region all", "audit", "unmark", "refresh", "services", "help", "quit"]
        typed = " ".join(value.split()).lower() + (" " if value.endswith(" ") and value.strip() else "")
        return [p for p in phrases if p.startswith(typed)]

    def filter_candidates(self, value: str) -> list[str]:
        """Complete the last term: keywords, and the versions, states, regions… of the shown service."""
        last = value.split(" ")[-1]
        head = value[: len(value) - len(last)]
        neg = "!" if last.startswith("!") else ""
        word = last[len(neg):].lower()
        svc = self.app.current_service
        hosts = svc.instances if svc else ()
        words = ["drift", "aged", "unhealthy", "marked", "age>", "age<"]
        words += [f"v:{g.version}" for g in (svc.generations if svc else ())]
        words += [f"state:{x}" for x in sorted({i.state for i in hosts})]
        words += [f"health:{x}" for x in sorted({i.health for i in hosts})]
        words += [f"region:{r}" for r in self.app.config.regions]
        words += [f"az:{x}" for x in sorted({i.az for i in hosts})]
        words += [f"type:{x}" for x in sorted({i.type for i in hosts})]
        words += [f"tag:{x}" for x in sorted({k for i in hosts for k in i.tags if not k.startswith("aws:")})]
        return [head + neg + w for w in words if w.startswith(word)]

    # ------------------------------------------------------------------------------------------ actions
    def footer_hides(self, binding: Binding) -> bool:
        """Read-only: the mutating keys leave the key bar (pressed, they say why they do nothing)."""
        return self.app.read_only and is_mutating(binding.action)

    def action_filter(self) -> None:
        self.command_bar.close()
        self.filter_bar.open()

    def action_command(self) -> None:
        self.command_bar.open("")

    def action_back(self) -> None:
        if self.command_bar.shown:
            self.command_bar.close()
            self.table.focus()
            return
        if self.filter_bar.shown or self.filter.active:
            self.filter_bar.input.value = ""
            self.filter = NO_FILTER
            self.filter_bar.close()
            self.apply_view()
            self.table.focus()
            return
        if self.app.region_filter:
            self.run_command("region all")
            return
        if self.focused is not self.table:
            self.table.focus()

    def action_refresh(self) -> None:
        self.app.start_refresh()

    def action_switch_pane(self) -> None:
        services = self.query_one(ServiceList)
        if self.focused is self.table:
            services.focus()
        else:
            self.table.focus()

    def action_sort(self, key: str) -> None:
        if self.sort and self.sort[0] == key:
            self.sort = (key, not self.sort[1])
        else:
            self.sort = (key, False)
        self.apply_view()

    def selected_generation(self):
        return self.table.generation_at_cursor()

    def action_verb(self, name: str) -> None:
        self.app.start_action(name)
