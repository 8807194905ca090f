"""Bad input, end to end through the command line: every broken config file and every wrong argument ends
with exactly one line on stderr, exit code 2, and not one mutating request (counted at a proxy in front of
the emulated AWS, and AWS state compared before/after). tests/test_config.py covers the loader itself.
"""
from __future__ import annotations

import os
import re
import socket
from types import SimpleNamespace

import pytest

from faults import FaultProxy, listener_weights, outputs, spawn, web_generations
from fleettui.cli import main


@pytest.fixture(scope="module")
def fleet(aws_server, demo_state, tmp_path_factory):
    """The demo fleet, restored once for the whole corpus (nothing here may change it), behind a counting proxy."""
    import pickle

    from fleettui.emulator.scenarios.demo import demo_config_text
    from fleettui.emulator.server import boto3_client

    state, seeded = demo_state
    aws_server.restore_state(state)
    seeded = pickle.loads(seeded)
    folder = tmp_path_factory.mktemp("bad-input")
    with FaultProxy(aws_server.endpoint_url) as proxy:
        good = folder / "good.toml"
        good.write_text(demo_config_text(seeded, proxy.url), encoding="utf-8")
        ns = SimpleNamespace(proxy=proxy, good=good, dir=folder, fleet=seeded, endpoint_url=aws_server.endpoint_url,
                             client=lambda service, region="us-east-1": boto3_client(service, region,
                                                                                      aws_server.endpoint_url))
        ns.before = (listener_weights(ns), web_generations(ns))
        yield ns


def check_one_line_exit_2(code: int, err: str) -> str:
    lines = err.splitlines()
    assert code == 2, (code, err)
    assert len(lines) == 1, err
    assert lines[0].startswith("fleettui: ") and "Traceback" not in err
    return lines[0]


def run_in_process(fleet, capsys, args: list[str]) -> str:
    capsys.readouterr()
    code = main(args)
    _out, err = capsys.readouterr()
    line = check_one_line_exit_2(code, err)
    assert fleet.proxy.mutating() == {}, fleet.proxy.mutating()
    return line


# -- broken config files: (name, edit of the good config text or raw bytes, what the line must say) ---------

def _sub(old: str, new: str, count: int = 1):
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, count)
    return edit


CONFIGS = [
    ("wrong type: integer as string", _sub("min_healthy_percent = 75", 'min_healthy_percent = "75"'),
     r'defaults\.min_healthy_percent: "75" is a string \(allowed: an integer 0-100\)'),
    ("min_healthy_percent below 0 (would switch the capacity guard off)",
     _sub("min_healthy_percent = 75", "min_healthy_percent = -1"),
     r"defaults\.min_healthy_percent: -1 is out of range \(allowed: an integer 0-100\)"),
    ("min_healthy_percent above 100", _sub("min_healthy_percent = 75", "min_healthy_percent = 101"),
     r"defaults\.min_healthy_percent: 101 is out of range \(allowed: an integer 0-100\)"),
    ("wrong type: regions as string", _sub('regions = ["us-east-1", "eu-west-1"]', 'regions = "us-east-1"'),
     r"aws\.regions: \"us-east-1\" is a string"),
    ("wrong type: selector as string", _sub('selector = { Service = "web" }', 'selector = "web"'),
     r'service\[1\] "web"\.selector: "web" is a string'),
    ("wrong type: boolean as string", _sub("read_only = false", 'read_only = "no"'),
     r"defaults\.read_only: \"no\" is a string \(allowed: true or false\)"),
    ("wrong type: endpoint not a URL", lambda t: re.sub(r'endpoint_url = "[^"]*"', 'endpoint_url = "localhost:5000"', t),
     r"aws\.endpoint_url: .* is not an http\(s\) URL"),
    ("endpoint with a control character",
     lambda t: re.sub(r'endpoint_url = "([^"]*)"', r'endpoint_url = "\1\\u001b[31m"', t),
     r"aws\.endpoint_url: .* contains the control character '\\x1b' \(allowed: a URL"),
    ("endpoint with a newline", lambda t: re.sub(r'endpoint_url = "([^"]*)"', r'endpoint_url = "\1\\n"', t),
     r"aws\.endpoint_url: .* contains the control character '\\n'"),
    ("absurd region name", _sub('regions = ["us-east-1", "eu-west-1"]', 'regions = ["us-east-1", "eu-west-1000000"]'),
     r'aws\.regions: "eu-west-1000000" is not a region name'),
    ("region name with a trailing newline",
     _sub('regions = ["us-east-1", "eu-west-1"]', 'regions = ["us-east-1", "eu-west-1\\n"]'),
     r'aws\.regions: "eu-west-1\\n" is not a region name'),
    ("unknown key", _sub('max_age = "30d"', 'max_agee = "30d"'),
     r'defaults\.max_agee: unknown key, did you mean "max_age"\?'),
    ("unknown table", lambda t: t + '\n[servcie]\nname = "x"\n', r'servcie: unknown key, did you mean "service"\?'),
    ("negative age", _sub('warn_age = "14d"', 'warn_age = "-3d"'),
     r'defaults\.warn_age: "-3d" is not a positive duration'),
    ("warn_age longer than max_age", _sub('warn_age = "14d"', 'warn_age = "60d"'),
     r"defaults\.warn_age: 60d is longer than max_age 30d"),
    ("listener ARN in a region the service is not in",
     _sub('regions = ["us-east-1"]\nselector = { Service = "web" }', 'regions = ["eu-west-1"]\nselector = { Service = "web" }'),
     r'"web"\.listener_arn: listener_arn is in region us-east-1, service regions are eu-west-1'),
    ("shift steps not increasing", lambda t: re.sub(r"shift_steps = \[[^\]]*\]", "shift_steps = [50, 20]", t, count=1),
     r"shift_steps: 20 does not increase"),
    ("invalid TOML", _sub("[defaults]", "[defaults"), r"invalid TOML: Expected ']'"),
    ("empty file", lambda t: "", r"at least one \[\[service\]\] is required"),
    ("non-UTF-8", lambda t: t.encode("utf-8").replace(b"[defaults]", b"# caf\xe9\n[defaults]"),
     r"not valid UTF-8 at byte \d+ \(line \d+"),
]


@pytest.mark.parametrize("name, edit, expected", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_broken_config_file(fleet, capsys, tmp_path, name, edit, expected):
    body = edit(fleet.good.read_text(encoding="utf-8"))
    path = tmp_path / "config.toml"
    path.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
    line = run_in_process(fleet, capsys, ["status", "--config", str(path)])
    assert re.search(expected, line), line
    assert str(path) in line                       # names the file


def test_config_path_that_is_a_directory_or_a_fifo_or_missing(fleet, capsys, tmp_path, monkeypatch):
    (tmp_path / "dir.toml").mkdir()
    os.mkfifo(tmp_path / "fifo.toml")              # would block a naive open(): must not even be opened
    for name, expected in (("dir.toml", "is a directory"), ("fifo.toml", "not a regular file"),
                           ("missing.toml", "no such file")):
        line = run_in_process(fleet, capsys, ["rollback", "web", "--yes", "--config", str(tmp_path / name)])
        assert f"{tmp_path / name}: {expected} (given by --config)" in line
    monkeypatch.setenv("FLEETTUI_CONFIG", str(tmp_path / "dir.toml"))
    line = run_in_process(fleet, capsys, ["status"])
    assert "is a directory (given by $FLEETTUI_CONFIG)" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file anyway (the directory/FIFO cases cover "
                                              "unreadable paths)")
def test_unreadable_config_file(fleet, capsys, tmp_path):
    path = tmp_path / "secret.toml"
    path.write_text(fleet.good.read_text(encoding="utf-8"), encoding="utf-8")
    path.chmod(0)
    line = run_in_process(fleet, capsys, ["status", "--config", str(path)])
    assert "cannot read (Permission denied)" in line


# -- wrong arguments, with a good config -------------------------------------------------------------------

ARGS = [
    (["shift", "web", "1.5.0=50", "1.6.0=30"], r"weights must add up to 100 \(got 80"),
    (["shift", "web", "1.5.0=60", "1.6.0=60"], r"weights must add up to 100 \(got 120"),
    (["shift", "web", "--to", "1.6.0"], r"--to needs --weight"),
    (["shift", "web", "--to", "1.6.0", "--weight", "150"], r"weight must be 0-100 \(got 150\)"),
    (["shift", "web", "--to", "1.6.0", "--weight", "-5"], r"weight must be 0-100 \(got -5\)"),
    (["shift", "web", "1.5.0=50", "--to", "1.6.0", "--weight", "50"], r"not both"),
    (["shift", "web", "1.5.0=abc"], r"shift: argument VERSION=WEIGHT: '1\.5\.0=abc' is not VERSION=WEIGHT"),
    (["shift", "worker", "3.1.0=100"], r"worker has no listener_arn"),
    (["rollback", "web", "--ramp", "50,20"], r"ramp must increase and end at 100 \(got \[50, 20\]\)"),
    (["rollback", "web", "--ramp", "0,100"], r"ramp must increase"),
    (["rollback", "web", "--ramp", "a,b"], r"'a,b' is not a comma-separated list of integers"),
    (["rollback", "nope"], r"unknown service 'nope' \(configured: web, api, worker, cache, checkout\)"),
    (["status", "--service", "nope"], r"unknown service 'nope'"),
    (["decommission", "web", "9.9.9"], r"web has no generation '9\.9\.9' \(generations: 1\.4\.0, 1\.5\.0, 1\.6\.0\)"),
    (["decommission", "web"], r"decommission: the following arguments are required: version"),
    (["shift", "web", "--to", "9.9.9", "--weight", "10"], r"web has no generation '9\.9\.9'"),
    (["replace", "web", "i-0123456789abcdef0"], r"web has no instance i-0123456789abcdef0"),
    (["replace", "web"], r"replace: name instance ids, or pass --drifted and/or --aged"),
    (["replace", "web", "--drifted", "--generation", "1.6.0"], r"nothing to replace in web: no host selected"),
    (["replace", "web", "--drifted", "--generation", "9.9.9"], r"web has no generation '9\.9\.9'"),
    (["launch", "web", "--count", "0"], r"--count must be at least 1 \(got 0\)"),
    (["launch", "web", "--count", "x"], r"launch: argument --count: invalid int value: 'x'"),
    (["launch", "web", "--lt-version", "99"], r"web-lt has no version 99 in us-east-1"),
    (["launch", "web", "--lt-version", "0"], r"--lt-version must be at least 1"),
    (["status", "--region", "nowhere"], r'--region "nowhere" is not a region name'),
    (["status", "--region", "us-east-1\x07"], r'--region "us-east-1\\u0007" is not a region name'),
    (["rollback", "web", "--region", "x" * 300], r'--region "x{56}\.\.\. is not a region name'),
    (["status", "--bogus"], r"unrecognized arguments: --bogus"),
    (["frobnicate"], r"invalid choice: 'frobnicate'"),
    (["plan"], r"plan: name an action"),
    (["plan", "frobnicate", "web"], r"invalid choice: 'frobnicate'"),
    (["audit", "p-nope"], r"no plan p-nope in the journal"),
    (["resume", "p-nope"], r"no plan p-nope in the journal"),
]


@pytest.mark.parametrize("args, expected", ARGS, ids=[" ".join(a) for a, _ in ARGS])
def test_bad_arguments(fleet, capsys, args, expected):
    extra = ["--yes"] if args[0] in ("shift", "rollback", "decommission", "replace", "launch") else []
    line = run_in_process(fleet, capsys, [*args, *extra, "--config", str(fleet.good)])
    assert re.search(expected, line), line


# -- a real process: one line on the real stderr, exit status 2 -------------------------------------------
# (every case above runs in-process through the same main(); these two prove what only a process shows -- the real
# stderr and exit status -- once for a refusal of our own and once for argparse's)

@pytest.mark.parametrize("args, expected", [
    (["shift", "web", "1.5.0=50", "1.6.0=30", "--yes"], "weights must add up to 100"),
    (["launch", "web", "--count", "x"], "invalid int value"),
], ids=["weights", "argparse"])
def test_bad_input_in_a_subprocess(fleet, tmp_path, args, expected):
    proc = spawn([*args, "--config", str(fleet.good)], tmp_path, "bad")
    code = proc.wait(30)
    _out, err = outputs(proc)
    assert expected in check_one_line_exit_2(code, err)
    assert fleet.proxy.mutating() == {}


def test_demo_serve_on_a_port_in_use(tmp_path):
    """`demo serve --port N` with N taken: one line naming the port, exit 2, and the process ends (no server left)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = spawn(["demo", "serve", "--port", str(port)], tmp_path, "serve")
        code = proc.wait(60)
        out, err = outputs(proc)
    line = check_one_line_exit_2(code, err)
    assert line == (f"fleettui: demo serve: port {port} on 127.0.0.1 is in use "
                    "(choose another --port, or 0 for a free one)"), line
    assert out == ""


def test_aws_is_unchanged_after_the_whole_corpus(fleet):
    assert fleet.proxy.total() > 0                                  # the corpus did reach AWS, read-only
    assert fleet.proxy.mutating() == {} and fleet.proxy.mutating("forwarded") == {}
    assert (listener_weights(fleet), web_generations(fleet)) == fleet.before
