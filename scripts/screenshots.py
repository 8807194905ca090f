#!/usr/bin/env python3
"""Regenerate screenshots/*.svg from the demo fleet (embedded moto, seeded like `fleettui --demo`).

    .venv/bin/python scripts/screenshots.py [--out screenshots] [--size 160x45]

main.svg (the dashboard), filter.svg (`/drift`), detail.svg (a host with an instance type outside its launch
template, with its target health and CPU trend), help.svg (`?`), rollback.svg (`B`: the precomputed rollback plan,
before `y`), rollback-target.svg (`t` in it: the other candidates), generation.svg (`enter` on web's 1.6.0 canary
header: its signals beside live's and the verdict), small.svg (the decommission dialog at 80×24), asg.svg
(`:service checkout`: one Auto Scaling group per generation, live / warm / cold), rollout.svg (last: web's 1.7.0
launched, then `O` on it: a rollout baking its first step). Only rollout.svg changes the emulated AWS;
the journal goes to a throw-away directory.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def _until(pilot, predicate, timeout: float = 60.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            await pilot.pause()
            return
        await pilot.pause(0.05)
    raise TimeoutError("the app did not get there in time")


async def shoot(ctx, out: Path, size: tuple[int, int], only: set[str] | None = None) -> list[Path]:
    from fleettui.ui.app import make_app
    from fleettui.ui.data.view import Section

    written: list[Path] = []

    async def one(name: str, keys: list[str], ready=None, at: tuple[int, int] | None = None, cursor=None) -> None:
        """``cursor`` (row) -> bool: the table row to put the cursor on before the keys."""
        if only and name not in only:
            return
        app = make_app(ctx, auto_refresh=False)
        async with app.run_test(size=at or size) as pilot:
            await _until(pilot, lambda: app.refresh_count >= 1 and app.signals is not None)
            if app.snapshot is None:
                raise RuntimeError(f"the demo fleet could not be read: {app.last_error}")
            if cursor is not None:
                table = app.main.table
                table.cursor = next(n for n, row in enumerate(table.rows) if cursor(row))
                await pilot.pause()
            for key in keys:
                await pilot.press(key)
            if ready is not None:
                await _until(pilot, lambda: ready(app))
            await pilot.pause(0.2)
            path = out / f"{name}.svg"
            app.save_screenshot(filename=path.name, path=str(out))
            written.append(path)

    await one("main", [])
    await one("filter", ["slash", *"drift", "enter"])
    await one("detail", ["slash", *"m5.xlarge", "enter", "enter"],
              lambda app: app.screen.id == "detail" and all(
                  "reading" not in str(app.screen.query_one(f"#detail-{box}").render())
                  for box in ("health", "cpu", "console")))
    await one("help", ["question_mark"], lambda app: app.screen.id == "help")
    await one("rollback", ["B"], lambda app: app.screen.id == "confirm")
    await one("rollback-target", ["B", "t"], lambda app: app.screen.id == "rollback-target")
    await one("generation", ["enter"], lambda app: app.screen.id == "generation",
              cursor=lambda row: isinstance(row, Section) and row.gen.service == "web" and row.gen.version == "1.6.0")
    await one("small", ["g", "ctrl+d"], lambda app: app.screen.id == "confirm", at=(80, 24))
    await one("asg", ["colon", *"service", "space", *"checkout", "enter"])
    if not only or "rollout" in only:       # last: it changes the emulated AWS (1.7.0 launched, 25% of traffic)
        await rollout(ctx, out, size, written)
    return written


async def rollout(ctx, out: Path, size: tuple[int, int], written: list[Path]) -> None:
    """rollout.svg: web's 1.7.0 launched as `L` does, then `O` on it with the demo's steps: the progress screen
    while the first step bakes (the header names the rollout on every screen)."""
    from textual.widgets import Static

    from fleettui.actions.verbs import Launch
    from fleettui.ui.app import make_app
    from fleettui.ui.data.view import Section

    app = make_app(ctx, auto_refresh=False)
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: app.refresh_count >= 1 and app.signals is not None)
        outcome = await app.actions.execute(await app.actions.plan(Launch("web")), "screenshot: a new generation")
        if not outcome.ok:
            raise RuntimeError(f"launching web's new generation failed: {outcome.error}")
        seen = app.refresh_count
        app.start_refresh()
        await _until(pilot, lambda: app.refresh_count > seen)
        table = app.main.table
        table.cursor = next(n for n, row in enumerate(table.rows) if isinstance(row, Section)
                            and row.gen.service == "web" and row.gen.version == "1.7.0")
        await pilot.press("O")
        await _until(pilot, lambda: app.screen.id == "rollout")
        await pilot.press("enter")
        await _until(pilot, lambda: app.screen.id == "confirm")
        await pilot.press("y")
        await _until(pilot, lambda: app.screen.id == "progress" and "baking" in str(
            app.screen.query_one("#progress-rollout", Static).render()), timeout=120)
        await pilot.pause(1.2)           # the header's once-a-second rollout line
        app.save_screenshot(filename="rollout.svg", path=str(out))
        written.append(out / "rollout.svg")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(ROOT / "screenshots"), help="output directory (default: screenshots/)")
    p.add_argument("--size", default="160x45", help="terminal size COLSxROWS (default 160x45)")
    p.add_argument("--only", action="append", metavar="NAME", help="only this screenshot (e.g. asg); repeatable")
    args = p.parse_args(argv)
    cols, rows = (int(x) for x in args.size.lower().split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ["FLEETTUI_HOME"] = tempfile.mkdtemp(prefix="fleettui-screenshots-")   # journal, logs: throw-away

    from fleettui.context import open_context

    ctx = open_context(demo=True, progress=lambda msg: print(msg, file=sys.stderr))
    try:
        for path in asyncio.run(shoot(ctx, out, (cols, rows), set(args.only or ()))):
            print(path)
    finally:
        ctx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
