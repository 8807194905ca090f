"""`fleettui team init`: create the team's DynamoDB table ([team] in the config): on-demand capacity, point-in-time
recovery on, the TTL attribute of the locks. The only command whose gateway allows CreateTable (and the two settings
calls); its IAM policy is `fleettui iam policy --team-init` (iam/fleettui-team-init.json). Safe to run again."""
from __future__ import annotations

import asyncio

from fleettui.cli.common import Parser, global_flags, open_context, out
from fleettui.errors import ConfigError


def add_parsers(add) -> None:
    team = add("team", "the team store (DynamoDB) shared by every operator: `team init` creates its table")
    team_sub = team.add_subparsers(dest="team_command", metavar="SUBCOMMAND", required=True, parser_class=Parser)
    init = team_sub.add_parser("init", parents=[global_flags(top=False)], help="create the [team] table (on-demand, point-in-time recovery, TTL)",
                               description="Create the DynamoDB table named by [team] in the config (on-demand "
                                           "capacity, point-in-time recovery, a TTL attribute for expired locks). "
                                           "Safe to run again.")
    init.set_defaults(handler=cmd_team_init)


def cmd_team_init(args) -> int:
    from fleettui.aws import permissions
    from fleettui.aws.dynamodb import TTL_ATTRIBUTE, Table
    from fleettui.aws.gateway import Gateway

    ctx = open_context(args)
    try:
        team = ctx.config.team
        if team is None:
            where = ctx.config.path or "the config"
            raise ConfigError(f'{where}: no [team] section (add [team] with table = "fleettui" to use a team store)')
        if ctx.read_only:
            raise ConfigError("team init: read-only mode: refused (it creates a table; run without --read-only)")

        async def run() -> bool:
            async with Gateway(ctx.config.aws, allow=permissions.TEAM_INIT) as gw:
                return await Table(gw, team.region, team.table).create()

        created = asyncio.run(run())
    finally:
        ctx.close()
    state = "created" if created else "already there; settings checked"
    out.print(f"team table {team.table} in {team.region}: {state} (on-demand, point-in-time recovery on, TTL on "
              f"{TTL_ATTRIBUTE})", markup=False, soft_wrap=True)
    return 0
