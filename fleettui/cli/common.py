"""What every command shares: the consoles, the global flags (a parent parser), one-line usage errors, and the
one place that opens a context (config, demo, read-only, profile, regions) from parsed arguments."""
from __future__ import annotations

import argparse
import asyncio

from rich.console import Console, ConsoleDimensions

from fleettui.errors import FleetError


class CliConsole(Console):
    """The CLI's console. Strings are never markup (everything printed carries data from AWS or the operator: build
    styled output with ``rich.text.Text``). When the output is not a terminal (a pipe, a file, CI) there is no
    width to fit: rows are printed whole, never cut with an ellipsis nor wrapped inside a cell, whatever
    $COLUMNS says, so ids can be copied from them."""

    def __init__(self, **kwargs) -> None:
        super().__init__(highlight=False, markup=False, emoji=False, **kwargs)

    def input(self, prompt="", *, markup: bool = False, emoji: bool = False, **kwargs) -> str:
        """Console.input parses a str prompt as markup whatever the console's setting: "Proceed? [y/N]" showed as
        "Proceed?" (the [y/N] taken for a style tag)."""
        return super().input(prompt, markup=markup, emoji=emoji, **kwargs)

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(10_000, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)


out = CliConsole()
err = CliConsole(stderr=True)

GLOBAL_DEFAULTS = {"config": None, "demo": False, "read_only": None, "profile": None, "regions": None}


class UsageError(FleetError):
    """A command line argparse rejects: bad input like any other (one line, exit 2)."""

    exit_code = 2


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit 2 (the full usage is in --help)."""

    def error(self, message: str):
        cmd = self.prog.removeprefix("fleettui").strip()
        raise UsageError(f"{cmd + ': ' if cmd else ''}{message} (see `{self.prog} --help`)")


def global_flags(top: bool) -> argparse.ArgumentParser:
    """The flags every command takes, before or after the command name (``fleettui --demo status`` and
    ``fleettui status --demo``): defaults on the top parser only, so a subcommand never overwrites them."""
    p = argparse.ArgumentParser(add_help=False)
    d = None if top else argparse.SUPPRESS
    p.add_argument("--config", metavar="PATH", default=d, help="config file (default: $FLEETTUI_CONFIG or the "
                   "user config dir)")
    p.add_argument("--demo", action="store_true", default=False if top else argparse.SUPPRESS,
                   help="run against an embedded, seeded emulated AWS (moto) instead of real AWS")
    p.add_argument("--read-only", dest="read_only", action="store_true", default=d,
                   help="refuse every mutating AWS call (overrides [defaults].read_only)")
    p.add_argument("--profile", default=d, help="AWS profile (overrides [aws].profile / AWS_PROFILE)")
    p.add_argument("--region", dest="regions", action="append", default=d, metavar="REGION",
                   help="limit to this region (repeatable)")
    return p


def reason_arg(text: str) -> str:
    """``--reason``: checked as it is typed (argparse: one line, exit 2)."""
    from fleettui.actions.api import check_reason

    try:
        return check_reason(text)
    except FleetError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def open_context(args, progress=None):
    from fleettui.context import open_context as _open

    return _open(config_path=args.config, demo=args.demo, read_only=args.read_only, profile=args.profile,
                 regions=args.regions, progress=progress)


def with_actions(args, body):
    """Run ``body(actions)`` on a gateway of the context the arguments describe; close everything after."""
    ctx = open_context(args, progress=None if getattr(args, "json", False) else err.print)

    async def run():
        async with ctx.gateway() as gw:
            return await body(ctx.actions(gw))

    try:
        return asyncio.run(run())
    finally:
        ctx.close()
