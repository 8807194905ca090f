"""The TUI's golden signals, alarms and verdicts (issue #12), a host's console, and the rollback dialog's target
(issue #10), with Pilot against the demo fleet. Signals are injected (``make_app(signals_fetch=...)``) where the
test is about what the screen does with them; the console output comes from moto."""
from __future__ import annotations

import asyncio

from fleettui.errors import FleetError
from fleettui.ui.app import make_app
from fleettui.ui.data.view import Section
from fleettui.ui.widgets.header import FleetHeader
from fleettui.ui.widgets.services import ServiceList

from signals_sample import sample_signals
from test_ui import SIZE, loaded, run, section_lines, until


async def injected(_gw, _snap):
    return sample_signals()


def _section_style(app, version: str):
    table = app.main.table
    index = next(i for i, r in enumerate(table.rows) if isinstance(r, Section) and r.gen.version == version)
    strip = table._row_strip(index, table.size.width)
    return strip, "".join(seg.text for seg in strip)


def test_worse_canary_turns_its_header_red_and_the_banner_suggests_b(demo_ctx):
    async def go():
        app = make_app(demo_ctx, auto_refresh=False, signals_fetch=injected)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(app, pilot)
            await until(pilot, lambda: app.signals is not None)
            sections = section_lines(app)
            canary = next(s for s in sections if s.startswith("1.6.0"))
            live = next(s for s in sections if s.startswith("1.5.0"))
            assert "5xx 4.8%" in canary and "avg 880 ms" in canary and "req/s" in canary
            assert "5xx 0.2%" in live and "avg 184 ms" in live and "✗" not in live
            assert "no traffic" in next(s for s in sections if s.startswith("1.4.0"))
            # the canary's header is red (its background is the error colour), live's is not
            strip, text = _section_style(app, "1.6.0")
            assert "✗ 5xx 4.8% vs 0.2% on 1.5.0" in text
            worse_bg = app.main.table.get_component_rich_style("fleet-table--worse").bgcolor
            assert worse_bg is not None and any(seg.style and seg.style.bgcolor == worse_bg for seg in strip)
            live_strip, _ = _section_style(app, "1.5.0")
            assert not any(seg.style and seg.style.bgcolor == worse_bg for seg in live_strip)
            status = str(app.main.query_one("#status").render())
            assert ("1.6.0: 5xx 4.8% vs 0.2% on 1.5.0 and Average latency 880 ms vs 184 ms over 15 min"
                    " — B takes it out of traffic") in status
            assert "ALARM  web-5xx Threshold Crossed" in status
            assert "ALARM web-5xx" in str(app.main.query_one(FleetHeader).render())
            prompts = {o.id: str(o.prompt) for o in app.main.query_one(ServiceList).options}
            assert "✗ worse 1 alarm" in prompts["web"]
            assert "worse" not in prompts["api"] and "alarm" not in prompts["api"]
            # B, y: the canary is out of traffic while the (injected) signals still judge it: the banner says so
            seen = app.refresh_count
            await pilot.press("B")
            await until(pilot, lambda: app.screen.id == "confirm")
            await pilot.press("y")
            await until(pilot, lambda: app.screen.id == "progress" and app.screen.finished)
            await pilot.press("escape")
            await until(pilot, lambda: app.refresh_count > seen and not app.refreshing)
            status = str(app.main.query_one("#status").render())
            assert "880 ms vs 184 ms over 15 min — out of traffic now" in status
            assert "B takes it out of traffic" not in status
            # a service without a listener: its CPU
            await pilot.press("colon", *"service worker", "enter")
            await pilot.pause()
            assert "cpu 32%" in section_lines(app)[0]
    run(go())


def test_signals_failing_show_the_notice_and_the_inventory_stays(demo_ctx):
    calls = []

    async def failing(_gw, _snap):
        calls.append(1)
        raise FleetError("cloudwatch:GetMetricData AccessDenied")

    async def go():
        app = make_app(demo_ctx, auto_refresh=False, signals_fetch=failing)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(app, pilot)
            await until(pilot, lambda: app.signals is not None)
            assert calls
            header = str(app.main.query_one(FleetHeader).render())
            assert "signals unavailable: cloudwatch:GetMetricData AccessDenied" in header
            assert app.snapshot is not None and not app.stale and app.last_error is None
            assert len(section_lines(app)) == 3 and "15/15 healthy" in section_lines(app)[0]
            # the inventory keeps refreshing
            count = app.refresh_count
            await pilot.press("r")
            await loaded(app, pilot, count + 1)
            assert app.snapshot is not None and not app.stale
    run(go())


def test_real_signals_from_the_demo_make_the_canary_worse(demo, demo_ctx):
    from fleettui.emulator.metrics import seed_metrics

    seed_metrics(demo.endpoint_url, demo.fleet, minutes=20)      # as `fleettui --demo` does, relative to now

    async def go():
        app = make_app(demo_ctx, auto_refresh=False)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(app, pilot)
            await until(pilot, lambda: app.signals is not None, timeout=60)
            assert app.signals.error is None
            web = app.signals.service("web")
            assert web.verdicts["1.6.0"].worse and [a.name for a in web.firing] == ["web-5xx"]
            canary = next(s for s in section_lines(app) if s.startswith("1.6.0"))
            assert "✗ 5xx" in _section_style(app, "1.6.0")[1] and "5xx" in canary
    run(go())
