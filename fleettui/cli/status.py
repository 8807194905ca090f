"""`fleettui status`: the fleet grouped by service and generation, as a table or the stable JSON document."""
from __future__ import annotations

import asyncio
import json
import sys

from fleettui.cli.common import err, open_context, out
from fleettui.format import printable


def add_parsers(add) -> None:
    st = add("status", "print the fleet grouped by service and generation")
    st.add_argument("--json", action="store_true", help="machine-readable output (stable contract, see README)")
    st.add_argument("--service", action="append", metavar="NAME", help="only this service (repeatable)")
    st.set_defaults(handler=cmd_status)


def cmd_status(args) -> int:
    from fleettui.aws.inventory import fetch_snapshot
    from fleettui.aws.signals import fetch_signals
    from fleettui.domain.export import add_signals, finite, snapshot_to_dict
    from fleettui.report import render_snapshot

    ctx = open_context(args, progress=None if args.json else err.print)
    try:
        if args.service:
            for name in args.service:
                ctx.config.service(name)  # unknown service -> ConfigError (exit 2)

        async def run():
            async with ctx.gateway() as gw:
                snap = await fetch_snapshot(gw, ctx.config, services=args.service)
                return snap, await fetch_signals(gw, snap, ctx.config)

        snap, signals = asyncio.run(run())
    finally:
        ctx.close()
    if args.json:
        json.dump(finite(add_signals(snapshot_to_dict(snap), signals)), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        render_snapshot(snap, out, signals)
    for e in snap.errors:          # the regions that answered are shown; one line per region that did not
        err.print(f"fleettui: {printable(str(e))}", markup=False, soft_wrap=True)
    return 1 if snap.errors else 0
