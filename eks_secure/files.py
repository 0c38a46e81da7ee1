"""Reading the YAML/JSON input files of the pure-Python tools, with field-named errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from eks_secure.errors import ConfigError


def parse_data(text: str, label: str, what: str) -> Any:
    """``text`` parsed as YAML (JSON is YAML); a :class:`ConfigError` naming ``label`` if not."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ConfigError(
            label, f"{what} is not valid YAML or JSON{where}", "fix the syntax"
        ) from None


def read_data_file(path: str | Path, what: str) -> Any:
    """The parsed content of a YAML or JSON file; field-named errors when it cannot be read.

    ``what`` names the file's role in messages ("answers file", "price table").
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), f"{what} does not exist", "check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read the {what} ({exc})", "check the file") from None
    return parse_data(text, str(path), what)
