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
               bad: set[str] = frozenset()) -> tuple[EmbeddedAws, object, Path]:
    """Start the emulator, seed ``scenario`` (a module of ``fleettui.emulator.scenarios``; the demo fleet by default)
    and write its config: ``config_out`` if given, else ``<config_dir>/<scenario>.toml`` (``config_dir`` may be a
    function of the server's endpoint URL, for a directory unique to this server; default: a new temporary
    directory). A scenario with metrics gets its CloudWatch history and a feed that writes each new minute while
    the server runs (``bad``: versions whose metrics are bad). Returns (server, what was seeded -- a ``DemoFleet``
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
        path.write_text(chosen.config_text(fleet, server.endpoint_url), encoding="utf-8")
    except BaseException:
        server.stop()
        raise
    return server, fleet, path
