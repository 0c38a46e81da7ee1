"""Every validation rule of eks-secure, written once, as pure functions (no CDK, no jsii).

Each rule takes plain values plus the *field* to blame and returns the problems it finds as a
list of :class:`~eks_secure.errors.ConfigError` (empty when the input is fine). The YAML loader
calls them with YAML paths (``apps[1].namespace``) and collects every problem of a config at
once; constructs call the same rules with their prop names (``SecureCluster.admin_roles``,
``Tenant.namespace``) and raise through :func:`raise_problems`. A rule therefore never knows
where its input came from, and its wording is the same on both routes.
"""

from __future__ import annotations

import contextlib
import difflib
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from eks_secure.errors import ConfigError, ConfigErrors

IPv4Network = ipaddress.IPv4Network
Problems = list[ConfigError]

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
"""A Kubernetes DNS-1123 label (namespaces, app and cluster names)."""

MAX_NAME_LENGTH = 40
"""Cluster and app names prefix IAM role, stack and Lambda names (64 characters at most)."""

RESERVED_NAMESPACES: tuple[str, ...] = ("default", "kube-node-lease", "kube-public", "kube-system")
"""Namespaces Kubernetes itself owns (and every ``kube-*`` namespace)."""

PLATFORM_NAMESPACES: tuple[str, ...] = ("eks-secure-system", "kyverno")
"""Namespaces the eks-secure platform itself uses; patterns add their own (``istio-system``)."""

PRIVATE_RANGES: tuple[IPv4Network, ...] = tuple(
    ipaddress.IPv4Network(c)
    for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
"""Address space a VPC CIDR may come from: RFC 1918 and RFC 6598 (shared address space)."""

VPC_PREFIX_RANGE = (16, 24)
"""Prefix lengths eks-secure accepts for the primary VPC CIDR."""

SECONDARY_PREFIX_RANGE = (16, 28)
"""Prefix lengths AWS accepts for an additional VPC CIDR block."""

SUBNET_PREFIX_RANGE = (16, 28)
"""Prefix lengths AWS accepts for a subnet."""

MIN_AVAILABILITY_ZONES = 2
"""EKS needs control-plane subnets in at least two AZs."""

PRIVATE_ASN_RANGES: tuple[tuple[int, int], ...] = ((64512, 65534), (4200000000, 4294967294))
"""Private ASN ranges accepted as the Amazon-side ASN of a virtual private gateway."""

ROLE_ARN = re.compile(r"arn:aws[-a-z]*:iam::\d{12}:role/[\w+=,.@/-]+")
USER_ARN = re.compile(r"arn:aws[-a-z]*:iam::\d{12}:user/[\w+=,.@/-]+")
ROOT_ARN = re.compile(r"arn:aws[-a-z]*:iam::\d{12}:root")
ACCOUNT_ID = re.compile(r"\d{12}")
REGION_NAME = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
TRANSIT_GATEWAY_ID = re.compile(r"tgw-[0-9a-f]{8,17}")
VPN_GATEWAY_ID = re.compile(r"vgw-[0-9a-f]{8,17}")
VPC_ID = re.compile(r"vpc-[0-9a-f]{8,17}")
INSTANCE_TYPE = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9]+")
ADDON_VERSION = re.compile(r"v\d+\.\d+\.\d+-eksbuild\.\d+")
SEMVER = re.compile(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?")
TAG_TEXT = re.compile(r"[\w .:/=+\-@]*")
HELM_REPOSITORY = re.compile(r"(https|oci)://[^\s/]+(/\S*)?")
IMAGE_REGISTRY = re.compile(r"[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._/-]+)?")

EXAMPLE_ROLE_ARN = "arn:aws:iam::111111111111:role/platform-admin"

ARN_KINDS: Mapping[str, re.Pattern[str]] = {"role": ROLE_ARN, "user": USER_ARN, "root": ROOT_ARN}
_ARN_WHAT: Mapping[tuple[str, ...], str] = {
    ("role",): "an IAM role ARN",
    ("role", "user"): "an IAM role or user ARN",
    ("role", "user", "root"): "an IAM role, user or account-root ARN",
}


def raise_problems(problems: Sequence[ConfigError]) -> None:
    """Raise ``problems`` as :class:`ConfigErrors` (a ``ConfigError`` naming the first field);
    no-op when empty."""
    if problems:
        raise ConfigErrors(problems)


def suggest(word: str, choices: Iterable[str]) -> str:
    """``did you mean 'x'? `` for the closest of ``choices``, or the empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


def is_private_range(network: IPv4Network) -> bool:
    """Whether ``network`` lies inside RFC 1918 or RFC 6598 space (:data:`PRIVATE_RANGES`)."""
    return any(network.subnet_of(r) for r in PRIVATE_RANGES)


# -- names ------------------------------------------------------------------------------------


def dns_label(value: str, field: str, example: str, max_length: int = 63) -> Problems:
    """``value`` must be a DNS-1123 label of at most ``max_length`` characters."""
    if DNS1123_LABEL.fullmatch(value) and len(value) <= max_length:
        return []
    return [
        ConfigError(
            field,
            f"'{value}' is not a DNS-1123 label of at most {max_length} characters",
            "use lowercase letters, digits and '-', starting and ending with a letter or "
            f"digit, e.g. {example}",
        )
    ]


def cluster_name(value: str, field: str = "cluster_name") -> Problems:
    """A cluster name: a DNS-1123 label of at most :data:`MAX_NAME_LENGTH` characters."""
    return dns_label(value, field, "payments-prod", MAX_NAME_LENGTH)


def app_name(value: str, field: str) -> Problems:
    """An app name: a DNS-1123 label of at most :data:`MAX_NAME_LENGTH` characters."""
    return dns_label(value, field, "payments-api", MAX_NAME_LENGTH)


def app_namespace(
    namespace: str, field: str, platform_namespaces: Iterable[str] = PLATFORM_NAMESPACES
) -> Problems:
    """An app's namespace: a DNS-1123 label that neither Kubernetes nor the platform owns."""
    problems = dns_label(namespace, field, "payments")
    if problems:
        return problems
    if namespace in RESERVED_NAMESPACES or namespace.startswith("kube-"):
        return [
            ConfigError(
                field,
                f"namespace '{namespace}' is reserved for Kubernetes itself",
                "use a namespace of the app's own (not default or kube-*)",
            )
        ]
    platform = tuple(platform_namespaces)
    if namespace in platform:
        return [
            ConfigError(
                field,
                f"namespace '{namespace}' belongs to the eks-secure platform",
                f"use a namespace of the app's own (not {' or '.join(platform)})",
            )
        ]
    return []


def unique_names(
    names: Sequence[str], field_of: Callable[[int], str], what: str = "app name"
) -> Problems:
    """Names must be unique, and unique once hyphens are dropped (CloudFormation IDs drop them)."""
    problems: Problems = []
    seen: dict[str, int] = {}
    squashed: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            problems.append(
                ConfigError(
                    field_of(i),
                    f"{what} '{name}' is already used by entry {seen[name]}",
                    f"give every entry a unique {what}",
                )
            )
            continue
        seen[name] = i
        key = name.replace("-", "")
        if key in squashed:
            problems.append(
                ConfigError(
                    field_of(i),
                    f"'{name}' and entry {squashed[key]} differ only in hyphens; their "
                    "CloudFormation IDs (hyphens dropped) would collide",
                    "rename one of the two",
                )
            )
            continue
        squashed[key] = i
    return problems


# -- identities -------------------------------------------------------------------------------


def arn(value: str, field: str, kinds: Sequence[str] = ("role",)) -> Problems:
    """``value`` must be an IAM ARN of one of ``kinds`` (``role``, ``user``, ``root``)."""
    if any(ARN_KINDS[k].fullmatch(value) for k in kinds):
        return []
    what = _ARN_WHAT[tuple(kinds)]
    return [ConfigError(field, f"'{value}' is not {what}", f"use {what}, e.g. {EXAMPLE_ROLE_ARN}")]


def role_name_of(role_arn: str) -> str:
    """The role name at the end of an IAM role ARN (after any path)."""
    return role_arn.rsplit("/", 1)[-1]


def access_principals(
    groups: Sequence[tuple[str, Sequence[str]]],
    break_glass_arn_suffix: str | None,
) -> Problems:
    """Principals that get access entries: one entry per principal, distinct role names.

    ``groups`` are (field, ARNs) pairs in precedence order (admins first). An access entry is
    named after its role, so two roles with one name collide; the break-glass role has its own
    entry and may not be listed.
    """
    problems: Problems = []
    by_arn: dict[str, str] = {}
    by_name: dict[str, str] = {}
    for field, arns in groups:
        for i, principal in enumerate(arns):
            path = f"{field}[{i}]"
            name = role_name_of(principal)
            if break_glass_arn_suffix and principal.endswith(break_glass_arn_suffix):
                problems.append(
                    ConfigError(
                        path,
                        "the break-glass role gets its own access entry (MFA-only trust)",
                        f"remove it from {field}",
                    )
                )
            elif principal in by_arn:
                problems.append(
                    ConfigError(
                        path,
                        f"{principal} already has an access entry ({by_arn[principal]}); EKS "
                        "allows one access entry per principal",
                        "list each role once, under the group with the access it needs",
                    )
                )
            elif name in by_name:
                problems.append(
                    ConfigError(
                        path,
                        f"role name '{name}' is also used by {by_name[name]}; access entries "
                        "are named after the role",
                        "use roles with distinct names",
                    )
                )
            by_arn.setdefault(principal, field)
            by_name.setdefault(name, principal)
    return problems


# -- networks ---------------------------------------------------------------------------------


def parse_cidr(value: str, field: str, example: str = "10.20.0.0/16") -> IPv4Network:
    """Parse an IPv4 network in CIDR form or raise a field-named error with the fix."""
    if "/" not in value:
        raise ConfigError(
            field,
            f"'{value}' has no prefix length",
            f"write it in CIDR form a.b.c.d/n, e.g. {example}",
        )
    try:
        return IPv4Network(value, strict=True)
    except ValueError as exc:
        fix = f"write it as a.b.c.d/n with no host bits set, e.g. {example}"
        with contextlib.suppress(ValueError):
            fix = f"use {IPv4Network(value, strict=False)} (no host bits set)"
        raise ConfigError(
            field, f"'{value}' is not an IPv4 network in CIDR form ({exc})", fix
        ) from None


def vpc_cidr(vpc: IPv4Network, field: str = "vpc_cidr") -> Problems:
    """The primary VPC CIDR: a private /16 to /24."""
    low, high = VPC_PREFIX_RANGE
    if not low <= vpc.prefixlen <= high:
        return [
            ConfigError(
                field,
                f"a VPC CIDR must be between /{low} and /{high}, got /{vpc.prefixlen}",
                f"use a /{low} to /{high} block",
            )
        ]
    if not is_private_range(vpc):
        return [
            ConfigError(
                field,
                f"{vpc} is not private (RFC 1918 / RFC 6598) address space",
                "use a block from 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10",
            )
        ]
    return []


def secondary_cidr(
    secondary: IPv4Network,
    vpc: IPv4Network | None,
    on_prem: Sequence[IPv4Network],
    field: str,
    on_prem_field: str = "on_prem_cidrs",
) -> Problems:
    """An additional VPC CIDR block: private, /16 to /28, outside the VPC and on-premises."""
    low, high = SECONDARY_PREFIX_RANGE
    if not is_private_range(secondary) or not low <= secondary.prefixlen <= high:
        return [
            ConfigError(
                field,
                f"{secondary} must be a /{low} to /{high} block of private (RFC 1918 / RFC 6598) "
                "space",
                "use e.g. a block from 100.64.0.0/10 that is unused on-premises",
            )
        ]
    problems: Problems = []
    if vpc is not None and secondary.overlaps(vpc):
        problems.append(
            ConfigError(
                field,
                f"{secondary} overlaps the primary VPC CIDR {vpc}",
                "pick a secondary block outside vpc_cidr",
            )
        )
    for i, net in enumerate(on_prem):
        if secondary.overlaps(net):
            problems.append(
                ConfigError(
                    field,
                    f"{secondary} overlaps {on_prem_field}[{i}] {net}; its subnets must be "
                    "routable from on-premises",
                    "pick a secondary block disjoint from every on-premises CIDR",
                )
            )
    return problems


def on_prem_cidrs(
    cidrs: Sequence[IPv4Network], vpc: IPv4Network | None, field: str = "on_prem_cidrs"
) -> Problems:
    """On-prem CIDRs overlap neither the VPC nor each other."""
    problems: Problems = []
    for i, net in enumerate(cidrs):
        if vpc is not None and net.overlaps(vpc):
            problems.append(
                ConfigError(
                    f"{field}[{i}]",
                    f"{net} overlaps the VPC CIDR {vpc}, so it could never be routed on-premises",
                    "ask the network team for a VPC range disjoint from on-premises space",
                )
            )
        for j, other in enumerate(cidrs[:i]):
            if net.overlaps(other):
                problems.append(
                    ConfigError(
                        f"{field}[{i}]",
                        f"{net} overlaps {field}[{j}] {other}",
                        "list each on-premises range once: merge or drop the overlapping entries",
                    )
                )
    return problems


def on_prem_route_present(
    has_cidrs: bool, has_route: bool, field: str = "on_prem_route"
) -> Problems:
    """On-prem CIDRs and an on-prem route come together."""
    if has_cidrs and not has_route:
        return [
            ConfigError(
                field,
                "on_prem_cidrs is set but there is no on_prem_route, so the VPC has no path to it",
                "add on_prem_route with transit_gateway_id: tgw-... or vpn_gateway: {}",
            )
        ]
    if has_route and not has_cidrs:
        return [
            ConfigError(
                field,
                "on_prem_route is set but on_prem_cidrs is empty, so no traffic would use it",
                "list the on-premises CIDRs under on_prem_cidrs, or remove on_prem_route",
            )
        ]
    return []


def private_asn(asn: int, field: str) -> Problems:
    """An Amazon-side ASN of a virtual private gateway must be private."""
    if any(low <= asn <= high for low, high in PRIVATE_ASN_RANGES):
        return []
    return [
        ConfigError(
            field,
            f"{asn} is not a private ASN AWS accepts for a virtual private gateway",
            "use 64512-65534 or 4200000000-4294967294, or omit it for the default",
        )
    ]


def routable(  # noqa: PLR0917 -- a rule reads better with its inputs in order
    cidr: IPv4Network,
    vpc: IPv4Network,
    on_prem: Sequence[IPv4Network],
    route_given: bool,
    field: str,
    what: str,
) -> Problems:
    """``cidr`` lies in the VPC or in an on-prem CIDR that is routed (the VPC has no internet)."""
    if cidr.subnet_of(vpc) or (route_given and any(cidr.subnet_of(o) for o in on_prem)):
        return []
    reason = (
        "it lies inside on_prem_cidrs but there is no on_prem_route"
        if any(cidr.subnet_of(o) for o in on_prem)
        else "it is neither inside vpc_cidr nor inside any on_prem_cidrs entry"
    )
    return [
        ConfigError(
            field,
            f"{what} has no route to it: {reason} (the VPC has no internet path)",
            "add the range to on_prem_cidrs and set on_prem_route, or remove the entry",
        )
    ]


def availability_zones(azs: Sequence[str], region: str | None, field: str) -> Problems:
    """At least two distinct AZs, each of ``region`` when it is known."""
    problems: Problems = []
    if len(azs) < MIN_AVAILABILITY_ZONES:
        problems.append(
            ConfigError(
                field,
                f"{len(azs)} availability zone(s) given; EKS needs subnets in at least "
                f"{MIN_AVAILABILITY_ZONES}",
                "list two or more availability zones of the region",
            )
        )
    seen: set[str] = set()
    for i, az in enumerate(azs):
        if az in seen:
            problems.append(
                ConfigError(
                    f"{field}[{i}]", f"availability zone {az} is listed twice", "list it once"
                )
            )
        seen.add(az)
        if region is not None and re.fullmatch(re.escape(region) + "[a-z]", az) is None:
            problems.append(
                ConfigError(
                    f"{field}[{i}]",
                    f"'{az}' is not an availability zone of region {region}",
                    f"use a zone of {region} such as {region}a, or change `region:`",
                )
            )
    return problems


def subnet_prefix(prefix: int, field: str) -> Problems:
    """A subnet prefix length AWS accepts."""
    low, high = SUBNET_PREFIX_RANGE
    if low <= prefix <= high:
        return []
    return [
        ConfigError(
            field,
            f"prefix /{prefix} is outside what AWS allows for a subnet",
            f"use a prefix between /{low} and /{high}",
        )
    ]


def port(value: int, field: str) -> Problems:
    """A TCP/UDP port number."""
    if 1 <= value <= 65535:
        return []
    return [ConfigError(field, f"port {value} is out of range", "use a number in 1..65535")]


# -- node groups, add-ons ---------------------------------------------------------------------


def node_group_bounds(
    min_size: int, desired_size: int, max_size: int, field: str, given: Iterable[str] = ()
) -> Problems:
    """``min_size <= desired_size <= max_size`` and ``max_size >= 1``.

    ``given`` names the keys the user set, so the error blames one of them.
    """
    keys = set(given)
    if max_size < 1:
        return [ConfigError(f"{field}.max_size", "must be at least 1", "set max_size >= 1")]
    if min_size > max_size:
        key = "min_size" if "min_size" in keys or not keys else "max_size"
        return [
            ConfigError(
                f"{field}.{key}",
                f"min_size {min_size} is greater than max_size {max_size}",
                "set min_size <= desired_size <= max_size",
            )
        ]
    if not min_size <= desired_size <= max_size:
        if "desired_size" in keys or not keys:
            key = "desired_size"
        else:
            key = "min_size" if desired_size < min_size else "max_size"
        return [
            ConfigError(
                f"{field}.{key}",
                f"desired_size {desired_size} is outside min_size {min_size} .. max_size "
                f"{max_size}",
                "set min_size <= desired_size <= max_size",
            )
        ]
    return []


def known_names(
    names: Iterable[str], known: Sequence[str], field_of: Callable[[str], str], what: str
) -> Problems:
    """Every name is one of ``known`` (with a did-you-mean)."""
    return [
        ConfigError(
            field_of(name),
            f"unknown {what} '{name}'",
            f"{suggest(name, known)}use one of: {', '.join(known)}",
        )
        for name in names
        if name not in known
    ]


def one_of(value: str, allowed: Sequence[str], field: str, what: str) -> Problems:
    """``value`` is one of ``allowed`` (with a did-you-mean)."""
    if value in allowed:
        return []
    return [
        ConfigError(
            field,
            f"unknown {what} '{value}'",
            f"{suggest(value, allowed)}use one of: {', '.join(allowed)}",
        )
    ]


def tag(key: str, value: str, field: str) -> Problems:
    """A resource tag: key and value in AWS's tag alphabet, no reserved ``aws:`` prefix."""
    if not 1 <= len(key) <= 128 or not TAG_TEXT.fullmatch(key):
        return [
            ConfigError(
                field,
                f"'{key}' is not a valid tag key",
                "use 1-128 letters, digits, spaces and _ . : / = + - @",
            )
        ]
    if key.lower().startswith("aws:"):
        return [
            ConfigError(
                field,
                f"tag key '{key}' uses the reserved 'aws:' prefix",
                "drop or rename the prefix; AWS reserves it for its own tags",
            )
        ]
    if len(value) > 256 or not TAG_TEXT.fullmatch(value):
        return [
            ConfigError(
                field,
                f"'{value}' is not a valid tag value",
                "use at most 256 letters, digits, spaces and _ . : / = + - @",
            )
        ]
    return []


def pattern_match(
    value: str, regex: re.Pattern[str], field: str, what: str, example: str
) -> Problems:
    """``value`` matches ``regex`` in full (``what`` and ``example`` word the fix)."""
    if regex.fullmatch(value):
        return []
    return [ConfigError(field, f"'{value}' is not {what}", f"use {what}, e.g. {example}")]
