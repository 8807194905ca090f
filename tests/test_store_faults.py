"""The store under faults (issue #11 items 1, 2, 4): the journal is scoped to one AWS, survives torn writes,
foreign lines and storage errors, and the tag lock is never overwritten, doubly held or silently lost.

Everything runs against moto on loopback, through :class:`faults.FaultProxy` where requests are counted, held or
failed; AWS state is read straight from moto with boto3; storage errors are real ones (a directory where the
journal should be, /dev/full, a file where the state dir should be, /proc, RLIMIT_FSIZE set on the running
process).
"""
from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from faults import (
    REPO, FaultProxy, bake_web_version, full_rollout, journal_events, journal_paths, listener_weights, wait_for, write_config,
)
from fleettui.cli import main
from fleettui.store.local import JsonlJournal, endpoint_dir, fresh_endpoint_dir, journal_path_for
from fleettui.store.taglock import LOCK_TAG

TIMEOUT = 90
OTHER_ACCOUNT = "111111111111"


@pytest.fixture
def proxy(demo):
    with FaultProxy(demo.endpoint_url) as p:
        yield p


@pytest.fixture
def cfg(demo, proxy, tmp_path):
    return write_config(demo, proxy.url, tmp_path / "proxied.toml")


def cli(*args, cfg) -> int:
    return main([*args, "--config", str(cfg), "--yes"])


def lock_tag(demo, service: str = "web") -> str | None:
    arn = demo.fleet.listener_arns[service]
    tags = demo.client("elbv2", arn.split(":")[3]).describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
    return {t["Key"]: t["Value"] for t in tags}.get(LOCK_TAG)


def set_lock_tag(demo, value: str, service: str = "web") -> None:
    arn = demo.fleet.listener_arns[service]
    demo.client("elbv2", arn.split(":")[3]).add_tags(ResourceArns=[arn], Tags=[{"Key": LOCK_TAG, "Value": value}])


def future(minutes: int = 10) -> str:
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat(timespec="seconds")


def leave_unfinished(config_path) -> str:
    """A rollback journaled and never run (as if killed right after plan_created); returns its id."""
    from fleettui.actions.api import Actions
    from fleettui.actions.verbs import Rollback
    from fleettui.aws.gateway import Gateway
    from fleettui.config import load_config

    config = load_config(config_path)

    async def go():
        async with Gateway(config.aws) as gw:
            actions = Actions(config=config, gw=gw, read_only=False)
            plan = await actions.plan(Rollback("web"))
            actions.executor().start(plan, "left unfinished")
            return plan.id
    return asyncio.run(go())


def other_account_credentials(demo) -> dict[str, str]:
    role = f"arn:aws:iam::{OTHER_ACCOUNT}:role/ops"
    creds = demo.client("sts").assume_role(RoleArn=role, RoleSessionName="ops-b")["Credentials"]
    return {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"]}


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


def last_line(text: str) -> str:
    """After the progress lines (✓ per step) the outcome is one line, and there is no traceback."""
    lines = text.strip().splitlines()
    assert "Traceback" not in text and [ln for ln in lines if ln.startswith("fleettui:")] == lines[-1:], text
    return lines[-1]


# ------------------------------------------------------------------------------ item 1: one AWS per journal

def test_resume_refuses_a_plan_of_another_account_and_never_offers_it(demo, cfg, monkeypatch, capsys):
    plan_id = leave_unfinished(cfg)
    created = next(e for e in journal_events(os.environ["FLEETTUI_HOME"]) if e["event"] == "plan_created")
    assert created["scope"] == {"account": "123456789012", "partition": "aws", "endpoint": cfg.read_text()
                                .split('endpoint_url = "')[1].split('"')[0], "profile": "demo",
                                "regions": ["us-east-1", "eu-west-1"]}
    before = listener_weights(demo)
    for k, v in other_account_credentials(demo).items():
        monkeypatch.setenv(k, v)
    capsys.readouterr()
    # resume ID of another account's plan: one line naming both accounts, nothing changed
    assert cli("resume", plan_id, cfg=cfg) == 2
    line = one_line(capsys.readouterr().err)
    assert f"plan {plan_id} was made against account 123456789012" in line
    assert f"this is account {OTHER_ACCOUNT}" in line and "refused" in line
    assert cli("resume", plan_id, "--abandon", cfg=cfg) == 2
    capsys.readouterr()
    # resume without an id (and the TUI's start-up offer: the same Actions.unfinished) does not see it
    assert cli("resume", cfg=cfg) == 0
    assert f"no unfinished plan of account {OTHER_ACCOUNT}" in capsys.readouterr().out
    assert listener_weights(demo) == before
    # back in the first account, it resumes
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(k)
    assert cli("resume", cfg=cfg) == 0
    assert listener_weights(demo)["web-1-5-0"] == 100      # the rollback rule: the canary 1.6.0 is undone


def test_unfinished_is_scoped_in_the_action_layer(demo, cfg, monkeypatch):
    from fleettui.actions.api import Actions
    from fleettui.aws.gateway import Gateway
    from fleettui.config import load_config

    plan_id = leave_unfinished(cfg)
    config = load_config(cfg)

    async def unfinished():
        async with Gateway(config.aws) as gw:
            return [r.plan.id for r in await Actions(config=config, gw=gw, read_only=False).unfinished()]

    assert asyncio.run(unfinished()) == [plan_id]
    for k, v in other_account_credentials(demo).items():
        monkeypatch.setenv(k, v)
    assert asyncio.run(unfinished()) == []


def test_each_endpoint_has_its_own_journal_and_audit_without_config_shows_no_demo(demo, cfg, capsys):
    assert cli("rollback", "web", cfg=cfg) == 0
    (path,) = journal_paths(os.environ["FLEETTUI_HOME"])
    assert path == journal_path_for(cfg.read_text().split('endpoint_url = "')[1].split('"')[0])
    assert path != journal_path_for(None) and path != journal_path_for(demo.endpoint_url)
    capsys.readouterr()
    assert main(["audit", "--json"]) == 0                     # no config: the real-AWS journal
    assert json.loads(capsys.readouterr().out) == []


def test_demo_serve_state_and_config_are_per_server(aws_server, isolated_home):
    from fleettui.config import load_config
    from fleettui.context import demo_stopped, serve_demo

    aws_server.reset()
    stale = fresh_endpoint_dir("http://127.0.0.1:1")               # an emulator that died on port 1
    (stale / "journal.jsonl").write_text('{"event":"plan_created"}\n')
    assert fresh_endpoint_dir("http://127.0.0.1:1") == stale and not (stale / "journal.jsonl").exists()
    real = endpoint_dir("http://127.0.0.1:2")                        # not an emulator's: kept aside, never deleted
    real.mkdir(parents=True)
    (real / "journal.jsonl").write_text("keep\n")
    fresh_endpoint_dir("http://127.0.0.1:2")
    (kept,) = real.parent.glob("http-127.0.0.1-2.before-emulator-*")
    assert (kept / "journal.jsonl").read_text() == "keep\n"

    server, _fleet, path = serve_demo(port=0)
    try:
        assert path.parent == endpoint_dir(server.endpoint_url)       # unique to this server (its port)
        assert load_config(path).aws.endpoint_url == server.endpoint_url
        assert journal_path_for(server.endpoint_url).parent == path.parent
    finally:
        server.stop()
        demo_stopped(server)
        aws_server.reset()
    assert not path.parent.exists()


# ------------------------------------------------------------------------------ item 2: a journal that lasts

def test_append_starts_on_a_new_line_and_fsyncs_each_event(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    path = tmp_path / "journal.jsonl"
    j = JsonlJournal(path)
    j.append("plan_created", "p-a", ts_ignored=1, plan={"x": 1})
    with open(path, "ab") as fh:
        fh.write(b'{"ts":"2025-01-01T00:00:00Z","event":"step_succ')      # torn: crash / full disk mid-write
    j.append("warning", "p-b", message="after the torn line")
    lines = path.read_bytes().splitlines()
    assert len(lines) == 3 and json.loads(lines[2])["plan_id"] == "p-b"
    assert len(synced) == 2


FOREIGN = ["null", "42", "[]", "garbage \x00\xff", '{"event": "plan_created", "plan_id": "p-old", "ts": "x", '
           '"plan": {"id": "p-old"}}', '{"event": "step_note", "plan_id": "p-x"}']


def test_foreign_and_torn_lines_are_skipped_with_one_warning_each(demo, cfg, capsys):
    assert cli("rollback", "web", cfg=cfg) == 0
    (path,) = journal_paths(os.environ["FLEETTUI_HOME"])
    good = path.read_text()
    path.write_text("\n".join(FOREIGN) + "\n" + good + '{"ts": "2025-01-01T00:00:0', encoding="utf-8")
    capsys.readouterr()
    assert main(["audit", "--json", "--config", str(cfg)]) == 0
    out, err = capsys.readouterr()
    records = json.loads(out)
    assert [r["status"] for r in records] == ["succeeded"]
    warnings = err.strip().splitlines()
    # 6 foreign lines + the torn last one, capped at 5 shown + "and 2 more"
    assert len(warnings) == 6 and all(str(path) in w for w in warnings), err
    assert "line 1: not a JSON object (NoneType)" in warnings[0] and "line 2:" in warnings[1]
    assert "line 3: not a JSON object (list)" in warnings[2] and "line 4: not JSON" in warnings[3]
    assert "line 5: plan_created in another format" in warnings[4] and "and 2 more" in warnings[5]
    # the next plan is journaled on its own line after the torn one, and audit sees it
    assert cli("shift", "web", "--to", "1.6.0", "--weight", "20", cfg=cfg) == 0
    capsys.readouterr()
    assert main(["audit", "--json", "--config", str(cfg)]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["verb"], r["status"]) for r in records] == [("rollback", "succeeded"), ("shift", "succeeded")]


def test_audit_screen_survives_foreign_lines(demo, demo_ctx):
    from test_ui import SIZE, loaded, make_app, run, static_text

    path = demo_ctx.store.journal.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(FOREIGN) + "\n", encoding="utf-8")

    async def go():
        app = make_app(demo_ctx, auto_refresh=False)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await loaded(app, pilot)
            await pilot.press("colon", *"audit", "enter")
            await pilot.pause()
            assert app.screen.id == "audit"
            assert "journal is empty" in static_text(app.screen, "#audit-table")
            assert any("skipped line 1" in n.message for n in app._notifications)
    run(go())


def _home_with(tmp_path, kind: str):
    """A FLEETTUI_HOME whose journal cannot be written, for each way storage fails."""
    home = tmp_path / f"home-{kind}"
    if kind == "proc":                            # a state dir that cannot be created (read-only fs)
        return "/proc/fleettui-test"
    if kind == "file-for-dir":
        home.write_text("not a directory")
        return str(home)
    return str(home)


@pytest.mark.parametrize("kind", ["directory", "dev-full", "file-for-dir", "proc"])
def test_storage_error_before_a_plan_is_one_line_exit_1_and_no_mutation(demo, proxy, cfg, tmp_path, monkeypatch,
                                                                        capsys, kind):
    home = _home_with(tmp_path, kind)
    monkeypatch.setenv("FLEETTUI_HOME", home)
    # the STS call and the plan are reads; make the journal fail where the plan would be written
    journal = journal_path_for(cfg.read_text().split('endpoint_url = "')[1].split('"')[0])
    if kind == "directory":
        journal.mkdir(parents=True)
    elif kind == "dev-full":
        journal.parent.mkdir(parents=True)
        journal.symlink_to("/dev/full")
    before = listener_weights(demo)
    assert cli("rollback", "web", cfg=cfg) == 1
    out, err = capsys.readouterr()
    line = one_line(err)
    assert "journal" in line and "could not be written" in line, line
    assert proxy.mutating() == {} and listener_weights(demo) == before and lock_tag(demo) is None


def _journal_size(home) -> int:
    paths = journal_paths(home)
    return paths[0].stat().st_size if paths else 0


@pytest.mark.parametrize("when", ["last-step", "mid-plan"])
def test_journal_full_after_aws_steps_tells_the_aws_truth(demo, proxy, cfg, tmp_path, isolated_home, when):
    """RLIMIT_FSIZE (`ulimit -f`) set on the running process while a step is in flight: the next journal write
    fails with EFBIG. The operator is told what AWS did, in one line, exit 1."""
    bake_web_version(demo, "1.7.0")
    # launch: s1 create_target_group, s2 launch, s3 wait_running, s4 register, s5 wait_healthy, s6 listener_add
    hold = proxy.hold("elasticloadbalancing.ModifyListener" if when == "last-step" else "ec2.RunInstances",
                      where="after", nth=1)
    proc = subprocess.Popen([sys.executable, "-m", "fleettui", "launch", "web", "--config", str(cfg), "--yes"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    wait_for(lambda: hold.reached.is_set() or proc.poll() is not None, TIMEOUT, "the held request")
    assert proc.poll() is None
    size = _journal_size(isolated_home)
    resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (size, size))
    hold.release()
    out, err = proc.communicate(timeout=TIMEOUT)
    out, err = out.decode(), err.decode()
    assert proc.returncode == 1, (out, err)
    line = last_line(err)
    assert "could not be written: File too large" in line
    if when == "last-step":
        assert line.startswith("fleettui: all 6 steps done in AWS; the journal"), line
        assert "web-1-7-0" in listener_weights(demo)
    else:
        # s2's launch reached AWS, then its step_succeeded could not be written: it is counted as done
        assert line.startswith("fleettui: 2 of 6 steps done in AWS (s1, s2); the journal"), line
        assert "fleettui resume" in line
    assert lock_tag(demo) is None                          # the lock was still released


# ------------------------------------------------------------------------------ item 4: an honest lock

def test_release_removes_the_tag(demo, cfg):
    assert cli("rollback", "web", cfg=cfg) == 0
    assert lock_tag(demo) is None


def test_heartbeat_never_overwrites_a_lock_taken_meanwhile(demo, proxy, cfg, tmp_path, isolated_home):
    """Our lock lapsed mid-plan and another operator took it: the renewal sees that and stops the plan before its
    next step; their lock stays, untouched."""
    full_rollout(demo, "1.6.0")                            # so that the ramp has three real steps
    hold = proxy.hold("elasticloadbalancing.ModifyListener", where="after", nth=2)
    proc = subprocess.Popen([sys.executable, "-m", "fleettui", "rollback", "web", "--ramp", "25,50,100",
                             "--config", str(cfg), "--yes"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    wait_for(lambda: hold.reached.is_set() or proc.poll() is not None, TIMEOUT, "the second listener change")
    theirs = f"arn:aws:sts::123456789012:assumed-role/ops/ops-b|p-theirs|{future()}"
    set_lock_tag(demo, theirs)
    hold.release()
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 1, (out, err)
    line = last_line(err.decode())
    assert "web's lock is now held by arn:aws:sts::123456789012:assumed-role/ops/ops-b (plan p-theirs) until 20" \
        in line and "UTC" in line
    assert "stopped with 2 of 3 steps done in AWS (s1, s2)" in line
    assert lock_tag(demo) == theirs                        # neither renewed over nor released
    assert listener_weights(demo)["web-1-5-0"] == 50       # s3 never ran
    finished = [e for e in journal_events(isolated_home) if e["event"] == "plan_finished"]
    assert finished[-1]["status"] == "failed" and finished[-1]["failed_step"] == "s3"


def test_two_concurrent_shifts_with_a_throttled_lock_write_let_one_through(demo, proxy, cfg, tmp_path):
    """Both processes are held at their first STS call and let go together, so they race for the lock; the first
    lock write is throttled. Exactly one shift runs; the other is refused naming the holder."""
    proxy.script("elasticloadbalancing.AddTags", "throttle")
    holds = [proxy.hold("sts.GetCallerIdentity", nth=n) for n in (1, 2)]
    procs = []
    for k, weight in enumerate((30, 60)):
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "fleettui", "shift", "api", "--to", "2.3.0", "--weight", str(weight),
             "--config", str(cfg), "--yes"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, env={**os.environ, "FLEETTUI_HOME": str(tmp_path / f"op{k}")}))
        wait_for(lambda: holds[k].reached.is_set(), TIMEOUT, f"operator {k} at STS")
    for h in holds:
        h.release()
    results = [(p.wait(TIMEOUT), *(s.decode() for s in p.communicate())) for p in procs]
    codes = sorted(r[0] for r in results)
    assert proxy.injected_by[("throttle", "elasticloadbalancing.AddTags")] == 1
    assert codes in ([0, 2], [0, 1], [0, 0]), results
    if codes == [0, 1]:        # the second took the lock after the first, and its step's precondition saw the
        loser = next(r for r in results if r[0] == 1)      # listener the first had changed: stopped, not applied
        assert "changed since this plan was made" in loser[2], loser
        assert proxy.forwarded["elasticloadbalancing.ModifyListener"] == 1
    elif codes == [0, 2]:      # they overlapped: the one that did not hold the lock read back was refused
        loser = next(r for r in results if r[0] == 2)
        assert "api is locked by" in loser[2] or "api was just locked by" in loser[2], loser
        assert proxy.forwarded["elasticloadbalancing.ModifyListener"] == 1
    else:                      # or one waited out the other's whole plan: never both at once
        spans = []
        for k in range(2):
            ev = journal_events(tmp_path / f"op{k}")
            spans.append((min(e["ts"] for e in ev if e["event"] == "step_started"),
                          max(e["ts"] for e in ev if e["event"] == "plan_finished")))
        spans.sort()
        assert spans[0][1] < spans[1][0], spans
        assert proxy.forwarded["elasticloadbalancing.ModifyListener"] == 2
    assert lock_tag(demo, "api") is None


@pytest.mark.parametrize("value, why", [
    ("garbage", "not owner|plan|expiry"),
    ("arn:aws:sts::1:user/x|p-1|2030-01-01T00:00:00", "has no time zone"),
    ("arn:aws:sts::1:user/x|p-1|soon", "is not a time"),
])
def test_malformed_lock_is_reported_as_such(demo, cfg, capsys, value, why):
    set_lock_tag(demo, value)
    before = listener_weights(demo)
    assert cli("rollback", "web", cfg=cfg) == 2
    line = one_line(capsys.readouterr().err)
    assert "malformed lock tag" in line and why in line and "fleettui unlock web" in line
    assert listener_weights(demo) == before and lock_tag(demo) == value


def test_unlock_names_the_holder_asks_and_is_journaled(demo, cfg, capsys, isolated_home):
    value = f"arn:aws:sts::123456789012:assumed-role/ops/ops-b|p-stuck|{future(-30)}"
    set_lock_tag(demo, value)
    # no terminal and no --yes: refused, nothing changed
    assert main(["unlock", "web", "--config", str(cfg)]) == 2
    out, err = capsys.readouterr()
    assert "web is locked by arn:aws:sts::123456789012:assumed-role/ops/ops-b (plan p-stuck) until 20" in out
    assert "(expired 30 min ago)" in out and "pass --yes" in err
    assert lock_tag(demo) == value
    assert main(["unlock", "web", "--config", str(cfg), "--yes", "--reason", "INC-9 stuck"]) == 0
    assert lock_tag(demo) is None
    cleared = [e for e in journal_events(isolated_home) if e["event"] == "lock_cleared"]
    assert len(cleared) == 1 and cleared[0]["plan_id"] == "p-stuck" and cleared[0]["holder"] == value
    assert cleared[0]["reason"] == "INC-9 stuck" and cleared[0]["who"].startswith("arn:aws:sts::123456789012:")
    capsys.readouterr()
    assert main(["unlock", "web", "--config", str(cfg), "--yes"]) == 0
    assert "web is not locked" in capsys.readouterr().out
    # and in read-only mode it is refused before it leaves the process
    set_lock_tag(demo, value)
    assert main(["unlock", "web", "--config", str(cfg), "--yes", "--read-only"]) == 2
    assert lock_tag(demo) == value
