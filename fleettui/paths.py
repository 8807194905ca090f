"""Where fleettui keeps its files: platformdirs locations for appname "fleettui".

``$FLEETTUI_HOME`` overrides all of them (``$FLEETTUI_HOME/config``, ``/state``, ``/log``), so tests and
throw-away runs can be isolated. Nothing is created on import; call :func:`ensure_dir` before writing.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

APP = "fleettui"


def _home(env: Mapping[str, str] | None) -> Path | None:
    home = (os.environ if env is None else env).get("FLEETTUI_HOME")
    return Path(home).expanduser() if home else None


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    home = _home(env)
    return home / "config" if home else Path(platformdirs.user_config_dir(APP, appauthor=False))


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    home = _home(env)
    return home / "state" if home else Path(platformdirs.user_state_dir(APP, appauthor=False))


def log_dir(env: Mapping[str, str] | None = None) -> Path:
    home = _home(env)
    return home / "log" if home else Path(platformdirs.user_log_dir(APP, appauthor=False))


def journal_path(env: Mapping[str, str] | None = None) -> Path:
    return state_dir(env) / "journal.jsonl"


def ensure_dir(p: str | Path) -> Path:
    """Create ``p`` (and parents) if missing; return it as a Path."""
    p = Path(p)
    p.mkdir(parents=True, exist_ok=True)
    return p
