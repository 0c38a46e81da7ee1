"""Reading the YAML/JSON input files of the pure-Python tools, with field-named errors."""

from __future__ import annotations

import json
from collections.abc import Callable
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


def read_json_file(
    path: Path,
    what: str,
    fix: str,
    *,
    invalid_fix: str | None = None,
    missing: type[ConfigError] = ConfigError,
    transform: Callable[[str], str] | None = None,
) -> object:
    """The JSON content of ``path`` (``transform`` applied to the text first); a
    :class:`ConfigError` naming the file when it is missing (as ``missing``), unreadable
    (``fix``) or not JSON (``invalid_fix``, default ``fix``). ``what`` names its role."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise missing(str(path), f"{what} is missing", fix) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(str(path), f"cannot read the {what} ({reason})", fix) from None
    try:
        return json.loads(transform(text) if transform else text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            str(path),
            f"{what} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
            invalid_fix or fix,
        ) from None
