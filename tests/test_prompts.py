"""Plans as data (fleettui/domain/plan.py) and the CLI's confirmation prompts (`confirm` in fleettui/cli/verbs.py,
the prompt of `fleettui unlock`): fast tests for mutation testing (README "Test strength").

The prompts are driven through rich's ``Console.input`` on a console writing to a string (the answer comes from
``builtins.input``, what ``Console.input`` reads; ``sys.stdin.isatty`` says whether there is a terminal). The console
is a colour terminal so the styles of the prompt are asserted too, escape sequences and all.
"""
from __future__ import annotations

import io
import json
import re
import sys
from datetime import datetime, timedelta, timezone
from types import MappingProxyType

import pytest

from fleettui.cli.common import CliConsole
from fleettui.domain.plan import Plan, Step, _thaw, freeze, new_plan_id
from fleettui.errors import ConfigError

# ------------------------------------------------------------------------------------------------ freeze / thaw


def test_freeze_makes_read_only_mappings_and_tuples_all_the_way_down():
    frozen = freeze({"a": [1, {"b": [2, 3]}], "c": {"d": "x"}, "e": 5})
    assert type(frozen) is MappingProxyType
    assert type(frozen["a"]) is tuple and frozen["a"][0] == 1
    assert type(frozen["a"][1]) is MappingProxyType and frozen["a"][1]["b"] == (2, 3)
    assert type(frozen["c"]) is MappingProxyType and dict(frozen["c"]) == {"d": "x"}
    assert frozen["e"] == 5
    assert freeze([{"k": 1}])[0]["k"] == 1 and type(freeze([{"k": 1}])[0]) is MappingProxyType
    assert freeze("s") == "s" and freeze(None) is None and freeze((1, 2)) == (1, 2)


def test_thaw_gives_back_plain_dicts_and_lists_all_the_way_down():
    thawed = _thaw(MappingProxyType({"a": (1, MappingProxyType({"b": (2,)})), "c": [3, (4,)], "e": "x"}))
    assert thawed == {"a": [1, {"b": [2]}], "c": [3, [4]], "e": "x"}
    assert type(thawed) is dict and type(thawed["a"]) is list and type(thawed["a"][1]) is dict
    assert type(thawed["a"][1]["b"]) is list and type(thawed["c"]) is list and type(thawed["c"][1]) is list
    assert _thaw(7) == 7 and _thaw(None) is None


# ------------------------------------------------------------------------------------------------ Step

def test_a_step_goes_to_a_dict_and_back_exactly():
    s = Step("s2", "set_weights", "eu-west-1", "set weights", freeze({"weights": {"a": 10}, "ids": ["i-1"]}))
    d = s.to_dict()
    assert d == {"id": "s2", "kind": "set_weights", "region": "eu-west-1", "description": "set weights",
                 "params": {"weights": {"a": 10}, "ids": ["i-1"]}}
    assert type(d["params"]) is dict and type(d["params"]["ids"]) is list
    back = Step.from_dict(d)
    assert back == s and type(back.params) is MappingProxyType and back.params["ids"] == ("i-1",)


@pytest.mark.parametrize("params", [None, {}, "absent"])
def test_a_step_without_params_gets_an_empty_read_only_mapping(params):
    d = {"id": "s1", "kind": "terminate", "region": "us-east-1", "description": "terminate"}
    if params != "absent":
        d["params"] = params
    s = Step.from_dict(d)
    assert (s.id, s.kind, s.region, s.description) == ("s1", "terminate", "us-east-1", "terminate")
    assert type(s.params) is MappingProxyType and dict(s.params) == {}
    assert Step("s1", "k", "r", "d").params == MappingProxyType({})


# ------------------------------------------------------------------------------------------------ plan ids

def test_a_plan_id_says_when_in_utc_and_ends_with_six_random_hex_digits():
    t = datetime(2026, 11, 30, 9, 5, 7, tzinfo=timezone.utc)
    ids = {new_plan_id(t) for _ in range(20)}
    assert all(re.fullmatch(r"p-20261130-090507-[0-9a-f]{6}", i) for i in ids), ids
    assert len(ids) > 1                                    # random, not one fixed suffix


def test_a_plan_id_without_a_time_is_now_in_utc_whatever_the_machines_time_zone(monkeypatch):
    import time as clock

    monkeypatch.setenv("TZ", "Pacific/Kiritimati")         # UTC+14: local time is never the UTC day and hour
    clock.tzset()
    try:
        before = datetime.now(timezone.utc).replace(microsecond=0)
        pid = new_plan_id()
        after = datetime.now(timezone.utc)
    finally:
        monkeypatch.undo()
        clock.tzset()
    m = re.fullmatch(r"p-(\d{8}-\d{6})-[0-9a-f]{6}", pid)
    assert m, pid
    when = datetime.strptime(m.group(1), "%Y%m%d-%H%M%S").replace(tzinfo=timezone.utc)
    assert before <= when <= after


# ------------------------------------------------------------------------------------------------ Plan

def steps(n: int = 1) -> tuple[Step, ...]:
    return tuple(Step(f"s{i}", "terminate", "us-east-1", f"step {i}") for i in range(1, n + 1))


def plan(**kw) -> Plan:
    base = dict(id="p-1", verb="replace", service="web", summary="replace web", steps=steps())
    return Plan(**{**base, **kw})


def test_a_plan_is_runnable_only_with_steps_and_without_a_refusal():
    assert plan().runnable is True
    assert plan(refusal="no").runnable is False
    assert plan(refusal="").runnable is False               # a refusal, even empty, is a refusal
    assert plan(steps=()).runnable is False
    assert plan(steps=(), refusal="no").runnable is False


@pytest.mark.parametrize("kw, reason", [
    (dict(), "this plan needs a typed confirmation"),
    (dict(verb="decommission", generation="1.4.0"), "this plan destroys generation 1.4.0 of web"),
    (dict(verb="decommission"), "this plan needs a typed confirmation"),
    (dict(verb="rollback", generation="1.4.0"), "this plan needs a typed confirmation"),
    (dict(hosts_affected=("i-1", "i-2")), "this plan terminates 2 host(s)"),
    (dict(hosts_affected=("i-1",)), "this plan terminates 1 host(s)"),
    (dict(capacity_before=100, capacity_min=99), "this plan lowers healthy capacity to 99% of what web has now"),
    (dict(capacity_before=80, capacity_min=80), "this plan needs a typed confirmation"),
    (dict(capacity_before=80, capacity_min=90), "this plan needs a typed confirmation"),
    (dict(verb="decommission", generation="1.4.0", hosts_affected=("i-1", "i-2", "i-3"), capacity_min=50),
     "this plan destroys generation 1.4.0 of web, terminates 3 host(s), "
     "lowers healthy capacity to 50% of what web has now"),
])
def test_the_confirm_reason_says_exactly_what_the_plan_destroys(kw, reason):
    assert plan(**kw).confirm_reason == reason


def full_plan() -> Plan:
    return Plan(id="p-20261130-090507-abcdef", verb="decommission", service="web", summary="decommission web 1.4.0",
                steps=(Step("s1", "set_weights", "us-east-1", "weights", freeze({"w": {"a": 0}})),
                       Step("s2", "terminate", "us-east-1", "terminate", freeze({"ids": ["i-1", "i-2"]}))),
                hosts_affected=("i-1", "i-2"), capacity_before=100, capacity_min=75,
                weights_before=MappingProxyType({"1.4.0": 10, "1.5.0": 90}),
                weights_after=MappingProxyType({"1.4.0": 0, "1.5.0": 100}),
                refusal=None, warnings=("w1", "w2"), confirm_phrase="web 1.4.0", created_at="2026-11-30T09:05:07Z",
                generation="1.4.0")


FULL_DICT = {
    "id": "p-20261130-090507-abcdef", "verb": "decommission", "service": "web", "summary": "decommission web 1.4.0",
    "steps": [{"id": "s1", "kind": "set_weights", "region": "us-east-1", "description": "weights",
               "params": {"w": {"a": 0}}},
              {"id": "s2", "kind": "terminate", "region": "us-east-1", "description": "terminate",
               "params": {"ids": ["i-1", "i-2"]}}],
    "hosts_affected": ["i-1", "i-2"], "capacity_before": 100, "capacity_min": 75,
    "weights_before": {"1.4.0": 10, "1.5.0": 90}, "weights_after": {"1.4.0": 0, "1.5.0": 100},
    "refusal": None, "warnings": ["w1", "w2"], "confirm_phrase": "web 1.4.0", "created_at": "2026-11-30T09:05:07Z",
    "generation": "1.4.0",
}


def test_a_plan_goes_to_a_plain_dict_and_json_and_back_exactly():
    p = full_plan()
    d = p.to_dict()
    assert d == FULL_DICT and list(d) == list(FULL_DICT)
    for key in ("steps", "hosts_affected", "warnings"):
        assert type(d[key]) is list, key
    for key in ("weights_before", "weights_after"):
        assert type(d[key]) is dict, key
    text = p.to_json()
    assert text == json.dumps(FULL_DICT, indent=2)
    assert Plan.from_dict(json.loads(text)) == p
    back = Plan.from_dict(FULL_DICT)
    assert back == p
    assert type(back.steps) is tuple and type(back.hosts_affected) is tuple and type(back.warnings) is tuple
    assert type(back.weights_before) is MappingProxyType and type(back.weights_after) is MappingProxyType


def test_a_refused_plan_read_back_is_still_refused():
    p = plan(refusal="web is locked by bob", warnings=("w",))
    back = Plan.from_dict(json.loads(p.to_json()))
    assert back == p and back.refusal == "web is locked by bob" and back.runnable is False


def test_a_plan_from_a_dict_with_only_the_required_keys_gets_the_defaults():
    d = {"id": "p-1", "verb": "shift", "service": "web", "summary": "s", "steps": []}
    p = Plan.from_dict(d)
    assert p == Plan(id="p-1", verb="shift", service="web", summary="s", steps=())
    assert (p.hosts_affected, p.capacity_before, p.capacity_min, p.refusal, p.warnings, p.confirm_phrase,
            p.created_at, p.generation) == ((), 100, 100, None, (), None, "", None)
    assert type(p.weights_before) is MappingProxyType and dict(p.weights_before) == {}
    assert type(p.weights_after) is MappingProxyType and dict(p.weights_after) == {}
    nulls = Plan.from_dict({**d, "hosts_affected": None, "weights_before": None, "weights_after": None,
                            "warnings": None, "capacity_before": "80", "capacity_min": "60"})
    assert (nulls.hosts_affected, nulls.warnings, nulls.capacity_before, nulls.capacity_min) == ((), (), 80, 60)
    assert dict(nulls.weights_before) == {} == dict(nulls.weights_after)


# ------------------------------------------------------------------------------------------------ confirm()

YELLOW, BOLD, RESET = "\x1b[33m", "\x1b[1m", "\x1b[0m"


@pytest.fixture
def term(monkeypatch):
    """A terminal: the CLI's console writing (with colours) to a string, stdin a tty, the typed answers queued.
    Yields (console, answers, prompts): append answers; prompts counts the reads."""
    from fleettui.cli import verbs

    console = CliConsole(file=io.StringIO(), force_terminal=True, color_system="standard", width=200)
    monkeypatch.setattr(verbs, "out", console)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    answers: list[str] = []
    reads: list[int] = []

    def fake_input(*args):
        assert args == ()                                  # the prompt is printed by rich, not by input()
        reads.append(1)
        return answers.pop(0)

    monkeypatch.setattr("builtins.input", fake_input)
    return console, answers, reads


def shown(console) -> str:
    text = console.file.getvalue()
    console.file.seek(0)
    console.file.truncate()
    return text


@pytest.mark.parametrize("answer, accepted", [
    ("y", True), ("yes", True), ("Y ", True), ("  YES\n", True), ("Yes", True),
    ("", False), ("n", False), ("no", False), ("N", False), ("ye", False), ("yess", False), ("y es", False),
    ("sure", False), ("1", False),
])
def test_without_a_phrase_only_y_or_yes_proceeds(term, answer, accepted):
    from fleettui.cli.verbs import confirm

    console, answers, reads = term
    answers.append(answer)
    assert confirm(plan(), yes=False) is accepted
    assert shown(console) == "Proceed? [y/N] "             # the [y/N] literally, nothing else, no style
    assert reads == [1]


PHRASE = "web 1.4.0"
RISKY = dict(verb="decommission", generation="1.4.0", hosts_affected=("i-1", "i-2"), confirm_phrase=PHRASE)


@pytest.mark.parametrize("answer, accepted", [
    (PHRASE, True), (f"  {PHRASE} \n", True), (f"\t{PHRASE}", True),
    ("", False), ("y", False), ("yes", False), ("1.4.0", False), ("web", False), ("web 1.4.", False),
    ("web 1.4.00", False), ("web  1.4.0", False), ("WEB 1.4.0", False), ("web1.4.0", False),
])
def test_a_risky_plan_proceeds_only_on_the_exact_phrase(term, answer, accepted):
    from fleettui.cli.verbs import confirm

    console, answers, reads = term
    answers.append(answer)
    assert confirm(plan(**RISKY), yes=False) is accepted
    assert shown(console) == (
        f"{YELLOW}  this plan destroys generation 1.4.0 of web, terminates 2 host(s){RESET}\n"
        f"Type {BOLD}{PHRASE}{RESET} to confirm (anything else cancels): ")
    assert reads == [1]


def test_a_hostile_phrase_is_shown_as_text_and_accepted_typed_as_shown_or_as_it_is(term):
    from fleettui.cli.verbs import confirm

    console, answers, reads = term
    phrase = "[bold red]web[/] \x1b[2J1.4.0"
    risky = plan(verb="decommission", generation=phrase, confirm_phrase=phrase)
    as_shown = "[bold red]web[/] \\x1b[2J1.4.0"
    answers.extend([as_shown, phrase, "[bold red]web[/] 1.4.0", "web 1.4.0"])
    assert confirm(risky, yes=False) is True
    text = shown(console)
    assert text == (f"{YELLOW}  this plan destroys generation {as_shown} of web{RESET}\n"
                    f"Type {BOLD}{as_shown}{RESET} to confirm (anything else cancels): ")
    assert "\x1b[2J" not in text
    assert confirm(risky, yes=False) is True
    assert confirm(risky, yes=False) is False
    assert confirm(risky, yes=False) is False
    assert reads == [1, 1, 1, 1]


def test_yes_proceeds_without_asking_even_without_a_terminal(term, monkeypatch):
    from fleettui.cli.verbs import confirm

    console, answers, reads = term
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    assert confirm(plan(), yes=True) is True
    assert confirm(plan(**RISKY), yes=True) is True
    assert reads == [] and shown(console) == ""


@pytest.mark.parametrize("kw", [dict(), RISKY])
def test_without_yes_and_without_a_terminal_nothing_is_asked_and_it_is_a_config_error(term, monkeypatch, kw):
    from fleettui.cli.verbs import confirm

    console, answers, reads = term
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    with pytest.raises(ConfigError) as e:
        confirm(plan(**kw), yes=False)
    assert type(e.value) is ConfigError
    assert str(e.value) == "confirmation needed and stdin is not a terminal: pass --yes"
    assert reads == [] and shown(console) == ""


# ------------------------------------------------------------------------------------------------ unlock's prompt
# `fleettui unlock web` on a bare moto (tests/bare_aws.py): the real Actions, gateway, TagLock and a local journal in
# tmp_path; only the opening of the context (config file, demo…) is replaced, by one naming those.

from bare_aws import REGION, bare  # noqa: E402,F401  (bare: fixture)

HOLDER = "arn:aws:iam::123456789012:user/bob"


@pytest.fixture
def unlock_env(bare, tmp_path, term, monkeypatch):
    """(run, console, answers, reads, listener, journal path): run(*argv) runs `fleettui unlock web …`'s handler."""
    import argparse

    from fleettui.actions.api import Actions
    from fleettui.cli import unlock
    from fleettui.config import ServiceConfig
    from fleettui.config.loader import Config
    from fleettui.store.local import JsonlJournal
    from fleettui.store.taglock import TagLock

    console, answers, reads = term
    monkeypatch.setattr(unlock, "out", console)
    errors = CliConsole(file=io.StringIO(), width=200)
    monkeypatch.setattr(unlock, "err", errors)
    listener, _ = bare.listener()
    svc = ServiceConfig(name="web", regions=(REGION,), selector=(("Service", "web"),), listener_arn=listener)
    journal = tmp_path / "journal.jsonl"

    def with_actions(args, body):
        assert args.service == "web"                       # the real one opens the context these arguments name
        return bare.run(lambda gw: body(Actions(Config(path=None, aws=bare.aws, services=(svc,)), gw, read_only=False,
                                                journal=JsonlJournal(journal),
                                                lock=lambda *a, **k: TagLock(*a, settle=0, **k))))

    monkeypatch.setattr(unlock, "with_actions", with_actions)

    def run(*argv):
        p = argparse.ArgumentParser()
        unlock.add_parsers(lambda name, help: p)
        args = p.parse_args(["web", *argv])
        assert args.handler is unlock.cmd_unlock
        return unlock.cmd_unlock(args)

    return run, console, errors, answers, reads, listener, journal


def lock_tag(bare, listener):
    from fleettui.store.taglock import LOCK_TAG

    tags = bare.client("elbv2").describe_tags(ResourceArns=[listener])["TagDescriptions"][0]["Tags"]
    return {t["Key"]: t["Value"] for t in tags}.get(LOCK_TAG)


def stale_lock(bare, listener) -> tuple[str, str]:
    """Bob's lock, expired 30 min ago: (tag value, how unlock names it)."""
    from fleettui.store.taglock import LOCK_TAG, LockValue

    value = LockValue(HOLDER, "p-stuck", datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=30))
    bare.client("elbv2").add_tags(ResourceArns=[listener], Tags=[{"Key": LOCK_TAG, "Value": value.encode()}])
    return value.encode(), value.describe()


def events(journal) -> list[dict]:
    return [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()] if journal.exists() else []


UNLOCK_PROMPT = "Remove the lock on web? A plan still running under it stops at its next step. [y/N] "


@pytest.mark.parametrize("answer, removed", [
    ("y", True), ("yes", True), ("Y ", True), (" YES\n", True),
    ("", False), ("n", False), ("no", False), ("ye", False), ("yess", False), ("web", False),
])
def test_unlock_names_the_holder_asks_and_removes_only_on_y_or_yes(bare, unlock_env, answer, removed):
    run, console, errors, answers, reads, listener, journal = unlock_env
    value, text = stale_lock(bare, listener)
    answers.append(answer)
    assert run("--reason", "INC-9") == (0 if removed else 1)
    assert reads == [1]
    asked = f"web is locked by {text}\n{UNLOCK_PROMPT}"
    if removed:
        assert shown(console) == f"{asked}web: lock removed (was {text})\n"
        assert errors.file.getvalue() == ""
        assert lock_tag(bare, listener) is None
        [e] = events(journal)
        assert (e["event"], e["plan_id"], e["service"], e["reason"], e["holder"]) == (
            "lock_cleared", "p-stuck", "web", "INC-9", value)
        assert e["who"].startswith("arn:aws:") and e["who"] != HOLDER
    else:
        assert shown(console) == asked
        assert errors.file.getvalue() == "cancelled: nothing was changed\n"
        assert lock_tag(bare, listener) == value and events(journal) == []


def test_unlock_shows_a_hostile_holder_as_text(bare, unlock_env):
    from fleettui.store.taglock import LOCK_TAG

    run, console, errors, answers, reads, listener, journal = unlock_env
    hostile = "[bold]x[/bold] garbage"
    bare.client("elbv2").add_tags(ResourceArns=[listener], Tags=[{"Key": LOCK_TAG, "Value": hostile}])
    answers.append("y")
    assert run() == 0
    text = "a malformed lock tag '[bold]x[/bold] garbage' (not owner|plan|expiry)"
    assert shown(console) == f"web is locked by {text}\n{UNLOCK_PROMPT}web: lock removed (was {text})\n"
    assert lock_tag(bare, listener) is None


def test_unlock_with_yes_asks_nothing_and_journals_a_lock_without_a_plan_as_dash(bare, unlock_env, monkeypatch):
    from fleettui.store.taglock import LOCK_TAG

    run, console, errors, answers, reads, listener, journal = unlock_env
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    bare.client("elbv2").add_tags(ResourceArns=[listener], Tags=[{"Key": LOCK_TAG, "Value": "garbage"}])
    assert run("--yes") == 0
    text = "a malformed lock tag 'garbage' (not owner|plan|expiry)"
    assert shown(console) == f"web is locked by {text}\nweb: lock removed (was {text})\n"
    assert reads == [] and lock_tag(bare, listener) is None
    [e] = events(journal)
    assert (e["event"], e["plan_id"], e["reason"], e["holder"]) == ("lock_cleared", "-", "", "garbage")


def test_unlock_without_yes_and_without_a_terminal_is_a_config_error_and_changes_nothing(bare, unlock_env,
                                                                                         monkeypatch):
    run, console, errors, answers, reads, listener, journal = unlock_env
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    value, text = stale_lock(bare, listener)
    with pytest.raises(ConfigError) as e:
        run()
    assert type(e.value) is ConfigError
    assert str(e.value) == "confirmation needed and stdin is not a terminal: pass --yes"
    assert shown(console) == f"web is locked by {text}\n" and reads == []
    assert lock_tag(bare, listener) == value and events(journal) == []


def test_unlock_of_a_free_service_says_so_and_asks_nothing(bare, unlock_env):
    run, console, errors, answers, reads, listener, journal = unlock_env
    assert run() == 0
    assert shown(console) == "web is not locked\n" and reads == [] and events(journal) == []


def test_unlock_whose_journal_cannot_be_written_says_the_lock_is_gone_all_the_same(bare, unlock_env):
    from fleettui.store import StoreError

    run, console, errors, answers, reads, listener, journal = unlock_env
    journal.mkdir()                                        # not a file: the journal cannot be written
    value, text = stale_lock(bare, listener)
    with pytest.raises(StoreError) as e:
        run("--yes")
    assert str(e.value) == (f"web: lock removed in AWS (was {text}); "
                            f"the journal {journal} could not be written: Is a directory")
    assert e.value.__cause__ is None and e.value.__suppress_context__
    assert lock_tag(bare, listener) is None


# ------------------------------------------------------------------------------------------------ what surrounds confirm()
# The plan as printed before the question and the outcome after it (cli/verbs.py render_plan, report, the flags):
# exact text and styles on a colour terminal, every string from the plan shown as text with control characters escaped.

def colour_console(width: int = 200) -> CliConsole:
    return CliConsole(file=io.StringIO(), force_terminal=True, color_system="standard", width=width)


def test_the_plan_is_shown_whole_with_its_weights_capacity_steps_warnings_and_refusal():
    from fleettui.cli.verbs import render_plan

    c = colour_console()
    p = Plan(id="p-1", verb="shift", service="web", summary="shift [b]web[/b]\x1b",
             steps=(Step("s1", "set_weights", "us-east-1", "set \x07w"), Step("s2", "terminate", "eu-west-1", "term")),
             hosts_affected=("i-1", "i-2"), capacity_before=100, capacity_min=50,
             weights_before=MappingProxyType({"1.5.0": 100, "1.6.0": 0.05}),
             weights_after=MappingProxyType({"1.6.0": 100, "1.7\x1b": 0}),
             warnings=("careful\x1b",), refusal="no [red]way\x1b")
    render_plan(p, c)
    assert c.file.getvalue() == (
        "\x1b[1mplan \x1b[0m\x1b[36mp-1\x1b[0m  shift [b]web[/b]\\x1b\n"
        "  weights: 1.5.0 100%→—, 1.6.0 <0.1%→100%, 1.7\\x1b —→0%\n"
        "  capacity: 100% → lowest 50% during the plan; hosts terminated: 2\n"
        "\x1b[1mstep\x1b[0m\x1b[1m \x1b[0m\x1b[1m \x1b[0m\x1b[1mregion   \x1b[0m\x1b[1m \x1b[0m\x1b[1m \x1b[0m"
        "\x1b[1mwhat     \x1b[0m\n"
        "\x1b[2ms1  \x1b[0m\x1b[2m \x1b[0m\x1b[2m \x1b[0m\x1b[2mus-east-1\x1b[0m\x1b[2m \x1b[0m set \\x07w\n"
        "\x1b[2ms2  \x1b[0m\x1b[2m \x1b[0m\x1b[2m \x1b[0m\x1b[2meu-west-1\x1b[0m\x1b[2m \x1b[0m term     \n"
        "\x1b[33m  ! careful\\x1b\x1b[0m\n"
        "  \x1b[1;31mrefused:\x1b[0m no [red]way\\x1b\n")


def test_a_plan_without_steps_weights_or_hosts_shows_only_what_it_has():
    from fleettui.cli.verbs import render_plan

    c = colour_console()
    render_plan(Plan(id="p-2", verb="replace", service="web", summary="s", steps=()), c)
    assert c.file.getvalue() == (
        "\x1b[1mplan \x1b[0m\x1b[36mp-2\x1b[0m  s\n"
        "  capacity: 100% → lowest 100% during the plan\n"
        "\x1b[1mstep\x1b[0m\x1b[1m \x1b[0m\x1b[1m \x1b[0m\x1b[1mregion\x1b[0m\x1b[1m \x1b[0m\x1b[1m \x1b[0m\x1b[1mwhat\x1b[0m\n")
    c = colour_console()
    render_plan(Plan(id="p-3", verb="shift", service="web", summary="s", steps=(), capacity_before=90,
                     weights_after=MappingProxyType({"1.6.0": 100})), c)
    assert c.file.getvalue().splitlines()[1:3] == ["  weights: 1.6.0 —→100%",
                                                   "  capacity: 90% → lowest 100% during the plan"]


def test_a_long_plan_line_is_never_cut_on_a_narrow_terminal():
    from fleettui.cli.verbs import render_plan

    c = colour_console(width=30)
    long_id = "p-20261130-090507-abcdef"
    render_plan(Plan(id=long_id, verb="shift", service="web", summary="shift web to 1.6.0 everywhere now",
                     steps=(Step("s1", "set_weights", "ap-southeast-2", "x" * 40),),
                     weights_after=MappingProxyType({"1.6.0-with-a-very-long-version-name": 100})), c)
    text = c.file.getvalue()
    assert long_id in text and "1.6.0-with-a-very-long-version-name" in text.replace("\n", "")
    assert "ap-southeast-2" in text and "…" not in text


def outcome(status: str, **kw):
    from fleettui.actions.executor import Outcome

    p = Plan(id="p-1", verb="shift", service="web", summary="shift web\x1b", steps=(
        Step("s1", "set_weights", "us-east-1", "set w"), Step("s2", "terminate", "eu-west-1", "term\x07"),
        Step("s3", "terminate", "eu-west-1", "d")))
    return Outcome(p, status, **kw)


@pytest.mark.parametrize("status, kw, code, text", [
    ("succeeded", dict(done=("s1", "s2", "s3")), 0, "\x1b[32mdone\x1b[0m: shift web\\x1b (plan p-1)\n"),
    ("aborted", dict(error="rolled \x1bback", done=("s1",)), 1, "\x1b[31maborted\x1b[0m: rolled \\x1bback (plan p-1)\n"),
    ("failed", dict(failed_step=Step("s2", "terminate", "eu-west-1", "term\x07"), error="boom\x1b", done=("s1",)), 1,
     "\x1b[31mfailed\x1b[0m at s2 (term\\x07): boom\\x1b\nsteps not done: s2, s3; everything after the failed step is "
     "as it was. Fix the cause and run `fleettui resume p-1`.\n"),
])
def test_the_outcome_is_reported_with_its_exit_code(monkeypatch, capsys, status, kw, code, text):
    from fleettui.cli import verbs

    c = colour_console()
    monkeypatch.setattr(verbs, "out", c)
    o = outcome(status, **kw)
    assert verbs.report(o, False) == code
    assert c.file.getvalue() == text and capsys.readouterr().out == ""
    assert verbs.report(o, True) == code
    assert c.file.getvalue() == text                        # JSON goes to stdout only
    printed = capsys.readouterr().out
    assert printed.endswith("}\n") and printed.startswith('{\n  "plan": {\n    "id": "p-1"')
    assert json.loads(printed) == {"plan": o.plan.to_dict(), "status": status, "error": kw.get("error"),
                                   "failed_step": "s2" if status == "failed" else None, "done": list(kw["done"])}


def test_the_verb_flags_and_their_defaults():
    from fleettui.cli.verbs import verb_flags

    p = verb_flags()
    assert vars(p.parse_args([])) == {"dry_run": False, "json": False, "yes": False, "reason": ""}
    assert vars(p.parse_args(["--dry-run", "--json", "-y", "--reason", "INC-1"])) == {
        "dry_run": True, "json": True, "yes": True, "reason": "INC-1"}
    assert p.parse_args(["--yes"]).yes is True
    assert p.add_help is False
    assert {a.dest: a.help for a in p._actions} == {
        "dry_run": "show the plan (and EC2 DryRun checks); change nothing",
        "json": "print the plan (and outcome) as JSON",
        "yes": "do not prompt for confirmation",
        "reason": "why (recorded in the journal)"}


def test_the_unlock_command_its_flags_and_their_help():
    import argparse

    from fleettui.cli import unlock

    added = []
    p = argparse.ArgumentParser()
    unlock.add_parsers(lambda name, help: added.append((name, help)) or p)
    assert added == [("unlock", "clear a service's lock left by a crashed or stuck plan (names the holder, asks first)")]
    assert vars(p.parse_args(["web"])) == {"service": "web", "yes": False, "reason": "", "handler": unlock.cmd_unlock}
    assert vars(p.parse_args(["web", "-y", "--reason", "INC-9"])) == {
        "service": "web", "yes": True, "reason": "INC-9", "handler": unlock.cmd_unlock}
    assert p.parse_args(["web", "--yes"]).yes is True
    assert {a.dest: a.help for a in p._actions if a.dest != "help"} == {
        "service": None, "yes": "do not prompt for confirmation", "reason": "why (recorded in the journal)"}


def test_on_a_narrow_terminal_step_ids_and_regions_are_never_wrapped_nor_cut():
    from fleettui.cli.verbs import render_plan

    def steps_table(width: int) -> list[str]:
        c = CliConsole(file=io.StringIO(), force_terminal=True, color_system=None, width=width)
        render_plan(Plan(id="p-1", verb="replace", service="web", summary="s", steps=(
            Step("s10", "terminate", "ap-southeast-2", "terminate i-0123456789abcdef0 now"),)), c)
        lines = c.file.getvalue().splitlines()
        capacity_ends = next(i for i, ln in enumerate(lines) if ln.endswith("during the plan") or ln == "plan")
        return lines[capacity_ends + 1:]                    # the steps table, after the (wrapped) capacity line

    assert steps_table(24)[:4] == ["                      wh",
                                   "step  region          at",
                                   "s10   ap-southeast-2  te",
                                   "                      rm"]
    assert "".join(ln[22:] for ln in steps_table(24)) == "whatterminate i-0123456789abcdef0 now "
    # too narrow for all three columns: the region stays whole (min_width), the table is not cropped to the width
    assert steps_table(16) == ["s…  region         ", "s…  ap-southeast-2 "]


def test_unlock_lines_are_never_wrapped_on_a_narrow_terminal(bare, unlock_env, monkeypatch):
    from fleettui.cli import unlock

    run, console, errors, answers, reads, listener, journal = unlock_env
    narrow = CliConsole(file=io.StringIO(), force_terminal=True, color_system=None, width=12)
    monkeypatch.setattr(unlock, "out", narrow)
    assert run() == 0
    assert narrow.file.getvalue() == "web is not locked\n"
    shown(narrow)
    value, text = stale_lock(bare, listener)
    assert run("--yes") == 0
    assert narrow.file.getvalue() == f"web is locked by {text}\nweb: lock removed (was {text})\n"
