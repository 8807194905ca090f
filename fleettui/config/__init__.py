"""TOML config -> validated, frozen dataclasses.

Search order: ``--config PATH``, ``$FLEETTUI_CONFIG``, ``<platformdirs user config dir>/config.toml``.
Every error names the file, the key and what is allowed, and raises :class:`ConfigError` (exit 2).

Layout: ``checks`` (value checks and the table reader), one module per top-level section (``aws``,
``defaults``, ``service``, ``team``), ``loader`` (find, read, and assemble the sections listed in its ``_TOP``).
Imports only the standard library, :mod:`fleettui.paths` and :mod:`fleettui.errors`.
"""
from fleettui.config.aws import AwsConfig
from fleettui.config.defaults import Defaults
from fleettui.config.loader import Config, find_config_path, load_config, parse_config
from fleettui.config.service import ServiceConfig
from fleettui.config.team import TeamConfig
from fleettui.errors import ConfigError

__all__ = ["AwsConfig", "Config", "ConfigError", "Defaults", "ServiceConfig", "TeamConfig", "find_config_path", "load_config",
           "parse_config"]
