"""`fleettui init` and `fleettui doctor` against the demo fleet: init reproduces the demo's own config (its
meaningful keys; README "Using it on a real fleet" says what differs and why), the interactive flow (accept, rename,
edit a selector, skip), never overwriting a file without asking or --force, --json, bad input, and doctor on a
config with things to fix."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import tomllib

import pytest

from fleettui.cli import main
from fleettui.cli.common import CliConsole
from fleettui.config import load_config

REGIONS = ["--region", "us-east-1", "--region", "eu-west-1"]


def init(demo, *args: str) -> int:
    return main(["init", "--endpoint-url", demo.endpoint_url, *REGIONS, *args])


# the keys init decides, compared with the demo's hand-written config
MEANINGFUL = ("selector", "version_tag", "launch_template", "launch_template_version", "listener_arn",
              "generation_tag", "kind", "instance_roles", "target_group_prefix")


def test_init_reproduces_the_demo_config(demo, tmp_path, capsys):
    path = tmp_path / "init.toml"
    assert init(demo, "--yes", "--write", str(path)) == 0
    capsys.readouterr()
    mine, theirs = load_config(path), demo.config()
    assert sorted(s.name for s in mine.services) == sorted(s.name for s in theirs.services)
    assert set(mine.regions) == set(theirs.regions) and mine.aws.endpoint_url == theirs.aws.endpoint_url
    for svc in theirs.services:
        got = mine.service(svc.name)
        assert {k: getattr(got, k) for k in MEANINGFUL} == {k: getattr(svc, k) for k in MEANINGFUL}, svc.name
        assert set(got.regions) == set(svc.regions), svc.name
        # init requires every tag of their own most hosts carry: the demo's hosts all carry Environment too
        assert set(got.required_tags) - set(svc.required_tags) == {"Environment"}, svc.name
        assert set(svc.required_tags) <= set(got.required_tags)
    # and the fleet each shows is the same
    docs = []
    for config in (path, demo.config_path):
        assert main(["status", "--json", "--config", str(config)]) == 0
        docs.append({s["name"]: [(g["version"], g["weight"], g["role"], sorted(i["id"] for i in g["instances"]),
                                  sorted(f["kind"] for i in g["instances"] for f in i["findings"]))
                                 for g in s["generations"]] for s in json.loads(capsys.readouterr().out)["services"]})
    assert docs[0] == docs[1]
    assert [v for v, *_ in docs[0]["web"]] == ["1.4.0", "1.5.0", "1.6.0"]


@pytest.fixture
def term(monkeypatch):
    """A terminal: the CLI's console writing to a string, stdin a tty, the typed answers queued."""
    from fleettui.cli import init as init_cli

    console = CliConsole(file=io.StringIO(), force_terminal=False, width=160)
    monkeypatch.setattr(init_cli, "out", console)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    answers: list[str] = []
    prompts: list[str] = []

    def fake_input(*args):
        prompts.append(console.file.getvalue().rstrip("\n").rsplit("\n", 1)[-1])
        assert answers, f"no answer queued for: {prompts[-1]}"
        answer = answers.pop(0)
        console.file.write(answer + "\n")          # what the terminal echoes
        return answer

    monkeypatch.setattr("builtins.input", fake_input)
    return console, answers, prompts


def test_interactive_accept_rename_edit_selector_skip(demo, tmp_path, term):
    console, answers, prompts = term
    path = tmp_path / "config.toml"
    # web, api, worker, checkout, cache (most hosts first)
    answers += ["a",                                      # web: accept
                "r", "Shop API", "r", "storefront", "",    # api: a bad name, then storefront; accept (default)
                "s",                                       # worker: skip
                "e", "Service=checkout, Owner=nobody",     # checkout: a selector that takes nothing…
                "e", "Service=checkout, CostCenter=cc-1050", "a",   # …then one that takes its hosts
                "skip",                                    # cache
                ""]                                        # write 3 services? (yes)
    assert init(demo, "--write", str(path)) == 0
    shown = console.file.getvalue()
    assert prompts[0] == "web: [a]ccept, [r]ename, [e]dit selector, [s]kip? (a) "
    assert "Shop API is not a service name" in shown and "renamed api to storefront" in shown
    # api's target groups say fleettui:service = api: renamed, it would not count them (shown again, without traffic)
    renamed = shown[shown.index("renamed api to storefront"):shown.index("worker: [a]ccept")]
    assert "its target groups carry fleettui:service = api: named storefront, fleettui does not count them" in renamed
    assert "storefront  (eu-west-1)  rollback: not ready: no generation receives traffic" in renamed
    assert "it misses 8 of the 8 hosts found for checkout" in shown       # the selector that took nothing
    assert prompts[-1] == f"write 3 services (web, storefront, checkout) to {path}? [Y/n] "
    # each fleet shown as status shows it, before the question about it
    assert shown.index("web  (us-east-1)  rollback: take 1.6.0 out of traffic") < shown.index(prompts[0])
    config = load_config(path)
    assert [s.name for s in config.services] == ["web", "storefront", "checkout"]
    assert dict(config.service("checkout").selector) == {"Service": "checkout", "CostCenter": "cc-1050"}
    assert dict(config.service("storefront").selector) == {"Service": "api"}
    assert config.defaults.read_only is True
    assert f"next: `fleettui --config {path} doctor`" in shown


def test_never_overwrites_without_asking_or_force(demo, tmp_path, term, capsys):
    console, answers, prompts = term
    path = tmp_path / "config.toml"
    path.write_text("# mine\n", encoding="utf-8")
    assert init(demo, "--yes", "--write", str(path)) == 2
    assert capsys.readouterr().err.strip() == f"fleettui: {path} exists: pass --force to overwrite it, or --write " \
                                              "another path"
    assert path.read_text() == "# mine\n"
    answers += ["n"]                                 # overwrite? no: asked first, before anything is read
    assert init(demo, "--write", str(path)) == 2
    assert prompts == [f"{path} exists: overwrite it with what you accept next? [y/N] "]
    assert "reading" not in console.file.getvalue()
    assert path.read_text() == "# mine\n"
    answers += ["y", "a", "s", "s", "s", "s", ""]     # yes; web only; write
    assert init(demo, "--write", str(path)) == 0
    assert [s.name for s in load_config(path).services] == ["web"]
    assert init(demo, "--yes", "--force", "--write", str(path)) == 0
    assert len(load_config(path).services) == 5


def test_json_prints_the_proposal_and_writes_only_with_write(demo, tmp_path, capsys):
    assert init(demo, "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    web = next(s for s in doc["services"] if s["name"] == "web")
    assert (web["selector"], web["version_source"], web["kind"], len(web["hosts"])) == (
        {"Service": "web"}, "image tag Version", "hosts", 33)
    assert web["versions"] == ["1.4.0", "1.5.0", "1.6.0"] and web["undecided"] == []
    cache = next(s for s in doc["services"] if s["name"] == "cache")
    assert "cache-lt is named after it" in " ".join(cache["notes"])
    assert [s["name"] for s in doc["status"]["services"]] == [s["name"] for s in doc["services"]]
    assert tomllib.loads(doc["config"])["aws"]["endpoint_url"] == demo.endpoint_url
    assert doc["written"] is None and doc["unreadable"] == []
    path = tmp_path / "c.toml"
    assert init(demo, "--json", "--write", str(path)) == 0
    assert json.loads(capsys.readouterr().out)["written"] == str(path) and len(load_config(path).services) == 5


@pytest.mark.parametrize("args, needle", [
    (["--region", "mars-1"], '--region "mars-1" is not a region name'),
    (["--endpoint-url", "ftp://x"], '--endpoint-url: "ftp://x" is not an http(s) URL'),
    (["--config", "x.toml"], "init writes a config: name it with --write PATH"),
    (["--demo"], "init --demo: the embedded demo AWS ends with this command"),
    ([], "init: stdin is not a terminal: pass --yes --write PATH"),
])
def test_bad_init_input_is_one_line_exit_2(args, needle, capsys, monkeypatch):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    assert main(["init", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1 and needle in captured.err


def test_doctor_says_what_to_fix_one_line_each(demo, tmp_path, capsys):
    text = demo.config_path.read_text(encoding="utf-8")
    text = text.replace('launch_template = "api-lt"', 'launch_template = "api-lt-old"')
    text = text.replace('name = "cache"\nregions = ["us-east-1"]', 'name = "cache"\nregions = ["us-east-1", "eu-west-1"]')
    text = text.replace('selector = { Service = "worker" }', 'selector = { Environment = "demo" }')
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["doctor", "--config", str(path)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert "api: launch template 'api-lt-old' not found in eu-west-1" in lines
    assert ("cache: selector Service=cache takes no host in eu-west-1 (remove eu-west-1 from its regions, or fix the "
            "selector)") in lines
    assert "cache: launch template 'cache-lt' not found in eu-west-1" in lines
    overlaps = [line for line in lines if "make their selectors exclusive" in line]
    assert len(overlaps) == 4 and all("worker" in line for line in overlaps)     # Environment=demo takes every host
    assert lines[-1] == "8 things to fix (5 services checked against account 123456789012)"
    assert main(["doctor", "--json", "--service", "api", "--config", str(path)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["services"] == ["api"] and [p["check"] for p in doc["problems"]] == ["inventory"]
    assert main(["doctor", "--service", "nope", "--config", str(path)]) == 2


def test_doctor_on_the_demo_config_checks_launches_by_ec2_dry_run(demo, capsys):
    """The demo's config is read-write and moto has no policy simulator: doctor asks EC2 DryRun (changes nothing)."""
    before = demo.client("ec2").describe_instances()
    assert main(["doctor", "--config", str(demo.config_path)]) == 0
    out = capsys.readouterr().out
    assert "checked ec2:RunInstances by EC2 DryRun only" in out
    assert out.strip().splitlines()[-1] == "nothing to fix: 5 services checked against account 123456789012"
    after = demo.client("ec2").describe_instances()
    assert sum(len(r["Instances"]) for r in after["Reservations"]) == sum(
        len(r["Instances"]) for r in before["Reservations"])


def test_help_stays_light():
    """Building the parser imports none of init's modules, nor aiobotocore's heavier neighbours."""
    code = ("import sys\nfrom fleettui.cli import build_parser\nbuild_parser()\n"
            "print(sorted(m for m in ('fleettui.aws.discovery', 'fleettui.domain.discovery', 'fleettui.aws.doctor', "
            "'fleettui.domain.proposal_toml', 'moto', 'textual', 'boto3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr
