"""`fleettui unlock SERVICE`: clear a stale lock by hand. It names the holder (owner ARN, plan, expiry with its
date, or what is wrong with a malformed tag), asks for confirmation (or --yes), removes the tag only if it still
has the value shown, and journals who cleared whose lock and why. The holder's plan, if still running, stops at
its next lock renewal (it finds the lock gone)."""
from __future__ import annotations

import sys

from fleettui.cli.common import reason_arg, err, out, with_actions
from fleettui.domain.history import EventKind
from fleettui.actions.api import check_reason
from fleettui.aws.gateway import MutationRefused
from fleettui.errors import ConfigError
from fleettui.format import printable
from fleettui.store import StoreError


def add_parsers(add) -> None:
    p = add("unlock", "clear a service's lock left by a crashed or stuck plan (names the holder, asks first)")
    p.add_argument("service")
    p.add_argument("--yes", "-y", action="store_true", help="do not prompt for confirmation")
    p.add_argument("--reason", default="", type=reason_arg, help="why (recorded in the journal)")
    p.set_defaults(handler=cmd_unlock)


def cmd_unlock(args) -> int:
    async def body(actions) -> int:
        cfg = actions.config.service(args.service)
        check_reason(args.reason)
        who = await actions.who()
        lock = actions.lock(actions.gw, cfg, who, "", clock=actions.clock)
        current = await lock.holder()
        if current is None:
            out.print(f"{cfg.name} is not locked", markup=False, soft_wrap=True)
            return 0
        out.print(f"{cfg.name} is locked by {printable(current.text)}", markup=False, soft_wrap=True)
        if actions.read_only:
            raise MutationRefused(f"read-only mode: the lock on {cfg.name} was not removed (start without --read-only to "
                             "clear it)")
        if not args.yes:
            if not sys.stdin.isatty():
                raise ConfigError("confirmation needed and stdin is not a terminal: pass --yes")
            if out.input(f"Remove the lock on {cfg.name}? A plan still running under it stops at its next "
                         "step. [y/N] ").strip().lower() not in ("y", "yes"):
                err.print("cancelled: nothing was changed")
                return 1
        await lock.clear(current)
        try:
            actions.journal.append(EventKind.LOCK_CLEARED, current.plan_id or "-", service=cfg.name, who=who,
                                   reason=args.reason, holder=current.record)
        except StoreError as e:
            raise StoreError(f"{cfg.name}: lock removed in AWS (was {printable(current.text)}); {e}") from None
        await actions.journal.flush(actions.gw)      # the team store (if any) hears it now, or with the next action
        out.print(f"{cfg.name}: lock removed (was {printable(current.text)})", markup=False, soft_wrap=True)
        return 0

    return with_actions(args, body)
