"""The Istio and Kyverno objects of pattern ``istio``, as cdk8s charts (no AWS resources).

Per destination, the five objects of the egress-gateway pattern, all in the gateway's namespace
and exported only to it and to the listed apps' namespaces:

``ServiceEntry <name>``
    the host in the mesh registry (``MESH_EXTERNAL``, ``resolution: DNS``), so
    ``REGISTRY_ONLY`` sidecars of the listed apps know it;
``Gateway <name>``
    a server on the gateway (``selector istio: egressgateway``) on the listener port, ``tls.mode:
    ISTIO_MUTUAL`` for the host: sidecars reach the gateway over Istio mutual TLS, so the gateway
    knows each client's identity;
``DestinationRule <name>``
    on the gateway Service, one subset ``<name>`` whose listener port uses ``ISTIO_MUTUAL`` with
    ``sni: <host>``; with TLS origination a second one, ``<name>-origination``, on the host:
    ``SIMPLE`` TLS with ``sni: <host>``;
``VirtualService <name>``
    ``gateways: [mesh, <gateway>]``: from the sidecars (by SNI, or by port for TCP/HTTP) to the
    gateway subset, and from the gateway to ``<host>:<port>``;
``AuthorizationPolicy <name>``
    ``ALLOW`` on the gateway pods for the listed apps' namespaces (``source.namespaces``, from the
    mTLS identity) on the listener port, ``when connection.sni`` is the host. With one ALLOW
    policy present, everything else is denied; ``allow-nothing`` keeps it so with none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cdk8s
import constructs

from eks_secure.egress.istio import EGRESS_NAMESPACE, ISTIO_NAMESPACE, IstioDestination
from eks_secure.k8s.crd import custom_resource
from eks_secure.k8s.kyverno import AUTOGEN_ANNOTATION

NETWORKING = "networking.istio.io/v1"
SECURITY = "security.istio.io/v1"
GATEWAY_RELEASE = "istio-egressgateway"
"""Helm release (and Deployment, Service) of the egress gateway."""
GATEWAY_SELECTOR: Mapping[str, str] = {"istio": "egressgateway"}
"""Pod labels the gateway chart gives the release (``istio`` = release name minus ``istio-``)."""
GATEWAY_HOST = f"{GATEWAY_RELEASE}.{EGRESS_NAMESPACE}.svc.cluster.local"
"""The gateway Service's FQDN."""
ISTIOD_SELECTOR: Mapping[str, str] = {"app": "istiod"}
"""Pod labels of istiod."""
INJECTION_LABEL = ("istio-injection", "enabled")
"""Namespace label that turns sidecar injection on."""
MESH_POLICY = "eks-secure-istio-mesh"
"""Kyverno ClusterPolicy keeping app pods in the mesh."""

FORBIDDEN_POD_ANNOTATIONS: tuple[str, ...] = (
    "traffic.sidecar.istio.io/excludeOutboundIPRanges",
    "traffic.sidecar.istio.io/excludeOutboundPorts",
    "traffic.sidecar.istio.io/includeOutboundPorts",
    "traffic.sidecar.istio.io/excludeInterfaces",
    "proxy.istio.io/config",
)
"""Pod annotations that exempt outbound traffic from the sidecar (or reconfigure it): none may
be set, not even empty."""
PINNED_POD_ANNOTATIONS: Mapping[str, str] = {
    "traffic.sidecar.istio.io/includeOutboundIPRanges": "*",
    "sidecar.istio.io/interceptionMode": "REDIRECT",
}
"""Pod annotations the injector itself writes (istio-cni mode); any other value is forbidden."""
FORBIDDEN_POD_LABELS: tuple[str, ...] = ("istio.io/dataplane-mode",)
"""Pod labels that move a pod to another data plane (ambient) or out of it."""
FORBIDDEN_KINDS: tuple[str, ...] = ("ServiceEntry", "Sidecar", "EnvoyFilter", "WorkloadEntry")
"""Istio kinds app teams may not create in their namespaces (they widen or bypass egress)."""
PROXY_UID = 1337
"""UID of istio-proxy: its traffic is not redirected, so no app container may run as it."""


def _port_name(protocol: str, port: int) -> str:
    return f"{protocol.lower()}-{port}"


def gateway_name(dest: IstioDestination) -> str:
    """Name of the destination's Gateway (and of its other objects)."""
    return f"egress-{dest.name}"


def export_to(namespaces: Sequence[str]) -> list[str]:
    """``exportTo``: the gateway's own namespace and the listed apps' namespaces."""
    return [".", *sorted(set(namespaces))]


def service_entry_spec(
    dest: IstioDestination, namespaces: Sequence[str], addresses: Sequence[str]
) -> dict[str, Any]:
    """The ServiceEntry of ``dest``."""
    ports = []
    if dest.tls_origination:
        ports.append(
            {"number": dest.app_port, "name": _port_name("http", dest.app_port), "protocol": "HTTP"}
        )
    ports.append(
        {
            "number": dest.port,
            "name": _port_name(dest.protocol, dest.port),
            "protocol": dest.protocol,
        }
    )
    spec: dict[str, Any] = {
        "hosts": [dest.host],
        "ports": ports,
        "location": "MESH_EXTERNAL",
        "resolution": dest.resolution,
        "exportTo": export_to(namespaces),
    }
    if dest.protocol == "TCP":
        spec["addresses"] = list(addresses)
    return spec


def gateway_spec(dest: IstioDestination) -> dict[str, Any]:
    """The Gateway of ``dest``: one mutual-TLS server for the host on the listener port."""
    protocol = "HTTPS" if dest.tls_origination else "TLS"
    return {
        "selector": dict(GATEWAY_SELECTOR),
        "servers": [
            {
                "port": {
                    "number": dest.listener_port,
                    "name": _port_name(protocol, dest.listener_port),
                    "protocol": protocol,
                },
                "hosts": [dest.host],
                "tls": {"mode": "ISTIO_MUTUAL"},
            }
        ],
    }


def gateway_rule_spec(dest: IstioDestination, namespaces: Sequence[str]) -> dict[str, Any]:
    """The DestinationRule on the gateway Service: subset ``dest.name``, ISTIO_MUTUAL + SNI."""
    return {
        "host": GATEWAY_HOST,
        "exportTo": export_to(namespaces),
        "subsets": [
            {
                "name": dest.name,
                "trafficPolicy": {
                    "portLevelSettings": [
                        {
                            "port": {"number": dest.listener_port},
                            "tls": {"mode": "ISTIO_MUTUAL", "sni": dest.host},
                        }
                    ]
                },
            }
        ],
    }


def origination_rule_spec(dest: IstioDestination) -> dict[str, Any]:
    """The DestinationRule on the host that makes the gateway originate TLS (``SIMPLE``)."""
    return {
        "host": dest.host,
        "exportTo": ["."],
        "trafficPolicy": {
            "portLevelSettings": [
                {"port": {"number": dest.port}, "tls": {"mode": "SIMPLE", "sni": dest.host}}
            ]
        },
    }


def virtual_service_spec(dest: IstioDestination, namespaces: Sequence[str]) -> dict[str, Any]:
    """The VirtualService of ``dest``: sidecars -> gateway subset, gateway -> upstream."""
    gateway = gateway_name(dest)
    listener = dest.listener_port
    to_gateway = [
        {
            "destination": {
                "host": GATEWAY_HOST,
                "subset": dest.name,
                "port": {"number": listener},
            }
        }
    ]
    to_upstream = [{"destination": {"host": dest.host, "port": {"number": dest.port}}}]
    spec: dict[str, Any] = {
        "hosts": [dest.host],
        "gateways": ["mesh", gateway],
        "exportTo": export_to(namespaces),
    }
    from_gateway = {"gateways": [gateway], "port": listener}
    if dest.tls_origination:
        spec["http"] = [
            {"match": [{"gateways": ["mesh"], "port": listener}], "route": to_gateway},
            {"match": [from_gateway], "route": to_upstream},
        ]
    elif dest.protocol == "TCP":
        spec["tcp"] = [
            {"match": [{"gateways": ["mesh"], "port": listener}], "route": to_gateway},
            {"match": [from_gateway], "route": to_upstream},
        ]
    else:
        spec["tls"] = [
            {
                "match": [{"gateways": ["mesh"], "port": listener, "sniHosts": [dest.host]}],
                "route": to_gateway,
            }
        ]
        # the gateway terminates the sidecar's mutual TLS; inside is the app's own TLS stream
        spec["tcp"] = [{"match": [from_gateway], "route": to_upstream}]
    return spec


def authorization_spec(dest: IstioDestination, namespaces: Sequence[str]) -> dict[str, Any]:
    """ALLOW on the gateway pods: the listed apps' namespaces, the listener port, the host's SNI."""
    return {
        "selector": {"matchLabels": dict(GATEWAY_SELECTOR)},
        "action": "ALLOW",
        "rules": [
            {
                "from": [{"source": {"namespaces": sorted(set(namespaces))}}],
                "to": [{"operation": {"ports": [str(dest.listener_port)]}}],
                "when": [{"key": "connection.sni", "values": [dest.host]}],
            }
        ],
    }


def destination_objects(
    scope: constructs.Construct,
    dest: IstioDestination,
    *,
    namespaces: Sequence[str],
    addresses: Sequence[str],
) -> list[cdk8s.ApiObject]:
    """Add the five (six with TLS origination) Istio objects of ``dest`` to ``scope``."""
    name = gateway_name(dest)
    labels = {"eks-secure.io/egress-destination": dest.name}

    def add(api: str, kind: str, spec: dict[str, Any], obj_name: str = name) -> cdk8s.ApiObject:
        return custom_resource(
            scope,
            f"{kind}:{obj_name}",
            api_version=api,
            kind=kind,
            name=obj_name,
            namespace=EGRESS_NAMESPACE,
            spec=spec,
            labels=labels,
        )

    objects = [
        add(NETWORKING, "ServiceEntry", service_entry_spec(dest, namespaces, addresses)),
        add(NETWORKING, "Gateway", gateway_spec(dest)),
        add(NETWORKING, "DestinationRule", gateway_rule_spec(dest, namespaces)),
        add(NETWORKING, "VirtualService", virtual_service_spec(dest, namespaces)),
        add(SECURITY, "AuthorizationPolicy", authorization_spec(dest, namespaces)),
    ]
    if dest.tls_origination:
        objects.append(
            add(NETWORKING, "DestinationRule", origination_rule_spec(dest), f"{name}-origination")
        )
    return objects


def allow_nothing(scope: constructs.Construct) -> cdk8s.ApiObject:
    """``allow-nothing`` in the gateway namespace: deny whatever no ALLOW policy admits."""
    return custom_resource(
        scope,
        "AuthorizationPolicy:allow-nothing",
        api_version=SECURITY,
        kind="AuthorizationPolicy",
        name="allow-nothing",
        namespace=EGRESS_NAMESPACE,
        spec={"action": "ALLOW"},
    )


def _deny(
    name: str, match: dict[str, Any], message: str, conditions: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "name": name,
        "match": match,
        "validate": {
            "failureAction": "Enforce",
            "message": message,
            "deny": {"conditions": {"any": conditions}},
        },
    }


def mesh_policy_spec(namespaces: Sequence[str]) -> dict[str, Any]:
    """Kyverno rules keeping the pods of ``namespaces`` inside the mesh (all ``Enforce``)."""
    pods = {"any": [{"resources": {"kinds": ["Pod"], "namespaces": sorted(namespaces)}}]}
    annotations = "request.object.metadata.annotations"
    labels = "request.object.metadata.labels"
    inject_off = [
        {
            "key": f"{{{{ {where}.\"sidecar.istio.io/inject\" || '' }}}}",
            "operator": "Equals",
            "value": "false",
        }
        for where in (annotations, labels)
    ]
    exclusions = (
        [
            {
                "key": f"{{{{ keys({annotations} || `{{}}`) | contains(@, '{a}') }}}}",
                "operator": "Equals",
                "value": True,
            }
            for a in FORBIDDEN_POD_ANNOTATIONS
        ]
        + [
            {
                "key": f"{{{{ {annotations}.\"{a}\" || '{v}' }}}}",
                "operator": "NotEquals",
                "value": v,
            }
            for a, v in PINNED_POD_ANNOTATIONS.items()
        ]
        + [
            {"key": f"{{{{ {labels}.\"{label}\" || '' }}}}", "operator": "NotEquals", "value": ""}
            for label in FORBIDDEN_POD_LABELS
        ]
    )
    proxy_uid: list[dict[str, Any]] = [
        {
            "key": "{{ request.object.spec.securityContext.runAsUser || `0` }}",
            "operator": "Equals",
            "value": PROXY_UID,
        },
        {
            "key": (
                "{{ request.object.spec.[containers, initContainers][][?name!='istio-proxy' && "
                "name!='istio-validation'].securityContext.runAsUser || `[]` }}"
            ),
            "operator": "AnyIn",
            "value": [PROXY_UID],
        },
    ]
    kinds = {
        "any": [
            {
                "resources": {
                    "kinds": [f"networking.istio.io/*/{k}" for k in FORBIDDEN_KINDS],
                    "namespaces": sorted(namespaces),
                }
            }
        ]
    }
    return {
        "background": True,
        "rules": [
            _deny(
                "forbid-injection-opt-out",
                pods,
                "pods of app namespaces must carry the Istio sidecar",
                inject_off,
            ),
            _deny(
                "require-sidecar",
                pods,
                "pods of app namespaces must run the istio-proxy sidecar (injection on)",
                [
                    {
                        "key": "istio-proxy",
                        "operator": "AnyNotIn",
                        "value": "{{ request.object.spec.[containers, initContainers][].name }}",
                    }
                ],
            ),
            _deny(
                "forbid-outbound-exclusions",
                pods,
                "pods of app namespaces may not exclude traffic from the sidecar "
                f"({', '.join((*FORBIDDEN_POD_ANNOTATIONS, *PINNED_POD_ANNOTATIONS))})",
                exclusions,
            ),
            _deny(
                "forbid-proxy-uid",
                pods,
                f"only istio-proxy may run as UID {PROXY_UID} (its traffic is not redirected)",
                proxy_uid,
            ),
            _deny(
                "forbid-mesh-config",
                kinds,
                f"app namespaces may not create {', '.join(FORBIDDEN_KINDS)} objects",
                [
                    {
                        "key": "{{ request.operation }}",
                        "operator": "AnyIn",
                        "value": ["CREATE", "UPDATE"],
                    }
                ],
            ),
        ],
    }


def mesh_policy(scope: constructs.Construct, namespaces: Sequence[str]) -> cdk8s.ApiObject:
    """The Kyverno ClusterPolicy :data:`MESH_POLICY` for the app namespaces."""
    policy = custom_resource(
        scope,
        f"ClusterPolicy:{MESH_POLICY}",
        api_version="kyverno.io/v1",
        kind="ClusterPolicy",
        name=MESH_POLICY,
        spec=mesh_policy_spec(namespaces),
    )
    # Pods only: controllers' templates are never injected (the sidecar is added to the pods)
    policy.metadata.add_annotation(AUTOGEN_ANNOTATION, "none")
    return policy


def label_namespace(chart: cdk8s.Chart, namespace: str, key: str, value: str) -> None:
    """Add label ``key=value`` to the Namespace object ``namespace`` of ``chart``."""
    for child in chart.node.find_all():
        if (
            isinstance(child, cdk8s.ApiObject)
            and child.kind == "Namespace"
            and child.metadata.name == namespace
        ):
            child.metadata.add_label(key, value)
            return
    raise ValueError(f"chart {chart.node.id} has no Namespace {namespace}")


__all__ = [
    "GATEWAY_HOST",
    "GATEWAY_RELEASE",
    "GATEWAY_SELECTOR",
    "INJECTION_LABEL",
    "ISTIOD_SELECTOR",
    "ISTIO_NAMESPACE",
    "MESH_POLICY",
    "allow_nothing",
    "destination_objects",
    "label_namespace",
    "mesh_policy",
]
