"""The local journal (fleettui/store/local.py) and the EventLog protocol's own logic (fleettui/store/__init__.py),
on files in tmp_path: exact bytes written, fsync after each append, torn and foreign lines, the warnings, scoping
to an endpoint's directory, and which process drives a plan. No server: milliseconds, for mutation testing (README
"Test strength"). The journal under real crashes and full disks on moto: tests/test_crash_resume.py,
tests/test_store_faults.py.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fleettui.clock import VirtualClock
from fleettui.domain.history import EventKind, PlanRecord, Scope
from fleettui.domain.plan import Plan, Step
from fleettui.store import EventLog, Holder, LockHeld, LockLost, StoreError
from fleettui.store import local
from fleettui.store.local import (EMULATOR_MARK, JsonlJournal, endpoint_dir, fresh_endpoint_dir, journal_path_for,
                                  remove_endpoint_dir)

SCOPE = Scope("111111111111", regions=("us-east-1",))


def plan(pid: str = "p-1", steps: int = 2) -> Plan:
    return Plan(id=pid, verb="replace", service="web", summary="replace web",
                steps=tuple(Step(f"s{i}", "noop", "us-east-1", f"step {i}") for i in range(1, steps + 1)))


@pytest.fixture
def fixed_now():
    """A clock that stands still at 2026-11-30 10:00 UTC: every event of the journals made with it has that time."""
    return VirtualClock(datetime(2026, 11, 30, 10, tzinfo=timezone.utc))


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


# -- paths -------------------------------------------------------------------------------------------------------

def test_endpoint_dir_per_endpoint(tmp_path, isolated_home):
    assert endpoint_dir(None, tmp_path) == tmp_path
    assert endpoint_dir("", tmp_path) == tmp_path
    assert endpoint_dir(None) == isolated_home / "state"
    assert endpoint_dir("http://127.0.0.1:5000", tmp_path) == tmp_path / "endpoints" / "http-127.0.0.1-5000"
    assert endpoint_dir("http://127.0.0.1:5000") == isolated_home / "state" / "endpoints" / "http-127.0.0.1-5000"
    assert endpoint_dir("https://ec2.example.com", tmp_path) == tmp_path / "endpoints" / "https-ec2.example.com"
    assert endpoint_dir("https://Host_1.example.com:8443/a b/c/", tmp_path).name == \
        "https-host-1.example.com-8443-a-b-c"
    assert endpoint_dir("...", tmp_path) == tmp_path / "endpoints" / "endpoint"
    assert endpoint_dir("http://h:1/Api/V2", tmp_path).name == "http-h-1-Api-V2"      # the path keeps its case
    assert endpoint_dir("http://h:1/aX", tmp_path).name == "http-h-1-aX"
    assert endpoint_dir("http://h:1/Xa.", tmp_path).name == "http-h-1-Xa"
    long = endpoint_dir("http://h:1/" + "x" * 300, tmp_path).name
    assert long == ("http-h-1-" + "x" * 300)[:100] and len(long) == 100
    assert journal_path_for(None, tmp_path) == tmp_path / "journal.jsonl"
    assert journal_path_for("http://127.0.0.1:5000", tmp_path) == \
        tmp_path / "endpoints" / "http-127.0.0.1-5000" / "journal.jsonl"


def test_fresh_endpoint_dir_new_and_emulators_leftovers(isolated_home):
    url = "http://127.0.0.1:5999"
    d = fresh_endpoint_dir(url)
    assert d == isolated_home / "state" / "endpoints" / "http-127.0.0.1-5999"
    assert sorted(p.name for p in d.iterdir()) == [EMULATOR_MARK]
    assert EMULATOR_MARK == "emulator-instance"
    assert (d / EMULATOR_MARK).read_text(encoding="utf-8") == f"{url} pid {os.getpid()}\n"
    (d / "journal.jsonl").write_text("old plans\n", encoding="utf-8")
    (d / "sub").mkdir()
    assert fresh_endpoint_dir(url) == d
    assert sorted(p.name for p in d.iterdir()) == [EMULATOR_MARK]
    assert [p.name for p in d.parent.iterdir()] == [d.name]


def test_fresh_endpoint_dir_keeps_another_endpoints_files(isolated_home):
    url = "http://127.0.0.1:5998"
    d = endpoint_dir(url)
    d.mkdir(parents=True)
    (d / "journal.jsonl").write_text("a real endpoint's plans\n", encoding="utf-8")
    before = datetime.now()
    fresh_endpoint_dir(url)
    assert sorted(p.name for p in d.iterdir()) == [EMULATOR_MARK]
    [kept] = [p for p in d.parent.iterdir() if p != d]
    m = re.fullmatch(re.escape(d.name) + r"\.before-emulator-(\d{8}-\d{6})", kept.name)
    assert m, kept.name
    stamp = datetime.strptime(m.group(1), "%Y%m%d-%H%M%S")
    assert before.replace(microsecond=0) <= stamp <= datetime.now()
    assert (kept / "journal.jsonl").read_text(encoding="utf-8") == "a real endpoint's plans\n"


@pytest.fixture
def rmtree_fails(monkeypatch):
    """shutil.rmtree as it behaves when a file cannot be removed (a busy mount, another user's file on a network
    share -- root on tmpfs never sees one): raises, unless ``ignore_errors``; removes nothing."""
    calls = []

    def rmtree(path, ignore_errors=False, onerror=None, *, onexc=None, dir_fd=None):
        calls.append(Path(path))
        if not ignore_errors:
            raise OSError(16, "Device or resource busy", str(path))

    monkeypatch.setattr(local.shutil, "rmtree", rmtree)
    return calls


def test_fresh_endpoint_dir_starts_even_if_leftovers_stay(isolated_home, rmtree_fails):
    url = "http://127.0.0.1:5996"
    d = endpoint_dir(url)
    d.mkdir(parents=True)
    (d / EMULATOR_MARK).write_text("http://127.0.0.1:5996 pid 1\n", encoding="utf-8")
    (d / "journal.jsonl").write_text("stuck\n", encoding="utf-8")
    assert fresh_endpoint_dir(url) == d
    assert rmtree_fails == [d]
    assert (d / EMULATOR_MARK).read_text(encoding="utf-8") == f"{url} pid {os.getpid()}\n"
    remove_endpoint_dir(url)                           # never raises either
    assert rmtree_fails == [d, d]


def test_remove_endpoint_dir_only_an_emulators(isolated_home):
    url = "http://127.0.0.1:5997"
    d = fresh_endpoint_dir(url)
    (d / "journal.jsonl").write_text("x\n", encoding="utf-8")
    remove_endpoint_dir(url)
    assert not d.exists()
    d.mkdir(parents=True)
    (d / "journal.jsonl").write_text("x\n", encoding="utf-8")
    remove_endpoint_dir(url)
    assert (d / "journal.jsonl").read_text(encoding="utf-8") == "x\n"
    remove_endpoint_dir("http://127.0.0.1:1")          # nothing there: nothing happens


# -- appending ---------------------------------------------------------------------------------------------------

def test_stamp_is_utc_milliseconds_with_z():
    s = local.stamp(datetime.now(timezone.utc))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", s), s
    assert local.stamp(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))) == \
        "2026-01-02T01:04:05.678Z"


def test_append_exact_bytes_and_record(tmp_path, fixed_now):
    path = tmp_path / "deep" / "dir" / "journal.jsonl"
    j = JsonlJournal(path, clock=fixed_now)
    assert j.where == str(path)
    assert j.warnings == []
    r = j.append("step_note", "p-1", step="s1", note={"i": "é"}, when=datetime(2026, 1, 2, 3, 4, 5))
    assert r == {"ts": "2026-11-30T10:00:00.000Z", "event": "step_note", "plan_id": "p-1", "seq": 0, "step": "s1",
                 "note": {"i": "é"}, "when": datetime(2026, 1, 2, 3, 4, 5)}
    first = (b'{"ts":"2026-11-30T10:00:00.000Z","event":"step_note","plan_id":"p-1","seq":0,"step":"s1",'
             b'"note":{"i":"\\u00e9"},"when":"2026-01-02 03:04:05"}\n')
    # seq: where the event starts in the journal (this operator's own order, for the team's merge)
    assert j.append(EventKind.PLAN_FINISHED, "p-1", status="succeeded")["seq"] == len(first)
    assert path.read_bytes() == first + (
        b'{"ts":"2026-11-30T10:00:00.000Z","event":"plan_finished","plan_id":"p-1","seq":%d,"status":"succeeded"}\n'
        % len(first))
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_append_fsyncs_after_writing_each_event(tmp_path, monkeypatch):
    path = tmp_path / "journal.jsonl"
    synced: list[bytes] = []
    real = os.fsync

    def spy(fd):
        synced.append(os.pread(fd, 10_000, 0))        # what the file holds when it is synced
        real(fd)

    monkeypatch.setattr(local.os, "fsync", spy)
    j = JsonlJournal(path)
    j.append("warning", "p-1", message="a")
    assert len(synced) == 1 and synced[0].endswith(b'"message":"a"}\n')
    j.append("warning", "p-1", message="b")
    assert len(synced) == 2 and synced[1] == path.read_bytes() and synced[1].count(b"\n") == 2


def test_short_writes_continue_where_they_stopped(tmp_path, monkeypatch, fixed_now):
    real = os.write
    sizes = []

    def short(fd, data):
        sizes.append(len(data))
        return real(fd, bytes(data[:7]))

    monkeypatch.setattr(local.os, "write", short)
    path = tmp_path / "journal.jsonl"
    JsonlJournal(path, clock=fixed_now).append("warning", "p-1")
    expected = b'{"ts":"2026-11-30T10:00:00.000Z","event":"warning","plan_id":"p-1","seq":0}\n'
    assert path.read_bytes() == expected
    assert sizes[0] == len(expected) and sizes[1] == len(expected) - 7 and len(sizes) == -(-len(expected) // 7)


def test_append_after_a_torn_line_starts_a_new_line(tmp_path, fixed_now):
    path = tmp_path / "journal.jsonl"
    j = JsonlJournal(path, clock=fixed_now)
    j.append("plan_created", "p-1", plan=plan().to_dict())
    with open(path, "ab") as fh:
        fh.write(b'{"ts":"2026-11-30T10:00:00.000Z","event":"step_succ')      # a crash mid-write
    torn_at = path.stat().st_size
    j.append("step_succeeded", "p-1", step="s1")
    raw = lines(path)
    assert raw[1] == b'{"ts":"2026-11-30T10:00:00.000Z","event":"step_succ'
    # it starts one byte after the torn line's end (the newline that closes it)
    assert raw[2] == (b'{"ts":"2026-11-30T10:00:00.000Z","event":"step_succeeded","plan_id":"p-1","seq":%d,"step":"s1"}'
                      % (torn_at + 1))
    assert raw[3] == b"" and len(raw) == 4
    assert [e["event"] for e in j.events()] == ["plan_created", "step_succeeded"]
    assert j.warnings == [f"journal {path}: skipped line 2: not JSON (a torn or foreign line)"]
    assert j.record("p-1").done == {"s1"}


def test_append_to_an_empty_file_adds_no_blank_line(tmp_path, fixed_now):
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b"")
    JsonlJournal(path, clock=fixed_now).append("warning", "p-1")
    assert path.read_bytes() == b'{"ts":"2026-11-30T10:00:00.000Z","event":"warning","plan_id":"p-1","seq":0}\n'


def test_append_error_names_the_event_and_step(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.mkdir()                                       # not a file
    with pytest.raises(StoreError) as err:
        JsonlJournal(path).append("step_succeeded", "p-1", step="s3")
    assert str(err.value) == f"the journal {path} could not be written: Is a directory"
    assert (err.value.event, err.value.step, err.value.exit_code) == ("step_succeeded", "s3", 1)
    with pytest.raises(StoreError) as err:
        JsonlJournal(path).append(EventKind.PLAN_FINISHED, "p-1", step=3)
    assert (err.value.event, err.value.step) == ("plan_finished", None)
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(StoreError) as err:
        JsonlJournal(blocker / "journal.jsonl").append("warning", "p-1")
    assert str(err.value) == f"the journal {blocker / 'journal.jsonl'} could not be written: File exists"
    assert (err.value.event, err.value.step) == ("warning", None)


def test_append_error_without_strerror_and_fd_closed(tmp_path, monkeypatch):
    closed = []
    real_close = os.close

    def boom(fd, data):
        raise OSError("disk on fire")

    def close(fd):
        closed.append(fd)
        real_close(fd)

    monkeypatch.setattr(local.os, "write", boom)
    monkeypatch.setattr(local.os, "close", close)
    path = tmp_path / "journal.jsonl"
    with pytest.raises(StoreError) as err:
        JsonlJournal(path).append("warning", "p-1")
    assert str(err.value) == f"the journal {path} could not be written: disk on fire"
    assert len(closed) == 1
    assert err.value.__suppress_context__ and err.value.__cause__ is None


def test_store_error_defaults():
    e = StoreError("m")
    assert (str(e), e.event, e.step, e.exit_code) == ("m", None, None, 1)
    assert (LockHeld.exit_code, LockLost.exit_code) == (2, 1)
    assert Holder("t", None, "x") == Holder(token="t", plan_id=None, text="x")


# -- reading -----------------------------------------------------------------------------------------------------

def test_events_of_a_missing_file(tmp_path):
    j = JsonlJournal(tmp_path / "none.jsonl")
    j.warnings = ["stale"]
    assert list(j.events()) == []
    assert j.warnings == []
    assert j.records() == {}


def test_events_skip_foreign_lines_with_one_warning_each(tmp_path):
    path = tmp_path / "journal.jsonl"
    good = {"ts": "t", "event": "warning", "plan_id": "p-1", "message": "caf\ufffd"}
    path.write_bytes(
        b"\n"
        + b'{"ts":"t","event":"warning","plan_id":"p-1","message":"caf\xe9"}\n'     # not UTF-8: replaced
        + b"[1, 2]\n"
        + b'   \n'
        + b'{"event":"step_note","plan_id":"p-1"}\n'
        + b"garbage\n"
        + b'  {"ts":"t","event":"warning","plan_id":"p-2"}  \n')
    j = JsonlJournal(path)
    assert list(j.events()) == [good, {"ts": "t", "event": "warning", "plan_id": "p-2"}]
    assert j.warnings == [f"journal {path}: skipped line 3: not a JSON object (list)",
                          f"journal {path}: skipped line 5: step_note without a step",
                          f"journal {path}: skipped line 6: not JSON (a torn or foreign line)"]
    list(j.events())
    assert len(j.warnings) == 3            # recomputed, not accumulated


def test_events_warn_about_five_lines_then_count(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text("x\n" * 8, encoding="utf-8")
    j = JsonlJournal(path)
    assert list(j.events()) == []
    assert j.warnings == [f"journal {path}: skipped line {n}: not JSON (a torn or foreign line)"
                          for n in range(1, 6)] + [f"journal {path}: skipped and 3 more"]
    path.write_text("x\n" * 5, encoding="utf-8")
    list(j.events())
    assert len(j.warnings) == 5 and j.warnings[-1].endswith("line 5: not JSON (a torn or foreign line)")
    path.write_text("x\n" * 6, encoding="utf-8")
    list(j.events())
    assert j.warnings[-1] == f"journal {path}: skipped and 1 more"


def test_events_read_errors(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.mkdir()
    with pytest.raises(StoreError) as err:
        list(JsonlJournal(path).events())
    assert str(err.value) == f"the journal {path} cannot be read: Is a directory"
    assert (err.value.event, err.value.step) == (None, None)
    mem = Path("/proc/self/mem")                 # opens, but reading offset 0 fails: an OSError mid-read
    with pytest.raises(StoreError) as err:
        list(JsonlJournal(mem).events())
    assert str(err.value) == f"the journal {mem} cannot be read: Input/output error"


# -- EventLog: scope, records, unfinished -------------------------------------------------------------------------

def test_plan_created_records_the_bound_scope(tmp_path, fixed_now):
    j = JsonlJournal(tmp_path / "journal.jsonl", clock=fixed_now)
    assert j.scope is None and j.operator is None
    r = j.append("plan_created", "p-0", plan=plan("p-0").to_dict())
    assert "scope" not in r
    j.bind(SCOPE)
    assert j.scope is SCOPE
    r = j.append(EventKind.PLAN_CREATED, "p-1", plan=plan("p-1").to_dict())
    assert r["event"] == "plan_created" and r["scope"] == SCOPE.to_dict()
    other = Scope("222").to_dict()
    assert j.append("plan_created", "p-2", plan=plan("p-2").to_dict(), scope=other)["scope"] == other
    assert "scope" not in j.append("step_started", "p-1", step="s1")
    recs = j.records()
    assert [(pid, r.scope) for pid, r in recs.items()] == [("p-0", None), ("p-1", SCOPE), ("p-2", Scope("222"))]


def test_records_record_and_unfinished(tmp_path):
    j = JsonlJournal(tmp_path / "journal.jsonl")
    j.bind(SCOPE)
    for pid in ("p-1", "p-2", "p-3", "p-4"):
        j.append("plan_created", pid, plan=plan(pid).to_dict(), who="alice")
    j.append("plan_finished", "p-2", status="succeeded")
    j.append("plan_finished", "p-3", status="failed")
    j.bind(Scope("222"))
    j.append("plan_created", "p-5", plan=plan("p-5").to_dict())
    with open(j.path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"ts": "t", "event": "plan_created", "plan_id": "p-6", "plan": plan("p-6").to_dict()})
                 + "\n")
    assert isinstance(j.record("p-1"), PlanRecord) and j.record("p-1").who == "alice"
    assert j.record("p-9") is None
    assert [r.plan.id for r in j.unfinished()] == ["p-1", "p-3", "p-4", "p-5", "p-6"]
    assert [r.plan.id for r in j.unfinished(SCOPE)] == ["p-1", "p-3", "p-4"]
    assert [r.plan.id for r in j.unfinished(Scope("222"))] == ["p-5"]


def test_base_log_has_nothing_pending():
    class Memory(EventLog):
        def __init__(self):
            self.rows, self.warnings = [], []

        def _append(self, event, plan_id, fields):
            self.rows.append({"event": event, "plan_id": plan_id, **fields})
            return self.rows[-1]

        def events(self):
            return iter(self.rows)

        @property
        def where(self):
            return "memory"

    m = Memory()
    assert m.pending() == 0
    assert asyncio.run(m.flush()) == 0
    assert m.drivers_dir is None
    assert m.driver("p-1") is None and m.driver("p-1", others=False) is None
    with m.driving("p-1"):
        assert m.driver("p-1", others=False) is None
    m.bind(SCOPE)
    m.append("plan_created", "p-1", plan=plan().to_dict(), ts="t")
    assert m.rows[0]["scope"] == SCOPE.to_dict()
    assert [r.plan.id for r in m.unfinished(SCOPE)] == ["p-1"]


# -- which process drives a plan ---------------------------------------------------------------------------------

def test_driving_writes_and_removes_the_pid_file(tmp_path):
    j = JsonlJournal(tmp_path / "j" / "journal.jsonl")
    assert j.drivers_dir == tmp_path / "j" / "drivers"
    j.append("plan_created", "p-1", plan=plan().to_dict())
    with j.driving("p-1"):
        assert (j.drivers_dir / "p-1").read_text(encoding="utf-8") == f"{os.getpid()}\n"
        assert j.driver("p-1") is None                       # this process does not count...
        assert j.driver("p-1", others=False) == os.getpid()  # ...unless asked
        assert [r.plan.id for r in j.unfinished()] == ["p-1"]
    assert not (j.drivers_dir / "p-1").exists()
    with pytest.raises(RuntimeError):
        with j.driving("p-1"):
            raise RuntimeError("step blew up")
    assert not (j.drivers_dir / "p-1").exists()


def test_driving_without_a_pid_file_still_runs(tmp_path):
    j = JsonlJournal(tmp_path / "journal.jsonl")
    j.drivers_dir.write_text("not a directory", encoding="utf-8")
    ran = []
    with j.driving("p-1"):
        ran.append(1)
    assert ran == [1]
    assert j.drivers_dir.read_text(encoding="utf-8") == "not a directory"


@pytest.fixture
def other_process():
    procs = []

    def start(*argv: str) -> subprocess.Popen:
        # SIGHUP back to its default (the runner may ignore it): a check that signals the driver would end it
        code = "import signal, sys; signal.signal(signal.SIGHUP, signal.SIG_DFL); print('ready', flush=True); " \
               "sys.stdin.read()"
        p = subprocess.Popen([sys.executable, "-c", code, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        procs.append(p)
        assert p.stdout.readline() == b"ready\n"       # exec'd: /proc/<pid>/cmdline is this argv now
        return p

    yield start
    for p in procs:
        if not p.stdin.closed:
            p.stdin.close()
        p.wait()
        p.stdout.close()


def test_driver_is_a_live_fleettui_process(tmp_path, other_process):
    j = JsonlJournal(tmp_path / "journal.jsonl")
    j.append("plan_created", "p-1", plan=plan().to_dict())
    j.append("plan_created", "p-2", plan=plan("p-2").to_dict())
    j.drivers_dir.mkdir()
    assert j.driver("p-1") is None                           # no pid file
    fleettui = other_process("fleettui", "resume")
    (j.drivers_dir / "p-1").write_text(f" {fleettui.pid}\n", encoding="utf-8")
    assert j.driver("p-1") == fleettui.pid
    assert j.driver("p-1", others=False) == fleettui.pid
    assert [r.plan.id for r in j.unfinished()] == ["p-2"]
    assert [r.plan.id for r in j.unfinished(driven=True)] == ["p-1", "p-2"]
    stranger = other_process("something-else")               # a reused pid: not a fleettui
    (j.drivers_dir / "p-1").write_text(f"{stranger.pid}\n", encoding="utf-8")
    assert j.driver("p-1") is None
    for p in (fleettui, stranger):                           # looking only probes (signal 0): both still run
        p.stdin.close()
        assert p.wait() == 0


def test_driver_gone_or_garbage(tmp_path):
    j = JsonlJournal(tmp_path / "journal.jsonl")
    j.drivers_dir.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass", "fleettui"])
    dead.wait()
    (j.drivers_dir / "p-1").write_text(f"{dead.pid}\n", encoding="utf-8")
    assert j.driver("p-1") is None
    (j.drivers_dir / "p-1").write_text("not a pid\n", encoding="utf-8")
    assert j.driver("p-1") is None


def test_a_line_nested_too_deep_for_the_parser_is_skipped_like_any_foreign_line(tmp_path):
    """json.loads raises RecursionError (not ValueError) on 100,000 nested brackets: the journal stays readable."""
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b"[" * 100_000 + b"\n" + b'{"ts":"t","event":"warning","plan_id":"p-1"}\n')
    j = JsonlJournal(path)
    assert list(j.events()) == [{"ts": "t", "event": "warning", "plan_id": "p-1"}]
    assert j.warnings == [f"journal {path}: skipped line 1: not JSON (a torn or foreign line)"]
