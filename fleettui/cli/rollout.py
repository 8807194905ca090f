"""`fleettui rollout status|promote|promote-full|pause|resume|abort SERVICE`: the operator's controls of a running
rollout, from any terminal (the rollout itself starts with `fleettui rollout SERVICE --to VERSION`, a verb)."""
from __future__ import annotations


from rich.text import Text

from fleettui.cli.common import out, with_actions
from fleettui.domain.rollout import MARK, RolloutView
from fleettui.errors import ConfigError
from fleettui.format import printable

WORDS = ("status", "promote", "promote-full", "pause", "resume", "abort")


def is_control(args) -> bool:
    return getattr(args, "verb", None) == "rollout" and args.service in WORDS


def render(v: RolloutView, holder: str | None) -> None:
    out.print(Text(printable(f"{v.service}: {v.line}")), crop=False)
    out.print(Text(printable(f"  plan {v.plan_id}, started by {v.who}; {v.status}")), crop=False)
    if v.status == "running":
        out.print(Text(printable(f"  driven by: {holder}" if holder else
                                 "  driven by: nobody (no lock: the rollout holds; `fleettui resume` drives it)")),
                  crop=False)
    if v.analysis is not None:
        for c in v.analysis.checks:
            out.print(Text(printable(f"  {MARK.get(c.state, '?')} {c.name}: {c.text}")), crop=False)


def cmd_control(args) -> int:
    word = args.service
    service = args.control_service
    if not service:
        raise ConfigError(f"rollout {word}: name the service (e.g. `fleettui rollout {word} web`)")

    async def body(actions) -> int:
        from fleettui.actions import rollouts

        if word == "abort":
            msg, code = await rollouts.abort(actions, service, args.reason)
            out.print(Text(printable(msg)), crop=False)
            return code
        if word != "status":
            out.print(Text(printable(await rollouts.control(actions, service, word.replace("-", "_"), args.reason))),
                      crop=False)
            return 0
        actions.config.service(service)
        seen = None
        while True:
            v = rollouts.view(actions.journal, service, actions.clock.now())
            if v is None:
                out.print(f"no rollout of {service} in the journal", markup=False)
                return 0
            if not args.wait:
                holder = await actions.lock(actions.gw, actions.config.service(service), "", "",
                                            clock=actions.clock).holder()
                render(v, holder.text if holder else None)
                return 0
            if v.line != seen:
                out.print(Text(printable(f"{v.service}: {v.line}")), crop=False)
                seen = v.line
            if v.status != "running":
                return 0 if v.status == "succeeded" else 1
            await actions.clock.sleep(actions.poll)

    return with_actions(args, body)
