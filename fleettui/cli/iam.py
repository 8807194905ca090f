"""`fleettui iam policy`: the IAM policy fleettui needs, generated from the config (fleettui.aws.policy)."""
from __future__ import annotations

import json
import sys

from fleettui.cli.common import Parser, UsageError, err, global_flags, open_context


def add_parsers(add) -> None:
    iam = add("iam", "IAM policies for fleettui")
    iam_sub = iam.add_subparsers(dest="iam_command", metavar="SUBCOMMAND", required=True, parser_class=Parser)
    policy = iam_sub.add_parser(
        "policy", parents=[global_flags(top=False)],
        help="print the least-privilege policy for this config: --read-only, --operator or --team-init; or the "
             "policy of `fleettui init` and `doctor` (--init, no config needed)",
        description="Print the IAM policy generated from the config: --read-only (reads only) or --operator "
                    "(reads, and each mutation on the narrowest resources and conditions AWS supports).")
    policy.add_argument("--operator", action="store_true", help="the policy of an operator who acts")
    policy.add_argument("--team-init", dest="team_init", action="store_true",
                        help="the policy of `fleettui team init` alone (creates the [team] table)")
    policy.add_argument("--init", action="store_true",
                        help="the read-only policy of `fleettui init` and `fleettui doctor` (needs no config)")
    policy.add_argument("--service", action="append", metavar="NAME",
                        help="only this service's mutations (repeatable; default: every service)")
    policy.add_argument("--json", action="store_true",
                        help="the policy document only, e.g. for `aws iam put-user-policy --policy-document`")
    policy.set_defaults(handler=cmd_iam_policy)


def cmd_iam_policy(args) -> int:
    from fleettui.aws.policy import generate, init_policy

    if sum(map(bool, (args.operator, args.read_only, args.team_init, args.init))) != 1:
        raise UsageError("iam policy: choose one of --read-only, --operator or --team-init, or --init (see "
                         "`fleettui iam policy --help`)")
    if args.init:
        if args.service:
            raise UsageError("iam policy: --service narrows the operator policy only (the --init policy is the same "
                             "for every account)")
        return _print(init_policy(), args.json)
    if args.read_only and args.service:
        raise UsageError("iam policy: --service narrows the operator policy only (the read-only policy is the "
                         "same for every service)")
    ctx = open_context(args)
    try:
        if args.team_init and ctx.config.team is None:
            raise UsageError(f"iam policy --team-init: {ctx.config.path or 'the config'} has no [team] section")
        generated = generate(ctx.config, operator=args.operator, services=args.service, team_init=args.team_init)
    finally:
        ctx.close()
    return _print(generated, args.json)


def _print(generated, as_json: bool) -> int:
    if as_json:
        sys.stdout.write(json.dumps(generated.document, indent=2) + "\n")
        for note in generated.notes:      # stderr: the document on stdout stays ready to attach
            err.print(f"fleettui: to narrow: {note}", markup=False, soft_wrap=True)
        return 0
    lines = []
    for st in generated.document["Statement"]:
        lines.append(st["Sid"])
        for key in ("Action", "Resource"):
            values = st[key] if isinstance(st[key], list) else [st[key]]
            lines += [f"  {key.lower():9} {v}" for v in values]
        for op, cond in st.get("Condition", {}).items():
            lines += [f"  if        {op} {k} = {json.dumps(v)}" for k, v in cond.items()]
    if generated.notes:
        lines += ["", "To narrow further:", *(f"  - {n}" for n in generated.notes)]
    lines += ["", "`--json` prints the policy document to attach."]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
