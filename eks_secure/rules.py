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
from eks_secure.network import capacity
from eks_secure.network.services import S3_GATEWAY_SERVICE, SERVICE_NAME

IPv4Network = ipaddress.IPv4Network
Problems = list[ConfigError]

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
"""A Kubernetes DNS-1123 label (namespaces, app and cluster names)."""

MAX_NAME_LENGTH = 40
"""Cluster and app names prefix IAM role, stack and Lambda names (64 characters at most)."""

RESERVED_APP = "control-plane"
"""App name the allow-list gives the control plane's own entries (reserved, prefix included)."""
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
SNS_TOPIC_ARN = re.compile(
    r"arn:aws[-a-z]*:sns:[a-z]{2}(-[a-z]+)+-\d{1,2}:\d{12}:[A-Za-z0-9_-]{1,256}"
)
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
IMAGE_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
IMAGE_REGISTRY = re.compile(r"[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._/-]+)?")

EXAMPLE_ROLE_ARN = "arn:aws:iam::111111111111:role/platform-admin"

API_VERSIONS: tuple[str, ...] = ("eks-secure.io/v1alpha1",)
"""Config format versions this release reads (``apiVersion:``); the last one is current."""

KINDS: tuple[str, ...] = ("Deployment",)
"""Config document kinds this release reads (``kind:``)."""

SUPPORTED_KUBERNETES_VERSIONS: tuple[str, ...] = ("1.32", "1.33", "1.34")
"""Kubernetes versions the pinned add-on versions and the kubectl layer (v1.34) are known for."""

MANAGED_ADDONS: tuple[str, ...] = ("coredns", "eks-pod-identity-agent", "kube-proxy", "vpc-cni")
"""EKS managed add-ons eks-secure installs and whose versions may be pinned."""

APP_STACK_MODES: tuple[str, ...] = ("nested", "inline")
"""Where each app's AWS resources go: a nested stack of its own, or the cluster stack."""

ARN_KINDS: Mapping[str, re.Pattern[str]] = {"role": ROLE_ARN, "user": USER_ARN, "root": ROOT_ARN}
_ARN_WHAT: Mapping[tuple[str, ...], str] = {
    ("role",): "an IAM role ARN",
    ("role", "user"): "an IAM role or user ARN",
    ("role", "user", "root"): "an IAM role, user or account-root ARN",
}


def sub(field: str, key: str) -> str:
    """The path of ``key`` below ``field`` (``key`` alone when ``field`` is the value itself)."""
    return f"{field}.{key}" if field else key


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
    """An app name: a DNS-1123 label of at most :data:`MAX_NAME_LENGTH` characters, not
    ``control-plane`` nor starting with ``control-plane-`` (the allow-list's own entries)."""
    problems = dns_label(value, field, "payments-api", MAX_NAME_LENGTH)
    if not problems and (value == RESERVED_APP or value.startswith(f"{RESERVED_APP}-")):
        problems.append(
            ConfigError(
                field,
                f"app name '{value}' is reserved: the allow-list names the control plane's own "
                f"entries '{RESERVED_APP}'",
                "pick another name, e.g. payments-api",
            )
        )
    return problems


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
    names: Sequence[str],
    field_of: Callable[[int], str],
    what: str = "app name",
    entry_of: Callable[[int], str] | None = None,
) -> Problems:
    """Names must be unique, and unique once hyphens are dropped (CloudFormation IDs drop them).

    ``field_of(i)`` is the path blamed for entry ``i``; ``entry_of(i)`` names the entry in the
    message (default: ``entry i``).
    """
    entry = entry_of or (lambda i: f"entry {i}")
    problems: Problems = []
    seen: dict[str, int] = {}
    squashed: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            problems.append(
                ConfigError(
                    field_of(i),
                    f"{what} '{name}' is already used by {entry(seen[name])}",
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
                    f"'{name}' and {entry(squashed[key])} differ only in hyphens; their "
                    "IDs would collide (CloudFormation logical IDs and NACL entries drop hyphens)",
                    "rename one of the two",
                )
            )
            continue
        squashed[key] = i
    return problems


def unique_namespaces(
    namespaces: Sequence[str],
    field_of: Callable[[int], str],
    entry_of: Callable[[int], str] | None = None,
) -> Problems:
    """Every app has a namespace of its own (egress rules and placement are per namespace)."""
    entry = entry_of or (lambda i: f"entry {i}")
    problems: Problems = []
    seen: dict[str, int] = {}
    for i, namespace in enumerate(namespaces):
        if namespace in seen:
            problems.append(
                ConfigError(
                    field_of(i),
                    f"namespace '{namespace}' is already used by {entry(seen[namespace])}; "
                    "egress rules are per namespace",
                    "give every app its own namespace",
                )
            )
        seen.setdefault(namespace, i)
    return problems


def trusted_namespaces(
    trusted: Sequence[str], app_namespaces: Mapping[str, str], field: str
) -> Problems:
    """No trusted (node-agent) namespace is an app's namespace (``app_namespaces``: ns -> app)."""
    return [
        ConfigError(
            f"{field}[{i}]",
            f"'{namespace}' is the namespace of app {app_namespaces[namespace]}; pods of a "
            "trusted namespace may run on every app's nodes",
            "trust only node-agent namespaces (e.g. kube-system), not app namespaces",
        )
        for i, namespace in enumerate(trusted)
        if namespace in app_namespaces
    ]


def no_duplicates(values: Sequence[object], field: str, what: str) -> Problems:
    """Each value of a list once (the second occurrence is blamed)."""
    problems: Problems = []
    seen: set[object] = set()
    for i, value in enumerate(values):
        if value in seen:
            problems.append(
                ConfigError(f"{field}[{i}]", f"{what} {value} is listed twice", "list it once")
            )
        seen.add(value)
    return problems


def not_empty(values: Sequence[object], field: str, fix: str) -> Problems:
    """A list that, when given, holds at least one entry."""
    return [] if values else [ConfigError(field, "is empty", fix)]


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
            elif principal in by_arn and by_arn[principal] == field:
                problems.append(
                    ConfigError(path, f"ARN {principal} is listed twice", "list it once")
                )
            elif principal in by_arn:
                problems.append(
                    ConfigError(
                        path,
                        f"{principal} is also in {by_arn[principal]}; EKS allows one access "
                        "entry per principal",
                        f"list the role only under {by_arn[principal]}",
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


def break_glass_principals(arns: Sequence[str], field: str) -> Problems:
    """Break-glass principals are listed one by one: an account root would trust every
    principal of the account (with MFA), which is what an explicit list replaces."""
    return [
        ConfigError(
            f"{field}[{i}]",
            f"{principal} is an account root: it trusts every principal of the account",
            "list the IAM roles or users allowed to break the glass, each by its ARN (leave "
            "the key out to trust the admin_role_arns)",
        )
        for i, principal in enumerate(arns)
        if ROOT_ARN.fullmatch(principal)
    ]


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


def routable(
    cidr: IPv4Network,
    vpc: IPv4Network,
    on_prem: Sequence[IPv4Network],
    *,
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


def aws_services(services: Sequence[str], available: Sequence[str] | None, field: str) -> Problems:
    """An app's ``aws_services``: short names, each once, each ``s3`` or an interface endpoint
    of the VPC (``available``; ``None``: the endpoints are not this deployment's, names only)."""
    problems = no_duplicates(services, field, "service")
    known = (*(available or ()), S3_GATEWAY_SERVICE)
    for i, service in enumerate(services):
        if not SERVICE_NAME.match(service):
            problems.append(
                ConfigError(
                    f"{field}[{i}]",
                    f"'{service}' is not a short endpoint service name",
                    "give the part after com.amazonaws.<region>., e.g. sts or ecr.api",
                )
            )
        elif available is not None and service not in known:
            problems.append(
                ConfigError(
                    f"{field}[{i}]",
                    f"the VPC has no interface endpoint for '{service}', so a NetworkPolicy "
                    "to the endpoint subnets would reach nothing",
                    f"{suggest(service, known)}use one of: {', '.join(known)} (or add the "
                    "endpoint to SecureVpc endpoint_services)",
                )
            )
    return problems


def s3_access(services: Sequence[str], s3_cidrs: Sequence[str], cidrs_field: str) -> Problems:
    """``s3`` in ``aws_services`` needs ``s3_cidrs`` (S3's addresses behind the gateway
    endpoint), and ``s3_cidrs`` needs ``s3``."""
    if S3_GATEWAY_SERVICE in services and not s3_cidrs:
        return [
            ConfigError(
                cidrs_field,
                "is empty while aws_services lists s3: S3 is reached through the gateway "
                "endpoint at S3's public addresses, which a NetworkPolicy can only name as CIDRs",
                "list the CIDRs of the region's S3 prefix list (aws ec2 "
                "get-managed-prefix-list-entries for com.amazonaws.<region>.s3)",
            )
        ]
    if s3_cidrs and S3_GATEWAY_SERVICE not in services:
        return [
            ConfigError(
                cidrs_field,
                "is given but aws_services does not list s3",
                "add s3 to aws_services, or remove s3_cidrs",
            )
        ]
    return []


def s3_cidrs(cidrs: Sequence[IPv4Network], private: Sequence[IPv4Network], field: str) -> Problems:
    """S3's CIDRs are public AWS space: none may overlap the VPC or on-premises (``private``),
    or the S3 rule would open a path there."""
    problems: Problems = []
    for i, cidr in enumerate(cidrs):
        clash = [str(p) for p in private if cidr.overlaps(p)]
        if clash or is_private_range(cidr):
            problems.append(
                ConfigError(
                    f"{field}[{i}]",
                    f"{cidr} overlaps {', '.join(clash) or 'private address space'}: S3's "
                    "gateway-endpoint addresses are public AWS ranges, and this entry would open "
                    "the app's fence to the VPC or on-premises",
                    "list only the CIDRs of the region's S3 prefix list",
                )
            )
    return problems


def availability_zones(azs: Sequence[str], region: str | None, field: str) -> Problems:
    """At least two distinct AZs, each of ``region`` when it is known."""
    problems = availability_zone_count(azs, field)
    if region is not None:
        problems += zones_of_region(azs, region, field)
    return problems


def availability_zone_count(azs: Sequence[str], field: str) -> Problems:
    """At least :data:`MIN_AVAILABILITY_ZONES` AZs, each listed once."""
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
    return problems + no_duplicates(azs, field, "availability zone")


def zones_of_region(azs: Sequence[str], region: str, field: str) -> Problems:
    """Each AZ is ``<region>`` plus one letter."""
    return [
        ConfigError(
            f"{field}[{i}]",
            f"'{az}' is not an availability zone of region {region}",
            f"use a zone of {region} such as {region}a, or change `region:`",
        )
        for i, az in enumerate(azs)
        if re.fullmatch(re.escape(region) + "[a-z]", az) is None
    ]


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


def node_subnet_capacity(
    instance_types: Sequence[str],
    max_size: int,
    subnets: int,
    prefix: int,
    *,
    field: str,
    prefix_field: str,
    prefix_delegation: bool = False,
    addresses_per_node: int | None = None,
) -> Problems:
    """Each of ``subnets`` subnets of ``/prefix`` holds the node group at ``max_size`` plus the
    update surge with the VPC CNI's most addresses per node (model and ENI table:
    :mod:`eks_secure.network.capacity`, the same as the preflight's), or ``addresses_per_node``
    when the CNI takes pod addresses elsewhere (Cilium gateway nodes). Instance types missing
    from the pinned table are not sized. ``field`` names the node group (``apps[0].nodes``),
    ``prefix_field`` the subnet prefix (``subnets.app_prefix``)."""
    sized = {
        t: n
        for t in instance_types
        if (
            n := addresses_per_node
            if addresses_per_node is not None
            else capacity.addresses_per_node(t, prefix_delegation)
        )
        is not None
    }
    if not sized or subnets < 1:
        return []
    widest = max(sized, key=lambda t: (sized[t], t))
    nodes = capacity.nodes_per_subnet(max_size, subnets)
    need = nodes * sized[widest]
    have = capacity.usable(prefix)
    if need <= have:
        return []
    mode = "prefix delegation" if prefix_delegation else "secondary IPs"
    return [
        ConfigError(
            field,
            f"its subnets (/{prefix}, {have} usable addresses each) cannot hold it: "
            f"{nodes} nodes per subnet (max_size {max_size} over {subnets} subnets + "
            f"{capacity.surge(subnets)} update surge) x {sized[widest]} addresses per "
            f"{widest} ({mode}, VPC CNI) = {need}",
            f"set {prefix_field} to {capacity.prefix_for(need)} or less (a larger subnet), or "
            f"lower {field}.max_size or choose smaller {field}.instance_types",
        )
    ]


def node_group_bounds(
    min_size: int, desired_size: int, max_size: int, field: str, given: Iterable[str] = ()
) -> Problems:
    """``min_size <= desired_size <= max_size`` and ``max_size >= 1``.

    ``given`` names the keys the user set, so the error blames one of them.
    """
    keys = set(given)
    if max_size < 1:
        return [ConfigError(sub(field, "max_size"), "must be at least 1", "set max_size >= 1")]
    if min_size > max_size:
        key = "min_size" if "min_size" in keys or not keys else "max_size"
        return [
            ConfigError(
                sub(field, key),
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
                sub(field, key),
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
    return tag_key(key, field) or tag_value(value, field)


def tag_key(key: str, field: str) -> Problems:
    """A tag key: 1-128 characters of AWS's tag alphabet, not starting with ``aws:``."""
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
    return []


def tag_value(value: str, field: str) -> Problems:
    """A tag value: at most 256 characters of AWS's tag alphabet."""
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


# -- on-prem route --------------------------------------------------------------------------


def on_prem_route_target(
    has_transit_gateway: bool,
    has_vpn_gateway: bool,
    already_attached_given: bool,
    field: str = "on_prem_route",
) -> Problems:
    """Exactly one of a transit gateway and a VPN gateway; ``already_attached`` is TGW-only."""
    if has_transit_gateway == has_vpn_gateway:
        return [
            ConfigError(
                field,
                "sets both transit_gateway_id and vpn_gateway"
                if has_transit_gateway
                else "sets neither transit_gateway_id nor vpn_gateway",
                "set exactly one: `transit_gateway_id: tgw-...` to attach to an existing transit "
                "gateway, or `vpn_gateway: {}` (optionally with amazon_side_asn) to create one",
            )
        ]
    if has_vpn_gateway and already_attached_given:
        return [
            ConfigError(
                sub(field, "already_attached"),
                "applies to a transit gateway only",
                "for an existing virtual private gateway write `vpn_gateway: {id: vgw-...}`",
            )
        ]
    return []


def vpn_gateway_options(asn: int | None, gateway_id: str | None, field: str) -> Problems:
    """A new VPN gateway may have a private Amazon-side ASN; an existing one already has one."""
    if asn is None:
        return []
    if gateway_id is not None:
        return [
            ConfigError(
                sub(field, "amazon_side_asn"),
                "an existing virtual private gateway already has its ASN",
                "remove amazon_side_asn, or remove id to create a new gateway",
            )
        ]
    return private_asn(asn, sub(field, "amazon_side_asn"))


def adopted_route_options(
    already_attached: bool, vpn_gateway_id: str | None, adopted: bool, field: str
) -> Problems:
    """Reusing an existing attachment or gateway is only possible in an adopted VPC."""
    if adopted:
        return []
    problems: Problems = []
    if already_attached:
        problems.append(
            ConfigError(
                sub(field, "already_attached"),
                "only an adopted VPC (existing_vpc) can already be attached; eks-secure "
                "attaches the VPCs it creates",
                "remove already_attached, or set existing_vpc",
            )
        )
    if vpn_gateway_id is not None:
        problems.append(
            ConfigError(
                sub(field, "vpn_gateway.id"),
                "only an adopted VPC (existing_vpc) can have an existing VPN gateway",
                "remove the id to create a VPN gateway, or set existing_vpc",
            )
        )
    return problems


def api_access_cidrs(cidrs: Sequence[IPv4Network], field: str) -> Problems:
    """API client networks: each once, never ``0.0.0.0/0``."""
    problems = no_duplicates(cidrs, field, "CIDR")
    for i, net in enumerate(cidrs):
        if net.prefixlen == 0:
            problems.append(
                ConfigError(
                    f"{field}[{i}]",
                    "0.0.0.0/0 would open the API endpoint to every routed network",
                    "list the operators' or CI networks only",
                )
            )
    return problems


# -- access -----------------------------------------------------------------------------------


def team_roles(
    teams: Sequence[tuple[str, Sequence[str]]],
    principals: Mapping[str, str],
    break_glass_role_name: str | None,
) -> Problems:
    """Team roles of the apps: distinct role names, not the break-glass role, one entry each.

    ``teams`` are (field, role ARNs) per app in order; ``principals`` maps the ARNs that already
    have an access entry (admins, viewers) to the field that gives it.
    """
    problems: Problems = []
    taken = dict(principals)
    for field, arns in teams:
        names: set[str] = set()
        for j, role in enumerate(arns):
            path = f"{field}[{j}]"
            name = role_name_of(role)
            if name in names or (break_glass_role_name and name == break_glass_role_name):
                problems.append(
                    ConfigError(
                        path,
                        f"role name '{name}' is listed twice or is the break-glass role",
                        "list distinct team roles; the break-glass role has its own entry",
                    )
                )
            names.add(name)
            if role in taken:
                problems.append(
                    ConfigError(
                        path,
                        f"{role} already has an access entry ({taken[role]}); EKS allows one "
                        "access entry per principal",
                        "give each team its own role",
                    )
                )
            taken.setdefault(role, field)
    return problems


# -- patterns ---------------------------------------------------------------------------------


def pattern_apps(
    pattern: str, *, takes_apps: bool, needs_apps: bool, app_count: int, field: str
) -> Problems:
    """``base`` takes no apps; a pattern that gives apps fixed egress IPs needs at least one."""
    if not takes_apps and app_count:
        return [
            ConfigError(
                field,
                f"pattern {pattern} is the VPC and cluster alone and takes no apps",
                "pick a pattern for the apps with `pattern:` or -c pattern=..., or remove `apps`",
            )
        ]
    if needs_apps and not app_count:
        return [
            ConfigError(
                field,
                f"pattern {pattern} prerequisites unmet: it gives apps fixed egress IPs but no "
                "apps are listed",
                "add at least one app under `apps:`, or use pattern base",
            )
        ]
    return []


def pattern_on_prem_cidrs(
    pattern: str, *, needs_apps: bool, has_cidrs: bool, field: str
) -> Problems:
    """A pattern for apps needs on-prem CIDRs to egress to."""
    if not needs_apps or has_cidrs:
        return []
    return [
        ConfigError(
            field,
            f"pattern {pattern} prerequisites unmet: on_prem_cidrs is empty, so apps have nowhere "
            "to egress to",
            "list the on-premises CIDRs the apps call",
        )
    ]


def pattern_on_prem_route(
    pattern: str, *, needs_apps: bool, has_cidrs: bool, has_route: bool, field: str
) -> Problems:
    """On-prem CIDRs and a route come together; a pattern for apps needs the route."""
    if needs_apps and not has_cidrs and not has_route:
        return [
            ConfigError(
                field,
                f"pattern {pattern} prerequisites unmet: no on_prem_route, so apps have no path "
                "on-premises",
                "add on_prem_route with transit_gateway_id: tgw-... or vpn_gateway: {}",
            )
        ]
    return on_prem_route_present(has_cidrs, has_route, field)


# -- versions ---------------------------------------------------------------------------------


def api_version(value: object, field: str = "apiVersion") -> Problems:
    """The config format version is one this release reads."""
    if value in API_VERSIONS:
        return []
    return [
        ConfigError(
            field,
            f"config format {value!r} is not supported by this version of eks-secure",
            f"use apiVersion: {API_VERSIONS[-1]} (supported: {', '.join(API_VERSIONS)}); a newer "
            "format needs a newer eks-secure",
        )
    ]


def kind(value: object, field: str = "kind") -> Problems:
    """The document is a kind this release reads."""
    if value in KINDS:
        return []
    return [
        ConfigError(
            field,
            f"kind {value!r} is not a kind eks-secure reads",
            f"use kind: {KINDS[0]} (supported: {', '.join(KINDS)})",
        )
    ]


def kubernetes_version(version: str, field: str = "kubernetes_version") -> Problems:
    """A Kubernetes version the pinned add-ons and kubectl layer are known for."""
    if version in SUPPORTED_KUBERNETES_VERSIONS:
        return []
    supported = ", ".join(SUPPORTED_KUBERNETES_VERSIONS)
    return [
        ConfigError(
            field,
            f"Kubernetes {version} is not supported (the pinned add-ons and kubectl layer are "
            f"known for {supported})",
            f"use one of: {supported}",
        )
    ]


def addon_name(name: str, field: str) -> Problems:
    """An add-on whose version can be pinned (:data:`MANAGED_ADDONS`)."""
    if name in MANAGED_ADDONS:
        return []
    return [
        ConfigError(
            field,
            f"unknown add-on '{name}'",
            f"{suggest(name, MANAGED_ADDONS)}pin one of: {', '.join(MANAGED_ADDONS)}",
        )
    ]


# -- isolation ---------------------------------------------------------------------------------


def internet_facing_namespaces(
    namespaces: Sequence[str], internal_only: bool, field: str
) -> Problems:
    """Namespaces allowed internet-facing load balancers: app namespaces, only when enforced."""
    if namespaces and not internal_only:
        return [
            ConfigError(
                field,
                "lists namespaces, but internal_only is false, so every namespace may already "
                "create internet-facing load balancers",
                "set isolation.load_balancers.internal_only: true, or remove the list",
            )
        ]
    problems: Problems = []
    for i, namespace in enumerate(namespaces):
        problems += app_namespace(namespace, f"{field}[{i}]")
    return problems + no_duplicates(namespaces, field, "namespace")


LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
"""Retention periods CloudWatch Logs (``AWS::Logs::LogGroup.RetentionInDays``) accepts."""


def log_retention_days(days: int, field: str) -> Problems:
    """A CloudWatch Logs retention period CloudFormation accepts."""
    if days in LOG_RETENTION_DAYS:
        return []
    allowed = ", ".join(str(d) for d in LOG_RETENTION_DAYS)
    return [
        ConfigError(
            field,
            f"{days} is not a retention period CloudWatch Logs accepts",
            f"use one of {allowed} (days)",
        )
    ]


# -- node and pod isolation (config section ``isolation``) ------------------------------------

INSTANCE_FAMILY = re.compile(r"^(?P<series>[a-z]+)(?P<gen>\d+)(?P<options>[a-z-]*)\.[a-z0-9]+$")
"""An EC2 instance type read as series, generation, options (``g`` = Graviton) and size."""
TRUNK_ENI_MIN_GENERATION = 5
"""Oldest instance generation (Nitro) eks-secure accepts for security groups for pods."""
TRUNK_ENI_EXCEPTIONS: tuple[str, ...] = ("a1",)
"""Older-generation families that are Nitro-based and support trunk ENIs."""


def trunk_eni_instance_type(instance_type: str, field: str) -> Problems:
    """An instance type that can hold a trunk ENI (security groups for pods).

    EKS documents security groups for pods on most Nitro-based families and on no ``t``
    family instance; the exact list is the VPC resource controller's limits table (``IsTrunking
    Compatible``). Checked offline: ``t`` families and pre-Nitro generations (below
    :data:`TRUNK_ENI_MIN_GENERATION`, except :data:`TRUNK_ENI_EXCEPTIONS`) are rejected.
    """
    match = INSTANCE_FAMILY.match(instance_type)
    if match is None:
        return []  # the instance type's own rule reports it
    family = f"{match.group('series')}{match.group('gen')}"
    pre_nitro = int(match.group("gen")) < TRUNK_ENI_MIN_GENERATION
    if match.group("series") == "t" or (pre_nitro and family not in TRUNK_ENI_EXCEPTIONS):
        return [
            ConfigError(
                field,
                f"{instance_type} cannot hold a trunk ENI, so its pods cannot get security "
                "groups (t families and pre-Nitro generations are not supported)",
                "use a Nitro instance type of generation 5 or later, e.g. m7i.large or m7g.large",
            )
        ]
    return []


def exempt_namespaces(
    namespaces: Sequence[str], app_namespaces: Mapping[str, str], field: str
) -> Problems:
    """Namespaces exempt from host protection: each once and none an app's (ns -> app)."""
    problems = no_duplicates(namespaces, field, "namespace")
    problems += [
        ConfigError(
            f"{field}[{i}]",
            f"'{namespace}' is the namespace of app {app_namespaces[namespace]}; its pods would "
            "reach the nodes' kubelet, SSH and IMDS",
            "exempt only platform namespaces that need the kubelet (e.g. a metrics agent's)",
        )
        for i, namespace in enumerate(namespaces)
        if namespace in app_namespaces
    ]
    return problems


def host_protection_cni(vpc_cni: bool, pattern: str, field: str) -> Problems:
    """Calico policy-only mode needs the VPC CNI; a Cilium cluster uses Cilium's own policy."""
    if vpc_cni:
        return []
    return [
        ConfigError(
            field,
            f"pattern {pattern} replaces the VPC CNI, and Calico's policy-only mode runs on it",
            "leave host_protection out: the pattern's CNI enforces the equivalent "
            "(eks_secure.isolation.host_protection.cilium_host_firewall_policy)",
        )
    ]


CLUSTER_NEEDED_PORTS: Mapping[int, str] = {
    53: "DNS",
    443: "the Kubernetes API, the VPC endpoints and webhooks",
    4443: "in-cluster webhooks",
    6443: "in-cluster webhooks",
    8443: "in-cluster webhooks",
    8472: "Cilium's VXLAN",
    9443: "Kyverno's webhook",
    10250: "the kubelet (control plane and metrics)",
    15012: "Istio's xDS",
    15017: "Istio's webhook",
}
"""Ports the cluster's own flows use: a node-subnet NACL may not keep them for the admin subnets."""
MAX_ADMIN_PORTS = 8
"""Admin ports per node-subnet NACL (two inbound entries each, 20 entries per direction)."""


def admin_ports(ports: Sequence[int], field: str) -> Problems:
    """Ports node subnets admit only from the admin subnets: at least one, at most
    :data:`MAX_ADMIN_PORTS`, each once, none the cluster needs from elsewhere."""
    if not ports:
        return [ConfigError(field, "is empty", "list at least one port, e.g. [22]")]
    problems = no_duplicates(ports, field, "port")
    if len(set(ports)) > MAX_ADMIN_PORTS:
        problems.append(
            ConfigError(
                field,
                f"{len(set(ports))} ports need {2 * len(set(ports)) + 1} inbound NACL entries",
                f"keep at most {MAX_ADMIN_PORTS} admin ports",
            )
        )
    problems += [
        ConfigError(
            f"{field}[{i}]",
            f"port {port} carries {CLUSTER_NEEDED_PORTS[port]}; denying it from everywhere but "
            "the admin subnets would break the cluster",
            "keep only administrative ports such as 22 (SSH) or 3389 (RDP)",
        )
        for i, port in enumerate(ports)
        if port in CLUSTER_NEEDED_PORTS
    ]
    return problems


def custom_networking_cni(
    vpc_cni: bool, vpc_cni_env: Mapping[str, str], pattern: str, field: str
) -> Problems:
    """Custom networking needs the VPC CNI, and SNAT of off-VPC pod traffic to the node.

    With SNAT (the VPC CNI's default) a pod's traffic leaving the VPC carries its node's primary
    address, in the node's own subnet, so the allow-list is unchanged. With external SNAT
    (pattern ``private-nat``) the pod's own address from the *shared* pod subnets would leave the
    node: the pod subnets' route tables cannot send each app to its NAT group, and on-premises
    could no longer tell apps apart. A CNI that replaces the VPC CNI (Cilium) has no
    ``ENIConfig``.
    """
    if not vpc_cni:
        return [
            ConfigError(
                field,
                f"pattern {pattern} replaces the VPC CNI, whose ENIConfig custom networking is",
                "leave custom_networking out (the pattern's CNI allocates pod addresses itself)",
            )
        ]
    if vpc_cni_env.get("AWS_VPC_K8S_CNI_EXTERNALSNAT", "").lower() == "true":
        return [
            ConfigError(
                field,
                f"pattern {pattern} sends pod addresses off the node "
                "(AWS_VPC_K8S_CNI_EXTERNALSNAT); with custom networking they would come from "
                "the shared pod subnets, which "
                "neither route each app to its own egress nor tell apps apart on the allow-list",
                "leave custom_networking out for this pattern",
            )
        ]
    return []


def pod_subnet_capacity(
    demand: Sequence[tuple[str, int]], prefix: int, *, field: str, prefix_field: str
) -> Problems:
    """The pod subnet of one AZ holds every node group's pod ENIs: ``demand`` lists, per node
    group (config path first), the most pod-subnet addresses it takes in one AZ (nodes per
    subnet with the update surge x the pod ENIs' addresses per node)."""
    need = sum(n for _, n in demand)
    have = capacity.usable(prefix)
    if need <= have:
        return []
    parts = ", ".join(f"{where} {n}" for where, n in demand)
    return [
        ConfigError(
            field,
            f"the pod subnets (/{prefix}, {have} usable addresses each) cannot hold the pod ENIs "
            f"of every node group in one AZ: {parts} = {need}",
            f"set {prefix_field} to {capacity.prefix_for(need)} or less (a larger subnet), or "
            f"lower the node groups' max_size",
        )
    ]
