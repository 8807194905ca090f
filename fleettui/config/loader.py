"""Find, read and parse the config file; the top-level table is assembled from one module per section."""
from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fleettui import paths
from fleettui.config import aws, defaults, service, team
from fleettui.config.aws import AwsConfig
from fleettui.config.checks import _show, _REGION_RE, _Reader
from fleettui.config.defaults import Defaults
from fleettui.config.service import ServiceConfig
from fleettui.config.team import TeamConfig
from fleettui.errors import ConfigError


@dataclass(frozen=True)
class Config:
    path: Path | None
    aws: AwsConfig = field(default_factory=AwsConfig)
    defaults: Defaults = field(default_factory=Defaults)
    services: tuple[ServiceConfig, ...] = ()
    team: TeamConfig | None = None           # [team]: the shared DynamoDB store; None: solo

    @property
    def regions(self) -> tuple[str, ...]:
        seen: dict[str, None] = dict.fromkeys(self.aws.regions)
        for s in self.services:
            seen.update(dict.fromkeys(s.regions))
        return tuple(seen)

    def limited_to(self, regions: list[str] | tuple[str, ...], flag: str = "--region") -> "Config":
        """This config with only ``regions`` (from the command line: a ConfigError for a region that is not a
        region name or not in the config, before any request)."""
        allowed = ", ".join(self.regions) or "none configured"
        where = f"{self.path}" if self.path else "the config"
        for r in regions:
            if not _REGION_RE.match(r):
                raise ConfigError(f"{flag} {_show(r)} is not a region name (allowed: {allowed}, the regions of "
                                  f"{where})")
            if r not in self.regions:
                raise ConfigError(f"{flag} {r}: not in {where} (allowed: {allowed})")
        return replace(self, aws=replace(self.aws, regions=tuple(dict.fromkeys(regions))),
                       services=tuple(replace(s, regions=tuple(r for r in s.regions if r in regions))
                                      for s in self.services))

    def service(self, name: str) -> ServiceConfig:
        for s in self.services:
            if s.name == name:
                return s
        allowed = ", ".join(s.name for s in self.services) or "none configured"
        raise ConfigError(f"unknown service {name!r} (configured: {allowed})")


# ------------------------------------------------------------------------------------- top-level spec
# key in the file -> (Config field, section reader). Sections are read in this order; each reader gets the
# _Reader, the whole document, the environment and the sections read before it (by Config field name).
# A new section is a module with its dataclass, SPEC and read(), a line here and a field in Config.

_TOP: dict[str, tuple[str, Callable[[_Reader, dict, Mapping[str, str], dict[str, Any]], Any]]] = {
    "aws": ("aws", aws.read),
    "defaults": ("defaults", defaults.read),
    "service": ("services", service.read),
    "team": ("team", team.read),
}


# --------------------------------------------------------------------------------------------- loading

def find_config_path(explicit: Path | str | None = None, env: Mapping[str, str] = os.environ) -> Path | None:
    """``explicit`` (--config), else ``$FLEETTUI_CONFIG``, else ``<config dir>/config.toml`` if it exists.

    A path that was asked for but is missing is an error; finding nothing at all returns None."""
    for value, origin in ((explicit, "--config"), (env.get("FLEETTUI_CONFIG"), "$FLEETTUI_CONFIG")):
        if value:
            p = Path(value).expanduser()
            if not p.is_file():
                problem = "is a directory" if p.is_dir() else "not a regular file" if p.exists() else "no such file"
                raise ConfigError(f"{p}: {problem} (given by {origin})")
            return p.resolve()
    p = paths.config_dir(env) / "config.toml"
    return p.resolve() if p.is_file() else None


def load_config(explicit: Path | str | None = None, env: Mapping[str, str] = os.environ) -> Config:
    """Find, read, parse and validate the config file; every problem is a one-line :class:`ConfigError`."""
    path = find_config_path(explicit, env)
    if path is None:
        raise ConfigError(f"no config file found: create {paths.config_dir(env) / 'config.toml'} (copy "
                          "config.example.toml), pass --config PATH, or try `fleettui --demo`")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise ConfigError(f"{path}: not valid UTF-8 at byte {e.start} (line {line}; allowed: UTF-8 text)") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {' '.join(str(e).split())}") from None
    return parse_config(data, path, env)


def parse_config(data: dict, path: Path | None = None, env: Mapping[str, str] = os.environ) -> Config:
    """Validate an already-parsed TOML document into a :class:`Config`."""
    r = _Reader(path)
    r.no_unknown(data, "", _TOP)
    sections: dict[str, Any] = {}
    for name, read in _TOP.values():
        sections[name] = read(r, data, env, sections)
    return Config(path=path, **sections)
