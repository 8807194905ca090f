"""The emulated AWS: moto's server embedded in this process (``server``), seeding helpers (``seeder``), config
text for a seeded fleet (``config_writer``) and the fleets themselves (``scenarios``). Not production AWS code:
only ``fleettui.context`` imports this package (a layering test checks it)."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

from fleettui.emulator import scenarios
from fleettui.emulator.server import EmbeddedAws


def start_demo(port: int = 0, config_dir: str | Path | Callable[[str], Path] | None = None, *,
               config_out: str | Path | None = None, scenario: str = "demo",
               bad: set[str] = frozenset(), team: dict | None = None) -> tuple[EmbeddedAws, object, Path]:
    """Start the emulator, seed ``scenario`` (a module of ``fleettui.emulator.scenarios``; the demo fleet by default)
    and write its config: ``config_out`` if given, else ``<config_dir>/<scenario>.toml`` (``config_dir`` may be a
    function of the server's endpoint URL, for a directory unique to this server; default: a new temporary
    directory). A scenario with metrics gets its CloudWatch history and a feed that writes each new minute while
    the server runs (``bad``: versions whose metrics are bad). ``team`` ({"table", "spec", "ttl_attribute"}, from the
    context): create that team table (what `fleettui team init` creates) and run the config in team mode. Returns (server, what was seeded -- a ``DemoFleet``
    for the demo, config path); the caller stops the server."""
    chosen = scenarios.get(scenario)
    server = EmbeddedAws(port)
    try:
        fleet = chosen.seed(server.endpoint_url)
        if chosen.metrics is not None:
            chosen.metrics(server.endpoint_url, fleet, bad=set(bad))
            from fleettui.emulator.metrics import LiveFeed

            server.on_stop(LiveFeed(server.endpoint_url, fleet, bad=set(bad)).start().stop)
        if callable(config_dir):
            config_dir = config_dir(server.endpoint_url)
        if config_out:
            path = Path(config_out)
        else:
            path = Path(config_dir or tempfile.mkdtemp(prefix=f"fleettui-{scenario}-")) / f"{scenario}.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = chosen.config_text(fleet, server.endpoint_url)
        if team:
            region = create_team_table(server.endpoint_url, **team)
            text += (f'\n[team]\n# the shared lock + audit table (DynamoDB), created by the emulator\n'
                     f'table = "{team["table"]}"\nregion = "{region}"\n')
        path.write_text(text, encoding="utf-8")
    except BaseException:
        server.stop()
        raise
    return server, fleet, path


def create_team_table(endpoint_url: str, table: str, spec: dict, ttl_attribute: str, region: str = "us-east-1") -> str:
    """The team table as `fleettui team init` makes it (``spec``: its keys and on-demand capacity; point-in-time
    recovery; TTL on ``ttl_attribute``); returns its region."""
    from fleettui.emulator.server import boto3_client

    name = table
    ddb = boto3_client("dynamodb", region, endpoint_url)
    if name not in ddb.list_tables()["TableNames"]:
        ddb.create_table(TableName=name, **spec)
    ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    if ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"].get("TimeToLiveStatus") != "ENABLED":
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True,
                                                                           "AttributeName": ttl_attribute})
    return region
