"""Issue 23: the team table is an attack surface. An attacker with write access to the table (boto3 straight
into it, as anyone holding the table's PutItem could) plants audit items of every event kind with terminal control
sequences in every field, malformed audit items, and lock items of every odd shape; two operators (two
FLEETTUI_HOME dirs) share the table. Every command and screen stays usable, shows the text literally, and lets no
control character out (items 1, 2, 4); the outbox sends what it can (3); read-only writes nothing (7); and the
smaller cases of item 9. Items 5 and 6 (the wire, the table down during a bake) are in test_wire.py and
test_rollout_outage.py, item 8 (IAM) in test_iam_enforced.py.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from faults import REPO, journal_events, listener_weights
from fleettui.cli import main
from fleettui.context import demo_team
from fleettui.emulator import create_team_table

# OSC 2 (title), OSC 52 (clipboard), CSI 2J (clear), C1 CSI, RLO, LRI, NUL, DEL, LINE SEPARATOR, markup
HOSTILE = "\x1b]2;PWNED\x1b\\\x1b]52;c;cHduZWQ=\x07\x1b[2J\x9b31m\u202e\u2066\x00\x7f\u2028[bold]x[/]"
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff]")
SHOWN = "\\x1b]2;PWNED\\x1b\\"          # how the start of HOSTILE is shown: literally, the ESC made visible
MOTO = "arn:aws:sts::123456789012:user/moto"


def assert_clean(text: str) -> None:
    m = CONTROL.search(text)
    assert m is None, f"control character {m.group()!r} leaves fleettui: …{text[max(0, m.start() - 60):m.end() + 20]!r}"
    assert "Traceback" not in text and "internal error" not in text, text[-2000:]


def S(v: str) -> dict:
    return {"S": v}


# ------------------------------------------------------------------------------------------------ the attacker

PLAN = "p-hostile"


def hostile_plan(pid: str = PLAN) -> dict:
    return {"id": pid, "verb": HOSTILE, "service": "web", "summary": HOSTILE, "generation": HOSTILE,
            "steps": [{"id": "s1", "kind": "set_weights", "region": HOSTILE, "description": HOSTILE, "params": {}}],
            "weights_before": {"1.5.0": 90, HOSTILE: 10}, "weights_after": {"1.5.0": 100, HOSTILE: 0},
            "hosts_affected": [HOSTILE], "warnings": [HOSTILE], "capacity_before": 100, "capacity_min": 100,
            "refusal": None, "confirm_phrase": None, "created_at": HOSTILE}


def audit_item(n: int, event: str, body, *, pid: str = PLAN, ts: str | None = None, **fields) -> dict:
    ts = ts or f"2026-11-30T03:00:{n:02d}.000Z"
    item = {"pk": S("audit#web"), "sk": S(f"{ts}#{pid}#1-{n:06d}"), "ts": S(ts), "event": S(event),
            "plan_id": S(pid), "service": S("web"), "operator": S(HOSTILE), "verb": S(HOSTILE),
            "summary": S(HOSTILE), "reason": S(HOSTILE), **fields}
    if body is not None:
        item["body"] = body if isinstance(body, dict) and len(body) == 1 and next(iter(body)) in ("S", "N") \
            else S(json.dumps(body))
    return item


def hostile_events() -> list[dict]:
    """One audit item of every event kind, every field hostile (bodies and the items' own attributes)."""
    base = {"plan_id": PLAN, "service": "web", "who": HOSTILE}
    ev = [
        {**base, "ts": HOSTILE, "event": "plan_created", "verb": HOSTILE, "reason": HOSTILE, "region": HOSTILE,
         "plan": hostile_plan(), "scope": {"account": HOSTILE, "endpoint": HOSTILE, "regions": [HOSTILE]}},
        {**base, "ts": "2026-11-30T03:00:01.000Z", "event": "plan_resumed"},
        {**base, "ts": "2026-11-30T03:00:02.000Z", "event": "step_started", "step": "s1", "kind": HOSTILE,
         "region": HOSTILE},
        {**base, "ts": "2026-11-30T03:00:03.000Z", "event": "step_note", "step": "s1",
         "note": {"holding": HOSTILE, "x": HOSTILE}},
        {**base, "ts": "2026-11-30T03:00:04.000Z", "event": "step_failed", "step": "s1", "error": HOSTILE,
         "request_ids": [HOSTILE]},
        {**base, "ts": "2026-11-30T03:00:05.000Z", "event": "step_succeeded", "step": "s1",
         "detail": {"instances": [HOSTILE], "terminated": [HOSTILE]}},
        {**base, "ts": "2026-11-30T03:00:06.000Z", "event": "warning", "message": HOSTILE, "step": "s1"},
        {**base, "ts": "2026-11-30T03:00:07.000Z", "event": "rollout_control", "action": HOSTILE, "stage": 1},
        {**base, "ts": "2026-11-30T03:00:08.000Z", "event": "lock_cleared", "holder": HOSTILE, "reason": HOSTILE},
        {**base, "ts": "2026-11-30T03:00:09.000Z", "event": "plan_finished", "status": "succeeded", "error": HOSTILE},
    ]
    items = [audit_item(n, e["event"], e, ts=e["ts"] if n else None) for n, e in enumerate(ev)]
    items[-1]["outcome"] = S("succeeded")
    # a plan whose very id is hostile
    items.append(audit_item(20, "plan_created", {**ev[0], "plan_id": "p-\x1b[2J", "ts": "2026-11-30T03:01:00.000Z",
                                                  "plan": hostile_plan("p-\x1b[2J")}, pid="p-\x1b[2J"))
    return items


def malformed_items() -> list[dict]:
    """Items no fleettui wrote, each of which used to break `audit` (or a screen) for every operator."""
    created = {"ts": "2026-11-30T04:00:00.000Z", "event": "plan_created", "plan_id": "p-bad", "who": "x"}
    deep = "[" * 100_000 + "]" * 100_000
    return [
        audit_item(31, "plan_created", created, pid="p-bad1"),                              # no plan: KeyError
        audit_item(32, "plan_created", {**created, "ts": 5, "plan": hostile_plan("p-bad2"), "plan_id": "p-bad2"},
                   pid="p-bad2"),                                                          # a numeric time
        audit_item(33, "plan_created", {**created, "plan": "a plan", "plan_id": "p-bad3"}, pid="p-bad3"),
        audit_item(34, "step_failed", S("{torn"), pid="p-bad4"),                           # not JSON
        audit_item(35, "plan_created", S('{"ts": NaN, "event": "plan_created"}'), pid="p-bad5"),
        audit_item(36, "plan_created", None, pid="p-bad6"),                                # no body at all
        audit_item(37, "warning", {"N": "5"}, pid="p-bad7"),                               # a body that is a number
        audit_item(38, "warning", S(deep), pid="p-bad8"),                                  # nested too deep
        audit_item(39, "plan_created", {**created, "plan_id": "p-bad9", "plan": {
            **hostile_plan("p-bad9"), "weights_before": {"1.5.0": "ninety"}}}, pid="p-bad9"),   # weights not numbers
        audit_item(40, "rollout_control", {"ts": "soon", "event": "rollout_control", "plan_id": PLAN,
                                           "action": "pause", "stage": 1}),                 # a pause with no time
    ]


def lock_items() -> dict[str, dict]:
    """A lock item per service, each of a shape fleettui never writes (web's is well-formed, but hostile and huge)."""
    future = str(int(time.time()) + 600)
    key = lambda s: {"pk": S(f"lock#{s}"), "sk": S("lock")}  # noqa: E731
    return {
        "web": {**key("web"), "owner": S(HOSTILE + "o" * 390_000), "plan_id": S("p-evil|x"), "what": S(HOSTILE),
                "taken_at": S("2026-11-30T12:00:00.000+00:00"), "expires_at": {"N": future}},
        "api": {**key("api"), "owner": S(HOSTILE), "plan_id": S("p-api"), "taken_at": {"N": "5"},
                "expires_at": {"N": "1e20"}},
        "worker": {**key("worker"), "owner": S("arn:aws:iam::1:user/w"), "plan_id": S("p-w"), "expires_at": {"NULL": True},
                   "what": {"B": b"\x1b[2J"}, "extra": {"M": {"a": S(HOSTILE)}}, "list": {"L": [S(HOSTILE)]},
                   "set": {"SS": [HOSTILE, "b"]}, "flag": {"BOOL": True}},
        "cache": {**key("cache"), "owner": S("arn:aws:iam::1:user/c"), "plan_id": S("p-c"), "expires_at": S("2020-01-01")},
        "checkout": {**key("checkout"), "owner": S(HOSTILE)},
    }


@pytest.fixture
def team(demo, tmp_path):
    """The demo fleet in team mode (its table created), the config, and boto3's DynamoDB: the attacker's hand."""
    create_team_table(demo.endpoint_url, **demo_team())
    cfg = tmp_path / "team.toml"
    cfg.write_text(demo.config_path.read_text(encoding="utf-8") + '\n[team]\ntable = "fleettui"\n', encoding="utf-8")
    return cfg, demo.client("dynamodb")


def plant(ddb, *groups) -> None:
    for items in groups:
        for item in (items.values() if isinstance(items, dict) else items):
            ddb.put_item(TableName="fleettui", Item=item)


class Operator:
    """One operator: a FLEETTUI_HOME of their own; runs the CLI and returns (exit code, stdout, stderr)."""

    def __init__(self, name: str, tmp_path: Path, monkeypatch, capsys, cfg: Path):
        self.home, self.monkeypatch, self.capsys, self.cfg = tmp_path / name, monkeypatch, capsys, cfg

    def __call__(self, *args: str, config: bool = True) -> tuple[int, str, str]:
        self.monkeypatch.setenv("FLEETTUI_HOME", str(self.home))
        self.capsys.readouterr()
        code = main([*args, *(["--config", str(self.cfg)] if config else [])])
        out, err = self.capsys.readouterr()
        return code, out, err


# ------------------------------------------------------------------------------------------------ items 1, 2, 4: CLI

def test_cli_with_every_hostile_and_malformed_item_stays_usable_and_lets_no_control_character_out(
        demo, team, tmp_path, monkeypatch, capsys):
    cfg, ddb = team
    alice = Operator("alice", tmp_path, monkeypatch, capsys, cfg)
    code, _, err = alice("shift", "web", "--to", "1.6.0", "--weight", "20", "--yes", "--reason", "INC-1 canary")
    assert code == 0, err
    plant(ddb, hostile_events(), malformed_items())
    bob = Operator("bob", tmp_path, monkeypatch, capsys, cfg)

    code, out, err = bob("audit")
    assert code == 0, err
    assert_clean(out + err)
    assert "INC-1 canary" in out                                 # alice's plan, read from the table
    assert SHOWN in out and "p-\\x1b[2J" in out                  # the hostile plans, shown literally
    skipped = [ln for ln in err.splitlines() if "skipped item audit#web" in ln]
    assert len(skipped) == 5 and "and 5 more" in err             # one warning per item, at most five
    assert "p-bad1#1-000031: plan_created in another format (KeyError: 'plan')" in skipped[0]

    code, out, err = bob("audit", PLAN)
    assert code == 0, err
    assert_clean(out + err)
    for kind in ("plan_created", "plan_resumed", "step_started", "step_note", "step_failed", "step_succeeded",
                 "warning", "rollout_control", "lock_cleared", "plan_finished"):
        assert kind in out
    assert "created \\x1b]2;PWNED" in out                        # the time that was a title change

    code, out, err = bob("audit", "--json")
    assert code == 0, err
    assert_clean(out)
    doc = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in audit --json"))
    assert any(p["plan_id"] == PLAN and p["reason"] == HOSTILE for p in doc)      # the data itself, intact
    code, out, _ = bob("audit", PLAN, "--json")
    assert code == 0 and len(json.loads(out)) >= 10

    for args in (("status",), ("rollout", "status", "web"), ("status", "--json")):
        code, out, err = bob(*args)
        assert code in (0, 1), (args, err)
        assert_clean(out + err)


def test_unlock_clears_every_odd_lock_item_journaled_with_who_and_a_huge_holder_is_capped(
        demo, team, tmp_path, monkeypatch, capsys):
    """Item 4: an expiry of 1e20 / NULL / a string / none, a numeric taken_at, a plan id with "|", an item with only
    an owner, a 390 KB owner: each shown as what it is (never "expired 29944633 min ago"), refused to a plan
    (LockHeld naming it, no crash), and removed by `unlock` conditional on what was shown -- journaled with who."""
    cfg, ddb = team
    locks = lock_items()
    plant(ddb, locks)
    op = Operator("carol", tmp_path, monkeypatch, capsys, cfg)
    code, _, err = op("shift", "api", "--to", "2.2.0", "--weight", "10", "--yes")
    assert code == 2 and "api is locked by a malformed lock item (its expiry 1e20 is not a time" in err, err
    assert_clean(err)
    said = {}
    for service in locks:
        code, out, err = op("unlock", service, "--yes", "--reason", "stale")
        assert code == 0, (service, out, err)
        assert_clean(out + err)
        assert len(out) < 20_000                       # the 390 KB owner is cut: "…(N more)"
        said[service] = out.splitlines()[0]
        got = ddb.get_item(TableName="fleettui", Key={"pk": S(f"lock#{service}"), "sk": S("lock")}, ConsistentRead=True)
        assert "Item" not in got, service
    assert said["web"].startswith(f"web is locked by {SHOWN}") and "more) (" in said["web"]
    assert "plan p-evil|x) until" in said["web"]
    assert "its expiry {\"NULL\": true} is not a number of seconds" in said["worker"]
    assert "its expiry '2020-01-01' is not a number of seconds" in said["cache"]
    assert "no expiry: it never expires by itself" in said["checkout"] and "expired" not in said["checkout"]
    cleared = [e for e in journal_events(op.home) if e["event"] == "lock_cleared"]
    assert sorted(e["service"] for e in cleared) == sorted(locks)
    assert all(e["who"] == MOTO and e["reason"] == "stale" for e in cleared)
    web = next(e for e in cleared if e["service"] == "web")
    assert web["plan_id"] == "p-evil|x" and len(web["holder"]) < 2100 and web["holder"].endswith("more)")


def test_unlock_never_clears_a_lock_that_changed_after_it_was_shown(demo, team, tmp_path, monkeypatch):
    """The clear is conditional on every attribute shown, whatever its type: a renewal in between is refused."""
    from fleettui.config import load_config
    from fleettui.aws.gateway import Gateway
    from fleettui.store import LockHeld
    from fleettui.store.dynamo import DynamoLock

    cfg, ddb = team
    plant(ddb, {"api": lock_items()["api"]})
    config = load_config(cfg)

    async def go():
        async with Gateway(config.aws) as gw:
            lock = DynamoLock(gw, config.service("api"), MOTO, "", team=config.team)
            seen = await lock.holder()
            ddb.update_item(TableName="fleettui", Key={"pk": S("lock#api"), "sk": S("lock")},
                            UpdateExpression="SET expires_at = :e", ExpressionAttributeValues={":e": {"N": "2e20"}})
            with pytest.raises(LockHeld, match="changed while you were deciding"):
                await lock.clear(seen)
            await lock.clear(await lock.holder())
    asyncio.run(go())
    assert "Item" not in ddb.get_item(TableName="fleettui", Key={"pk": S("lock#api"), "sk": S("lock")})


# ------------------------------------------------------------------------------------------------ items 1, 2, 4: TUI

def _screen_text(app) -> str:
    from textual.geometry import Region

    return "\n".join("\n".join(s.text for s in w.render_lines(Region(0, 0, w.outer_size.width, w.outer_size.height)))
                     for w in app.screen.query("*") if w.display and w.outer_size.area)


def test_tui_audit_generation_view_services_pane_and_status_line_with_every_hostile_item(
        demo, team, tmp_path, monkeypatch):
    """`:audit`, the generation view's weights history, the services pane and the status line's lock and last-change
    lines, with every hostile and malformed audit item and every odd lock item in the table: nothing fails
    (no "team failed", no "team-history failed"), every line shows the text literally, no control character is
    painted, and the skipped items are named in notifications."""
    from test_ui import loaded, screen_with_id, squash, until

    from fleettui.config import load_config
    from fleettui.context import Context
    from fleettui.ui.app import make_app
    from fleettui.ui.data.view import Section
    from fleettui.ui.screens.generation import GenerationScreen

    cfg, ddb = team
    plant(ddb, hostile_events(), malformed_items(), lock_items())
    config = load_config(cfg)

    async def go():
        app = make_app(Context(config=config, read_only=False), auto_refresh=False)
        async with app.run_test(size=(160, 45), notifications=True) as pilot:
            await loaded(app, pilot)
            await until(pilot, lambda: app.state.team, timeout=30)
            await pilot.pause()
            assert app.state.team_error is None
            assert {n for n, t in app.state.team.items() if t.lock is not None} == set(lock_items())
            main_text = _screen_text(app)
            flat = squash(main_text)            # lines wrap: compare without the layout
            assert flat.count("locked:malformedlock") == 4 and "…(389941more)" in flat         # the services pane
            assert f"■lockedby{SHOWN}" in flat and "…(389989more)" in flat                       # the status line
            assert "lastchange:\\x1b]2;PWNED" in flat
            # the generation view of web 1.5.0: its weights history holds the hostile plan
            table = app.main.table
            table.cursor = next(i for i, r in enumerate(table.rows) if isinstance(r, Section)
                                and r.gen.version == "1.5.0" and r.gen.service == "web")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, GenerationScreen), timeout=30)
            await pilot.pause()
            generation = _screen_text(app)
            assert "\\x1b]2;PWNED" in generation
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.main)
            await pilot.press("colon", *"audit", "enter")
            await screen_with_id(app, pilot, "audit")
            await pilot.pause()
            audit = _screen_text(app)
            assert "\\x1b]2;PWNED" in audit and "p-\\x1b[2J" in audit
            notes = [str(n.message) for n in app._notifications]
            return main_text, generation, audit, notes

    main_text, generation, audit, notes = asyncio.run(go())
    for text in (main_text, generation, audit, *notes):
        assert_clean(text)
    assert not [n for n in notes if "failed" in n], notes
    assert any(n.startswith("10 items of the team table skipped (not fleettui's), the first: item audit#web")
               for n in notes), notes


# ------------------------------------------------------------------------------------------------ item 2: writing

def test_fleettui_never_writes_an_item_it_cannot_read_back(demo, team, tmp_path):
    """An event over the body limit (a plan of 20,000 hosts) is cut to fit, says so, and reads back as the same
    kind of event -- the plan included (before: stored without its body, then unreadable for everyone)."""
    from fleettui.aws.gateway import Gateway
    from fleettui.config import load_config
    from fleettui.domain.history import Scope
    from fleettui.domain.plan import Plan, Step
    from fleettui.store.dynamo import MAX_BODY, TeamJournal
    from fleettui.store.local import JsonlJournal

    cfg, ddb = team
    config = load_config(cfg)
    j = TeamJournal(JsonlJournal(tmp_path / "j" / "journal.jsonl"), config.aws, config.team)
    j.bind(Scope(account="123456789012", endpoint=config.aws.endpoint_url))
    hosts = tuple(f"i-{n:017x}" for n in range(20_000))
    plan = Plan(id="p-big", verb="replace", service="web", summary="replace 20,000 hosts", hosts_affected=hosts,
                steps=tuple(Step(f"s{n}", "terminate", "us-east-1", "terminate", {"instances": list(hosts[:500])})
                            for n in range(1, 40)))
    j.append("plan_created", "p-big", who=MOTO, reason="r" * 900, plan=plan.to_dict())
    j.append("step_succeeded", "p-big", step="s1", detail={"terminated": list(hosts)})

    async def go():
        async with Gateway(config.aws) as gw:
            assert await j.flush(gw) == 0
            return await j.team_events(gw, ["web"]), await j.team_records(gw, ["web"])
    events, records = asyncio.run(go())
    assert j.team_warnings == []
    created, done = events
    assert created["event"] == "plan_created" and "cut" in created and created["plan"]["id"] == "p-big"
    assert len(created["plan"]["steps"]) == 39 and created["plan"]["hosts_affected"][-1] == "…(19950 more)"
    assert done["detail"]["terminated"][-1] == "…(19950 more)"
    assert records["p-big"].plan.summary == "replace 20,000 hosts" and records["p-big"].done == {"s1"}
    bodies = [i["body"]["S"] for i in ddb.scan(TableName="fleettui")["Items"] if i["pk"]["S"] == "audit#web"]
    assert all(len(b) <= MAX_BODY for b in bodies)


@pytest.mark.parametrize("reason, why", [
    ("x" * 5000, "the reason is 5,000 characters long; at most 1,000 are allowed"),
    ("caf\udce9", "the reason is not valid UTF-8 at character 4 (the byte 0xe9)"),
])
def test_a_reason_is_limited_at_input_in_one_line(demo, team, tmp_path, monkeypatch, capsys, reason, why):
    cfg, _ = team
    op = Operator("dave", tmp_path, monkeypatch, capsys, cfg)
    for args in (("shift", "web", "--to", "1.6.0", "--weight", "20", "--yes"), ("unlock", "web", "--yes")):
        code, out, err = op(*args, "--reason", reason)
        assert code == 2 and len(err.strip().splitlines()) == 1 and why in err, err
    assert not op.home.exists() or journal_events(op.home) == []
    assert listener_weights(demo) == {"web-1-4-0": 0, "web-1-5-0": 90, "web-1-6-0": 10}


# ------------------------------------------------------------------------------------------------ item 3: outbox

def _outbox(home: Path) -> Path:
    (path,) = list(home.rglob("team-outbox.jsonl"))
    return path


@pytest.mark.parametrize("poison", ["oversize", "torn"])
def test_one_bad_outbox_line_never_blocks_the_events_after_it(demo, team, tmp_path, monkeypatch, capsys, poison):
    """Alice's outbox starts with an event the table refuses (over DynamoDB's item size, as an older fleettui could
    queue) or ends with a line torn by a crash: her next plan still reaches the team (bob sees it), the bad line is
    set aside beside the outbox and `audit` says so."""
    cfg, ddb = team
    alice = Operator("alice", tmp_path, monkeypatch, capsys, cfg)
    assert alice("shift", "web", "--to", "1.6.0", "--weight", "20", "--yes", "--reason", "first")[0] == 0
    outbox = _outbox(alice.home)
    if poison == "oversize":
        outbox.write_text(json.dumps({"pk": "audit#web", "sk": "2026-01-01T00:00:00.000Z#p-old#1-000001",
                                      "event": "warning", "body": "x" * 420_000}) + "\n")
    else:
        outbox.write_text('{"pk":"audit#web","sk":"2026-01-01T00:00:00.000Z#p-torn#1-0000')      # no newline
    code, _, err = alice("shift", "web", "--to", "1.6.0", "--weight", "10", "--yes", "--reason", "second")
    assert code == 0, err
    bob = Operator("bob", tmp_path, monkeypatch, capsys, cfg)
    code, out, err = bob("audit")
    assert code == 0 and "second" in out, (out, err)             # before: alice's plan never reached the team
    code, out, err = alice("audit")
    assert code == 0
    assert "1 event could not be sent: " in err and "team-outbox.unsent.jsonl" in err, err
    if poison == "torn":
        assert "is not an event (a torn or foreign line" in err
    else:
        assert "ValidationException" in err
    assert outbox.read_text() == ""


# ------------------------------------------------------------------------------------------------ item 7: read-only

def _tree(home: Path) -> dict[str, str]:
    return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(home.rglob("*")) if p.is_file()} if home.exists() else {}


def test_read_only_writes_nothing_anywhere(demo, team, tmp_path, monkeypatch, capsys):
    """A plan left unfinished (killed mid-shift, its lock still held) and an event still queued: in read-only mode
    `resume --abandon` refuses before writing (before: plan_finished abandoned in the journal and the outbox, the
    lock left held), and no command writes the journal, the outbox, the table or any other file."""
    from fleettui.config import load_config
    from fleettui.context import Context
    from fleettui.domain.history import Scope
    from fleettui.domain.plan import Plan, Step

    cfg, ddb = team
    op = Operator("erin", tmp_path, monkeypatch, capsys, cfg)
    monkeypatch.setenv("FLEETTUI_HOME", str(op.home))
    journal = Context(config=load_config(cfg), read_only=False).store.journal
    journal.bind(Scope(account="123456789012", endpoint=demo.endpoint_url))
    plan = Plan(id="p-killed", verb="shift", service="web", summary="shift web: 1.6.0 10%→25%",
                steps=(Step("s1", "set_weights", "us-east-1", "set weights"),))
    journal.append("plan_created", "p-killed", who=MOTO, reason="killed", plan=plan.to_dict())
    journal.append("step_started", "p-killed", step="s1")
    ddb.put_item(TableName="fleettui", Item={"pk": S("lock#web"), "sk": S("lock"), "owner": S(MOTO),
                                             "plan_id": S("p-killed"), "taken_at": S("2026-11-30T12:00:00+00:00"),
                                             "expires_at": {"N": str(int(time.time()) + 600)}})
    files, items = _tree(op.home), ddb.scan(TableName="fleettui")["Items"]
    assert any(name.endswith("team-outbox.jsonl") for name in files)
    for args in (("resume", "--abandon", "--yes"), ("resume", "p-killed", "--abandon", "--yes"),
                 ("resume", "--yes"), ("unlock", "web", "--yes"), ("audit",), ("audit", "--json"),
                 ("status",), ("rollout", "status", "web"),
                 ("shift", "web", "--to", "1.6.0", "--weight", "20", "--yes")):
        code, out, err = op("--read-only", *args)
        assert code in (0, 1, 2), (args, out, err)
        if args[0] == "resume" and "--abandon" in args:
            assert code == 1 and "read-only mode: plan p-killed was not marked abandoned" in err, err
        assert _tree(op.home) == files, args
        assert ddb.scan(TableName="fleettui")["Items"] == items, args
    assert not [e for e in journal_events(op.home) if e.get("status") == "abandoned"]


# ------------------------------------------------------------------------------------------------ item 9

def test_a_fifo_as_the_journal_is_a_clear_error_not_a_hang(demo, tmp_path, monkeypatch):
    """`audit` with a FIFO where the journal should be: one line naming it, exit 1 -- not a read that waits for a
    writer forever (the subprocess's timeout only turns such a hang into a failure)."""
    from fleettui.store.local import journal_path_for

    home = tmp_path / "fifo-home"
    env = {**os.environ, "FLEETTUI_HOME": str(home)}
    monkeypatch.setenv("FLEETTUI_HOME", str(home))
    path = journal_path_for(demo.endpoint_url)
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    proc = subprocess.run([sys.executable, "-m", "fleettui", "audit", "--config", str(demo.config_path)], env=env,
                          capture_output=True, text=True, cwd=REPO, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1, proc
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"the journal {path} cannot be read: not a regular file" in lines[0], proc.stderr


def test_a_world_writable_config_is_refused(demo, tmp_path, capsys):
    """Refused, not warned: a config decides which endpoint is trusted and which team table is shared; a warning
    scrolls by while the commands it rewrote already ran."""
    cfg = tmp_path / "open.toml"
    cfg.write_text(demo.config_path.read_text(encoding="utf-8"))
    cfg.chmod(0o666)
    assert main(["status", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}: writable by every user of this machine (mode 0666): refused" in err and "chmod o-w" in err
    cfg.chmod(0o644)
    opened = tmp_path / "opendir"
    opened.mkdir()
    opened.chmod(0o777)
    (opened / "c.toml").write_text(cfg.read_text())
    assert main(["status", "--config", str(opened / "c.toml")]) == 2
    assert "its directory" in capsys.readouterr().err
    opened.chmod(0o1777)                                  # sticky (like /tmp): nobody replaces another's file
    assert main(["status", "--config", str(opened / "c.toml")]) == 0


def test_status_json_is_valid_json_and_huge_counts_give_the_right_rate(demo, capsys):
    """Request counts of 1e308 a minute (their sum overflows a float) and 5xx of a tenth of that: `status --json`
    says error_rate 0.1 (before: 0.0, and latency NaN printed as `NaN`: not JSON)."""
    from datetime import datetime, timedelta, timezone

    from fleettui.aws.signals import lb_dimension, tg_dimension

    elb = demo.client("elbv2")
    arn = elb.describe_target_groups(Names=["web-1-6-0"])["TargetGroups"][0]["TargetGroupArn"]
    dims = [{"Name": "TargetGroup", "Value": tg_dimension(arn)},
            {"Name": "LoadBalancer", "Value": lb_dimension(demo.fleet.listener_arns["web"])}]
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    data = []
    for m in (2, 3):
        t = now - timedelta(minutes=m)
        data += [{"MetricName": "RequestCount", "Dimensions": dims, "Timestamp": t, "Value": 1e308},
                 {"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": dims, "Timestamp": t, "Value": 1e307},
                 {"MetricName": "TargetResponseTime", "Dimensions": dims, "Timestamp": t, "Value": 0.25}]
    demo.client("cloudwatch").put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data)
    assert main(["status", "--json", "--config", str(demo.config_path)]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    web = next(s for s in doc["services"] if s["name"] == "web")
    sig = next(g for g in web["generations"] if g["version"] == "1.6.0")["signals"]
    assert sig["error_rate"] == 0.1 and sig["latency_seconds"] == 0.25
    assert sig["requests"] is None and sig["requests_per_s"] is None      # beyond a float: null, never Infinity
    assert main(["status", "--config", str(demo.config_path)]) == 0
    assert "10.0%" in capsys.readouterr().out


def test_a_lock_item_of_any_shape_is_read_described_and_judged_without_an_exception():
    """Every attribute value DynamoDB can hold (and some it cannot), in every field: read_lock never raises, says
    what is wrong, judges live as the take condition does, and its token gives back the exact item (bytes too)."""
    import itertools

    from fleettui.store.dynamo import _unb64, read_lock

    values = [S("x"), {"N": "1e20"}, {"N": "-5"}, {"N": "abc"}, {"NULL": True}, {"M": {"a": S("b")}}, {"L": []},
              {"SS": ["a"]}, {"B": b"\x1b"}, {"BS": [b"a"]}, {"BOOL": True}, "raw", 5, None, S(HOSTILE),
              {"N": "1e400"}]
    for a, b in itertools.product(values, repeat=2):
        for k1, k2 in (("expires_at", "owner"), ("plan_id", "taken_at"), ("what", "expires_at"), ("owner", "plan_id")):
            raw = {"pk": S("lock#web"), "sk": S("lock"), k1: a, k2: b}
            lock = read_lock(raw)
            assert_clean(lock.describe())
            assert json.loads(lock.token, object_hook=_unb64) == raw
            assert lock.live(1e9) == (not (isinstance(raw.get("expires_at"), dict) and raw["expires_at"].get("N")
                                           in ("-5",)))
    old = read_lock({"owner": S("o"), "plan_id": S("p"), "expires_at": {"N": "-5"}})
    assert not old.live(0) and "before 1970: taken like an expired lock" in old.describe()
    assert read_lock({"owner": S("o"), "plan_id": S("p"), "expires_at": {"N": "1700000000"}}).problem is None
