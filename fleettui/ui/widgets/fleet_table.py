"""The main table: a Line-API widget over a plain list of rows (generation sections and hosts).

Like DataTable it only renders the lines on screen, but its data is the list the filter produced, so a
filter keystroke swaps a list instead of re-adding every row (DataTable rebuilds cost O(rows) in Python:
seconds at 10,000 hosts). Column widths come from the whole service, computed once per snapshot.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Collection

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from fleettui.domain.model import Finding, Generation, Instance
from fleettui.domain.signals import GenerationSignals, ServiceSignals, Verdict, millis, percent, sparkline
from fleettui.format import format_age, format_weight, printable
from fleettui.ui.data.view import Entry, Row, Section

SHORT_KIND = {
    "drift:image": "image",
    "drift:launch_template_version": "lt-version",
    "drift:launch_template": "no-template",
    "drift:instance_type": "type",
    "drift:security_groups": "sg",
    "drift:iam_instance_profile": "iam",
    "drift:subnet": "subnet",
    "drift:tags": "tags",
    "drift:image_deregistered": "deregistered",
    "drift:image_deprecated": "deprecated",
    "age:max": "age>max",
    "age:warn": "age>warn",
}
_SHOW_VALUES = {"drift:instance_type", "drift:launch_template_version", "drift:iam_instance_profile"}


def finding_summary(findings: tuple[Finding, ...]) -> list[tuple[str, Finding]]:
    """Short words for a row: "type m5.large→m5.xlarge", "sg", "age>max"…"""
    out = []
    for f in findings:
        word = SHORT_KIND.get(f.kind, f.kind.split(":", 1)[-1])
        if f.kind in _SHOW_VALUES and f.expected and f.actual and len(f.expected) + len(f.actual) <= 26:
            word = f"{word} {f.expected}→{f.actual}"
        out.append((word, f))
    return out


def weight_text(weight: int | None, width: int = 10, on: Style | None = None, off: Style | None = None) -> Text:
    if weight is None:
        return Text("no listener", style=off or "dim")
    filled = weight * width / 100
    full = int(filled)
    part = " ▏▎▍▌▋▊▉"[int((filled - full) * 8)] if full < width else ""
    bar = "█" * full + (part if part.strip() else "")
    return Text.assemble((bar, on or "green"), ("░" * (width - len(bar)), off or "dim"), f" {format_weight(weight):>4}")


def latency_label(stat: str) -> str:
    """The statistic's name as shown beside a latency: "avg", "max", "p99"."""
    return {"Average": "avg", "Maximum": "max", "Minimum": "min"}.get(stat, stat)


def signal_text(gs: GenerationSignals, verdict: Verdict | None, spark: int = 8, *, bad: Style | str = "bold red",
                dim: Style | str = "dim") -> Text:
    """A generation's signals in one line: "12.3 req/s  5xx 4.1% ▂▃▅▇  avg 900 ms ▃▅▆█", or its CPU."""
    worse = verdict is not None and verdict.worse
    hot = bad if worse else ""
    text = Text()
    if gs.requests and not gs.total_requests:
        text.append("no traffic", dim)
    elif gs.requests:
        rps = gs.requests_per_s or 0.0
        text.append(f"{rps:.1f} req/s", hot)
        text.append("  5xx ", dim)
        text.append(percent(gs.error_rate), hot)
        if spark:
            text.append(" " + sparkline(gs.error_rates, spark), hot or dim)
        text.append(f"  {latency_label(gs.latency_stat)} ", dim)
        text.append(millis(gs.latency_value), hot)
        if spark:
            text.append(" " + sparkline(gs.latency, spark), hot or dim)
    elif gs.cpu:
        text.append("cpu ", dim)
        text.append("—" if gs.cpu_value is None else f"{gs.cpu_value:.0f}%")
        if spark:
            text.append(" " + sparkline(gs.cpu, spark), dim)
    return text


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    right: bool = False


class FleetTable(ScrollView, can_focus=True):
    """Hosts grouped by generation. Rows are :class:`Section` or :class:`Entry` objects."""

    BINDINGS = [
        Binding("enter", "select", "Details", tooltip="Open the host (or the generation) under the cursor"),
        Binding("space", "toggle_mark", "Mark", tooltip="Mark/unmark the host (a section: all its hosts)"),
        Binding("j,down", "cursor_down", "Down", show=False),
        Binding("k,up", "cursor_up", "Up", show=False),
        Binding("g,home", "top", "Top", show=False),
        Binding("G,end", "bottom", "Bottom", show=False),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False),
    ]

    COMPONENT_CLASSES = {
        "fleet-table--header", "fleet-table--section", "fleet-table--cursor", "fleet-table--cursor-blur",
        "fleet-table--marked", "fleet-table--age-warn", "fleet-table--age-error", "fleet-table--drift",
        "fleet-table--unhealthy", "fleet-table--ok", "fleet-table--dim", "fleet-table--live",
        "fleet-table--canary", "fleet-table--rollback", "fleet-table--bar", "fleet-table--version",
        "fleet-table--worse",
    }

    DEFAULT_CSS = """
    FleetTable {
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        background: $surface;
        & > .fleet-table--header { background: $panel; color: $text-muted; text-style: bold; }
        & > .fleet-table--section { background: $boost; color: $text; }
        & > .fleet-table--version { color: $text; text-style: bold; }
        & > .fleet-table--cursor { background: $block-cursor-background; }
        & > .fleet-table--cursor-blur { background: $block-cursor-blurred-background; }
        & > .fleet-table--marked { color: $accent; text-style: bold; }
        & > .fleet-table--age-warn { color: $text-warning; }
        & > .fleet-table--age-error { color: $text-error; text-style: bold; }
        & > .fleet-table--drift { color: $drift; }
        & > .fleet-table--unhealthy { color: $text-error; text-style: bold; }
        & > .fleet-table--ok { color: $text-success; }
        & > .fleet-table--dim { color: $text-muted; }
        & > .fleet-table--live { background: $success-muted; color: $text; text-style: bold; }
        & > .fleet-table--canary { background: $warning-muted; color: $text; text-style: bold; }
        & > .fleet-table--rollback { background: $primary-muted; color: $text; text-style: bold; }
        & > .fleet-table--bar { color: $success; }
        & > .fleet-table--worse { background: $error-muted; }
    }
    """

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class RowSelected(Message):
        """Enter (or a double click) on a row."""

        def __init__(self, table: "FleetTable", row: Row) -> None:
            super().__init__()
            self.table = table
            self.row = row

    class CursorMoved(Message):
        def __init__(self, table: "FleetTable", row: Row | None) -> None:
            super().__init__()
            self.table = table
            self.row = row

    class MarksChanged(Message):
        pass

    def __init__(self, *, marks: set[str] | None = None, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.rows: list[Row] = []
        self.marks: set[str] = marks if marks is not None else set()
        self.widths: dict[str, int] = {}
        self.empty_message: str = ""
        self.sort: tuple[str, bool] | None = None
        self._strips: LRUCache[tuple, Strip] = LRUCache(512)
        self._anchor: str | None = None
        self._columns_cache: tuple[int, tuple[Column, ...], int, int] | None = None
        self.signals: ServiceSignals | None = None

    def set_signals(self, signals: ServiceSignals | None) -> None:
        """The service's golden signals and verdicts, shown in the generation headers."""
        if signals is self.signals:
            return
        self.signals = signals
        self._strips.clear()
        self.refresh()

    # ----------------------------------------------------------------------------------------- data
    def set_rows(self, rows: list[Row], widths: dict[str, int] | None = None, *, keep: str | None = None) -> None:
        """Swap in new rows, keeping the cursor on the row with key ``keep`` (default: the current one)."""
        # the row the operator last put the cursor on, even if an intermediate filter hid it for a while
        old_key = keep if keep is not None else self._anchor
        old_index = self.cursor
        self.rows = rows
        if widths is not None and widths is not self.widths:
            # another snapshot (or service): cached lines are keyed by row objects of the old one
            if widths != self.widths:
                self._columns_cache = None
            self.widths = widths
            self._strips.clear()
        index = None
        if old_key is not None:
            for n, r in enumerate(rows):
                if r.key == old_key:
                    index = n
                    break
        if index is None:
            index = min(old_index, len(rows) - 1) if rows else 0
            # prefer a host over a section header when landing somewhere new
            if rows and isinstance(rows[index], Section) and index + 1 < len(rows):
                index += 1
        size = Size(self.size.width, len(rows) + 1)
        if size != self.virtual_size:
            self.virtual_size = size
        self.set_reactive(FleetTable.cursor, max(0, index))
        self._scroll_cursor_visible()
        self.refresh()
        self.post_message(self.CursorMoved(self, self.cursor_row))

    @property
    def cursor_row(self) -> Row | None:
        if 0 <= self.cursor < len(self.rows):
            return self.rows[self.cursor]
        return None

    @property
    def host_count(self) -> int:
        return sum(1 for r in self.rows if isinstance(r, Entry))

    def generation_at_cursor(self) -> Generation | None:
        row = self.cursor_row
        return row.gen if row is not None else None

    def refresh_marks(self) -> None:
        self.refresh()        # marks are part of each cached line's key

    def row_text(self, index: int) -> str:
        """Plain text of a row as drawn at the current width (for tests and screen readers)."""
        return self._row_strip(index, self.line_width or 160).text

    # ----------------------------------------------------------------------------------------- cursor
    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.rows) - 1)) if self.rows else 0

    def watch_cursor(self, old: int, new: int) -> None:
        row = self.cursor_row
        self._anchor = row.key if row is not None else None
        # cached strips are keyed by (index, is_cursor, …): only the two rows involved are drawn anew
        self._scroll_cursor_visible()
        self.refresh()
        self.post_message(self.CursorMoved(self, self.cursor_row))

    def _scroll_cursor_visible(self) -> None:
        visible = max(1, self.size.height - 1)
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)
        self._columns_cache = None
        self._strips.clear()
        self._scroll_cursor_visible()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()          # theme or CSS changed: every cached line is stale

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def first_host(self) -> None:
        """Cursor on the first host row (or the first row), scrolled to the top."""
        self.cursor = next((n for n, r in enumerate(self.rows) if isinstance(r, Entry)), 0)
        self.scroll_to(y=0, animate=False, immediate=True)

    def action_top(self) -> None:
        self.cursor = 0

    def action_bottom(self) -> None:
        self.cursor = len(self.rows) - 1

    def action_page_down(self) -> None:
        self.cursor += max(1, self.size.height - 2)

    def action_page_up(self) -> None:
        self.cursor -= max(1, self.size.height - 2)

    def action_select(self) -> None:
        row = self.cursor_row
        if row is not None:
            self.post_message(self.RowSelected(self, row))

    def action_toggle_mark(self) -> None:
        row = self.cursor_row
        if row is None:
            return
        if isinstance(row, Entry):
            self.marks.symmetric_difference_update({row.inst.id})
        else:
            ids = [r.inst.id for r in self._section_hosts(self.cursor)]
            if ids and all(i in self.marks for i in ids):
                self.marks.difference_update(ids)
            else:
                self.marks.update(ids)
        self.refresh_marks()
        self.post_message(self.MarksChanged())

    def _section_hosts(self, index: int) -> list[Entry]:
        out = []
        for r in self.rows[index + 1:]:
            if isinstance(r, Section):
                break
            out.append(r)
        return out

    def on_click(self, event: Click) -> None:
        index = round(self.scroll_y) + event.y - 1
        if event.y >= 1 and 0 <= index < len(self.rows):
            self.cursor = index
            if event.chain >= 2:
                self.action_select()

    # ----------------------------------------------------------------------------------------- layout
    def _columns(self, width: int) -> tuple[tuple[Column, ...], int, int]:
        """Columns that fit ``width``, the gap between them and the findings column's width."""
        if self._columns_cache and self._columns_cache[0] == width:
            return self._columns_cache[1], self._columns_cache[2], self._columns_cache[3]
        w = self.widths
        cols = [Column("id", "instance", max(w.get("id", 19), 8)), Column("az", "az", w.get("az", 10)),
                Column("type", "type", w.get("type", 9)), Column("state", "state", w.get("state", 7)),
                Column("health", "health", w.get("health", 7)), Column("age", "age", 5, right=True),
                Column("lt", "lt", max(w.get("lt", 2), 2), right=True)]
        gap = 2
        mark = 2
        min_findings = 16

        def need(cs, g):
            return mark + sum(c.width for c in cs) + g * len(cs) + min_findings

        if need(cols, gap) > width:
            gap = 1
        for drop in ("lt", "type", "az"):
            if need(cols, gap) <= width:
                break
            cols = [c for c in cols if c.key != drop]
        findings = max(4, width - (mark + sum(c.width for c in cols) + gap * len(cols)))
        self._columns_cache = (width, tuple(cols), gap, findings)
        return tuple(cols), gap, findings

    # ----------------------------------------------------------------------------------------- render
    @property
    def line_width(self) -> int:
        """Cells a row gets: the content width minus the vertical scrollbar."""
        return self.scrollable_content_region.width

    def render_line(self, y: int) -> Strip:
        width = self.line_width
        if y == 0:
            return self._header_strip(width)
        index = round(self.scroll_y) + y - 1
        if index >= len(self.rows):
            if not self.rows and y == 2 and self.empty_message:
                text = Text(printable(self.empty_message), style=self.get_component_rich_style("fleet-table--dim",
                                                                                    partial=True))
                text.pad_left(2)
                return self._to_strip(text, width)
            return Strip.blank(width, self.rich_style)
        return self._row_strip(index, width)

    def _to_strip(self, text: Text, width: int, base: Style | None = None, post: Style | None = None) -> Strip:
        text.truncate(width, overflow="ellipsis", pad=True)
        text.no_wrap = True
        segments = list(text.render(self.app.console))
        base = base if base is not None else self.rich_style
        segments = list(Segment.apply_style(segments, base, post))
        return Strip(segments, width).adjust_cell_length(width, base)

    def _header_strip(self, width: int) -> Strip:
        key = ("header", width, self.sort)
        cached = self._strips.get(key)
        if cached is not None:
            return cached
        cols, gap, findings = self._columns(width)
        text = Text("  ")
        arrow = ""
        if self.sort:
            arrow = "▼" if self.sort[1] else "▲"
        for c in cols:
            label = c.label
            if self.sort and self.sort[0] == c.key:
                label = f"{label}{arrow}" if c.right else f"{label[:c.width - 2]} {arrow}"
            text.append(label.rjust(c.width) if c.right else label.ljust(c.width))
            text.append(" " * gap)
        text.append("findings")
        if self.sort and self.sort[0] == "version":
            text.append(f"   generations by version {arrow}")
        strip = self._to_strip(text, width, base=self.get_component_rich_style("fleet-table--header"))
        self._strips[key] = strip
        return strip

    def _row_strip(self, index: int, width: int) -> Strip:
        row = self.rows[index]
        is_cursor = index == self.cursor
        # keyed by the row object, not its position: a filter keystroke reuses every line still on screen
        if isinstance(row, Section):
            key = (id(row.gen), row.shown, row.filtered, width, is_cursor, self.has_focus, id(self.signals))
        else:
            key = (row, width, is_cursor, self.has_focus, row.inst.id in self.marks)
        cached = self._strips.get(key)
        if cached is not None:
            return cached
        post = None
        if is_cursor:
            cursor = self.get_component_rich_style("fleet-table--cursor" if self.has_focus
                                                   else "fleet-table--cursor-blur")
            post = Style(bgcolor=cursor.bgcolor)
        if isinstance(row, Section):
            base = self.get_component_rich_style("fleet-table--section")
            verdict = self.signals.verdicts.get(row.gen.version) if self.signals is not None else None
            if verdict is not None and verdict.worse:
                base = base + self.get_component_rich_style("fleet-table--worse")
            strip = self._to_strip(self._section_text(row), width, base=base, post=post)
        else:
            strip = self._to_strip(self._entry_text(row.inst, width), width, post=post)
        self._strips[key] = strip
        return strip

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"fleet-table--{name}", partial=True)

    def _section_text(self, row: Section) -> Text:
        g, st = row.gen, row.stats
        s = self._style
        text = Text.assemble((printable(g.version), s("version")))
        for label in g.labels:
            style = {"live": "live", "canary": "canary", "rollback target": "rollback"}[label]
            text.append(" ")
            text.append(f" {label} ", s(style))
        text.append("  ")
        text.append_text(weight_text(g.weight, 10, s("bar"), s("dim")))
        healthy_style = s("ok") if st.healthy == st.total else s("unhealthy")
        text.append("  ")
        text.append(f"{st.healthy}/{st.total} healthy", healthy_style)
        if g.group is not None:          # its own Auto Scaling group: warm (desired > 0) or cold (at 0)
            text.append(f"  {'cold' if g.cold else 'warm'} ", s("dim") if g.cold else s("ok"))
            text.append(f"{printable(g.group.name)} {g.group.desired} ({g.group.min_size}–{g.group.max_size})",
                        s("dim"))
        if row.filtered:
            text.append(f" ({row.shown} shown)", s("dim"))
        ss = self.signals
        gs = ss.generations.get(g.version) if ss is not None else None
        verdict = ss.verdicts.get(g.version) if ss is not None else None
        if gs is not None and (gs.requests or gs.cpu):
            text.append("  ")
            text.append_text(signal_text(gs, verdict, 8, bad=s("unhealthy"), dim=s("dim")))
        if verdict is not None and verdict.worse:
            text.append("  ✗ ", s("unhealthy"))
            reason = verdict.reason.removeprefix(f"{g.version}: ")     # the header starts with the version
            text.append(printable(reason), s("unhealthy"))
        text.append("  ")
        text.append(f"{st.drift} drift", s("drift") if st.drift else s("dim"))
        text.append("  ")
        text.append(f"{st.aged} aged", s("age-error") if st.aged_error else (s("age-warn") if st.aged else s("dim")))
        if st.total:
            text.append("  age ")
            text.append(f"{format_age(st.newest_age_days)}–{format_age(st.oldest_age_days)}")
        text.append("  ")
        image_style = s("age-error") if not g.image.reproducible else Style()
        text.append(printable(g.image.id), image_style)
        if not g.image.reproducible:
            text.append(f" ({g.image.state})", s("age-error"))
        elif g.image.deprecated:
            text.append(" (deprecated)", s("age-warn"))
        created = g.image.created.date().isoformat() if g.image.created else "created ?"
        text.append(f" · {created}", s("dim"))
        if g.launch_template_version is not None:
            text.append(f" · lt v{g.launch_template_version}", s("dim"))
        return text

    def _entry_text(self, inst: Instance, width: int) -> Text:
        cols, gap, findings_width = self._columns(width)
        s = self._style
        marked = inst.id in self.marks
        text = Text()
        text.append("● " if marked else "  ", s("marked") if marked else None)
        space = " " * gap
        for c in cols:
            value, style = self._cell(inst, c.key, marked)
            value = printable(value)
            if len(value) > c.width:
                value = value[: max(0, c.width - 1)] + "…"
            text.append(value.rjust(c.width) if c.right else value.ljust(c.width), style)
            text.append(space)
        first = True
        for word, f in finding_summary(inst.findings):
            if not first:
                text.append(" ")
            first = False
            if f.is_age:
                style = s("age-error") if f.severity == "error" else s("age-warn")
            else:
                style = s("drift")
            text.append(printable(word), style)
        if first:
            text.append("—", s("dim"))
        return text

    def _cell(self, inst: Instance, key: str, marked: bool) -> tuple[str, Style]:
        s = self._style
        if key == "id":
            return inst.id, (s("marked") if marked else (s("drift") if inst.drifted else Style()))
        if key == "az":
            return inst.az, Style()
        if key == "type":
            drift = any(f.kind == "drift:instance_type" for f in inst.findings)
            return inst.type, s("drift") if drift else Style()
        if key == "state":
            return inst.state, Style() if inst.state == "running" else s("unhealthy")
        if key == "health":
            if inst.is_healthy:
                return inst.health, s("ok") if inst.health == "healthy" else s("dim")
            return inst.health, s("unhealthy")
        if key == "age":
            level = inst.age_level
            return format_age(inst.age_days), (s("age-error") if level == "error" else
                                               s("age-warn") if level == "warn" else Style())
        if key == "lt":
            v = inst.launch_template_version
            drift = any(f.kind in ("drift:launch_template_version", "drift:launch_template") for f in inst.findings)
            return (f"v{v}" if v else "—"), s("drift") if drift else Style()
        return "", Style()


def entries(rows: Collection[Row]) -> list[Entry]:
    return [r for r in rows if isinstance(r, Entry)]
