"""Egress pattern 4 (Istio egress gateway): charts, Istio objects, authorization, no bypass.

The Helm values are read back from the synthesized templates and rendered offline with the
charts in ``../shared/charts/istio``; the Istio objects are the cdk8s manifests shipped into the
cluster, validated against ``../shared/crd-schemas``.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from typing import Any

import pytest
import yaml
from helm import Helm, chart_dir, requires_charts, resolve_intrinsics, values_schema_errors
from manifest_validation import requires_crd_schemas, validate_all
from synth import Synth, load_example, normalise
from syrupy.assertion import SnapshotAssertion

from eks_secure.config import parse_config
from eks_secure.egress.allowlist import entries_from_template
from eks_secure.egress.istio import (
    EGRESS_NAMESPACE,
    ISTIO_NAMESPACE,
    WEBHOOK_PORT,
    XDS_PORT,
    IstioDestination,
    IstioEgress,
)
from eks_secure.egress.istio.construct import (
    CNI_NAMESPACE,
    CNI_RELEASE,
    GATEWAY_IDENTITY,
    ISTIO_IMAGES,
    IstioEgressGateway,
    istiod_values,
)
from eks_secure.egress.istio.mesh import GATEWAY_HOST, GATEWAY_SELECTOR, MESH_POLICY
from eks_secure.errors import ConfigErrors
from eks_secure.k8s.kyverno import APP_LABEL
from eks_secure.preflight.flows import FLOWS_METADATA

pytestmark = pytest.mark.xdist_group("istio")

FIVE = ("ServiceEntry", "Gateway", "VirtualService", "DestinationRule", "AuthorizationPolicy")
PUBLIC_HOSTS = ("docker.io/", "gcr.io/", "quay.io/", "ghcr.io/", "registry.istio.io/")


def pattern(istio: Synth) -> IstioEgressGateway:
    egress = istio.deployment.egress
    assert isinstance(egress, IstioEgressGateway)
    return egress


def spec(istio: Synth) -> IstioEgress:
    return pattern(istio).spec


def helm_charts(istio: Synth) -> dict[str, dict[str, Any]]:
    """The HelmChart resources' properties by release name."""
    return {
        r["Properties"]["Release"]: r["Properties"]
        for r in istio.cluster_template["Resources"].values()
        if r["Type"] == "Custom::AWSCDK-EKS-HelmChart" and r["Properties"]["Release"] != "kyverno"
    }


def values_of(istio: Synth, release: str) -> dict[str, Any]:
    """A release's values as deployed (URL suffix resolved for the example's region)."""
    text = resolve_intrinsics(
        helm_charts(istio)[release]["Values"], {"AWS::URLSuffix": "amazonaws.com"}
    )
    values: dict[str, Any] = json.loads(text)
    return values


RELEASES = {"istio-base": "base", "istiod": "istiod", "istio-egressgateway": "gateway"}


@pytest.fixture(scope="module")
def rendered(helm: Helm, istio: Synth) -> dict[str, list[dict[str, Any]]]:
    namespaces = {"istio-base": ISTIO_NAMESPACE, "istiod": ISTIO_NAMESPACE}
    return {
        release: helm.render(
            f"istio/{chart}",
            values_of(istio, release),
            release=release,
            namespace=namespaces.get(release, EGRESS_NAMESPACE),
            kubernetes_version=istio.config.kubernetes_version,
        )
        for release, chart in RELEASES.items()
    }


def objects(istio: Synth, kind: str, chart: str = "IstioEgressMesh") -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in istio.manifests[chart] if o["kind"] == kind}


def _example() -> dict[str, Any]:
    return load_example("istio")


def _fields(data: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(ConfigErrors) as exc:
        parse_config(data)
    return exc.value.fields


# ----------------------------------------------------------------------------- charts


def test_releases_sources_and_order(istio: Synth) -> None:
    charts = helm_charts(istio)
    assert set(charts) == {*RELEASES, CNI_RELEASE}
    for release, chart in {**RELEASES, CNI_RELEASE: "cni"}.items():
        props = charts[release]
        assert props["Chart"] == chart
        assert props["Version"] == "1.30.3"
        assert props["Repository"]["Fn::Join"][1][-1].endswith(f"/eks-secure/istio/{chart}")
        assert props["Wait"] is True
    assert charts["istio-egressgateway"]["Namespace"] == EGRESS_NAMESPACE
    resources = istio.cluster_template["Resources"]
    ids = {r["Properties"]["Release"]: lid for lid, r in resources.items()
           if r["Type"] == "Custom::AWSCDK-EKS-HelmChart"}  # fmt: skip
    assert ids["istio-base"] in resources[ids["istiod"]]["DependsOn"]
    assert ids["istiod"] in resources[ids["istio-egressgateway"]]["DependsOn"]
    # the CNI agent before istiod, so no pod is injected (istio-validation) before it runs
    assert ids[CNI_RELEASE] in resources[ids["istiod"]]["DependsOn"]


def test_istio_cni_is_chained_on_every_node_from_the_mirror(istio: Synth) -> None:
    """The cni chart is not in ../shared/charts: its values, namespace, order and images."""
    props = helm_charts(istio)[CNI_RELEASE]
    assert props["Namespace"] == CNI_NAMESPACE == "kube-system"
    values = values_of(istio, CNI_RELEASE)
    assert values["chained"] is True
    assert (values["cniBinDir"], values["cniConfDir"]) == ("/opt/cni/bin", "/etc/cni/net.d")
    assert values["repair"]["repairPods"] is True
    assert "tolerations" not in values, "the chart's tolerate-everything default: every node"
    mirror = f"{istio.config.account}.dkr.ecr.{istio.config.region}.amazonaws.com/eks-secure/"
    assert values["global"] == {"hub": f"{mirror}docker-hub/istio", "tag": "1.30.3"}
    istiod_global = values_of(istio, "istiod")["global"]
    assert (istiod_global["hub"], istiod_global["tag"]) == (values["global"]["hub"], "1.30.3")
    # the image the chart runs, {global.hub}/install-cni:{global.tag}, is a mirrored one
    assert "docker.io/istio/install-cni" in ISTIO_IMAGES
    assert istiod_values()["cni"] == {"enabled": True}


@requires_charts
@pytest.mark.parametrize("release", sorted(RELEASES))
def test_values_fit_the_charts(istio: Synth, release: str) -> None:
    """No misspelt key and, for the gateway, a clean values.schema.json."""
    chart = f"istio/{RELEASES[release]}"
    values = values_of(istio, release)
    defaults = yaml.safe_load((_chart_values_path(chart)).read_text())
    inner = defaults.get("_internal_defaults_do_not_set", defaults)
    # global is shared between the charts; meshConfig is free-form (Istio's MeshConfig API)
    unknown = [p for p in _unknown(values, inner) if not p.startswith(("global.", "meshConfig."))]
    assert unknown == []
    errors = values_schema_errors(chart, values)
    if RELEASES[release] == "gateway":
        assert errors == []


def _chart_values_path(chart: str) -> Any:
    """Istio charts keep their defaults under ``_internal_defaults_do_not_set``."""
    return chart_dir(chart) / "values.yaml"


def _unknown(values: Mapping[str, Any], defaults: Any, path: str = "") -> list[str]:
    if not isinstance(defaults, Mapping) or not defaults:
        return []
    found = []
    for key, value in values.items():
        here = f"{path}{key}"
        if key not in defaults:
            found.append(here)
        elif isinstance(value, Mapping):
            found += _unknown(value, defaults[key], f"{here}.")
    return found


@requires_charts
def test_rendered_mesh_config_is_registry_only(rendered: dict[str, list[dict[str, Any]]]) -> None:
    (config,) = [
        o
        for o in rendered["istiod"]
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "istio"
    ]
    mesh = yaml.safe_load(config["data"]["mesh"])
    assert mesh["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}
    (injector_values,) = [
        o for o in rendered["istiod"]
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "istio-sidecar-injector"
    ]  # fmt: skip
    injected = json.loads(injector_values["data"]["values"])
    assert injected["pilot"]["cni"]["enabled"] is True, "sidecars need no NET_ADMIN init container"
    assert injected["global"]["proxy"]["seccompProfile"] == {"type": "RuntimeDefault"}


@requires_charts
def test_every_image_comes_from_the_mirror(
    istio: Synth, rendered: dict[str, list[dict[str, Any]]]
) -> None:
    mirror = f"{istio.config.account}.dkr.ecr.{istio.config.region}.amazonaws.com/eks-secure/"
    images = []
    for objs in rendered.values():
        for o in objs:
            pod = o.get("spec", {}).get("template", {}).get("spec")
            for c in (pod or {}).get("containers", []):
                images.append(c["image"])
    assert f"{mirror}docker-hub/istio/pilot:1.30.3" in images
    assert all(i.startswith(mirror) or i == "auto" for i in images), images
    (injector,) = [
        o for o in rendered["istiod"]
        if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "istio-sidecar-injector"
    ]  # fmt: skip
    injected = json.loads(injector["data"]["values"])
    assert injected["global"]["hub"] == f"{mirror}docker-hub/istio"
    assert not any(h in json.dumps(injected["global"]["hub"]) for h in PUBLIC_HOSTS)


@requires_charts
def test_gateway_is_clusterip_ha_and_on_egress_nodes(
    rendered: dict[str, list[dict[str, Any]]], istio: Synth
) -> None:
    objs = {(o["kind"], o["metadata"]["name"]): o for o in rendered["istio-egressgateway"]}
    service = objs["Service", "istio-egressgateway"]
    assert service["spec"]["type"] == "ClusterIP"
    listeners = {d.listener_port for d in spec(istio).destinations}
    assert {p["port"] for p in service["spec"]["ports"]} == {15021, *listeners}
    deployment = objs["Deployment", "istio-egressgateway"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert GATEWAY_SELECTOR.items() <= labels.items(), "Istio objects select the pods by these"
    pod = deployment["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {APP_LABEL: GATEWAY_IDENTITY}
    assert {"key": APP_LABEL, "operator": "Equal", "value": GATEWAY_IDENTITY,
            "effect": "NoSchedule"} in pod["tolerations"]  # fmt: skip
    keys = {c["topologyKey"]: c["whenUnsatisfiable"] for c in pod["topologySpreadConstraints"]}
    assert keys == {
        "topology.kubernetes.io/zone": "DoNotSchedule",
        "kubernetes.io/hostname": "ScheduleAnyway",
    }
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    hpa = objs["HorizontalPodAutoscaler", "istio-egressgateway"]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    assert objs["PodDisruptionBudget", "istio-egressgateway"]["spec"]["minAvailable"] == 1


# ----------------------------------------------------------------------------- egress nodes


def test_egress_nodes_in_the_egress_subnets_and_tainted(istio: Synth) -> None:
    egress = pattern(istio)
    plan = istio.deployment.plan.pool("istio-egress").member("gateway")
    assert len(plan.subnets) == len(istio.config.availability_zones) >= 2
    nested = [t for name, t in istio.templates.items() if "EgressGateway" in name]
    (template,) = nested
    (nodegroup,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::EKS::Nodegroup"
    ]
    assert nodegroup["Labels"] == {APP_LABEL: GATEWAY_IDENTITY}
    assert nodegroup["Taints"] == [
        {"Key": APP_LABEL, "Value": GATEWAY_IDENTITY, "Effect": "NO_SCHEDULE"}
    ]
    cidrs = sorted(
        r["Properties"]["CidrBlock"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::EC2::Subnet"
    )
    assert cidrs == sorted(plan.cidrs)
    assert len(egress.subnets) == len(plan.subnets)


def test_only_the_gateway_may_use_the_egress_nodes(istio: Synth) -> None:
    policies = objects(istio, "ClusterPolicy", "IstioEgressFence")
    assert set(policies) == {
        f"eks-secure-placement-{GATEWAY_IDENTITY}",
        f"eks-secure-isolation-{GATEWAY_IDENTITY}",
    }


# ----------------------------------------------------------------------------- Istio objects


@requires_crd_schemas
def test_every_manifest_validates(istio: Synth) -> None:
    version = istio.config.kubernetes_version
    for chart in ("IstioEgressMesh", "IstioEgressFence", "IstioSystemFence", "TenantLedger"):
        assert validate_all(istio.manifests[chart], version) == {}, chart
    versions = {
        o["apiVersion"] for o in istio.manifests["IstioEgressMesh"] if "istio.io" in o["apiVersion"]
    }
    assert versions == {"networking.istio.io/v1", "security.istio.io/v1"}


def test_each_destination_has_five_consistent_objects(istio: Synth) -> None:
    tenants = {t.name: t for t in istio.deployment.tenants}
    by_kind = {k: objects(istio, k) for k in FIVE}
    assert spec(istio).destinations
    for dest in spec(istio).destinations:
        name = f"egress-{dest.name}"
        se, gw, vs, dr, ap = (by_kind[k][name]["spec"] for k in FIVE)
        namespaces = sorted(tenants[a].namespace for a in dest.apps)
        assert se["hosts"] == [dest.host] and se["resolution"] == "DNS"
        assert se["location"] == "MESH_EXTERNAL"
        assert se["exportTo"] == [".", *namespaces] == vs["exportTo"] == dr["exportTo"]
        assert dest.port in {p["number"] for p in se["ports"]}
        (server,) = gw["servers"]
        assert gw["selector"] == dict(GATEWAY_SELECTOR)
        assert server["hosts"] == [dest.host] and server["tls"] == {"mode": "ISTIO_MUTUAL"}
        assert server["port"]["number"] == dest.listener_port
        assert vs["hosts"] == [dest.host] and vs["gateways"] == ["mesh", name]
        assert dr["host"] == GATEWAY_HOST
        (subset,) = dr["subsets"]
        (port_tls,) = subset["trafficPolicy"]["portLevelSettings"]
        assert port_tls == {
            "port": {"number": dest.listener_port},
            "tls": {"mode": "ISTIO_MUTUAL", "sni": dest.host},
        }
        routes = [r for kind in ("tls", "tcp", "http") for r in vs.get(kind, [])]
        mesh_routes = [r for r in routes if r["match"][0]["gateways"] == ["mesh"]]
        gateway_routes = [r for r in routes if r["match"][0]["gateways"] == [name]]
        assert [r["route"][0]["destination"] for r in mesh_routes] == [
            {"host": GATEWAY_HOST, "subset": subset["name"], "port": {"number": dest.listener_port}}
        ]
        assert [r["route"][0]["destination"] for r in gateway_routes] == [
            {"host": dest.host, "port": {"number": dest.port}}
        ]
        if dest.protocol != "TCP" and not dest.tls_origination:
            assert mesh_routes[0]["match"][0]["sniHosts"] == [dest.host]
        assert ap["selector"] == {"matchLabels": dict(GATEWAY_SELECTOR)}
        assert ap["rules"][0]["when"] == [{"key": "connection.sni", "values": [dest.host]}]
        if dest.tls_origination:
            origination = objects(istio, "DestinationRule")[f"{name}-origination"]["spec"]
            assert origination["host"] == dest.host
            assert origination["trafficPolicy"]["portLevelSettings"] == [
                {"port": {"number": dest.port}, "tls": {"mode": "SIMPLE", "sni": dest.host}}
            ]


def admitted(policies: Mapping[str, dict[str, Any]], namespace: str, sni: str, port: int) -> bool:
    """Istio's ALLOW semantics on the gateway: any rule of any ALLOW policy matches."""
    for policy in policies.values():
        body = policy["spec"]
        if body.get("action", "ALLOW") != "ALLOW":
            continue
        for rule in body.get("rules", []):
            sources = [s["source"] for s in rule.get("from", [])]
            if sources and not any(namespace in s.get("namespaces", []) for s in sources):
                continue
            ops = [o["operation"] for o in rule.get("to", [])]
            if ops and not any(str(port) in o.get("ports", []) for o in ops):
                continue
            if all(
                sni in c["values"] for c in rule.get("when", []) if c["key"] == "connection.sni"
            ):
                return True
    return False


def test_authorization_admits_exactly_the_listed_apps(istio: Synth) -> None:
    policies = objects(istio, "AuthorizationPolicy")
    assert "allow-nothing" in policies and "rules" not in policies["allow-nothing"]["spec"]
    tenants = istio.deployment.tenants
    samples = [*(t.namespace for t in tenants), "default", "istio-egress", "intruder"]
    checked = 0
    for dest in spec(istio).destinations:
        allowed = {t.namespace for t in tenants if t.name in dest.apps}
        for namespace in samples:
            ok = admitted(policies, namespace, dest.host, dest.listener_port)
            assert ok == (namespace in allowed), (dest.name, namespace)
            checked += 1
        assert not admitted(policies, sorted(allowed)[0], "other.corp.example", dest.listener_port)
    assert checked >= 10
    ledger_only = next(d for d in spec(istio).destinations if d.apps == ("ledger",))
    assert not admitted(policies, "payments-api", ledger_only.host, ledger_only.listener_port)


# ----------------------------------------------------------------------------- no bypass


def test_app_namespaces_have_no_direct_on_prem_egress(istio: Synth) -> None:
    on_prem = [ipaddress.ip_network(c) for c in istio.config.on_prem_cidrs]
    for tenant in istio.deployment.tenants:
        chart = f"Tenant{''.join(p.capitalize() for p in tenant.name.split('-'))}"
        manifest = istio.manifests[chart]
        (ns,) = [o for o in manifest if o["kind"] == "Namespace"]
        assert ns["metadata"]["labels"]["istio-injection"] == "enabled"
        peers = []
        for policy in (o for o in manifest if o["kind"] == "NetworkPolicy"):
            for rule in policy["spec"].get("egress", []):
                peers += rule.get("to", [])
        for peer in peers:
            if "ipBlock" in peer:
                net = ipaddress.ip_network(peer["ipBlock"]["cidr"])
                assert not any(net.overlaps(o) for o in on_prem), (tenant.name, net)
        selected = {peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                    for peer in peers if "namespaceSelector" in peer}  # fmt: skip
        assert selected == {"kube-system", ISTIO_NAMESPACE, EGRESS_NAMESPACE}
    gateway_policies = objects(istio, "NetworkPolicy", "IstioEgressFence")
    reached = {
        peer["ipBlock"]["cidr"]
        for name, p in gateway_policies.items() if name.startswith("allow-on-prem-")
        for rule in p["spec"]["egress"] for peer in rule["to"]
    }  # fmt: skip
    assert reached and all(
        any(ipaddress.ip_network(c).subnet_of(o) for o in on_prem) for c in reached
    )


def test_kyverno_keeps_app_pods_in_the_mesh(istio: Synth) -> None:
    (policy,) = objects(istio, "ClusterPolicy").values()
    assert policy["metadata"]["name"] == MESH_POLICY
    text = json.dumps(policy["spec"])
    for forbidden in (
        "sidecar.istio.io/inject",
        "traffic.sidecar.istio.io/excludeOutboundIPRanges",
        "traffic.sidecar.istio.io/excludeOutboundPorts",
        "istio.io/dataplane-mode",
    ):
        assert forbidden in text
    namespaces = {t.namespace for t in istio.deployment.tenants}
    for rule in policy["spec"]["rules"]:
        assert rule["validate"]["failureAction"] == "Enforce"
        (match,) = rule["match"]["any"]
        assert set(match["resources"]["namespaces"]) == namespaces


def test_webhook_flow_agrees_everywhere(istio: Synth) -> None:
    """15017: cluster SG egress, control-plane NACL, istiod's fence and the declared flows."""
    resources = istio.cluster_template["Resources"]
    sg_ports = {
        r["Properties"]["FromPort"]
        for r in resources.values()
        if r["Type"] == "AWS::EC2::SecurityGroupEgress"
    } | {
        e["FromPort"]
        for r in resources.values()
        if r["Type"] == "AWS::EC2::SecurityGroup"
        for e in r["Properties"].get("SecurityGroupEgress", [])
    }
    assert WEBHOOK_PORT in sg_ports
    nacl_ports = {
        r["Properties"]["PortRange"]["From"]
        for r in resources.values()
        if r["Type"] == "AWS::EC2::NetworkAclEntry" and r["Properties"]["Egress"]
    }
    assert WEBHOOK_PORT in nacl_ports
    fence = objects(istio, "NetworkPolicy", "IstioSystemFence")
    ingress = fence["allow-webhook-istiod"]["spec"]["ingress"][0]
    assert ingress["ports"] == [{"port": WEBHOOK_PORT, "protocol": "TCP"}]
    assert fence["allow-xds"]["spec"]["ingress"][0]["ports"] == [
        {"port": XDS_PORT, "protocol": "TCP"}
    ]
    declared = [
        f for r in resources.values() for f in r.get("Metadata", {}).get(FLOWS_METADATA, [])
    ]
    assert {"from": "control-plane", "to": "nodes:eks-secure.io/pool=system",
            "port": WEBHOOK_PORT, "protocol": "tcp"} in declared  # fmt: skip
    assert WEBHOOK_PORT in spec(istio).cluster_options().control_plane_ports


# ----------------------------------------------------------------------------- allow-list


def test_allow_list_is_the_egress_subnets(istio: Synth) -> None:
    entries = {
        e.app: e for e in entries_from_template(istio.cluster_template) if not e.is_control_plane
    }
    plan = istio.deployment.plan.pool("istio-egress").member("gateway")
    assert set(entries) == {t.name for t in istio.deployment.tenants}
    for name, entry in entries.items():
        assert entry.pattern == "istio"
        assert sorted(entry.source_cidrs) == sorted(plan.cidrs)
        dests = spec(istio).destinations_of(name)
        assert entry.destination_hosts == tuple(sorted({d.host for d in dests}))
        tenant = next(t for t in istio.deployment.tenants if t.name == name)
        assert {d.port for d in dests} <= set(entry.ports) == set(tenant.ports)
        for dest in dests:  # where the gateway may connect for this app is on the entry
            for cidr in spec(istio).addresses_of(dest, istio.deployment.tenants):
                net = ipaddress.ip_network(cidr)
                assert any(net.subnet_of(ipaddress.ip_network(c)) for c in entry.destination_cidrs)


# ----------------------------------------------------------------------------- bad input


def _with_destination(**changes: Any) -> dict[str, Any]:
    data = _example()
    data["istio"]["destinations"][0].update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"protocol": "UDP"}, "istio.destinations[0].protocol"),
        ({"apps": []}, "istio.destinations[0].apps"),
        ({"host": "*.corp.example", "resolution": "NONE"}, "istio.destinations[0].resolution"),
        ({"host": "*.corp.example"}, "istio.destinations[0].host"),
        ({"host": "not a host"}, "istio.destinations[0].host"),
        ({"tls_origination": True}, "istio.destinations[0].tls_origination"),
        ({"apps": ["payments-api", "treasury"]}, "istio.destinations[0].apps[1]"),
    ],
)
def test_bad_destinations_name_the_field(changes: dict[str, Any], field: str) -> None:
    assert field in _fields(_with_destination(**changes))


def test_missing_section_and_unlisted_app_are_errors() -> None:
    data = _example()
    del data["istio"]
    assert "istio.destinations" in _fields(data)
    data = _example()
    data["istio"]["destinations"][1]["port"] = 5433
    assert "istio.destinations[1].port" in _fields(data), "outside the app's ports"
    data = _example()
    data["istio"]["destinations"][1]["addresses"] = ["172.16.0.0/24"]
    assert "istio.destinations[1].addresses[0]" in _fields(data), "outside its destinations"
    data = _example()
    data["istio"]["destinations"][1]["port"] = 443
    data["istio"]["destinations"][1]["protocol"] = "TCP"
    data["istio"]["destinations"][0]["port"] = 443
    assert "istio.destinations[0].port" in _fields(data)


def test_destination_model_checks_itself() -> None:
    with pytest.raises(ConfigErrors) as exc:
        IstioDestination.from_data({"name": "x", "host": "x.corp.example", "protocol": "TCP",
                                    "apps": ["a"]})  # fmt: skip
    assert "addresses" in exc.value.fields


# ----------------------------------------------------------------------------- stability


def test_template_snapshots(istio: Synth, snapshot: SnapshotAssertion) -> None:
    for name, template in sorted(istio.templates.items()):
        assert normalise(template) == snapshot(name=name)


def test_manifest_snapshot(istio: Synth, snapshot: SnapshotAssertion) -> None:
    assert istio.manifests == snapshot
