"""Fixtures: one in-process moto server for the session; each test that needs the fleet gets it as seeded
(restored from moto's saved state, never seeded again).

Tests exercise the app through aiobotocore against this server exactly like production (endpoint_url), never
against mocks of our own gateway. Time is a :class:`~fleettui.clock.VirtualClock` (``clock``): bakes, polls,
back-offs and lock expiries take no real time, and nothing depends on how fast the machine is.
"""
from __future__ import annotations

import asyncio
import pickle

import pytest

from fleettui.clock import VirtualClock


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Config, journal and logs of every test live in its own tmp dir; no AWS credentials leak in."""
    monkeypatch.setenv("FLEETTUI_HOME", str(tmp_path / "home"))
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "FLEETTUI_CONFIG", "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    return tmp_path / "home"


@pytest.fixture(scope="session")
def aws_server():
    from fleettui.emulator.server import EmbeddedAws

    server = EmbeddedAws()
    yield server
    server.stop()


VIRTUAL_POLL = 1.0      # a read-back or a bake polls this often in virtual time (free: it only bounds the loops)


class Demo:
    """The demo fleet as seeded, on the session's moto server, with its config file and the test's clock."""

    def __init__(self, server, fleet, config_path, clock: VirtualClock | None = None):
        self.server = server
        self.fleet = fleet
        self.config_path = config_path
        self.endpoint_url = server.endpoint_url
        self.clock = clock or VirtualClock()

    def act(self, body, *, config=None, read_only: bool = False, journal=None, timeout: float = 30.0,
            poll: float = VIRTUAL_POLL, **kwargs):
        """``await body(actions)`` on a fresh gateway to this fleet (or ``config``), on the test's virtual clock:
        what the CLI and the TUI do, without a process or a terminal."""
        from fleettui.actions.api import Actions
        from fleettui.aws.gateway import Gateway

        config = config or self.config()

        async def go():
            async with Gateway(config.aws, read_only=read_only) as gw:
                actions = Actions(config=config, gw=gw, read_only=read_only, poll_seconds=poll,
                                  timeout_seconds=timeout, clock=self.clock,
                                  **({"journal": journal} if journal else {}), **kwargs)
                return await body(actions)

        return asyncio.run(go())

    def config(self):
        from fleettui.config import load_config

        return load_config(self.config_path)

    def context(self, read_only: bool | None = None):
        from fleettui.context import open_context

        return open_context(config_path=self.config_path, read_only=read_only)

    def client(self, service: str, region: str = "us-east-1"):
        from fleettui.emulator.server import boto3_client

        return boto3_client(service, region, self.endpoint_url)


@pytest.fixture(scope="session")
def demo_state(aws_server) -> tuple[bytes, bytes]:
    """The demo fleet seeded once per session through the API (boto3, as `fleettui --demo` does), kept as moto's
    state: restoring it costs a tenth of seeding it again, for each of the hundreds of tests that start from it."""
    from fleettui.emulator.scenarios.demo import seed_demo_fleet

    aws_server.reset()
    fleet = seed_demo_fleet(aws_server.endpoint_url)
    return aws_server.save_state(), pickle.dumps(fleet)


@pytest.fixture
def demo(aws_server, demo_state, tmp_path, clock) -> Demo:
    """The demo fleet as seeded (every resource fresh: nothing a previous test changed survives)."""
    from fleettui.emulator.scenarios.demo import demo_config_text

    state, fleet = demo_state
    aws_server.restore_state(state)
    fleet = pickle.loads(fleet)
    path = tmp_path / "demo.toml"
    path.write_text(demo_config_text(fleet, aws_server.endpoint_url), encoding="utf-8")
    return Demo(aws_server, fleet, path, clock)


@pytest.fixture
def demo_ctx(demo):
    ctx = demo.context()
    yield ctx
    ctx.close()


@pytest.fixture
def clock() -> VirtualClock:
    """The test's time: starts at the real now (so CloudWatch datapoints written at real times are in its windows)
    and moves only when the code under test sleeps or the test advances it."""
    return VirtualClock()
