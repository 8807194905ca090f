"""The team store (issue #15): the lock and the audit trail in DynamoDB, shared by every operator.

Against moto (its DynamoDB honours conditional writes, TTL and point-in-time recovery settings), through the fault
proxy where requests are throttled, dropped or their answers lost; the table is read straight from moto with boto3.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from faults import REPO, FaultProxy, RetryClock, listener_weights, write_config
from fleettui.aws.gateway import Gateway, MutationRefused
from fleettui.cli import main
from fleettui.config import load_config
from fleettui.context import demo_team
from fleettui.emulator import create_team_table
from fleettui.store import LockHeld, LockLost
from fleettui.store.dynamo import DynamoLock, TeamJournal
from fleettui.store.local import JsonlJournal

TABLE = "fleettui"
TEAM = f'\n[team]\ntable = "{TABLE}"\n'
TIMEOUT = 120


def team_config(demo, path, endpoint_url=None):
    if endpoint_url:
        write_config(demo, endpoint_url, path)
        text = path.read_text(encoding="utf-8")
    else:
        text = demo.config_path.read_text(encoding="utf-8")
    path.write_text(text + TEAM, encoding="utf-8")
    return path


@pytest.fixture
def table(demo):
    create_team_table(demo.endpoint_url, **demo_team())
    return demo.client("dynamodb")


@pytest.fixture
def proxy(demo, monkeypatch):
    """The fault proxy in front of the emulated AWS, with botocore's retry waits 100x shorter (same decisions):
    a throttled, dropped or lost answer costs no real time, so no budget depends on the machine's speed."""
    RetryClock(monkeypatch, factor=100)
    with FaultProxy(demo.endpoint_url) as p:
        yield p


@pytest.fixture
def cfg(demo, table, proxy, tmp_path):
    return team_config(demo, tmp_path / "team.toml", proxy.url)


def items(table, prefix: str = "") -> list[dict]:
    out = table.scan(TableName=TABLE)["Items"]
    return [{k: next(iter(v.values())) for k, v in i.items()} for i in out if i["pk"]["S"].startswith(prefix)]


def lock_item(table, service: str = "web") -> dict | None:
    got = table.get_item(TableName=TABLE, Key={"pk": {"S": f"lock#{service}"}, "sk": {"S": "lock"}},
                         ConsistentRead=True).get("Item")
    return {k: next(iter(v.values())) for k, v in got.items()} if got else None


async def take(config, plan_id: str, owner: str, **kw) -> DynamoLock:
    gw = await Gateway(config.aws).__aenter__()
    lock = DynamoLock(gw, config.service("web"), owner, plan_id, team=config.team, what="shift web", **kw)
    lock._gw = gw
    return lock


# ------------------------------------------------------------------------------------------------- the lock

FATES = [("throttle", "ok"), ("drop_after", "ok"), ("ok", "drop_after"), ("drop_after", "drop_after"),
         ("drop_before", "throttle"), ("throttle", "drop_after"), ("error5xx", "drop_after"),
         ("drop_after", "throttle", "drop_after"), ("ok", "ok"), ("throttle", "throttle", "ok", "drop_after")]


def test_two_operators_racing_for_the_lock_under_faults_exactly_one_wins_every_time(demo, proxy, cfg, table):
    """Two operators (each their own gateway) race for one lock while their PutItems are throttled, dropped before
    AWS or their answers lost after AWS wrote (scripted, every combination twice): every time exactly one holds
    it, and it is the one the table names."""
    config = load_config(cfg)
    outcomes = []

    async def race(n: int):
        proxy.script("dynamodb.PutItem", *FATES[n % len(FATES)])
        a, b = await take(config, f"p-{n}-a", "arn:a"), await take(config, f"p-{n}-b", "arn:b")
        first, second = (a, b) if n % 2 else (b, a)
        results = await asyncio.gather(first.acquire(), second.acquire(), return_exceptions=True)
        for r in results:
            assert r is None or isinstance(r, LockHeld), r
        winners = [lk.plan_id for lk, r in zip((first, second), results) if r is None]
        outcomes.append((winners, (lock_item(table) or {}).get("plan_id")))
        for lk in (a, b):
            await lk.close()
            await lk._gw.__aexit__(None, None, None)
        table.delete_item(TableName=TABLE, Key={"pk": {"S": "lock#web"}, "sk": {"S": "lock"}})

    async def all_races():
        for n in range(2 * len(FATES)):
            await race(n)

    asyncio.run(all_races())
    for winners, holder in outcomes:
        assert len(winners) == 1 and holder == winners[0], outcomes
    assert proxy.injected["drop_after"] >= 10 and proxy.injected["throttle"] >= 6


def test_two_processes_racing_for_the_lock_exactly_one_proceeds(demo, proxy, cfg, table, tmp_path):
    """Two `fleettui shift web` processes, held at STS and released together, race for web's lock while the first
    lock write of each is throttled and its retry's answer lost: one shifts, the other is refused naming it."""
    holds = [proxy.hold("sts.GetCallerIdentity", nth=n) for n in (1, 2)]
    proxy.script("dynamodb.PutItem", "throttle", "drop_after")
    procs = []
    for k, weight in enumerate((15, 20)):
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "fleettui", "shift", "web", "--to", "1.6.0", "--weight", str(weight),
             "--config", str(cfg), "--yes", "--reason", f"op{k}"], cwd=REPO, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env={**os.environ, "FLEETTUI_HOME": str(tmp_path / f"op{k}")}))
    for h in holds:
        assert h.reached.wait(TIMEOUT)
    for h in holds:
        h.release()
    results = [(p.wait(TIMEOUT), *(s.decode() for s in p.communicate())) for p in procs]
    codes = sorted(r[0] for r in results)
    if codes == [0, 2]:
        loser = next(r for r in results if r[0] == 2)
        # named, or (its plan was that quick) already released again by the time the loser read who it was
        assert "web is locked by" in loser[2] and ("(shift web, plan" in loser[2] or "already released" in loser[2]), loser
        assert proxy.forwarded["elasticloadbalancing.ModifyListener"] == 1
    else:        # one ran its whole plan before the other asked: then both shifted, one after the other
        assert codes in ([0, 0], [0, 1]), results
    assert lock_item(table) is None
    reasons = {i.get("reason") for i in items(table, "audit#web") if i["event"] == "plan_created"}
    assert reasons == {"op0", "op1"}        # both plans are in the team's audit, refused or not


def test_renew_after_expiry_fails_when_another_took_it(demo, cfg, table):
    config = load_config(cfg)

    async def go():
        a = await take(config, "p-a", "arn:aws:sts::123456789012:assumed-role/ops/ops-a", ttl=timedelta(seconds=-5))
        await a.acquire()                       # taken, but already expired (a stalled process)
        b = await take(config, "p-b", "arn:aws:sts::123456789012:assumed-role/ops/ops-b")
        await b.acquire()                       # expired: anyone may take it
        with pytest.raises(LockLost, match="now held by arn:aws:sts::123456789012:assumed-role/ops/ops-b"):
            await a.refresh()
        await b.refresh()                       # the holder renews
        for lk in (a, b):
            await lk.close()
            await lk._gw.__aexit__(None, None, None)
    asyncio.run(go())
    assert lock_item(table)["plan_id"] == "p-b"


def test_release_of_a_lock_that_is_not_ours_is_refused(demo, cfg, table):
    config = load_config(cfg)

    async def go():
        a = await take(config, "p-a", "arn:ops-a")
        await a.acquire()
        b = await take(config, "p-b", "arn:ops-b")
        with pytest.raises(LockHeld, match="not ours to release: held by arn:ops-a"):
            await b.release()
        with pytest.raises(LockHeld, match="web is locked by arn:ops-a \\(shift web, plan p-a\\)"):
            await b.acquire()
        for lk in (a, b):
            await lk.close()
            await lk._gw.__aexit__(None, None, None)
    asyncio.run(go())
    held = lock_item(table)
    assert held["plan_id"] == "p-a" and held["owner"] == "arn:ops-a" and int(held["expires_at"]) > 0


def test_unlock_takes_over_a_team_lock_and_is_journaled(demo, cfg, table, capsys):
    config = load_config(cfg)

    async def go():
        a = await take(config, "p-stuck", "arn:ops-a")
        await a.acquire()
        await a.close()
        await a._gw.__aexit__(None, None, None)
    asyncio.run(go())
    assert main(["unlock", "web", "--config", str(cfg), "--yes", "--read-only"]) == 2
    assert lock_item(table)["plan_id"] == "p-stuck"
    assert main(["unlock", "web", "--config", str(cfg), "--yes", "--reason", "INC-7"]) == 0
    assert "web is locked by arn:ops-a (shift web, plan p-stuck)" in capsys.readouterr().out
    assert lock_item(table) is None
    cleared = [i for i in items(table, "audit#web") if i["event"] == "lock_cleared"]
    assert len(cleared) == 1 and cleared[0]["reason"] == "INC-7" and cleared[0]["plan_id"] == "p-stuck"


# ------------------------------------------------------------------------------------------------ the audit

def test_an_action_in_team_mode_is_audited_in_the_table_and_releases_its_lock(demo, cfg, table, capsys):
    assert main(["shift", "web", "--to", "1.6.0", "--weight", "20", "--config", str(cfg), "--yes",
                 "--reason", "INC-1234"]) == 0
    assert listener_weights(demo)["web-1-6-0"] == 20
    audit = sorted(items(table, "audit#web"), key=lambda i: i["sk"])
    events = [i["event"] for i in audit]
    assert events[0] == "plan_created" and events[-1] == "plan_finished" and "step_succeeded" in events
    created = audit[0]
    assert created["reason"] == "INC-1234" and created["verb"] == "shift" and created["account"] == "123456789012"
    assert created["operator"].startswith("arn:aws:sts::123456789012:")
    assert audit[-1]["status"] == "succeeded" and lock_item(table) is None
    plan_id = created["plan_id"]
    capsys.readouterr()
    assert main(["audit", "--json", "--config", str(cfg)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["plan_id"], r["status"], r["reason"]) for r in listed] == [(plan_id, "succeeded", "INC-1234")]
    assert main(["audit", plan_id, "--json", "--config", str(cfg)]) == 0
    assert [e["event"] for e in json.loads(capsys.readouterr().out)] == events


@pytest.mark.parametrize("tick", [0.001, 0.0], ids=["distinct-times", "equal-times"])
def test_audit_from_two_operators_merges_in_order(demo, cfg, table, tmp_path, tick, monkeypatch):
    """Two operators (each their own machine: their own local journal) append interleaved events; the team's
    history has every one of them, merged by (time, the operator's own sequence, key): with distinct times, in time
    order; with equal times (one millisecond on a busy machine), each operator's events keep the order that
    operator wrote them in -- also when one operator's events come from two processes of theirs (pids 900, then
    100: a key made of the pid would put the later events first). Times come from one virtual clock: nothing
    depends on the machine's speed."""
    import fleettui.store.dynamo as dynamo
    from fleettui.clock import VirtualClock
    from fleettui.domain.history import Scope
    from fleettui.store.dynamo import merge_order

    config = load_config(cfg)
    clock = VirtualClock(tick=tick)
    ops = []
    for k in range(2):
        j = TeamJournal(JsonlJournal(tmp_path / f"op{k}" / "journal.jsonl", clock=clock), config.aws, config.team)
        j.bind(Scope(account="123456789012", endpoint=config.aws.endpoint_url))
        j.operator = f"arn:aws:sts::123456789012:assumed-role/ops/ops-{'ab'[k]}"
        ops.append(j)
    for n in range(6):
        with monkeypatch.context() as m:
            m.setattr(dynamo.os, "getpid", lambda n=n: 900 if n < 2 else 100)
            ops[n % 2].append("warning", f"p-{n % 2}", service="web" if n < 4 else "api", message=f"m{n}")

    async def go():
        async with Gateway(config.aws) as gw:
            assert [await j.flush(gw) for j in ops] == [0, 0]
            return await ops[0].team_events(gw, ["web", "api"]), await ops[0].team_items(gw, ["web", "api"])
    events, items = asyncio.run(go())
    messages = [e["message"] for e in events]
    assert sorted(messages) == [f"m{n}" for n in range(6)]                    # every one of them, once
    for k in range(2):                                                        # each operator's own order
        assert [m for m in messages if int(m[1]) % 2 == k] == [f"m{n}" for n in range(k, 6, 2)]
    assert items == sorted(items, key=merge_order)
    if tick:
        assert messages == [f"m{n}" for n in range(6)]                        # distinct times: time order
    else:
        assert len({e["ts"] for e in events}) == 1


def test_table_unreachable_no_mutation_starts_one_clear_line(demo, proxy, cfg, table, capsys):
    before = listener_weights(demo)
    proxy.service_fates["dynamodb"] = "down"
    assert main(["shift", "web", "--to", "1.6.0", "--weight", "20", "--config", str(cfg), "--yes"]) == 1
    err = capsys.readouterr().err
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("fleettui:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "team table fleettui (us-east-1) could not be used" in lines[0] and "nothing was changed" in lines[0]
    assert listener_weights(demo) == before
    assert not [k for k in proxy.forwarded if not k.startswith(("dynamodb.", "sts.")) and "Describe" not in k]


def test_events_written_while_the_table_was_down_are_sent_later_nothing_lost(demo, proxy, cfg, table, capsys,
                                                                           tmp_path):
    config = load_config(cfg)
    from fleettui.domain.history import Scope

    j = TeamJournal(JsonlJournal(tmp_path / "op" / "journal.jsonl"), config.aws, config.team)
    j.bind(Scope(account="123456789012", endpoint=config.aws.endpoint_url))
    proxy.service_fates["dynamodb"] = "down"
    for n in range(5):
        j.append("warning", "p-1", service="web", message=f"m{n}")

    async def flush():
        async with Gateway(config.aws) as gw:
            return await j.flush(gw)
    assert asyncio.run(flush()) == 5 and j.pending() == 5 and "Connection was closed" in j.last_error
    assert items(table) == []
    assert len(list(j.events())) == 5          # the write-ahead record has them all
    del proxy.service_fates["dynamodb"]
    assert asyncio.run(flush()) == 0 and j.pending() == 0
    assert sorted(i["message"] if "message" in i else json.loads(i["body"])["message"]
                  for i in items(table, "audit#web")) == [f"m{n}" for n in range(5)]
    assert asyncio.run(flush()) == 0 and len(items(table)) == 5        # sent once, never twice


def test_audit_says_when_events_are_pending(demo, proxy, cfg, table, capsys):
    """An event this machine could not send yet (the table is down): `audit` says so (and fails in one line, the
    history being unreadable); once the table is back, `audit` sends it and says so."""
    from fleettui.context import Context

    proxy.service_fates["dynamodb"] = "down"
    j = Context(config=load_config(cfg), read_only=False).store.journal     # the journal `audit` opens too
    j.append("warning", "p-1", service="web", message="queued")
    assert j.pending() == 1
    assert main(["audit", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert "1 event not yet in the team table" in err and "could not be used" in err.splitlines()[-1]
    assert items(table) == []
    del proxy.service_fates["dynamodb"]
    assert main(["audit", "--config", str(cfg)]) == 0
    assert "sent 1 queued event" in capsys.readouterr().err and j.pending() == 0


def test_read_only_writes_nothing_to_the_table(demo, proxy, cfg, table, capsys):
    from fleettui.context import Context

    ctx = Context(config=load_config(cfg), read_only=False)      # (a read-only context appends nothing at all)
    ctx.store.journal.append("warning", "p-1", service="web", message="queued before")
    assert main(["shift", "web", "--to", "1.6.0", "--weight", "20", "--config", str(cfg), "--yes",
                 "--read-only"]) == 2
    assert main(["audit", "--config", str(cfg), "--read-only"]) == 0
    assert main(["status", "--config", str(cfg), "--read-only"]) == 0
    assert items(table) == [] and ctx.store.journal.pending() == 1
    assert not [k for k in proxy.requests if k in ("dynamodb.PutItem", "dynamodb.UpdateItem", "dynamodb.DeleteItem")]


# ------------------------------------------------------------------------------------- team init and config

def test_team_init_creates_the_table_on_demand_with_pitr_and_ttl(demo, tmp_path, capsys):
    cfg = team_config(demo, tmp_path / "team.toml")
    ddb = demo.client("dynamodb")
    assert TABLE not in ddb.list_tables()["TableNames"]
    assert main(["team", "init", "--config", str(cfg)]) == 0
    assert "team table fleettui in us-east-1: created" in capsys.readouterr().out
    desc = ddb.describe_table(TableName=TABLE)["Table"]
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [k["AttributeName"] for k in desc["KeySchema"]] == ["pk", "sk"]
    pitr = ddb.describe_continuous_backups(TableName=TABLE)["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    ttl = ddb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == "expires_at"
    assert main(["team", "init", "--config", str(cfg)]) == 0
    assert "already there" in capsys.readouterr().out


def test_create_table_is_refused_outside_team_init(demo, cfg):
    config = load_config(cfg)

    async def go():
        async with Gateway(config.aws) as gw:
            with pytest.raises(MutationRefused, match="dynamodb:CreateTable is not an allowed operation"):
                await gw.call("dynamodb", "us-east-1", "create_table", TableName="x", BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
            return gw.sent
    assert not asyncio.run(go())


@pytest.mark.parametrize("text, needle", [
    ('[team]\ntable = "x"\n', "team.table: \"x\" is not a table name"),
    ('[team]\nregion = "eu-west-1"\n', "team.table: missing"),
    ('[team]\ntable = "fleettui"\nregion = "mars"\n', 'team.region: "mars" is not a region name'),
    ('[team]\ntable = "fleettui"\nlock_ttl = 3\n', "team.lock_ttl"),
])
def test_bad_team_config_is_one_line_exit_2(demo, tmp_path, capsys, text, needle):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(demo.config_path.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")
    assert main(["status", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err and str(cfg) in err, err


def test_without_team_the_store_is_solo(demo):
    from fleettui.context import Context
    from fleettui.store.taglock import TagLock

    ctx = Context(config=demo.config(), read_only=False)
    assert ctx.mode == "solo" and ctx.store.lock is TagLock and isinstance(ctx.store.journal, JsonlJournal)


# ---------------------------------------------------------------------------------------------- what operators see

def test_the_tui_shows_team_mode_another_operators_lock_and_the_last_change_by_anyone(demo, table, tmp_path):
    """Another process shifted web (journaled to the table from its own machine) and ops-b now holds web's lock:
    this operator's TUI says team, shows the lock in the services pane and above the table, and the change with
    its reason."""
    from test_ui import loaded, widget_text

    from fleettui.context import Context
    from fleettui.ui.app import make_app
    from fleettui.ui.widgets.header import FleetHeader
    from fleettui.ui.widgets.services import ServiceList
    from fleettui.ui.widgets.status import ServiceStatus

    cfg = team_config(demo, tmp_path / "team.toml")
    ops_b = "arn:aws:sts::123456789012:assumed-role/ops/ops-b"
    assert main(["shift", "web", "--to", "1.6.0", "--weight", "20", "--config", str(cfg), "--yes",
                 "--reason", "INC-1234"]) == 0
    config = load_config(cfg)

    async def hold():
        lock = await take(config, "p-ops-b", ops_b)
        await lock.acquire()
        await lock.close()
        await lock._gw.__aexit__(None, None, None)
    asyncio.run(hold())

    async def go():
        app = make_app(Context(config=config, read_only=False), auto_refresh=False)
        async with app.run_test(size=(160, 45)) as pilot:
            await loaded(app, pilot)
            for _ in range(400):
                if app.state.team:
                    break
                await pilot.pause(0.05)
            await pilot.pause()
            shown = (widget_text(app.screen.query_one(FleetHeader)), widget_text(app.screen.query_one(ServiceList)),
                     widget_text(app.screen.query_one(ServiceStatus)))
            before = listener_weights(demo)
            await pilot.press("B")                 # rollback web: refused before any plan, naming ops-b
            await pilot.pause(0.5)
            notes = [n.message for n in app._notifications]
            assert app.screen is app.main and listener_weights(demo) == before
            return (*shown, notes)
    header, pane, status, notes = asyncio.run(go())
    assert any(f"web is locked by {ops_b} (shift web" in n and "refused before planning" in n for n in notes), notes
    assert "[RW] team" in header
    assert "locked: ops-b" in pane
    assert f"locked by {ops_b} (shift web, 0 min)" in status
    assert "last change: shift web:" in status and "by moto, 0 min ago: INC-1234" in status


def test_demo_serve_creates_the_team_table_and_runs_in_team_mode(aws_server, isolated_home):
    from fleettui.context import demo_stopped, serve_demo

    aws_server.reset()          # one moto state per process: the session's server must be empty to seed again
    server, _fleet, path = serve_demo()
    try:
        config = load_config(path)
        assert config.team is not None and config.team.table == TABLE
        from fleettui.emulator.server import boto3_client

        ddb = boto3_client("dynamodb", config.team.region, server.endpoint_url)
        ttl = ddb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
        assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == "expires_at"
        from fleettui.context import Context

        assert Context(config=config, read_only=False).mode == "team"
    finally:
        server.stop()
        demo_stopped(server)
        aws_server.reset()
