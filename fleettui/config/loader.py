"""Find, read and parse the config file; the top-level table is assembled from one module per section."""
from __future__ import annotations

import os
import stat
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


def _read_trusted(path: Path) -> bytes:
    """The config's bytes, if no other user of this machine can have written them: a file (or a directory holding
    it, without the sticky bit) that every user may write is refused, never used. Such a file decides which endpoint
    fleettui trusts, which account and profile it acts with and which team table it shares: whoever can rewrite it
    can point fleettui at their own "AWS" (issue 23). The file is read from the descriptor it was checked on."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"{path}: not a regular file (a FIFO or device is never read)")
        if st.st_mode & stat.S_IWOTH:
            raise ConfigError(f"{path}: writable by every user of this machine (mode {stat.S_IMODE(st.st_mode):04o}): "
                              f"refused, anyone could point fleettui at another endpoint, account or team table "
                              f"(fix: chmod o-w {path})")
        parent = os.stat(path.parent).st_mode
        if parent & stat.S_IWOTH and not parent & stat.S_ISVTX:
            raise ConfigError(f"{path}: its directory {path.parent} is writable by every user of this machine (mode "
                              f"{stat.S_IMODE(parent):04o}): refused, anyone could replace the file (fix: chmod o-w "
                              f"{path.parent})")
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def load_config(explicit: Path | str | None = None, env: Mapping[str, str] = os.environ) -> Config:
    """Find, read, parse and validate the config file; every problem is a one-line :class:`ConfigError`."""
    path = find_config_path(explicit, env)
    if path is None:
        raise ConfigError(f"no config file found: create {paths.config_dir(env) / 'config.toml'} (copy "
                          "config.example.toml), pass --config PATH, or try `fleettui --demo`")
    try:
        raw = _read_trusted(path)
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
