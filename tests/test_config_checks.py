"""Every value check of the config, at its edges, with the exact line an operator reads (pure; tests/test_config.py
runs whole files through the loader, tests/test_bad_input.py through the command line). Written to kill the
mutants that survived in fleettui/config/checks.py (README "Test strength")."""
from __future__ import annotations

from datetime import datetime

import pytest

from fleettui.config import checks as c
from fleettui.errors import ConfigError

DURATION = 'a positive number and a unit s/m/h/d/w, e.g. "14d", "36h", "2w"'
MINUTES = 'a duration of whole minutes, e.g. "1m", "5m"'
STAT = 'a CloudWatch statistic: "Average", "Maximum", "Minimum" or a percentile like "p99", "p99.9"'
URL = 'a URL starting with http:// or https://, e.g. "http://127.0.0.1:5000"'
LT = '"$Default", "$Latest" or a version number >= 1'
ARN_ALLOWED = ("a listener ARN: arn:aws:elasticloadbalancing:<region>:<12-digit account>:listener/app|net/<lb>/"
               "<id>/<id>")
ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/abc/def"


def outcome(check, value):
    try:
        return ("ok", check(value))
    except c._Invalid as e:
        return ("refused", str(e))


OK, NO = "ok", "refused"

CASES = [
    # _str
    (c._str, "x", (OK, "x")),
    (c._str, 1, (NO, "1 is an integer (allowed: a non-empty string)")),
    (c._str, " \t", (NO, "empty string (allowed: a non-empty string)")),
    (c._str, datetime(2026, 1, 2, 3, 4), (NO, "2026-01-02 03:04:00 is a date/time (allowed: a non-empty string)")),
    # _bool
    (c._bool, False, (OK, False)),
    (c._bool, 0, (NO, "0 is an integer (allowed: true or false)")),
    # _percent: 0 and 100 are allowed, -1 and 101 are not
    (c._percent, 0, (OK, 0)), (c._percent, 100, (OK, 100)),
    (c._percent, -1, (NO, "-1 is out of range (allowed: an integer 0-100)")),
    (c._percent, 101, (NO, "101 is out of range (allowed: an integer 0-100)")),
    (c._percent, True, (NO, "true is a boolean (allowed: an integer 0-100)")),
    (c._percent, 50.0, (NO, "50.0 is a number (allowed: an integer 0-100)")),
    # _refresh: 2-3600 seconds, a float
    (c._refresh, 2, (OK, 2.0)), (c._refresh, 3600, (OK, 3600.0)), (c._refresh, 2.5, (OK, 2.5)),
    (c._refresh, 1.99, (NO, "1.99 is out of range (allowed: a number of seconds 2-3600)")),
    (c._refresh, 3600.5, (NO, "3600.5 is out of range (allowed: a number of seconds 2-3600)")),
    (c._refresh, False, (NO, "false is a boolean (allowed: a number of seconds 2-3600)")),
    (c._refresh, "10", (NO, '"10" is a string (allowed: a number of seconds 2-3600)')),
    # _duration
    (c._duration, "36h", (OK, 36 * 3600.0)),
    (c._duration, 14, (NO, f"14 is an integer (allowed: {DURATION})")),
    (c._duration, "14 days", (NO, f'"14 days" is not a positive duration (allowed: {DURATION})')),
    # _latency_stat
    (c._latency_stat, "Average", (OK, "Average")), (c._latency_stat, "Minimum", (OK, "Minimum")),
    (c._latency_stat, "p99.9", (OK, "p99.9")), (c._latency_stat, "p100", (OK, "p100")),
    (c._latency_stat, "Sum", (NO, f'"Sum" is not a statistic (allowed: {STAT})')),
    (c._latency_stat, "p101", (NO, f'"p101" is not a statistic (allowed: {STAT})')),
    (c._latency_stat, 99, (NO, f"99 is an integer (allowed: {STAT})")),
    # _period: whole minutes
    (c._period, "1m", (OK, 60.0)), (c._period, "120s", (OK, 120.0)),
    (c._period, "30s", (NO, f'"30s" is not a whole number of minutes (allowed: {MINUTES})')),
    (c._period, "90s", (NO, f'"90s" is not a whole number of minutes (allowed: {MINUTES})')),
    # _regions
    (c._regions, ["us-east-1", "us-gov-west-1"], (OK, ("us-east-1", "us-gov-west-1"))),
    (c._regions, "us-east-1", (NO, '"us-east-1" is a string (allowed: a non-empty array of region names, e.g. '
                                   '["eu-west-1", "us-east-1"])')),
    (c._regions, [], (NO, 'empty array (allowed: a non-empty array of region names, e.g. ["eu-west-1", '
                          '"us-east-1"])')),
    (c._regions, ["us-east-1", 1], (NO, '1 is not a region name (allowed: a non-empty array of region names, e.g. '
                                        '["eu-west-1", "us-east-1"])')),
    (c._regions, ["us-east-1", "eu-west-1", "eu-west-1"], (NO, '"eu-west-1" is listed twice (allowed: a non-empty '
                                                               'array of region names, e.g. ["eu-west-1", '
                                                               '"us-east-1"])')),
    # _endpoint: printable ASCII and above U+009F; a space, controls and DEL..U+009F are not
    (c._endpoint, "https://h:1/!~\xa0", (OK, "https://h:1/!~\xa0")),
    (c._endpoint, "http://h/a b", (NO, f'"http://h/a b" contains a space (allowed: {URL})')),
    (c._endpoint, "http://h/\x7f", (NO, f'"http://h/\x7f" contains the control character \'\\x7f\' (allowed: {URL})')),
    (c._endpoint, "http://h/\x9f", (NO, f'"http://h/\x9f" contains the control character \'\\x9f\' (allowed: {URL})')),
    (c._endpoint, "ftp://h", (NO, f'"ftp://h" is not an http(s) URL (allowed: {URL})')),
    (c._endpoint, "http://", (NO, f'"http://" is not an http(s) URL (allowed: {URL})')),
    (c._endpoint, 5000, (NO, f"5000 is an integer (allowed: {URL})")),
    # _name
    (c._name, "web_2-a", (OK, "web_2-a")),
    (c._name, "Web", (NO, '"Web" is not a valid name (allowed: lowercase letters, digits, "-" and "_", starting '
                          'with a letter or digit)')),
    (c._name, 1, (NO, '1 is an integer (allowed: lowercase letters, digits, "-" and "_", starting with a letter or '
                      'digit)')),
    # _selector
    (c._selector, {"Service": "web"}, (OK, (("Service", "web"),))),
    (c._selector, "web", (NO, '"web" is a string (allowed: a non-empty table of tag = "value", e.g. '
                              '{ Service = "web" })')),
    (c._selector, {}, (NO, 'empty table (allowed: a non-empty table of tag = "value", e.g. { Service = "web" })')),
    (c._selector, {"": "x"}, (NO, 'empty tag key (allowed: a non-empty table of tag = "value", e.g. '
                                  '{ Service = "web" })')),
    (c._selector, {"a b": 1}, (NO, 'tag "a b": 1 is not a string (allowed: a non-empty table of tag = "value", e.g. '
                                   '{ Service = "web" })')),
    # _tags
    (c._tags, {}, (OK, ())),
    (c._tags, {" ": "x"}, (NO, 'empty tag key (allowed: ' + c._TAGS + ")")),
    (c._tags, {"AWS:x": "y"}, (NO, 'tag "AWS:x": the aws: prefix is reserved by AWS (allowed: ' + c._TAGS + ")")),
    (c._tags, {"Owner": 1}, (NO, "tag Owner: 1 is not a string (allowed: " + c._TAGS + ")")),
    # _lt_version
    (c._lt_version, 1, (OK, "1")), (c._lt_version, "1", (OK, "1")), (c._lt_version, "007", (OK, "7")), (c._lt_version, "$Latest", (OK, "$Latest")),
    (c._lt_version, "$Default", (OK, "$Default")),
    (c._lt_version, 0, (NO, f"0 is not a launch template version (allowed: {LT})")),
    (c._lt_version, "0", (NO, f'"0" is not a launch template version (allowed: {LT})')),
    (c._lt_version, "$latest", (NO, f'"$latest" is not a launch template version (allowed: {LT})')),
    (c._lt_version, True, (NO, f"true is a boolean (allowed: {LT})")),
    (c._lt_version, 1.5, (NO, f"1.5 is a number (allowed: {LT})")),
    # _listener_arn
    (c._listener_arn, ARN, (OK, ARN)),
    (c._listener_arn, 1, (NO, f"1 is an integer (allowed: {ARN_ALLOWED})")),
    (c._listener_arn, ARN.replace("eu-west-1", "Frankfurt"),
     (NO, ('"' + ARN.replace("eu-west-1", "Frankfurt"))[:57] + "... is not a load balancer listener ARN (allowed: "
          f"{ARN_ALLOWED})")),                                   # shown quoted, cut at 57 characters + "..."
    # _str_list
    (c._str_list, ["a"], (OK, ("a",))),
    (c._str_list, ["a", ""], (NO, '"" is not a non-empty string (allowed: an array of strings)')),
    (c._str_list, [None], (NO, "None is not a non-empty string (allowed: an array of strings)")),
    (c._str_list, "a", (NO, '"a" is a string (allowed: an array of strings)')),
    # _shift_steps
    (c._shift_steps, [1, 100], (OK, (1, 100))), (c._shift_steps, [100], (OK, (100,))),
    (c._shift_steps, [0, 100], (NO, f"0 is out of range (allowed: {c._STEPS})")),
    (c._shift_steps, [1, 101], (NO, f"101 is out of range (allowed: {c._STEPS})")),
    (c._shift_steps, [50, 50, 100], (NO, f"50 does not increase (after 50) (allowed: {c._STEPS})")),
    (c._shift_steps, [10, 50], (NO, f"the last step is 50 (allowed: {c._STEPS})")),
    (c._shift_steps, [], (NO, f"empty array (allowed: {c._STEPS})")),
    (c._shift_steps, [True, 100], (NO, f"true is a boolean (allowed: {c._STEPS})")),
    (c._shift_steps, 100, (NO, f"100 is an integer (allowed: an array of {c._STEPS})")),
]


@pytest.mark.parametrize("check, value, want", CASES, ids=[f"{f.__name__}-{v!r}"[:60] for f, v, _ in CASES])
def test_each_check_at_its_edges(check, value, want):
    got = outcome(check, value)
    assert got == want
    assert type(got[1]) is type(want[1])          # 2.0, not 2


@pytest.mark.parametrize("value, shown", [
    (True, "true"), (False, "false"), ("é\"", '"é\\""'), ([1, "a", [True]], '[1, "a", [true]]'),
    ({"a b": 1, "k": "v", "é": 2}, '{ "a b" = 1, k = "v", "é" = 2 }'), (1.5, "1.5"),
    (datetime(2026, 1, 2, 3, 4), "2026-01-02 03:04:00"),
    (10 ** 59, "1" + "0" * 59),                                     # 60 characters: whole
    (10 ** 60, "1" + "0" * 56 + "..."),                             # 61: cut to 57 and "..."
])
def test_values_are_shown_as_written_on_one_line(value, shown):
    assert c._show(value) == shown


@pytest.mark.parametrize("seconds, text", [(86400, "1d"), (129600, "36h"), (3600, "1h"), (5400, "90m"), (60, "1m"),
                                           (120, "2m"), (90, "90s"), (59, "59s")])
def test_durations_are_shown_in_their_largest_whole_unit(seconds, text):
    assert c._fmt_seconds(seconds) == text


def test_reader_messages():
    r = c._Reader(None)
    spec = {"warn_age": c._duration, "max_age": c._duration}
    with pytest.raises(ConfigError) as e:
        r.no_unknown({"warnage": 1}, "defaults.", spec)
    assert str(e.value) == ('<config>: defaults.warnage: unknown key, did you mean "warn_age"? '
                            "(allowed: warn_age, max_age)")
    with pytest.raises(ConfigError) as e:
        r.no_unknown({"zzz": 1}, "defaults.", spec)
    assert str(e.value) == "<config>: defaults.zzz: unknown key (allowed: warn_age, max_age)"
    with pytest.raises(ConfigError) as e:
        r.table([1], "defaults", spec, "[defaults]")
    assert str(e.value) == "<config>: defaults: [1] is an array (allowed: a table, written [defaults])"
    assert r.table({"warn_age": "1d"}, "defaults", spec, "[defaults]") == {"warn_age_s": 86400.0}
    r.ages("defaults", 86400, 86400)                      # equal is allowed
    with pytest.raises(ConfigError) as e:
        r.ages("defaults", 86401, 86400)
    assert str(e.value) == ("<config>: defaults.warn_age: 86401s is longer than max_age 1d "
                            "(allowed: warn_age <= max_age)")
