"""Config loading and validation: a valid corpus round-trips, every bad input is one clear line."""
from __future__ import annotations

import textwrap
import tomllib
from pathlib import Path

import pytest

from fleettui import paths
from fleettui.config import (AwsConfig, Config, ConfigError, Defaults, ServiceConfig, find_config_path,
                             load_config, parse_config)

ROOT = Path(__file__).resolve().parent.parent
ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"

FULL = f"""
[aws]
profile = "staging"
regions = ["eu-west-1", "us-east-1"]
endpoint_url = "http://127.0.0.1:5000"

[defaults]
warn_age = "10d"
max_age = "2w"
refresh_seconds = 15
read_only = true
min_healthy_percent = 80
production_pattern = "live-*"

[[service]]
name = "web"
regions = ["eu-west-1"]
selector = {{ Service = "web", Env = "prod" }}
version_tag = "AppVersion"
launch_template = "web-lt"
launch_template_version = 3
listener_arn = "{ARN}"
generation_tag = "gen"
target_group_prefix = "w-"
required_tags = ["Owner"]
shift_steps = [5, 50, 100]
warn_age = "36h"
max_age = "3d"
min_healthy_percent = 100

[service.tags]
Owner = "team-web"
"Cost Center" = "cc-1"

[[service]]
name = "worker_2"
selector = {{ Service = "worker" }}
"""

MINIMAL = """
[aws]
regions = ["eu-west-1"]

[[service]]
name = "web"
selector = { Service = "web" }
"""


def write(tmp_path: Path, text: str | bytes, name: str = "fleet.toml") -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


# ------------------------------------------------------------------------------------------ valid

def test_full_config_round_trips(tmp_path):
    path = write(tmp_path, FULL)
    cfg = load_config(path, env={})
    assert cfg == Config(
        path=path.resolve(),
        aws=AwsConfig(profile="staging", regions=("eu-west-1", "us-east-1"), endpoint_url="http://127.0.0.1:5000"),
        defaults=Defaults(warn_age_s=10 * 86400, max_age_s=14 * 86400, refresh_seconds=15.0, read_only=True,
                          min_healthy_percent=80, production_pattern="live-*"),
        services=(
            ServiceConfig(name="web", regions=("eu-west-1",), selector=(("Service", "web"), ("Env", "prod")),
                          version_tag="AppVersion", launch_template="web-lt", launch_template_version="3",
                          listener_arn=ARN, generation_tag="gen", target_group_prefix="w-",
                          required_tags=("Owner",), tags=(("Owner", "team-web"), ("Cost Center", "cc-1")),
                          shift_steps=(5, 50, 100), warn_age_s=36 * 3600,
                          max_age_s=3 * 86400, min_healthy_percent=100),
            ServiceConfig(name="worker_2", regions=("eu-west-1", "us-east-1"), selector=(("Service", "worker"),),
                          target_group_prefix="worker_2-", warn_age_s=10 * 86400, max_age_s=14 * 86400,
                          min_healthy_percent=80),
        ))
    assert cfg.services[0].listener_region == "eu-west-1"
    assert cfg.regions == ("eu-west-1", "us-east-1")


def test_minimal_config_gets_defaults(tmp_path):
    cfg = load_config(write(tmp_path, MINIMAL), env={})
    assert cfg.defaults == Defaults()
    (web,) = cfg.services
    assert web.regions == ("eu-west-1",)
    assert web.launch_template_version == "$Default"
    assert web.shift_steps == (10, 50, 100)
    assert web.target_group_prefix == "web-"
    assert (web.warn_age_s, web.max_age_s, web.min_healthy_percent) == (14 * 86400, 30 * 86400, 75)
    assert cfg.aws.profile is None


def test_example_config_is_valid_and_documents_every_key():
    path = ROOT / "config.example.toml"
    text = path.read_text(encoding="utf-8")
    cfg = parse_config(tomllib.loads(text), path, env={})
    assert [s.name for s in cfg.services] == ["web", "worker"]
    assert cfg.service("web").listener_arn and cfg.service("worker").listener_arn is None
    from fleettui.config import aws, defaults, service as services

    for key in [*aws.SPEC, *defaults.SPEC, *services.SPEC]:
        assert f"# {key}" in text, f"config.example.toml does not document {key}"


def test_parse_config_without_path_says_config():
    with pytest.raises(ConfigError, match=r"^<config>: service: at least one"):
        parse_config({}, None, env={})


# -------------------------------------------------------------------------------------------- bad

def service(extra: str = "", name: str = '"web"', selector: str = '{ Service = "web" }') -> str:
    return f"""
[aws]
regions = ["eu-west-1", "us-east-1"]

[[service]]
name = {name}
selector = {selector}
{extra}
"""


BAD = {
    # unknown keys
    "unknown top-level": ("colour = 1\n" + MINIMAL, "colour: unknown key"),
    "misspelt table": (MINIMAL.replace("[[service]]", "[[services]]"), 'services: unknown key, did you mean "service"?'),
    "unknown in aws": ('[aws]\nregion = "eu-west-1"\n', "aws.region: unknown key"),
    "unknown in defaults": (MINIMAL + '[defaults]\nwarnage = "1d"\n', "defaults.warnage: unknown key"),
    "unknown in service": (service("listener = 1"), 'service[1] "web".listener: unknown key'),
    # wrong types
    "str for int": (MINIMAL + '[defaults]\nmin_healthy_percent = "75"\n',
                    'defaults.min_healthy_percent: "75" is a string (allowed: an integer 0-100)'),
    "bool for int": (MINIMAL + "[defaults]\nmin_healthy_percent = true\n",
                     "defaults.min_healthy_percent: true is a boolean"),
    "bool for int in service": (service("min_healthy_percent = false"), 'service[1] "web".min_healthy_percent'),
    "int for list": (service("required_tags = 3"), 'service[1] "web".required_tags: 3 is an integer'),
    "str for regions": ('[aws]\nregions = "eu-west-1"\n', "aws.regions: \"eu-west-1\" is a string"),
    "int for bool": (MINIMAL + "[defaults]\nread_only = 1\n", "defaults.read_only: 1 is an integer (allowed: true or false)"),
    "aws not a table": ('aws = "x"\n', 'aws: "x" is a string'),
    "service not an array": ('[service]\nname = "web"\n', "service: { name = \"web\" } is a table"),
    "selector not a table": (service(selector='"web"'), 'service[1] "web".selector: "web" is a string'),
    "selector value not str": (service(selector="{ Service = 1 }"), 'service[1] "web".selector: tag Service: 1'),
    "empty selector": (service(selector="{}"), 'service[1] "web".selector: empty table'),
    "refresh out of range": (MINIMAL + "[defaults]\nrefresh_seconds = 1\n", "defaults.refresh_seconds: 1 is out of range"),
    "percent out of range": (MINIMAL + "[defaults]\nmin_healthy_percent = 101\n", "defaults.min_healthy_percent: 101"),
    "percent below range": (MINIMAL + "[defaults]\nmin_healthy_percent = -1\n",
                            "defaults.min_healthy_percent: -1 is out of range (allowed: an integer 0-100)"),
    "percent below range in service": (service("min_healthy_percent = -1"),
                                       'service[1] "web".min_healthy_percent: -1 is out of range'),
    "lt version zero": (service("launch_template_version = 0"), "launch_template_version: 0 is not a launch"),
    "lt version word": (service('launch_template_version = "latest"'), 'launch_template_version: "latest"'),
    "empty string": (MINIMAL + '[defaults]\nproduction_pattern = ""\n', "defaults.production_pattern: empty string"),
    # durations
    "duration with words": (MINIMAL + '[defaults]\nwarn_age = "14 days"\n', 'defaults.warn_age: "14 days" is not a positive duration'),
    "negative duration": (service('max_age = "-3d"'), 'service[1] "web".max_age: "-3d" is not a positive duration'),
    "zero duration": (service('warn_age = "0d"'), 'service[1] "web".warn_age: "0d" is not a positive duration'),
    "duration as number": (MINIMAL + "[defaults]\nmax_age = 30\n", "defaults.max_age: 30 is an integer"),
    "warn > max in defaults": (MINIMAL + '[defaults]\nwarn_age = "40d"\n', "defaults.warn_age: 40d is longer than max_age 30d"),
    "warn > max after override": (service('max_age = "7d"'), 'service[1] "web".warn_age: 14d is longer than max_age 7d'),
    # services
    "duplicate service": (service() + '[[service]]\nname = "web"\nselector = { A = "b" }\n',
                          'service[2] "web".name: duplicate: service[1] is also named "web"'),
    "missing name": ('[aws]\nregions = ["eu-west-1"]\n[[service]]\nselector = { A = "b" }\n', "service[1].name: missing"),
    "bad name": (service(name='"Web App"'), 'service[1].name: "Web App" is not a valid name'),
    "missing selector": ('[aws]\nregions = ["eu-west-1"]\n[[service]]\nname = "web"\n', 'service[1] "web".selector: missing'),
    "no regions anywhere": ('[[service]]\nname = "web"\nselector = { A = "b" }\n', 'service[1] "web".regions: no regions'),
    "empty regions": ('[aws]\nregions = []\n', "aws.regions: empty array"),
    "bad region name": (service('regions = ["eu-west-1", "Frankfurt"]'), 'service[1] "web".regions: "Frankfurt" is not a region name'),
    "bad aws region": ('[aws]\nregions = ["euwest1"]\n', 'aws.regions: "euwest1" is not a region name'),
    "duplicate region": (service('regions = ["eu-west-1", "eu-west-1"]'), '"eu-west-1" is listed twice'),
    "listener arn malformed": (service('listener_arn = "arn:aws:elasticloadbalancing:eu-west-1:123:listener/app/x"'),
                               'service[1] "web".listener_arn: "arn:aws:elasticloadbalancing'),
    "listener arn is a target group": (service(f'listener_arn = "{ARN.replace(":listener/", ":targetgroup/")}"'),
                                       "is not a load balancer listener ARN"),
    "listener arn other region": (service(f'regions = ["us-east-1"]\nlistener_arn = "{ARN}"'),
                                  'service[1] "web".listener_arn: listener_arn is in region eu-west-1, '
                                  "service regions are us-east-1"),
    "tags not a table": (service('tags = "Owner"'), 'service[1] "web".tags: "Owner" is a string (allowed: a table'),
    "tag value not str": (service("tags = { Owner = 1 }"), 'service[1] "web".tags: tag Owner: 1 is not a string'),
    "tag key aws:": (service('[service.tags]\n"aws:x" = "y"'), 'service[1] "web".tags: tag "aws:x": the aws: prefix'),
    "steps not increasing": (service("shift_steps = [10, 50, 50, 100]"), "shift_steps: 50 does not increase"),
    "steps out of range": (service("shift_steps = [10, 150]"),
                           'service[1] "web".shift_steps: 150 is out of range (allowed: integers 1-100, increasing, ending at 100)'),
    "steps zero": (service("shift_steps = [0, 100]"), "shift_steps: 0 is out of range"),
    "steps not ending at 100": (service("shift_steps = [10, 50]"), "shift_steps: the last step is 50"),
    "steps empty": (service("shift_steps = []"), "shift_steps: empty array"),
    "kind unknown": (service('kind = "server-group"'), 'kind: "server-group" is not a kind (allowed: "hosts" (bare EC2 '
                                                     'hosts) or "asg"'),
    "keep_warm negative": (service("keep_warm = -1"), "keep_warm: -1 is out of range (allowed: an integer 0-100)"),
    "keep string": (service('keep = "3"'), 'keep: "3" is a string (allowed: an integer 0-100)'),
    "steps bool": (service("shift_steps = [true, 100]"), "shift_steps: true is a boolean"),
    "endpoint without scheme": ('[aws]\nendpoint_url = "localhost:5000"\n',
                                'aws.endpoint_url: "localhost:5000" is not an http(s) URL (allowed: a URL starting with http://'),
    "endpoint ftp": ('[aws]\nendpoint_url = "ftp://x"\n', "aws.endpoint_url"),
    # files
    "empty file": ("", "service: at least one [[service]] is required"),
    "no services": ("[aws]\nregions = [\"eu-west-1\"]\n", "service: at least one [[service]] is required"),
    "toml syntax": ("[aws\nregions = 1\n", "invalid TOML: "),
    "toml duplicate table": ("[aws]\n[aws]\n", "invalid TOML: Cannot declare ('aws',) twice"),
    "non-utf8": (b'[aws]\nprofile = "caf\xe9"\n', "not valid UTF-8 at byte 20 (line 2;"),
}


@pytest.mark.parametrize("text,expected", BAD.values(), ids=BAD.keys())
def test_bad_config_is_one_line_naming_file_and_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path.resolve()}: ")
    assert expected in message
    if "invalid TOML" not in message and "UTF-8" not in message:
        assert "(allowed: " in message
    assert info.value.exit_code == 2


def test_unknown_key_lists_allowed_keys(tmp_path):
    with pytest.raises(ConfigError, match=r"aws\.region: unknown key, did you mean \"regions\"\? "
                                          r"\(allowed: profile, regions, endpoint_url\)$"):
        load_config(write(tmp_path, '[aws]\nregion = "eu-west-1"\n'), env={})


def test_missing_explicit_file(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml: no such file \(given by --config\)$"):
        load_config(missing, env={})


# -------------------------------------------------------------------------------------------- env

def test_fleettui_config_env_is_used(tmp_path):
    path = write(tmp_path, MINIMAL)
    assert find_config_path(None, {"FLEETTUI_CONFIG": str(path)}) == path.resolve()
    assert load_config(env={"FLEETTUI_CONFIG": str(path)}).path == path.resolve()


def test_explicit_path_beats_env(tmp_path):
    a, b = write(tmp_path, MINIMAL, "a.toml"), write(tmp_path, MINIMAL, "b.toml")
    assert find_config_path(a, {"FLEETTUI_CONFIG": str(b)}) == a.resolve()


def test_missing_env_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"gone\.toml: no such file \(given by \$FLEETTUI_CONFIG\)"):
        find_config_path(None, {"FLEETTUI_CONFIG": str(tmp_path / "gone.toml")})


def test_user_config_dir_is_the_last_resort(tmp_path, isolated_home):
    assert paths.config_dir() == isolated_home / "config"
    home_cfg = paths.ensure_dir(paths.config_dir()) / "config.toml"
    home_cfg.write_text(MINIMAL, encoding="utf-8")
    assert load_config().path == home_cfg.resolve()


def test_nothing_found_points_at_demo(tmp_path):
    env = {"FLEETTUI_HOME": str(tmp_path / "empty-home")}
    assert find_config_path(None, env) is None
    with pytest.raises(ConfigError) as info:
        load_config(env=env)
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / "empty-home" / "config" / "config.toml") in message
    assert "--config" in message and "fleettui --demo" in message and "config.example.toml" in message


def test_aws_profile_and_region_fallbacks():
    data = tomllib.loads('[[service]]\nname = "web"\nselector = { A = "b" }\n')
    cfg = parse_config(data, None, env={"AWS_PROFILE": "ops", "AWS_REGION": "eu-central-1",
                                        "AWS_DEFAULT_REGION": "us-west-2"})
    assert cfg.aws.profile == "ops"
    assert cfg.aws.regions == ("eu-central-1",) and cfg.services[0].regions == ("eu-central-1",)
    cfg = parse_config(data, None, env={"AWS_DEFAULT_REGION": "us-west-2"})
    assert cfg.aws.profile is None and cfg.aws.regions == ("us-west-2",)


def test_file_values_beat_env():
    data = tomllib.loads(MINIMAL.replace("[aws]", '[aws]\nprofile = "file"'))
    cfg = parse_config(data, None, env={"AWS_PROFILE": "env", "AWS_REGION": "us-west-2"})
    assert (cfg.aws.profile, cfg.aws.regions) == ("file", ("eu-west-1",))


def test_bad_env_region_is_reported():
    data = tomllib.loads('[[service]]\nname = "web"\nselector = { A = "b" }\n')
    with pytest.raises(ConfigError, match=r'^<config>: aws\.regions: not set, and \$AWS_REGION "moon" is not'):
        parse_config(data, None, env={"AWS_REGION": "moon"})


def test_paths_honour_fleettui_home(tmp_path):
    env = {"FLEETTUI_HOME": str(tmp_path)}
    assert paths.config_dir(env) == tmp_path / "config"
    assert paths.state_dir(env) == tmp_path / "state"
    assert paths.log_dir(env) == tmp_path / "log"
    assert paths.journal_path(env) == tmp_path / "state" / "journal.jsonl"
    assert not (tmp_path / "state").exists()
    assert paths.ensure_dir(paths.state_dir(env)).is_dir()
    assert "fleettui" in str(paths.config_dir({}))
