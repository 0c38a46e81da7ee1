"""Load and validate a deployment config (YAML) into the frozen :mod:`model`.

The models declare every key, type and rule; this module only reads the file, picks the model of
the config's pattern from the registry and runs what needs the whole config: the pattern's
:meth:`~eks_secure.egress.spec.EgressSpec.check`, each tenant's destinations and the address plan.
Every independent problem is reported at once, each naming the exact dotted path of the bad
field (``apps[1].ports[0]``) and a fix.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from eks_secure import rules
from eks_secure.config.base import UnknownKeyHook, describe_value, dotted
from eks_secure.config.model import (
    DeploymentConfig,
    core_keys,
    deployment_model,
    pattern_keys,
    unknown_pattern_model,
)
from eks_secure.config.plan import plan_for
from eks_secure.errors import ConfigError, ConfigErrors
from eks_secure.network.services import DEFAULT_INTERFACE_ENDPOINT_SERVICES

__all__ = ["load_config", "parse_config", "read_config_file"]

Lock = Mapping[str, Mapping[str, int]]


def load_config(
    path: str | Path, *, pattern: str | None = None, lock: Lock | None = None
) -> DeploymentConfig:
    """Read the YAML file at ``path`` and validate it with :func:`parse_config`.

    ``pattern`` (from ``-c pattern=``) overrides a ``pattern:`` key in the file; ``lock`` is the
    address-plan lock the network is planned with (see :mod:`eks_secure.network.lock`).
    """
    return parse_config(read_config_file(path), pattern=pattern, lock=lock)


def read_config_file(path: str | Path) -> object:
    """The YAML document at ``path``; unreadable files, bad syntax and duplicate keys are
    ``config`` errors with the line and column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            "config",
            f"config file {path} does not exist",
            "pass the path of an existing YAML file, e.g. patterns/examples/base.yaml",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            "config", f"cannot read config file {path} ({exc})", "pass a readable UTF-8 YAML file"
        ) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = str(getattr(exc, "problem", None) or exc)
        fix = f"correct the YAML syntax{where} (indentation, a missing ':' or an unclosed quote)"
        if problem.startswith("found duplicate key"):
            fix = f"keep one of the two entries{where}"
        raise ConfigError("config", f"{path} is not valid YAML{where}: {problem}", fix) from None
    return data


def parse_config(
    data: object, *, pattern: str | None = None, lock: Lock | None = None
) -> DeploymentConfig:
    """Validate parsed YAML ``data`` and build the :class:`DeploymentConfig`.

    Collects every independent problem and raises them together as :class:`ConfigErrors`. Once
    the fields are valid it runs the pattern's and the tenants' checks and plans the network
    (:func:`plan_for` with ``lock``), so address-space problems surface here too. ``pattern``
    overrides a ``pattern:`` key in ``data``; default ``base``.
    """
    if data is None:
        raise ConfigErrors(
            [
                ConfigError(
                    "config",
                    "the config is empty",
                    "start from patterns/examples/base.yaml and fill in cluster_name, vpc_cidr, "
                    "availability_zones, kubernetes_version and admin_role_arns",
                )
            ]
        )
    if not isinstance(data, dict):
        raise ConfigErrors(
            [
                ConfigError(
                    "config",
                    f"must be a mapping of key: value pairs, got {describe_value(data)}",
                    "write the config as a YAML mapping, e.g. start from "
                    "patterns/examples/base.yaml",
                )
            ]
        )
    check_format(data)
    document: dict[str, Any] = dict(data)
    if pattern is not None:
        document["pattern"] = pattern
    name = document.get("pattern", "base")
    model: type[DeploymentConfig] | None = None
    if isinstance(name, str):
        with contextlib.suppress(ConfigError):  # the model's `pattern` rule reports it
            model = deployment_model(name)
    if model is None:
        model = unknown_pattern_model()
        sections, _ = pattern_keys()
        document = {k: v for k, v in document.items() if k not in sections}
    config = model.from_data(
        document,
        context={"pattern_override": pattern is not None},
        unknown_key=_unknown_key_hook(str(name)),
    )
    problems: list[ConfigError] = []
    try:
        tenants = config.tenants
        egress = config.egress
    except ConfigErrors as exc:
        raise ConfigErrors(exc.errors) from None
    except ConfigError as exc:
        raise ConfigErrors([exc]) from None
    if egress is not None:
        problems += egress.check(tenants)
    reused = config.existing_vpc is not None and not config.existing_vpc.create_endpoints
    services = None if reused else DEFAULT_INTERFACE_ENDPOINT_SERVICES
    for tenant in tenants:
        problems += tenant.check_destinations(config.on_prem_cidrs)
        problems += tenant.check_aws_access(services, (config.vpc_cidr, *config.on_prem_cidrs))
    if problems:
        raise ConfigErrors(problems)
    try:
        plan_for(config, lock)
    except ConfigErrors:
        raise
    except ConfigError as exc:
        raise ConfigErrors([exc]) from None
    return config


def check_format(data: Mapping[str, Any]) -> None:
    """Reject an unknown ``apiVersion`` or ``kind`` before anything else (a newer format's
    keys would only give confusing errors); both keys are optional."""
    problems: list[ConfigError] = []
    if "apiVersion" in data:
        problems += rules.api_version(data["apiVersion"])
    if "kind" in data:
        problems += rules.kind(data["kind"])
    if problems:
        raise ConfigErrors(problems)


def _unknown_key_hook(pattern: str) -> UnknownKeyHook:
    sections, app_keys = pattern_keys()

    def hook(loc: tuple[int | str, ...], key: str) -> ConfigError | None:
        owners: list[str] | None = None
        if len(loc) == 1:
            owners = sections.get(key)
        elif len(loc) == 3 and loc[0] == "apps" and isinstance(loc[1], int):
            owners = app_keys.get(key)
        if not owners or pattern in owners:
            return None
        which = " or ".join(owners)
        noun = "pattern" if len(owners) == 1 else "patterns"
        return ConfigError(
            dotted(loc),
            f"{key} only applies to {noun} {which}, not {pattern}",
            f"remove {key}, or use {noun} {which}",
        )

    return hook


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that rejects a key given twice in one mapping (PyYAML keeps the last)."""


def _construct_unique_mapping(
    loader: yaml.SafeLoader, node: yaml.MappingNode
) -> dict[object, object]:
    seen: set[tuple[str, str]] = set()
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            key = (key_node.tag, key_node.value)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key '{key_node.value}'",
                    key_node.start_mark,
                )
            seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)

TOP_LEVEL_KEYS = core_keys()
"""Top-level keys every config accepts (a pattern adds its own section)."""
