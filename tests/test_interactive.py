"""The confirmation of a verb run without --yes, as an operator meets it: `fleettui` as a subprocess behind the
counting fault proxy, its stdin a file (not a terminal) or a pseudo-terminal answered `n`. Either way not one
mutating request reaches AWS, and AWS state is as before."""
from __future__ import annotations

import os
import pty
import select
import subprocess
import sys

import pytest

from faults import REPO, FaultProxy, listener_weights, outputs, spawn, web_generations, write_config

TIMEOUT = 60


@pytest.fixture
def proxy(demo):
    with FaultProxy(demo.endpoint_url) as p:
        yield p


@pytest.fixture
def cfg(demo, proxy, tmp_path):
    return write_config(demo, proxy.url, tmp_path / "proxied.toml")


def state(demo) -> tuple:
    return listener_weights(demo), web_generations(demo)


@pytest.mark.parametrize("args", [["rollback", "web"], ["decommission", "web", "1.4.0"]])
def test_without_yes_and_stdin_not_a_terminal_exit_2_and_nothing_sent(demo, proxy, cfg, tmp_path, args):
    before = state(demo)
    proc = spawn([*args, "--config", str(cfg)], tmp_path, "noyes")        # stdin: /dev/null
    code = proc.wait(TIMEOUT)
    out, err = outputs(proc)
    assert code == 2, (code, out, err)
    assert err.strip().splitlines() == [
        "fleettui: confirmation needed and stdin is not a terminal: pass --yes"], err
    assert "refused" not in out                              # it got as far as the plan, which was not refused
    assert proxy.mutating() == {}, proxy.mutating()
    assert state(demo) == before


def run_on_a_terminal(args: list[str], answer: bytes, tmp_path) -> tuple[int, str]:
    """``fleettui ARGS`` with stdin, stdout and stderr on a pseudo-terminal; ``answer`` is typed once the
    question is asked. Returns (exit code, everything the terminal showed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "fleettui", *args], stdin=slave, stdout=slave, stderr=slave,
                            cwd=REPO, env={**os.environ, "COLUMNS": "160", "TERM": "dumb"}, close_fds=True)
    os.close(slave)
    shown, answered = b"", False
    try:
        while True:
            ready, _, _ = select.select([master], [], [], TIMEOUT)
            assert ready, f"no output for {TIMEOUT}s: {shown.decode(errors='replace')}"
            try:
                chunk = os.read(master, 4096)
            except OSError:                 # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if not answered and (b"[y/N]" in shown or b"to confirm" in shown):
                os.write(master, answer)
                answered = True
        code = proc.wait(TIMEOUT)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert answered, shown.decode(errors="replace")
    return code, shown.decode(errors="replace")


@pytest.mark.parametrize("args, question", [
    (["rollback", "web"], "Proceed? [y/N]"),                                    # capacity stays: y/N
    (["decommission", "web", "1.4.0"], "Type web 1.4.0 to confirm"),           # typed phrase
])
def test_on_a_terminal_answering_n_changes_nothing(demo, proxy, cfg, tmp_path, args, question):
    before = state(demo)
    code, shown = run_on_a_terminal([*args, "--config", str(cfg)], b"n\r", tmp_path)
    assert question in shown, shown
    assert code == 1 and "cancelled: nothing was changed" in shown, (code, shown)
    assert proxy.mutating() == {}, proxy.mutating()
    assert state(demo) == before


def test_on_a_terminal_answering_y_acts(demo, proxy, cfg, tmp_path):
    """The same question answered `y` does act (the two tests above would pass if the question were never
    asked and nothing ever ran)."""
    code, shown = run_on_a_terminal(["rollback", "web", "--config", str(cfg)], b"y\r", tmp_path)
    assert code == 0 and "done: " in shown, (code, shown)
    assert proxy.mutating()["elasticloadbalancing.ModifyListener"] == 1       # (and the lock's AddTags/RemoveTags)
    assert listener_weights(demo) == {"web-1-4-0": 0, "web-1-5-0": 100, "web-1-6-0": 0}
