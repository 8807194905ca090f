"""`fleettui` command line: the TUI by default, and scriptable subcommands that share the action layer.

One module per group of commands (``status``, ``demo``, ``verbs``: the action verbs and ``plan``, ``journal``:
``resume`` and ``audit``, ``iam``: the generated IAM policies, ``unlock``, ``team``: the team store, ``init``:
``init`` and ``doctor``); each registers its parsers with a ``handler``; :func:`main` dispatches only through
it and turns every FleetError into one line and its exit code.
"""
from __future__ import annotations

import argparse
import sys

from fleettui.cli.common import GLOBAL_DEFAULTS, Parser, err, global_flags, open_context
from fleettui.errors import FleetError
from fleettui.format import printable


def build_parser() -> argparse.ArgumentParser:
    from fleettui.cli import demo, iam, init, journal, status, team, unlock, verbs

    parser = Parser(prog="fleettui", parents=[global_flags(top=True)],
                    description="Dashboard and replace-only actions for immutable EC2 fleets. Without a command, "
                                "opens the TUI.")
    parser.set_defaults(handler=cmd_tui)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    flags = global_flags(top=False)

    def add(name: str, help: str, parents: tuple[argparse.ArgumentParser, ...] = ()) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, parents=[flags, *parents])

    for module in (status, init, demo, verbs, journal, unlock, team, iam):
        module.add_parsers(add)
    return parser


def parse(argv: list[str] | None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    for name, default in GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    args.parse = parse          # for commands that re-read a command line (`plan VERB …`) without importing this
    return args


def cmd_tui(args) -> int:
    from fleettui.ui.app import run_tui

    ctx = open_context(args, progress=err.print)
    try:
        return run_tui(ctx)
    finally:
        ctx.close()


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse(argv)
        return args.handler(args)
    except FleetError as e:
        err.print(f"fleettui: {printable(e)}", soft_wrap=True)   # it may quote the operator's input
        return e.exit_code
    except KeyboardInterrupt:
        err.print("fleettui: interrupted")
        return 130
    except BrokenPipeError:   # `fleettui status | head`: the reader left, nothing to report
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:  # noqa: BLE001 - a bug: one line for the operator, the traceback to the log
        log = _log_traceback()
        err.print(f"fleettui: internal error: {e.__class__.__name__}: {printable(e)} (traceback in {log})",
                  soft_wrap=True)
        return 1


def _log_traceback() -> str:
    import traceback

    from fleettui import paths

    path = paths.ensure_dir(paths.log_dir()) / "fleettui.log"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(traceback.format_exc())
    return str(path)
