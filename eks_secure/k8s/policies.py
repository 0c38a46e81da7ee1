"""Reusable builders for namespaces and NetworkPolicies (cdk8s-plus-27 L1 objects).

Every builder is a pure function of its arguments: object names are explicit and construct IDs
are derived from them, so the same calls always synthesize the same manifests.

IMDS protection: NetworkPolicies are allow-lists, so a pod selected by a default-deny policy can
reach the instance metadata service only if some allow rule covers its address. The only way this
module builds an ``ipBlock`` is :func:`ip_block`, which adds ``169.254.169.254/32`` (and the IPv6
IMDS address ``fd00:ec2::254/128``) to ``except`` whenever the CIDR contains it, and refuses a
CIDR that *is* the IMDS address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence

import constructs
from cdk8s_plus_27 import k8s

IMDS_CIDR = "169.254.169.254/32"
"""IPv4 address of the EC2 instance metadata service, as a CIDR."""

IMDS_IPV6_CIDR = "fd00:ec2::254/128"
"""IPv6 address of the EC2 instance metadata service (Nitro instances), as a CIDR."""

_IMDS_NETWORKS = (ipaddress.ip_network(IMDS_CIDR), ipaddress.ip_network(IMDS_IPV6_CIDR))

MANAGED_BY_LABELS: Mapping[str, str] = {"app.kubernetes.io/managed-by": "eks-secure"}
"""Labels put on every object eks-secure creates."""

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""Label the API server sets on every namespace to its own name."""

DNS_NAMESPACE = "kube-system"
"""Namespace of the cluster DNS (CoreDNS on EKS)."""

DNS_POD_LABELS: Mapping[str, str] = {"k8s-app": "kube-dns"}
"""Labels of the cluster DNS pods (CoreDNS on EKS keeps the ``kube-dns`` label)."""

DEFAULT_DENY_NAME = "default-deny"
ALLOW_DNS_NAME = "allow-dns"
ALLOW_SAME_NAMESPACE_NAME = "allow-same-namespace"

_PROTOCOLS = frozenset({"TCP", "UDP", "SCTP"})


def _network_policy_id(namespace: str, name: str) -> str:
    # ':' can appear in neither a namespace nor an object name, so the ID is unique per object.
    return f"NetworkPolicy:{namespace}:{name}"


def object_meta(
    name: str, namespace: str | None = None, labels: Mapping[str, str] | None = None
) -> k8s.ObjectMeta:
    """Object metadata with an explicit name and the managed-by label plus ``labels``."""
    merged = {**MANAGED_BY_LABELS, **(labels or {})}
    return k8s.ObjectMeta(name=name, namespace=namespace, labels=dict(sorted(merged.items())))


_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse_cidr(cidr: str) -> _Network:
    try:
        return ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        raise ValueError(f"invalid CIDR {cidr!r}: {exc}") from exc


def _subnet_of(inner: _Network, outer: _Network) -> bool:
    """True when ``inner`` lies within ``outer`` (same address family)."""
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner.subnet_of(outer)
    return False


def _strict_subnet_of(inner: _Network, outer: _Network) -> bool:
    return inner != outer and _subnet_of(inner, outer)


def ip_block(cidr: str, except_cidrs: Iterable[str] = ()) -> k8s.IpBlock:
    """Build an ``ipBlock`` that can never include the instance metadata service.

    ``except`` gets every CIDR of ``except_cidrs`` plus the IMDS address whenever ``cidr``
    contains it (always listed literally, even if a wider exception covers it, so audits can
    grep for it). Raises ``ValueError`` for a malformed CIDR, an exception that is not a strict
    subnet of ``cidr`` (the API server rejects those) or a ``cidr`` that is the IMDS address.
    """
    network = _parse_cidr(cidr)
    excepts: set[_Network] = set()
    for raw in except_cidrs:
        sub = _parse_cidr(raw)
        if not _strict_subnet_of(sub, network):
            raise ValueError(f"ipBlock except {raw!r} is not a strict subnet of {cidr!r}")
        excepts.add(sub)
    for imds in _IMDS_NETWORKS:
        if _subnet_of(network, imds):
            raise ValueError(
                f"ipBlock {cidr!r} is the instance metadata service address; "
                "pods must never be allowed to reach it"
            )
        if _subnet_of(imds, network):
            excepts.add(imds)
    ordered = sorted(excepts, key=lambda n: (n.version, int(n.network_address), n.prefixlen))
    return k8s.IpBlock(cidr=str(network), except_=[str(e) for e in ordered] or None)


def _ports(ports: Sequence[int], protocol: str) -> list[k8s.NetworkPolicyPort] | None:
    if protocol not in _PROTOCOLS:
        raise ValueError(f"protocol must be one of {sorted(_PROTOCOLS)}, got {protocol!r}")
    for port in ports:
        if not 1 <= port <= 65535:
            raise ValueError(f"port {port} is outside 1-65535")
    if not ports:
        return None
    return [
        k8s.NetworkPolicyPort(port=k8s.IntOrString.from_number(port), protocol=protocol)
        for port in sorted(set(ports))
    ]


def namespace(
    scope: constructs.Construct, name: str, labels: Mapping[str, str] | None = None
) -> k8s.KubeNamespace:
    """Create namespace ``name`` with the eks-secure managed-by label plus ``labels``."""
    return k8s.KubeNamespace(scope, f"Namespace:{name}", metadata=object_meta(name, labels=labels))


def default_deny(scope: constructs.Construct, namespace: str) -> k8s.KubeNetworkPolicy:
    """Deny all ingress and egress for every pod of ``namespace`` (policy ``default-deny``)."""
    return k8s.KubeNetworkPolicy(
        scope,
        _network_policy_id(namespace, DEFAULT_DENY_NAME),
        metadata=object_meta(DEFAULT_DENY_NAME, namespace),
        spec=k8s.NetworkPolicySpec(
            pod_selector=k8s.LabelSelector(),
            policy_types=["Ingress", "Egress"],
        ),
    )


def allow_dns(scope: constructs.Construct, namespace: str) -> k8s.KubeNetworkPolicy:
    """Allow every pod of ``namespace`` to query the cluster DNS (UDP and TCP 53, ``allow-dns``)."""
    dns_peer = k8s.NetworkPolicyPeer(
        namespace_selector=k8s.LabelSelector(match_labels={NAMESPACE_NAME_LABEL: DNS_NAMESPACE}),
        pod_selector=k8s.LabelSelector(match_labels=dict(DNS_POD_LABELS)),
    )
    return k8s.KubeNetworkPolicy(
        scope,
        _network_policy_id(namespace, ALLOW_DNS_NAME),
        metadata=object_meta(ALLOW_DNS_NAME, namespace),
        spec=k8s.NetworkPolicySpec(
            pod_selector=k8s.LabelSelector(),
            policy_types=["Egress"],
            egress=[
                k8s.NetworkPolicyEgressRule(
                    to=[dns_peer],
                    ports=[
                        k8s.NetworkPolicyPort(port=k8s.IntOrString.from_number(53), protocol=p)
                        for p in ("UDP", "TCP")
                    ],
                )
            ],
        ),
    )


def allow_egress_to_cidrs(
    scope: constructs.Construct,
    namespace: str,
    name: str,
    cidrs: Sequence[str],
    ports: Sequence[int] = (),
    *,
    protocol: str = "TCP",
    except_cidrs: Sequence[str] = (),
    pod_labels: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> k8s.KubeNetworkPolicy:
    """Allow egress from pods of ``namespace`` to ``cidrs`` on ``ports`` (all ports if empty).

    Each CIDR becomes an ``ipBlock`` built by :func:`ip_block`, so any block containing the
    instance metadata service excepts it. ``except_cidrs`` (for example node subnets) are added
    to the ``except`` of every CIDR that strictly contains them; one that fits no CIDR is an
    error. ``pod_labels`` narrows the policy to matching pods (default: all pods); ``labels``
    are added to the policy's own metadata.
    """
    if not cidrs:
        raise ValueError(f"NetworkPolicy {namespace}/{name}: cidrs must not be empty")
    networks = sorted({_parse_cidr(c) for c in cidrs}, key=lambda n: (n.version, str(n)))
    parsed_excepts = [_parse_cidr(e) for e in except_cidrs]
    for exc in parsed_excepts:
        if not any(_strict_subnet_of(exc, n) for n in networks):
            raise ValueError(
                f"NetworkPolicy {namespace}/{name}: except CIDR {exc} is not a strict subnet "
                f"of any of {list(cidrs)}"
            )
    peers = [
        k8s.NetworkPolicyPeer(
            ip_block=ip_block(str(n), [str(e) for e in parsed_excepts if _strict_subnet_of(e, n)])
        )
        for n in networks
    ]
    return k8s.KubeNetworkPolicy(
        scope,
        _network_policy_id(namespace, name),
        metadata=object_meta(name, namespace, labels),
        spec=k8s.NetworkPolicySpec(
            pod_selector=k8s.LabelSelector(match_labels=dict(pod_labels) if pod_labels else None),
            policy_types=["Egress"],
            egress=[k8s.NetworkPolicyEgressRule(to=peers, ports=_ports(ports, protocol))],
        ),
    )


def allow_same_namespace(scope: constructs.Construct, namespace: str) -> k8s.KubeNetworkPolicy:
    """Allow ingress from and egress to any pod of the same ``namespace``."""
    same_ns = k8s.NetworkPolicyPeer(pod_selector=k8s.LabelSelector())
    return k8s.KubeNetworkPolicy(
        scope,
        _network_policy_id(namespace, ALLOW_SAME_NAMESPACE_NAME),
        metadata=object_meta(ALLOW_SAME_NAMESPACE_NAME, namespace),
        spec=k8s.NetworkPolicySpec(
            pod_selector=k8s.LabelSelector(),
            policy_types=["Ingress", "Egress"],
            ingress=[k8s.NetworkPolicyIngressRule(from_=[same_ns])],
            egress=[k8s.NetworkPolicyEgressRule(to=[same_ns])],
        ),
    )


def allow_egress_to_pods(
    scope: constructs.Construct,
    namespace: str,
    name: str,
    *,
    namespace_labels: Mapping[str, str],
    pod_labels: Mapping[str, str],
    ports: Sequence[int] = (),
    protocol: str = "TCP",
) -> k8s.KubeNetworkPolicy:
    """Allow egress from every pod of ``namespace`` to the pods matching ``pod_labels`` in the
    namespaces matching ``namespace_labels`` (e.g. an egress gateway), on ``ports``."""
    if not namespace_labels or not pod_labels:
        raise ValueError(f"NetworkPolicy {namespace}/{name}: both selectors must be non-empty")
    peer = k8s.NetworkPolicyPeer(
        namespace_selector=k8s.LabelSelector(match_labels=dict(sorted(namespace_labels.items()))),
        pod_selector=k8s.LabelSelector(match_labels=dict(sorted(pod_labels.items()))),
    )
    return k8s.KubeNetworkPolicy(
        scope,
        _network_policy_id(namespace, name),
        metadata=object_meta(name, namespace),
        spec=k8s.NetworkPolicySpec(
            pod_selector=k8s.LabelSelector(),
            policy_types=["Egress"],
            egress=[k8s.NetworkPolicyEgressRule(to=[peer], ports=_ports(ports, protocol))],
        ),
    )


def allow_ingress_from_cidrs(
    scope: constructs.Construct,
    namespace: str,
    name: str,
    cidrs: Sequence[str],
    ports: Sequence[int],
    *,
    protocol: str = "TCP",
    pod_labels: Mapping[str, str] | None = None,
) -> k8s.KubeNetworkPolicy:
    """Allow ingress to pods of ``namespace`` from ``cidrs`` on ``ports`` (policy ``name``).

    For callers outside the pod network, such as the API server calling a webhook from the
    control-plane ENIs. Each CIDR becomes an ``ipBlock`` built by :func:`ip_block`; ``ports``
    must not be empty (an ingress rule without ports would open every port).
    """
    if not cidrs:
        raise ValueError(f"NetworkPolicy {namespace}/{name}: cidrs must not be empty")
    networks = sorted({_parse_cidr(c) for c in cidrs}, key=lambda n: (n.version, str(n)))
    peers = [k8s.NetworkPolicyPeer(ip_block=ip_block(str(n))) for n in networks]
    return _allow_ingress(
        scope, namespace, name, peers, ports=ports, protocol=protocol, pod_labels=pod_labels
    )


def allow_ingress_from_namespaces(
    scope: constructs.Construct,
    namespace: str,
    name: str,
    from_namespaces: Sequence[str],
    ports: Sequence[int],
    *,
    protocol: str = "TCP",
    pod_labels: Mapping[str, str] | None = None,
) -> k8s.KubeNetworkPolicy:
    """Allow ingress to pods of ``namespace`` from every pod of ``from_namespaces`` on ``ports``.

    Namespaces are selected by their ``kubernetes.io/metadata.name`` label (set by the API
    server, so it cannot be forged by a namespace's owner). ``ports`` must not be empty.
    """
    if not from_namespaces:
        raise ValueError(f"NetworkPolicy {namespace}/{name}: from_namespaces must not be empty")
    peers = [
        k8s.NetworkPolicyPeer(
            namespace_selector=k8s.LabelSelector(match_labels={NAMESPACE_NAME_LABEL: source})
        )
        for source in sorted(set(from_namespaces))
    ]
    return _allow_ingress(
        scope, namespace, name, peers, ports=ports, protocol=protocol, pod_labels=pod_labels
    )


def _allow_ingress(
    scope: constructs.Construct,
    namespace: str,
    name: str,
    peers: list[k8s.NetworkPolicyPeer],
    *,
    ports: Sequence[int],
    protocol: str,
    pod_labels: Mapping[str, str] | None,
) -> k8s.KubeNetworkPolicy:
    if not ports:
        raise ValueError(f"NetworkPolicy {namespace}/{name}: ports must not be empty")
    return k8s.KubeNetworkPolicy(
        scope,
        _network_policy_id(namespace, name),
        metadata=object_meta(name, namespace),
        spec=k8s.NetworkPolicySpec(
            pod_selector=k8s.LabelSelector(match_labels=dict(pod_labels) if pod_labels else None),
            policy_types=["Ingress"],
            ingress=[k8s.NetworkPolicyIngressRule(from_=peers, ports=_ports(ports, protocol))],
        ),
    )
