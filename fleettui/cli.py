"""`fleettui` command line: the TUI by default, and scriptable subcommands that share the action layer."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys

from rich.console import Console

from fleettui.errors import FleetError

err_console = Console(stderr=True, highlight=False)


def _common(p: argparse.ArgumentParser, suppress: bool) -> None:
    d = argparse.SUPPRESS if suppress else None
    p.add_argument("--config", metavar="PATH", default=d, help="config file (default: $FLEETTUI_CONFIG or the "
                   "user config dir)")
    p.add_argument("--demo", action="store_true", default=argparse.SUPPRESS if suppress else False,
                   help="run against an embedded, seeded emulated AWS (moto) instead of real AWS")
    p.add_argument("--read-only", dest="read_only", action="store_true", default=d,
                   help="refuse every mutating AWS call (overrides [defaults].read_only)")
    p.add_argument("--profile", default=d, help="AWS profile (overrides [aws].profile / AWS_PROFILE)")
    p.add_argument("--region", dest="regions", action="append", default=d, metavar="REGION",
                   help="limit to this region (repeatable)")


class UsageError(FleetError):
    """A command line argparse rejects: bad input like any other (one line, exit 2)."""

    exit_code = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit 2 (the full usage is in --help)."""

    def error(self, message: str):
        cmd = self.prog.removeprefix("fleettui").strip()
        raise UsageError(f"{cmd + ': ' if cmd else ''}{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fleettui", description="Dashboard and replace-only actions for "
                                     "immutable EC2 fleets. Without a command, opens the TUI.")
    _common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        _common(p, suppress=True)
        return p

    st = add("status", "print the fleet grouped by service and generation")
    st.add_argument("--json", action="store_true", help="machine-readable output (stable contract, see README)")
    st.add_argument("--service", action="append", metavar="NAME", help="only this service (repeatable)")

    demo = add("demo", "the embedded emulated AWS")
    demo_sub = demo.add_subparsers(dest="demo_command", metavar="SUBCOMMAND", required=True)
    serve = demo_sub.add_parser("serve", help="run the seeded emulated AWS until Ctrl-C and print its endpoint")
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    serve.add_argument("--config-out", metavar="PATH", help="where to write the ready config file")

    from fleettui import cli_actions  # noqa: PLC0415

    cli_actions.add_parsers(add)
    return parser


def _open(args, progress=None):
    from fleettui.context import open_context

    return open_context(config_path=args.config, demo=args.demo, read_only=args.read_only,
                        profile=args.profile, regions=args.regions, progress=progress)


def cmd_status(args) -> int:
    from fleettui.aws.inventory import fetch_snapshot
    from fleettui.domain.export import snapshot_to_dict
    from fleettui.report import render_snapshot

    ctx = _open(args, progress=None if args.json else err_console.print)
    try:
        if args.service:
            for name in args.service:
                ctx.config.service(name)  # unknown service -> ConfigError (exit 2)

        async def run():
            async with ctx.gateway() as gw:
                return await fetch_snapshot(gw, ctx.config, services=args.service)

        snap = asyncio.run(run())
    finally:
        ctx.close()
    if args.json:
        json.dump(snapshot_to_dict(snap), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        render_snapshot(snap, Console(highlight=False))
    return 0


def cmd_demo_serve(args) -> int:
    import signal
    import threading

    from fleettui.context import serve_demo

    server, fleet, path = serve_demo(port=args.port, config_out=args.config_out)
    try:
        print(f"emulated AWS (moto) on {server.endpoint_url}")
        print(f"seeded {sum(len(v) for v in fleet.instance_ids.values())} instances in {', '.join(fleet.regions)}")
        print(f"config: {path}")
        print(f"  fleettui --config {path} status")
        print(f"  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing aws ec2 describe-instances "
              f"--endpoint-url {server.endpoint_url} --region us-east-1")
        print("Ctrl-C to stop.", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    finally:
        server.stop()
    return 0


def cmd_tui(args) -> int:
    from fleettui.ui.app import run_tui

    ctx = _open(args, progress=err_console.print)
    try:
        return run_tui(ctx)
    finally:
        ctx.close()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        for name, default in (("config", None), ("demo", False), ("read_only", None), ("profile", None),
                              ("regions", None)):
            if not hasattr(args, name):
                setattr(args, name, default)
        if args.command is None:
            return cmd_tui(args)
        if args.command == "status":
            return cmd_status(args)
        if args.command == "demo":
            return cmd_demo_serve(args)
        return args.handler(args)
    except FleetError as e:
        err_console.print(f"fleettui: {e}", markup=False, soft_wrap=True)
        return e.exit_code
    except KeyboardInterrupt:
        err_console.print("fleettui: interrupted")
        return 130
    except BrokenPipeError:   # `fleettui status | head`: the reader left, nothing to report
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:  # noqa: BLE001 - a bug: one line for the operator, the traceback to the log
        log = _log_traceback()
        err_console.print(f"fleettui: internal error: {e.__class__.__name__}: {e} (traceback in {log})",
                          markup=False, soft_wrap=True)
        return 1


def _log_traceback() -> str:
    import traceback

    from fleettui import paths

    path = paths.ensure_dir(paths.log_dir()) / "fleettui.log"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(traceback.format_exc())
    return str(path)


if __name__ == "__main__":
    sys.exit(main())
