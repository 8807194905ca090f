"""Credentials never leak: with AWS keys and a session token in the environment, nothing fleettui writes
(stdout, stderr, the journal, its log dir, the screenshots) contains them or any request-signing material.

The emulator is reached through the fault proxy on 127.0.0.1; with keys in the environment the Gateway signs every
request with them (the proxy checks they were really used) instead of the dummy keys it otherwise sends to
loopback emulators.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from faults import REPO, FaultProxy, bake_web_version, journal_events, outputs, spawn, write_config

ACCESS_KEY = "AKIAFLEETTUITESTKEY1"
SECRET_KEY = "fLeEtTuI/tEsT+sEcReT/kEy0123456789aBcDeFg"
SESSION_TOKEN = "FwoGZXIvYXdzEFLEETTUITESTSESSIONTOKEN//////////wEaDNotARealToken0123456789abcdef=="
FORBIDDEN = (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, SECRET_KEY.lower(), "Authorization:", "X-Amz-Security-Token",
             "Signature=", "AWS4-HMAC-SHA256")


def leaks(text: str) -> list[str]:
    low = text.lower()
    return [s for s in FORBIDDEN if s.lower() in low]


@pytest.fixture
def signed(demo, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    with FaultProxy(demo.endpoint_url) as proxy:
        cfg = write_config(demo, proxy.url, tmp_path / "signed.toml", profile=False)
        yield proxy, cfg


def test_credentials_never_appear_in_output_journal_or_logs(demo, signed, tmp_path, isolated_home, capsys):
    """Each command runs in-process (its stdout and stderr captured); one of them, an access-denied error, also in a
    real process, so whatever reaches the process's own stderr (botocore's logging included) is checked too."""
    from fleettui.cli import main

    proxy, cfg = signed
    runs = []

    def fleettui(*args: str, expect: int = 0) -> str:
        capsys.readouterr()
        code = main([*args, "--config", str(cfg)])
        out, err = capsys.readouterr()
        runs.append((args, out, err))
        assert code == expect, (args, out, err)
        return out

    fleettui("status")
    fleettui("status", "--json")
    fleettui("plan", "rollback", "web")
    fleettui("rollback", "web", "--yes", "--reason", "secrets test")
    bake_web_version(demo, "1.7.0")
    fleettui("launch", "web", "--dry-run")        # EC2 DryRun: a signed RunInstances that changes nothing
    fleettui("audit")
    fleettui("audit", "--json")
    plan_id = journal_events(isolated_home)[0]["plan_id"]
    fleettui("audit", plan_id, "--json")
    fleettui("resume", "--yes")                    # nothing to resume
    proxy.deny = True                              # error paths print operations, messages, request ids
    assert "access denied for" in fleettui("status", expect=1) + runs[-1][2]
    fleettui("rollback", "web", "--yes", expect=1)
    proc = spawn(["status", "--config", str(cfg)], tmp_path, "status-denied")
    assert proc.wait(60) == 1
    runs.append((("status", "(a real process)"), *outputs(proc)))
    assert "access denied for" in runs[-1][2]
    proxy.deny = False

    # the keys were really in use ...
    assert set(proxy.access_keys) == {ACCESS_KEY}, proxy.access_keys
    assert proxy.session_tokens == sum(proxy.access_keys.values())

    # ... and appear nowhere
    for args, out, err in runs:
        assert not leaks(out), (args, leaks(out))
        assert not leaks(err), (args, leaks(err))
    files = [p for p in Path(isolated_home).rglob("*") if p.is_file()]
    assert any(p.name == "journal.jsonl" for p in files)
    for path in files + sorted((REPO / "screenshots").glob("*.svg")):
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not leaks(text), (path, leaks(text))
