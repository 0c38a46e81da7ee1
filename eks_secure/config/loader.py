"""Load and validate a deployment config (YAML) into the frozen :mod:`model`.

Validation is done up front and collects every independent problem, so one run lists all of
them; each error names the exact dotted path of the bad field (``apps[1].name``) and a fix.
"""

from __future__ import annotations

import contextlib
import difflib
import ipaddress
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import yaml

from eks_secure.config.model import (
    PATTERN_NAMES,
    PLACEHOLDER_ACCOUNT,
    PLACEHOLDER_REGION,
    SUPPORTED_KUBERNETES_VERSIONS,
    AppConfig,
    ControlPlaneDestination,
    DeploymentConfig,
    ExistingVpc,
    KyvernoSettings,
    NodeGroupSize,
    OnPremRoute,
    PrivateNatSettings,
    SubnetSizes,
)
from eks_secure.config.plan import plan_for
from eks_secure.errors import ConfigError, ConfigErrors
from eks_secure.network.planner import DNS1123_LABEL, is_private_range

__all__ = ["load_config", "parse_config"]

T = TypeVar("T")
IPv4Network = ipaddress.IPv4Network

APP_STACK_MODES = ("nested", "inline")

TOP_LEVEL_KEYS: tuple[str, ...] = (
    "cluster_name",
    "vpc_cidr",
    "availability_zones",
    "kubernetes_version",
    "on_prem_cidrs",
    "on_prem_route",
    "admin_role_arns",
    "viewer_role_arns",
    "deployer_role_arns",
    "break_glass_trusted_arns",
    "account",
    "region",
    "pattern",
    "control_plane_egress",
    "api_access_cidrs",
    "subnets",
    "system_nodes",
    "existing_vpc",
    "addon_versions",
    "kyverno",
    "private_nat",
    "tags",
    "app_stacks",
    "apps",
)
APP_KEYS = (
    "name",
    "namespace",
    "slot",
    "destinations",
    "ports",
    "nodes",
    "nat_group",
    "team_role_arns",
)
NODE_GROUP_KEYS = ("instance_types", "min_size", "max_size", "desired_size", "disk_size_gib")
SUBNET_KEYS: dict[str, str] = {
    "control_plane_prefix": "control_plane",
    "endpoint_prefix": "endpoints",
    "system_node_prefix": "system_nodes",
    "app_prefix": "app",
    "nat_prefix": "nat",
}
KNOWN_ADDONS = ("coredns", "eks-pod-identity-agent", "kube-proxy", "vpc-cni")
RESERVED_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
PLATFORM_NAMESPACES = ("eks-secure-system", "kyverno")
"""Namespaces eks-secure itself uses; no app may take them."""
APP_PATTERNS = ("subnet-per-app", "private-nat")
"""Patterns that exist to give apps fixed egress IPs towards on-premises."""

MAX_NAME_LENGTH = 40
"""Cluster and app names prefix IAM role names (64 characters at most)."""

_ROLE_ARN = re.compile(r"arn:aws[-a-z]*:iam::\d{12}:role/[\w+=,.@/-]+")
_USER_ARN = re.compile(r"arn:aws[-a-z]*:iam::\d{12}:user/[\w+=,.@/-]+")
_ROOT_ARN = re.compile(r"arn:aws[-a-z]*:iam::\d{12}:root")
_ACCOUNT = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_TGW_ID = re.compile(r"tgw-[0-9a-f]{8,17}")
_VPC_ID = re.compile(r"vpc-[0-9a-f]{8,17}")
_INSTANCE_TYPE = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9]+")
_ADDON_VERSION = re.compile(r"v\d+\.\d+\.\d+-eksbuild\.\d+")
_VGW_ID = re.compile(r"vgw-[0-9a-f]{8,17}")
_SEMVER = re.compile(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?")
_TAG_TEXT = re.compile(r"[\w .:/=+\-@]*")
_ASN_RANGES = ((64512, 65534), (4200000000, 4294967294))

_EXAMPLE_ROLE = "arn:aws:iam::111111111111:role/platform-admin"


def load_config(path: str | Path, *, pattern: str | None = None) -> DeploymentConfig:
    """Read the YAML file at ``path`` and validate it with :func:`parse_config`.

    ``pattern`` (from ``-c pattern=``) overrides a ``pattern:`` key in the file.
    """
    return parse_config(read_config_file(path), pattern=pattern)


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


def parse_config(data: object, *, pattern: str | None = None) -> DeploymentConfig:
    """Validate parsed YAML ``data`` and build the :class:`DeploymentConfig`.

    Collects every independent problem and raises them together as :class:`ConfigErrors`; once
    the fields are valid it also plans the network (:func:`plan_for`), so address-space problems
    surface here too. ``pattern`` overrides a ``pattern:`` key in ``data``; default ``base``.
    """
    parser = _Parser()
    config = parser.parse(data, pattern)
    if parser.errors or config is None:
        raise ConfigErrors(parser.errors or [_fallback_error()])
    try:
        plan_for(config)
    except ConfigErrors:
        raise
    except ConfigError as exc:
        raise ConfigErrors([exc]) from None
    return config


def _fallback_error() -> ConfigError:  # pragma: no cover - parse() reports why it gave up
    return ConfigError("config", "the config could not be parsed", "check the file")


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


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _describe(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string '{value}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


def _dns_label(value: str) -> bool:
    return DNS1123_LABEL.fullmatch(value) is not None


class _Parser:
    """Collects errors while reading the raw YAML data."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []

    # -- primitives -------------------------------------------------------------------------

    def error(self, field: str, problem: str, fix: str) -> None:
        self.errors.append(ConfigError(field, problem, fix))

    def mapping(
        self, value: object, field: str, allowed: Sequence[str]
    ) -> dict[str, object] | None:
        """``value`` as a mapping of known keys; unknown keys are reported (with a suggestion)."""
        if not isinstance(value, dict):
            self.error(
                field or "config",
                f"must be a mapping of key: value pairs, got {_describe(value)}",
                f"write it as a mapping with keys from: {', '.join(allowed)}",
            )
            return None
        result: dict[str, object] = {}
        for key, item in value.items():
            if isinstance(key, str) and key in allowed:
                result[key] = item
                continue
            self.error(
                _join(field, str(key)),
                f"unknown key '{key}'" + (f" in {field}" if field else ""),
                f"{_suggest(str(key), allowed)}Allowed keys: {', '.join(allowed)}",
            )
        return result

    def missing(self, field: str, fix: str) -> None:
        self.error(field, "is required but missing", fix)

    def sequence(self, value: object, field: str, example: str) -> list[object] | None:
        if isinstance(value, list):
            return value
        self.error(
            field,
            f"must be a list, got {_describe(value)}",
            f"write it as a YAML list, e.g. {field.rsplit('.', 1)[-1]}: [{example}]",
        )
        return None

    def string(self, value: object, field: str, example: str) -> str | None:
        if isinstance(value, str):
            return value
        hint = " (quote it so YAML reads it as text)" if isinstance(value, int | float) else ""
        self.error(
            field,
            f"must be a string, got {_describe(value)}",
            f"write a string{hint}, e.g. {example}",
        )
        return None

    def matching(
        self, value: object, field: str, regex: re.Pattern[str], what: str, example: str
    ) -> str | None:
        text = self.string(value, field, example)
        if text is None:
            return None
        if regex.fullmatch(text) is None:
            self.error(field, f"'{text}' is not {what}", f"use {what}, e.g. {example}")
            return None
        return text

    def integer(
        self, value: object, field: str, lowest: int, highest: int | None = None
    ) -> int | None:
        bounds = f"in {lowest}..{highest}" if highest is not None else f">= {lowest}"
        if isinstance(value, bool) or not isinstance(value, int):
            hint = " without quotes" if isinstance(value, str) else ""
            self.error(
                field,
                f"must be a whole number, got {_describe(value)}",
                f"write a number {bounds}{hint}",
            )
            return None
        if value < lowest or (highest is not None and value > highest):
            self.error(field, f"{value} is out of range", f"use a number {bounds}")
            return None
        return value

    def boolean(self, value: object, field: str) -> bool | None:
        if isinstance(value, bool):
            return value
        self.error(
            field,
            f"must be a boolean, got {_describe(value)}",
            "write true or false without quotes",
        )
        return None

    def label(self, value: object, field: str, example: str, max_length: int = 63) -> str | None:
        text = self.string(value, field, example)
        if text is None:
            return None
        if not _dns_label(text) or len(text) > max_length:
            self.error(
                field,
                f"'{text}' is not a DNS-1123 label of at most {max_length} characters",
                "use lowercase letters, digits and '-', starting and ending with a letter or "
                f"digit, e.g. {example}",
            )
            return None
        return text

    def cidr(self, value: object, field: str, example: str = "10.20.0.0/16") -> IPv4Network | None:
        text = self.string(value, field, example)
        if text is None:
            return None
        if "/" not in text:
            self.error(
                field,
                f"'{text}' has no prefix length",
                f"write it in CIDR form a.b.c.d/n, e.g. {example}",
            )
            return None
        try:
            return IPv4Network(text, strict=True)
        except ValueError as exc:
            fix = f"write it as a.b.c.d/n with no host bits set, e.g. {example}"
            with contextlib.suppress(ValueError):
                fix = f"use {IPv4Network(text, strict=False)} (no host bits set)"
            self.error(field, f"'{text}' is not an IPv4 network in CIDR form ({exc})", fix)
            return None

    def items(
        self, value: object, field: str, example: str, parse: Callable[[object, str], T | None]
    ) -> list[tuple[int, T]] | None:
        """Parse each item of a list; returns (index, value) of the valid ones or None."""
        values = self.sequence(value, field, example)
        if values is None:
            return None
        result: list[tuple[int, T]] = []
        for i, item in enumerate(values):
            parsed = parse(item, f"{field}[{i}]")
            if parsed is not None:
                result.append((i, parsed))
        return result

    def no_duplicates(self, items: Sequence[tuple[int, object]], field: str, what: str) -> None:
        seen: set[object] = set()
        for i, item in items:
            if item in seen:
                self.error(f"{field}[{i}]", f"{what} {item} is listed twice", "list it once")
            seen.add(item)

    # -- the document -----------------------------------------------------------------------

    def parse(self, data: object, pattern_override: str | None) -> DeploymentConfig | None:
        if data is None:
            self.error(
                "config",
                "the config is empty",
                "start from patterns/examples/base.yaml and fill in cluster_name, vpc_cidr, "
                "availability_zones, kubernetes_version and admin_role_arns",
            )
            return None
        top = self.mapping(data, "", TOP_LEVEL_KEYS)
        if top is None:
            return None

        pattern = self.pattern(top.get("pattern"), pattern_override)
        cluster_name = self.required_label(top, "cluster_name", "payments-prod", MAX_NAME_LENGTH)
        account = self.account(top.get("account"))
        region = self.region(top.get("region"))
        azs = self.availability_zones(top.get("availability_zones"), region)
        version = self.kubernetes_version(top.get("kubernetes_version"))
        vpc = self.vpc_cidr(top.get("vpc_cidr"))
        onprem = self.on_prem_cidrs(top.get("on_prem_cidrs"), vpc)
        route = self.on_prem_route(top.get("on_prem_route"))
        admins = self.arns(top.get("admin_role_arns"), "admin_role_arns", ("role",), required=True)
        viewers = self.arns(top.get("viewer_role_arns"), "viewer_role_arns", ("role", "user"))
        deployers = self.arns(
            top.get("deployer_role_arns"), "deployer_role_arns", ("role", "user", "root")
        )
        break_glass = self.arns(
            top.get("break_glass_trusted_arns"),
            "break_glass_trusted_arns",
            ("role", "user", "root"),
        )
        self.check_access_principals(admins or (), viewers or (), cluster_name)
        admin_set = set(admins or ())
        for i, arn in enumerate(viewers or ()):
            if arn in admin_set:
                self.error(
                    f"viewer_role_arns[{i}]",
                    f"{arn} is also in admin_role_arns; EKS allows one access entry per principal",
                    "list the role only under admin_role_arns",
                )
        egress = self.control_plane_egress(top.get("control_plane_egress"))
        api_access = self.api_access_cidrs(top.get("api_access_cidrs"))
        sizes = self.subnet_sizes(top.get("subnets"))
        system_nodes = self.node_group(top.get("system_nodes"), "system_nodes")
        existing_vpc = self.existing_vpc(top.get("existing_vpc"))
        addons = self.addon_versions(top.get("addon_versions"))
        kyverno = self.kyverno(top.get("kyverno"))
        private_nat = self.private_nat(top.get("private_nat"), vpc, onprem)
        tags = self.tags(top.get("tags"))
        app_stacks = self.app_stacks(top.get("app_stacks"))
        apps = self.apps(top.get("apps"), onprem)
        if apps is not None:
            principals = dict.fromkeys(admins or (), "admin_role_arns")
            principals.update(dict.fromkeys(viewers or (), "viewer_role_arns"))
            for i, app in enumerate(apps):
                team_names: set[str] = set()
                for j, arn in enumerate(app.team_role_arns):
                    role_name = arn.rsplit("/", 1)[-1]
                    if role_name in team_names or role_name.endswith(f"{cluster_name}-break-glass"):
                        self.error(
                            f"apps[{i}].team_role_arns[{j}]",
                            f"role name '{role_name}' is listed twice or is the break-glass role",
                            "list distinct team roles; the break-glass role has its own entry",
                        )
                    team_names.add(role_name)
                    if arn in principals:
                        self.error(
                            f"apps[{i}].team_role_arns[{j}]",
                            f"{arn} already has an access entry ({principals[arn]}); EKS allows "
                            "one access entry per principal",
                            "give each team its own role",
                        )
                    principals.setdefault(arn, f"apps[{i}].team_role_arns")

        # -- cross-field rules ---------------------------------------------------------------
        onprem_listed = top.get("on_prem_cidrs") not in (None, [])
        route_given = top.get("on_prem_route") is not None
        if onprem_listed and not route_given:
            self.error(
                "on_prem_route",
                "on_prem_cidrs is set but there is no on_prem_route, so the VPC has no path to it",
                "add on_prem_route with transit_gateway_id: tgw-... or vpn_gateway: {}",
            )
        if route_given and not onprem_listed:
            self.error(
                "on_prem_route",
                "on_prem_route is set but on_prem_cidrs is empty, so no traffic would use it",
                "list the on-premises CIDRs under on_prem_cidrs, or remove on_prem_route",
            )
        if route is not None and existing_vpc is None:
            if route.already_attached:
                self.error(
                    "on_prem_route.already_attached",
                    "only an adopted VPC (existing_vpc) can already be attached; eks-secure "
                    "attaches the VPCs it creates",
                    "remove already_attached, or set existing_vpc",
                )
            if route.vpn_gateway_id is not None:
                self.error(
                    "on_prem_route.vpn_gateway.id",
                    "only an adopted VPC (existing_vpc) can have an existing VPN gateway",
                    "remove the id to create a VPN gateway, or set existing_vpc",
                )
        if egress is not None and vpc is not None and onprem is not None:
            self.check_egress_routes(egress, vpc, onprem, route_given)
        if api_access is not None and vpc is not None and onprem is not None:
            self.check_api_access_routes(api_access, vpc, onprem, route_given)
        if pattern is not None:
            self.check_pattern(pattern, top, onprem_listed, route_given)
        if private_nat is not None and apps is not None:
            groups = {a.nat_group for a in apps if a.nat_group}
            for name, _slot in private_nat.group_slots:
                if name not in groups:
                    self.error(
                        f"private_nat.groups.{name}",
                        f"no app uses NAT group '{name}'",
                        f"{_suggest(name, sorted(groups))}name a group some app's nat_group "
                        f"uses ({', '.join(sorted(groups)) or 'none yet'}), or remove it",
                    )

        if kyverno is not None and apps is not None:
            for i, trusted in enumerate(kyverno.trusted_namespaces):
                owners = [a.name for a in apps if a.namespace == trusted]
                if owners:
                    self.error(
                        f"kyverno.trusted_namespaces[{i}]",
                        f"'{trusted}' is the namespace of app {owners[0]}; pods of a trusted "
                        "namespace may run on every app's nodes",
                        "trust only node-agent namespaces (e.g. kube-system), not app namespaces",
                    )

        if self.errors:
            return None
        assert cluster_name is not None and azs is not None and version is not None
        assert vpc is not None and admins is not None and pattern is not None
        return DeploymentConfig(
            cluster_name=cluster_name,
            vpc_cidr=str(vpc),
            availability_zones=azs,
            kubernetes_version=version,
            on_prem_cidrs=tuple(str(n) for n in onprem or ()),
            on_prem_route=route,
            admin_role_arns=admins,
            apps=tuple(apps or ()),
            pattern=pattern,
            account=account or PLACEHOLDER_ACCOUNT,
            region=region or PLACEHOLDER_REGION,
            viewer_role_arns=viewers or (),
            deployer_role_arns=deployers or (),
            break_glass_trusted_arns=break_glass or (),
            control_plane_egress=egress or (),
            api_access_cidrs=tuple(str(n) for n in api_access or ()),
            subnet_sizes=sizes or SubnetSizes(),
            system_nodes=system_nodes or NodeGroupSize(),
            existing_vpc=existing_vpc,
            addon_versions=addons or (),
            kyverno=kyverno or KyvernoSettings(),
            private_nat=private_nat or PrivateNatSettings(),
            tags=tags or (),
            app_stacks=app_stacks or "nested",
        )

    def check_access_principals(
        self, admins: Sequence[str], viewers: Sequence[str], cluster_name: str | None
    ) -> None:
        """Access entries are named after the role: names must differ; break-glass is separate."""
        seen: dict[str, str] = {}
        for field, arns in (("admin_role_arns", admins), ("viewer_role_arns", viewers)):
            for i, arn in enumerate(arns):
                name = arn.rsplit("/", 1)[-1]
                if cluster_name and arn.endswith(f":role/eks-secure/{cluster_name}-break-glass"):
                    self.error(
                        f"{field}[{i}]",
                        "the break-glass role gets its own access entry (MFA-only trust)",
                        f"remove it from {field}",
                    )
                elif name in seen and seen[name] != arn:
                    self.error(
                        f"{field}[{i}]",
                        f"role name '{name}' is also used by {seen[name]}; access entries are "
                        "named after the role",
                        "use roles with distinct names",
                    )
                seen.setdefault(name, arn)

    # -- scalar top-level fields ------------------------------------------------------------

    def pattern(self, value: object, override: str | None) -> str | None:
        chosen: object = override if override is not None else value
        if chosen is None:
            return "base"
        where = "-c pattern=" if override is not None else "pattern:"
        name = self.string(chosen, "pattern", "subnet-per-app")
        if name is None:
            return None
        if name not in PATTERN_NAMES:
            self.error(
                "pattern",
                f"unknown pattern '{name}' (given as {where})",
                f"{_suggest(name, PATTERN_NAMES)}use one of: {', '.join(PATTERN_NAMES)}",
            )
            return None
        return name

    def required_label(
        self, top: dict[str, object], key: str, example: str, max_length: int
    ) -> str | None:
        if top.get(key) is None:
            self.missing(key, f"add `{key}: {example}`")
            return None
        return self.label(top[key], key, example, max_length)

    def account(self, value: object) -> str | None:
        if value is None:
            return None
        return self.matching(
            value, "account", _ACCOUNT, "a 12-digit AWS account ID", "'123456789012'"
        )

    def region(self, value: object) -> str | None:
        if value is None:
            return None
        return self.matching(value, "region", _REGION, "an AWS region name", "eu-west-1")

    def availability_zones(self, value: object, region: str | None) -> tuple[str, ...] | None:
        field = "availability_zones"
        if value is None:
            self.missing(field, "add `availability_zones: [eu-west-1a, eu-west-1b, eu-west-1c]`")
            return None
        items = self.items(value, field, "eu-west-1a, eu-west-1b", self.az_name)
        if items is None:
            return None
        values = self.sequence(value, field, "")
        if values is not None and len(values) < 2:
            self.error(
                field,
                f"{len(values)} availability zone(s) given; EKS needs subnets in at least two",
                "list two or more availability zones of the region",
            )
        self.no_duplicates(items, field, "availability zone")
        if region is not None:
            for i, az in items:
                if re.fullmatch(re.escape(region) + "[a-z]", az) is None:
                    self.error(
                        f"{field}[{i}]",
                        f"'{az}' is not an availability zone of region {region}",
                        f"use a zone of {region} such as {region}a, or change `region:`",
                    )
        return tuple(az for _, az in items)

    def az_name(self, value: object, field: str) -> str | None:
        return self.string(value, field, "eu-west-1a")

    def kubernetes_version(self, value: object) -> str | None:
        field = "kubernetes_version"
        supported = ", ".join(SUPPORTED_KUBERNETES_VERSIONS)
        if value is None:
            self.missing(field, f'add `kubernetes_version: "{SUPPORTED_KUBERNETES_VERSIONS[-1]}"`')
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.error(
                field,
                f"YAML read {value} as a number (an unquoted 1.30 becomes 1.3)",
                f'quote it, e.g. kubernetes_version: "{SUPPORTED_KUBERNETES_VERSIONS[-1]}"',
            )
            return None
        version = self.string(value, field, f'"{SUPPORTED_KUBERNETES_VERSIONS[-1]}"')
        if version is None:
            return None
        if version not in SUPPORTED_KUBERNETES_VERSIONS:
            self.error(
                field,
                f"Kubernetes {version} is not supported (the pinned add-ons and kubectl layer are "
                f"known for {supported})",
                f"use one of: {supported}",
            )
            return None
        return version

    # -- networks ---------------------------------------------------------------------------

    def vpc_cidr(self, value: object) -> IPv4Network | None:
        if value is None:
            self.missing("vpc_cidr", "add `vpc_cidr: 10.20.0.0/16` (a private /16 to /24)")
            return None
        vpc = self.cidr(value, "vpc_cidr")
        if vpc is None:
            return None
        if not 16 <= vpc.prefixlen <= 24:
            self.error(
                "vpc_cidr",
                f"a VPC CIDR must be between /16 and /24, got /{vpc.prefixlen}",
                "use a /16 to /24 block",
            )
            return None
        if not is_private_range(vpc):
            self.error(
                "vpc_cidr",
                f"{vpc} is not private (RFC 1918 / RFC 6598) address space",
                "use a block from 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10",
            )
            return None
        return vpc

    def on_prem_cidrs(
        self, value: object, vpc: IPv4Network | None
    ) -> tuple[IPv4Network, ...] | None:
        field = "on_prem_cidrs"
        if value is None:
            return ()
        items = self.items(value, field, "10.0.0.0/14", self.cidr)
        if items is None:
            return None
        ok = True
        for n, (i, net) in enumerate(items):
            if vpc is not None and net.overlaps(vpc):
                ok = False
                self.error(
                    f"{field}[{i}]",
                    f"{net} overlaps the VPC CIDR {vpc}, so it could never be routed on-premises",
                    "ask the network team for a VPC range disjoint from on-premises space",
                )
            for j, other in items[:n]:
                if net.overlaps(other):
                    ok = False
                    self.error(
                        f"{field}[{i}]",
                        f"{net} overlaps on_prem_cidrs[{j}] {other}",
                        "list each on-premises range once: merge or drop the overlapping entries",
                    )
        if not ok or len(items) != len(value if isinstance(value, list) else []):
            return None
        return tuple(net for _, net in items)

    def on_prem_route(self, value: object) -> OnPremRoute | None:
        field = "on_prem_route"
        if value is None:
            return None
        route = self.mapping(
            value, field, ("transit_gateway_id", "vpn_gateway", "already_attached")
        )
        if route is None:
            return None
        has_tgw = "transit_gateway_id" in route
        has_vpn = "vpn_gateway" in route
        if has_tgw == has_vpn:
            self.error(
                field,
                "sets both transit_gateway_id and vpn_gateway"
                if has_tgw
                else "sets neither transit_gateway_id nor vpn_gateway",
                "set exactly one: `transit_gateway_id: tgw-...` to attach to an existing transit "
                "gateway, or `vpn_gateway: {}` (optionally with amazon_side_asn) to create one",
            )
            return None
        if has_tgw:
            tgw = self.matching(
                route["transit_gateway_id"],
                f"{field}.transit_gateway_id",
                _TGW_ID,
                "a transit gateway ID",
                "tgw-0a1b2c3d4e5f67890",
            )
            attached = False
            if route.get("already_attached") is not None:
                attached = bool(
                    self.boolean(route["already_attached"], f"{field}.already_attached")
                )
            return OnPremRoute(transit_gateway_id=tgw, already_attached=attached) if tgw else None
        if "already_attached" in route:
            self.error(
                f"{field}.already_attached",
                "applies to a transit gateway only",
                "for an existing virtual private gateway write `vpn_gateway: {id: vgw-...}`",
            )
            return None
        vpn_field = f"{field}.vpn_gateway"
        raw_vpn = route["vpn_gateway"]
        vpn = self.mapping({} if raw_vpn is None else raw_vpn, vpn_field, ("amazon_side_asn", "id"))
        if vpn is None:
            return None
        if vpn.get("id") is not None:
            vgw = self.matching(
                vpn["id"],
                f"{vpn_field}.id",
                _VGW_ID,
                "a virtual private gateway ID",
                "vgw-0a1b2c3d",
            )
            if vgw is None:
                return None
            if vpn.get("amazon_side_asn") is not None:
                self.error(
                    f"{vpn_field}.amazon_side_asn",
                    "an existing virtual private gateway already has its ASN",
                    "remove amazon_side_asn, or remove id to create a new gateway",
                )
                return None
            return OnPremRoute(vpn_gateway=True, vpn_gateway_id=vgw)
        asn: int | None = None
        if vpn.get("amazon_side_asn") is not None:
            asn = self.integer(vpn["amazon_side_asn"], f"{vpn_field}.amazon_side_asn", 1)
            if asn is not None and not any(lo <= asn <= hi for lo, hi in _ASN_RANGES):
                self.error(
                    f"{vpn_field}.amazon_side_asn",
                    f"{asn} is not a private ASN AWS accepts for a virtual private gateway",
                    "use 64512-65534 or 4200000000-4294967294, or omit it for the default",
                )
                return None
            if asn is None:
                return None
        return OnPremRoute(vpn_gateway=True, vpn_gateway_asn=asn)

    def control_plane_egress(self, value: object) -> tuple[ControlPlaneDestination, ...] | None:
        field = "control_plane_egress"
        if value is None:
            return ()
        values = self.sequence(value, field, "{name: corp-oidc, cidr: 10.1.2.0/24, port: 443}")
        if values is None:
            return None
        result: list[ControlPlaneDestination] = []
        names: set[str] = set()
        squashed: set[str] = set()
        for i, item in enumerate(values):
            path = f"{field}[{i}]"
            entry = self.mapping(item, path, ("name", "cidr", "port"))
            if entry is None:
                continue
            name: str | None = None
            if entry.get("name") is None:
                self.missing(f"{path}.name", "add `name: corp-oidc` (a DNS-1123 label)")
            else:
                name = self.label(entry["name"], f"{path}.name", "corp-oidc")
                if name is not None and name in names:
                    self.error(
                        f"{path}.name", f"'{name}' is used twice", "give each entry a unique name"
                    )
                    name = None
            cidr: IPv4Network | None = None
            if entry.get("cidr") is None:
                self.missing(f"{path}.cidr", "add `cidr: 10.1.2.0/24`")
            else:
                cidr = self.cidr(entry["cidr"], f"{path}.cidr", "10.1.2.0/24")
            port: int | None = 443
            if entry.get("port") is not None:
                port = self.integer(entry["port"], f"{path}.port", 1, 65535)
            if name is not None and name.replace("-", "") in squashed:
                self.error(
                    f"{path}.name",
                    f"'{name}' differs from another entry only in hyphens; their NACL rule IDs "
                    "would collide",
                    "rename one of them",
                )
                name = None
            if name is not None and cidr is not None and port is not None:
                names.add(name)
                squashed.add(name.replace("-", ""))
                result.append(ControlPlaneDestination(name=name, cidr=str(cidr), port=port))
        return tuple(result)

    def api_access_cidrs(self, value: object) -> list[IPv4Network] | None:
        field = "api_access_cidrs"
        if value is None:
            return []
        values = self.sequence(value, field, "[10.0.8.0/24]")
        if values is None:
            return None
        result: list[IPv4Network] = []
        for i, item in enumerate(values):
            net = self.cidr(item, f"{field}[{i}]", "10.0.8.0/24")
            if net is not None:
                if net in result:
                    self.error(f"{field}[{i}]", f"{net} is listed twice", "list each CIDR once")
                    continue
                if net.prefixlen == 0:
                    self.error(
                        f"{field}[{i}]",
                        "0.0.0.0/0 would open the API endpoint to every routed network",
                        "list the operators' or CI networks only",
                    )
                    continue
                result.append(net)
        return result

    def check_api_access_routes(
        self,
        cidrs: Sequence[IPv4Network],
        vpc: IPv4Network,
        onprem: Sequence[IPv4Network],
        route_given: bool,
    ) -> None:
        for i, net in enumerate(cidrs):
            if net.subnet_of(vpc) or (route_given and any(net.subnet_of(o) for o in onprem)):
                continue
            self.error(
                f"api_access_cidrs[{i}]",
                f"{net} has no route to the private API endpoint: it is neither inside vpc_cidr "
                "nor inside an on_prem_cidrs entry routed through on_prem_route",
                "add the range to on_prem_cidrs (with on_prem_route), or remove it",
            )

    def check_egress_routes(
        self,
        egress: Sequence[ControlPlaneDestination],
        vpc: IPv4Network,
        onprem: Sequence[IPv4Network],
        route_given: bool,
    ) -> None:
        for i, dest in enumerate(egress):
            net = IPv4Network(dest.cidr)
            if net.subnet_of(vpc):
                continue
            if route_given and any(net.subnet_of(o) for o in onprem):
                continue
            reason = (
                "it lies inside on_prem_cidrs but there is no on_prem_route"
                if any(net.subnet_of(o) for o in onprem)
                else "it is neither inside vpc_cidr nor inside any on_prem_cidrs entry"
            )
            self.error(
                f"control_plane_egress[{i}].cidr",
                f"{dest.cidr} ({dest.name}) has no route to it: {reason} (the VPC has no "
                "internet path)",
                "add the range to on_prem_cidrs and set on_prem_route, or remove the entry",
            )

    def subnet_sizes(self, value: object) -> SubnetSizes | None:
        if value is None:
            return SubnetSizes()
        entries = self.mapping(value, "subnets", tuple(SUBNET_KEYS))
        if entries is None:
            return None
        sizes: dict[str, int] = {}
        for key, item in entries.items():
            if item is None:
                continue
            prefix = self.integer(item, f"subnets.{key}", 16, 28)
            if prefix is None:
                return None
            sizes[SUBNET_KEYS[key]] = prefix
        return SubnetSizes(**sizes)

    def private_nat(
        self,
        value: object,
        vpc: IPv4Network | None,
        onprem: Sequence[IPv4Network] | None,
    ) -> PrivateNatSettings | None:
        field = "private_nat"
        if value is None:
            return PrivateNatSettings()
        entries = self.mapping(value, field, ("secondary_cidr", "groups"))
        if entries is None:
            return None
        secondary: IPv4Network | None = None
        ok = True
        if entries.get("secondary_cidr") is not None:
            path = f"{field}.secondary_cidr"
            secondary = self.cidr(entries["secondary_cidr"], path, "100.64.0.0/22")
            if secondary is None:
                ok = False
            elif not is_private_range(secondary) or not 16 <= secondary.prefixlen <= 28:
                ok = False
                self.error(
                    path,
                    f"{secondary} must be a /16 to /28 block of private (RFC 1918 / RFC 6598) "
                    "space",
                    "use e.g. a block from 100.64.0.0/10 that is unused on-premises",
                )
            else:
                if vpc is not None and secondary.overlaps(vpc):
                    ok = False
                    self.error(
                        path,
                        f"{secondary} overlaps the primary VPC CIDR {vpc}",
                        "pick a secondary block outside vpc_cidr",
                    )
                for i, net in enumerate(onprem or ()):
                    if secondary.overlaps(net):
                        ok = False
                        self.error(
                            path,
                            f"{secondary} overlaps on_prem_cidrs[{i}] {net}; NAT subnets must be "
                            "routable from on-premises",
                            "pick a secondary block disjoint from every on-premises CIDR",
                        )
        slots: list[tuple[str, int]] = []
        if entries.get("groups") is not None:
            groups = entries["groups"]
            if not isinstance(groups, dict):
                ok = False
                self.error(
                    f"{field}.groups",
                    f"must be a mapping of NAT group name to {{slot: n}}, got {_describe(groups)}",
                    "write e.g. `groups: {core-banking: {slot: 0}}`",
                )
            else:
                for name, item in groups.items():
                    path = f"{field}.groups.{name}"
                    group = self.label(name, path, "core-banking")
                    spec = self.mapping(item, path, ("slot",))
                    if group is None or spec is None:
                        ok = False
                        continue
                    if spec.get("slot") is None:
                        ok = False
                        self.missing(f"{path}.slot", "add `slot: 0` or remove the entry")
                        continue
                    slot = self.integer(spec["slot"], f"{path}.slot", 0)
                    if slot is None:
                        ok = False
                        continue
                    slots.append((group, slot))
        if not ok:
            return None
        return PrivateNatSettings(
            secondary_cidr=str(secondary) if secondary is not None else None,
            group_slots=tuple(sorted(slots)),
        )

    # -- identities -------------------------------------------------------------------------

    def arns(
        self, value: object, field: str, kinds: Sequence[str], *, required: bool = False
    ) -> tuple[str, ...] | None:
        regexes = {"role": _ROLE_ARN, "user": _USER_ARN, "root": _ROOT_ARN}
        what = {
            ("role",): "an IAM role ARN",
            ("role", "user"): "an IAM role or user ARN",
            ("role", "user", "root"): "an IAM role, user or account-root ARN",
        }[tuple(kinds)]
        if value is None or (required and value == []):
            if required:
                self.error(
                    field,
                    "needs at least one IAM role ARN (a cluster without admins cannot be managed)",
                    f"add `{field}: [{_EXAMPLE_ROLE}]`",
                )
                return None
            return ()

        def parse(item: object, path: str) -> str | None:
            text = self.string(item, path, _EXAMPLE_ROLE)
            if text is None:
                return None
            if not any(regexes[k].fullmatch(text) for k in kinds):
                self.error(path, f"'{text}' is not {what}", f"use {what}, e.g. {_EXAMPLE_ROLE}")
                return None
            return text

        items = self.items(value, field, _EXAMPLE_ROLE, parse)
        if items is None:
            return None
        self.no_duplicates(items, field, "ARN")
        return tuple(arn for _, arn in items)

    # -- node groups, add-ons, charts, tags ----------------------------------------------

    def node_group(self, value: object, field: str) -> NodeGroupSize | None:
        defaults = NodeGroupSize()
        if value is None:
            return defaults
        entries = self.mapping(value, field, NODE_GROUP_KEYS)
        if entries is None:
            return None
        errors_before = len(self.errors)
        instance_types = defaults.instance_types
        if entries.get("instance_types") is not None:

            def parse(item: object, path: str) -> str | None:
                return self.matching(
                    item, path, _INSTANCE_TYPE, "an EC2 instance type", "m7i.large"
                )

            items = self.items(
                entries["instance_types"], f"{field}.instance_types", "m7i.large", parse
            )
            if items is not None:
                if not items and entries["instance_types"] == []:
                    self.error(
                        f"{field}.instance_types",
                        "is empty",
                        "list at least one instance type, e.g. [m7i.large]",
                    )
                self.no_duplicates(items, f"{field}.instance_types", "instance type")
                instance_types = tuple(t for _, t in items)
        sizes = {
            "min_size": defaults.min_size,
            "max_size": defaults.max_size,
            "desired_size": defaults.desired_size,
        }
        for key, lowest in (("min_size", 0), ("max_size", 1), ("desired_size", 0)):
            if entries.get(key) is not None:
                parsed = self.integer(entries[key], f"{field}.{key}", lowest, 1000)
                if parsed is not None:
                    sizes[key] = parsed
        disk = defaults.disk_size_gib
        if entries.get("disk_size_gib") is not None:
            parsed = self.integer(entries["disk_size_gib"], f"{field}.disk_size_gib", 20, 16384)
            disk = parsed if parsed is not None else disk
        if len(self.errors) > errors_before:
            return None
        low, high, desired = sizes["min_size"], sizes["max_size"], sizes["desired_size"]
        if low > high:
            key = "min_size" if "min_size" in entries else "max_size"
            self.error(
                f"{field}.{key}",
                f"min_size {low} is greater than max_size {high}",
                "set min_size <= desired_size <= max_size",
            )
            return None
        if not low <= desired <= high:
            key = (
                "desired_size"
                if "desired_size" in entries
                else ("min_size" if desired < low else "max_size")
            )
            self.error(
                f"{field}.{key}",
                f"desired_size {desired} is outside min_size {low} .. max_size {high}",
                "set min_size <= desired_size <= max_size",
            )
            return None
        return NodeGroupSize(
            instance_types=instance_types,
            min_size=low,
            max_size=high,
            desired_size=desired,
            disk_size_gib=disk,
        )

    def existing_vpc(self, value: object) -> ExistingVpc | None:
        field = "existing_vpc"
        if value is None:
            return None
        entries = self.mapping(value, field, ("vpc_id", "create_endpoints"))
        if entries is None:
            return None
        vpc_id: str | None = None
        if entries.get("vpc_id") is None:
            self.missing(f"{field}.vpc_id", "add `vpc_id: vpc-0123456789abcdef0`")
        else:
            vpc_id = self.matching(
                entries["vpc_id"], f"{field}.vpc_id", _VPC_ID, "a VPC ID", "vpc-0123456789abcdef0"
            )
        create: bool | None = False
        if entries.get("create_endpoints") is not None:
            create = self.boolean(entries["create_endpoints"], f"{field}.create_endpoints")
        if vpc_id is None or create is None:
            return None
        return ExistingVpc(vpc_id=vpc_id, create_endpoints=create)

    def addon_versions(self, value: object) -> tuple[tuple[str, str], ...] | None:
        field = "addon_versions"
        if value is None:
            return ()
        if not isinstance(value, dict):
            self.error(
                field,
                f"must be a mapping of add-on name to version, got {_describe(value)}",
                "write e.g. `addon_versions: {vpc-cni: v1.20.1-eksbuild.1}`",
            )
            return None
        result: list[tuple[str, str]] = []
        for name, version in value.items():
            path = f"{field}.{name}"
            if name not in KNOWN_ADDONS:
                self.error(
                    path,
                    f"unknown add-on '{name}'",
                    f"{_suggest(str(name), KNOWN_ADDONS)}pin one of: {', '.join(KNOWN_ADDONS)}",
                )
                continue
            text = self.matching(
                version, path, _ADDON_VERSION, "an EKS add-on version", "v1.20.1-eksbuild.1"
            )
            if text is not None:
                result.append((str(name), text))
        return tuple(sorted(result))

    def kyverno(self, value: object) -> KyvernoSettings | None:
        field = "kyverno"
        defaults = KyvernoSettings()
        if value is None:
            return defaults
        entries = self.mapping(
            value,
            field,
            ("chart_repository", "chart_version", "image_registry", "trusted_namespaces"),
        )
        if entries is None:
            return None
        example_repository = "oci://111111111111.dkr.ecr.eu-west-1.amazonaws.com/eks-secure/kyverno"
        repository: str | None = defaults.chart_repository
        valid = True
        if entries.get("chart_repository") is not None:
            path = f"{field}.chart_repository"
            repository = self.string(entries["chart_repository"], path, example_repository)
            valid = repository is not None
            if repository is not None and not (
                re.fullmatch(r"https://[^\s/]+(/\S*)?", repository)
                or re.fullmatch(r"oci://[^\s/]+(/\S*)?", repository)
            ):
                self.error(
                    path,
                    f"'{repository}' is not an https:// or oci:// URL",
                    f"use an oci:// registry mirror such as {example_repository}, or an "
                    "https:// Helm repository the cluster's VPC can reach",
                )
                valid = False
        registry: str | None = None
        if entries.get("image_registry") is not None:
            registry = self.matching(
                entries["image_registry"],
                f"{field}.image_registry",
                re.compile(r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._/-]+)?$"),
                "a registry host with an optional path, no scheme",
                "111111111111.dkr.ecr.eu-west-1.amazonaws.com/ghcr",
            )
            valid = valid and registry is not None
        version: str | None = defaults.chart_version
        if entries.get("chart_version") is not None:
            version = self.matching(
                entries["chart_version"],
                f"{field}.chart_version",
                _SEMVER,
                "a semantic version (no leading v)",
                defaults.chart_version,
            )
        trusted: tuple[str, ...] = defaults.trusted_namespaces
        if entries.get("trusted_namespaces") is not None:
            path = f"{field}.trusted_namespaces"
            items = self.sequence(entries["trusted_namespaces"], path, "[kube-system]")
            names = [
                self.label(item, f"{path}[{i}]", "kube-system")
                for i, item in enumerate(items or [])
            ]
            if items is None or any(n is None for n in names):
                valid = False
            else:
                self.no_duplicates(list(enumerate(names)), path, "namespace")
                trusted = tuple(n for n in names if n is not None)
        if not valid or version is None:
            return None
        return KyvernoSettings(
            chart_repository=repository,
            chart_version=version,
            image_registry=registry,
            trusted_namespaces=trusted,
        )

    def app_stacks(self, value: object) -> str | None:
        if value is None:
            return "nested"
        if value not in APP_STACK_MODES:
            self.error(
                "app_stacks",
                f"{_describe(value)} is not an app stack mode",
                "use `nested` (each app in its own nested stack, the default) or `inline`",
            )
            return None
        return str(value)

    def tags(self, value: object) -> tuple[tuple[str, str], ...] | None:
        field = "tags"
        if value is None:
            return ()
        if not isinstance(value, dict):
            self.error(
                field,
                f"must be a mapping of tag key to value, got {_describe(value)}",
                'write e.g. `tags: {cost-center: "1234"}`',
            )
            return None
        result: list[tuple[str, str]] = []
        for key, tag_value in value.items():
            path = f"{field}.{key}"
            if not isinstance(key, str) or not 1 <= len(key) <= 128 or not _TAG_TEXT.fullmatch(key):
                self.error(
                    path,
                    f"'{key}' is not a valid tag key",
                    "use 1-128 letters, digits, spaces and _ . : / = + - @",
                )
                continue
            if key.lower().startswith("aws:"):
                self.error(
                    path,
                    f"tag key '{key}' uses the reserved 'aws:' prefix",
                    "drop or rename the prefix; AWS reserves it for its own tags",
                )
                continue
            text = self.string(tag_value, path, '"1234"')
            if text is None:
                continue
            if len(text) > 256 or not _TAG_TEXT.fullmatch(text):
                self.error(
                    path,
                    f"'{text}' is not a valid tag value",
                    "use at most 256 letters, digits, spaces and _ . : / = + - @",
                )
                continue
            result.append((key, text))
        return tuple(sorted(result))

    # -- apps -------------------------------------------------------------------------------

    def apps(self, value: object, onprem: Sequence[IPv4Network] | None) -> list[AppConfig] | None:
        if value is None:
            return []
        values = self.sequence(value, "apps", "{name: payments-api}")
        if values is None:
            return None
        result: list[AppConfig] = []
        names: dict[str, int] = {}
        squashed_names: dict[str, int] = {}
        namespaces: dict[str, int] = {}
        ok = True
        for i, item in enumerate(values):
            app = self.app(item, i, onprem)
            if app is None:
                ok = False
                continue
            if app.name in names:
                ok = False
                self.error(
                    f"apps[{i}].name",
                    f"app name '{app.name}' is already used by apps[{names[app.name]}]",
                    "give every app a unique name",
                )
                continue
            names[app.name] = i
            squashed = app.name.replace("-", "")
            if squashed in squashed_names:
                ok = False
                other = squashed_names[squashed]
                self.error(
                    f"apps[{i}].name",
                    f"'{app.name}' and apps[{other}] differ only in hyphens; their CloudFormation "
                    "IDs (hyphens dropped) would collide",
                    "rename one of the two apps",
                )
                continue
            squashed_names[squashed] = i
            if app.namespace in namespaces:
                ok = False
                self.error(
                    f"apps[{i}].namespace",
                    f"namespace '{app.namespace}' is already used by "
                    f"apps[{namespaces[app.namespace]}]; egress rules are per namespace",
                    "give every app its own namespace",
                )
                continue
            namespaces[app.namespace] = i
            result.append(app)
        return result if ok else None

    def app(self, value: object, i: int, onprem: Sequence[IPv4Network] | None) -> AppConfig | None:
        field = f"apps[{i}]"
        entries = self.mapping(value, field, APP_KEYS)
        if entries is None:
            return None
        errors_before = len(self.errors)
        name: str | None = None
        if entries.get("name") is None:
            self.missing(f"{field}.name", "add `name: payments-api` (a DNS-1123 label)")
        else:
            name = self.label(entries["name"], f"{field}.name", "payments-api", MAX_NAME_LENGTH)
        namespace = name
        if entries.get("namespace") is not None:
            namespace = self.label(entries["namespace"], f"{field}.namespace", "payments")
        if namespace is not None and (
            namespace in RESERVED_NAMESPACES or namespace.startswith("kube-")
        ):
            self.error(
                f"{field}.namespace" if "namespace" in entries else f"{field}.name",
                f"namespace '{namespace}' is reserved for Kubernetes itself",
                "use a namespace of the app's own (not default or kube-*)",
            )
        elif namespace in PLATFORM_NAMESPACES:
            self.error(
                f"{field}.namespace" if "namespace" in entries else f"{field}.name",
                f"namespace '{namespace}' belongs to the eks-secure platform",
                f"use a namespace of the app's own (not {' or '.join(PLATFORM_NAMESPACES)})",
            )
        slot: int | None = None
        if entries.get("slot") is not None:
            slot = self.integer(entries["slot"], f"{field}.slot", 0)
        destinations: tuple[str, ...] = ()
        if entries.get("destinations") is not None:
            destinations = self.destinations(
                entries["destinations"], f"{field}.destinations", onprem
            )
        ports: tuple[int, ...] = (443,)
        if entries.get("ports") is not None:
            path = f"{field}.ports"

            def parse(item: object, p: str) -> int | None:
                return self.integer(item, p, 1, 65535)

            items = self.items(entries["ports"], path, "443", parse)
            if items == [] and entries["ports"] == []:
                self.error(path, "is empty", "list at least one TCP port, or omit it for [443]")
            if items:
                self.no_duplicates(items, path, "port")
                ports = tuple(p for _, p in items)
        nodes = self.node_group(entries.get("nodes"), f"{field}.nodes")
        nat_group: str | None = None
        if entries.get("nat_group") is not None:
            nat_group = self.label(entries["nat_group"], f"{field}.nat_group", "core-banking")
        team = self.arns(entries.get("team_role_arns"), f"{field}.team_role_arns", ("role",))
        if len(self.errors) > errors_before:
            return None
        assert name is not None and namespace is not None and nodes is not None
        return AppConfig(
            team_role_arns=team or (),
            name=name,
            namespace=namespace,
            slot=slot,
            destinations=destinations,
            ports=ports,
            nodes=nodes,
            nat_group=nat_group,
        )

    def destinations(
        self, value: object, field: str, onprem: Sequence[IPv4Network] | None
    ) -> tuple[str, ...]:
        items = self.items(value, field, "10.1.0.0/16", self.cidr)
        if items is None:
            return ()
        if not items and value == []:
            self.error(field, "is empty", "omit destinations to allow all on_prem_cidrs")
        self.no_duplicates(items, field, "destination")
        if onprem is not None:
            listed = ", ".join(str(n) for n in onprem) or "none listed"
            for j, net in items:
                if not any(net.subnet_of(o) for o in onprem):
                    self.error(
                        f"{field}[{j}]",
                        f"{net} is not inside any on_prem_cidrs entry ({listed}), so the VPC has "
                        "no route to it",
                        "narrow the destination to on-premises space or add its range to "
                        "on_prem_cidrs",
                    )
        return tuple(str(net) for _, net in items)

    def check_pattern(
        self,
        pattern: str,
        top: dict[str, object],
        onprem_listed: bool,
        route_given: bool,
    ) -> None:
        app_patterns = ", ".join(p for p in PATTERN_NAMES if p != "base")
        if pattern == "base" and top.get("apps"):
            self.error(
                "apps",
                "pattern base is the VPC and cluster alone and takes no apps",
                f"pick a pattern for the apps ({app_patterns}) with `pattern:` or "
                "-c pattern=..., or remove `apps`",
            )
        if pattern in APP_PATTERNS:
            prerequisite = f"pattern {pattern} prerequisites unmet"
            if not top.get("apps"):
                self.error(
                    "apps",
                    f"{prerequisite}: it gives apps fixed egress IPs but no apps are listed",
                    "add at least one app under `apps:`, or use pattern base",
                )
            if not onprem_listed:
                self.error(
                    "on_prem_cidrs",
                    f"{prerequisite}: on_prem_cidrs is empty, so apps have nowhere to egress to",
                    "list the on-premises CIDRs the apps call",
                )
                if not route_given:
                    self.error(
                        "on_prem_route",
                        f"{prerequisite}: no on_prem_route, so apps have no path on-premises",
                        "add on_prem_route with transit_gateway_id: tgw-... or vpn_gateway: {}",
                    )
        raw_apps = top.get("apps")
        app_items = raw_apps if isinstance(raw_apps, list) else []
        if pattern != "private-nat":
            for i, item in enumerate(app_items):
                if isinstance(item, dict) and item.get("nat_group") is not None:
                    self.error(
                        f"apps[{i}].nat_group",
                        f"nat_group only applies to pattern private-nat, not {pattern}",
                        "remove nat_group, or use pattern private-nat",
                    )
            if top.get("private_nat") is not None:
                self.error(
                    "private_nat",
                    f"private_nat only applies to pattern private-nat, not {pattern}",
                    "remove private_nat, or use pattern private-nat",
                )
        else:
            for i, item in enumerate(app_items):
                if isinstance(item, dict) and item.get("nat_group") is None:
                    self.error(
                        f"apps[{i}].nat_group",
                        "pattern private-nat needs a nat_group for every app; "
                        f"'{item.get('name')}' has none",
                        "add `nat_group: <name>`; apps sharing a group share its NAT IPs",
                    )
