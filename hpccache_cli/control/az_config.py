"""The Azure CLI's own settings, honoured so an ``az`` user's defaults carry over.

``az`` reads ``AZURE_<SECTION>_<OPTION>`` from the environment first, then ``[section] option``
from ``$AZURE_CONFIG_DIR/config`` (default ``~/.azure/config``). We read the two settings an
``az hpc-cache`` user relies on when switching tools: the output format (``[core] output``)
and the default resource group (``[defaults] group``, set by ``az config set defaults.group=``
or ``az configure --defaults group=``). Nothing here writes the file or needs the Azure CLI.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from pathlib import Path


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$AZURE_CONFIG_DIR``, else ``~/.azure`` (where ``az`` keeps ``config``)."""
    env = os.environ if environ is None else environ
    custom = env.get("AZURE_CONFIG_DIR")
    return Path(custom).expanduser() if custom else Path.home() / ".azure"


def az_setting(section: str, option: str, environ: Mapping[str, str] | None = None) -> str | None:
    """One Azure CLI setting, or None: the environment variable wins over the config file.

    An unreadable or malformed config file counts as "not set": ``az`` itself would complain
    about it, and a flush must not fail over a display preference.
    """
    env = os.environ if environ is None else environ
    from_env = env.get(f"AZURE_{section.upper()}_{option.upper()}")
    if from_env:
        return from_env.strip() or None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(config_dir(env) / "config", encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    found = parser.get(section, option, fallback=None)
    return found.strip() or None if found is not None else None


def default_group(environ: Mapping[str, str] | None = None) -> str | None:
    """The Azure CLI's default resource group (``AZURE_DEFAULTS_GROUP``, ``[defaults] group``)."""
    return az_setting("defaults", "group", environ)


def default_output(environ: Mapping[str, str] | None = None) -> str | None:
    """The Azure CLI's default output format (``AZURE_CORE_OUTPUT``, ``[core] output``)."""
    found = az_setting("core", "output", environ)
    return found.lower() if found else None
