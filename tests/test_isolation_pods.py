"""Node and pod isolation features (config section ``isolation``): builders, config, synth."""

from __future__ import annotations

import copy
import ipaddress
import json
from typing import Any

import pytest
from manifest_validation import requires_crd_schemas, validate_all, validate_manifest
from synth import Synth, load_example
from template_checks import cfn_lint_findings

from eks_secure.config.loader import parse_config
from eks_secure.errors import ConfigError
from eks_secure.helm.images import leaf_paths, overlapping_paths
from eks_secure.isolation import host_protection as hp
from eks_secure.isolation import subnet_nacls as nacls
from eks_secure.registry.mirror import ImageMirror

pytestmark = pytest.mark.xdist_group("isolation-pods")

MIRROR = ImageMirror(root="111111111111.dkr.ecr.eu-west-1.amazonaws.com/eks-secure")
NODES = ("10.20.0.0/16",)


def _config(**isolation: Any) -> dict[str, Any]:
    data = load_example("isolation-pods")
    data["isolation"] = isolation
    return data


def _errors(data: dict[str, Any]) -> list[ConfigError]:
    with pytest.raises(ConfigError) as info:
        parse_config(copy.deepcopy(data))
    exc = info.value
    return list(getattr(exc, "errors", [exc]))


# -- host protection: the policy objects -------------------------------------------------------


@requires_crd_schemas
@pytest.mark.parametrize(
    "obj",
    [
        hp.calico_tier(),
        hp.calico_host_protection_policy(NODES),
        hp.calico_host_protection_policy(NODES, exempt_namespaces=["monitoring", "kube-system"]),
        hp.cilium_host_firewall_policy(),
        hp.cilium_host_firewall_policy(exempt_namespaces=["monitoring"], imds=False),
    ],
    ids=["tier", "gnp", "gnp-exempt", "ccnp", "ccnp-exempt"],
)
def test_policy_objects_match_their_crd_schemas(obj: dict[str, Any]) -> None:
    assert validate_manifest(obj, "1.34") == []


def test_calico_policy_denies_node_services_and_imds_then_passes() -> None:
    policy = hp.calico_host_protection_policy(["10.20.0.0/16", "100.64.0.0/16"])
    spec = policy["spec"]
    assert spec["tier"] == hp.TIER and policy["metadata"]["name"].startswith(f"{hp.TIER}.")
    assert spec["types"] == ["Egress"]  # ingress is left to the normal policies
    deny_ports, deny_imds, last = spec["egress"]
    assert deny_ports["action"] == "Deny" and deny_ports["protocol"] == "TCP"
    assert deny_ports["destination"] == {
        "nets": ["10.20.0.0/16", "100.64.0.0/16"],
        "ports": [22, 10250],
    }
    assert deny_imds == {"action": "Deny", "destination": {"nets": ["169.254.169.254/32"]}}
    assert last == {"action": "Pass"}
    assert hp.calico_tier()["spec"]["defaultAction"] == "Pass"
    assert spec["namespaceSelector"] == "all()"


def test_exempt_namespaces_become_a_not_in_selector() -> None:
    policy = hp.calico_host_protection_policy(NODES, exempt_namespaces=["b", "a"])
    assert policy["spec"]["namespaceSelector"] == "kubernetes.io/metadata.name not in {'a', 'b'}"
    ccnp = hp.cilium_host_firewall_policy(exempt_namespaces=["b", "a"])
    (expr,) = ccnp["spec"]["endpointSelector"]["matchExpressions"]
    assert expr["operator"] == "NotIn" and expr["values"] == ["a", "b"]


def test_cilium_policy_only_adds_denies() -> None:
    spec = hp.cilium_host_firewall_policy()["spec"]
    assert spec["enableDefaultDeny"] == {"egress": False, "ingress": False}
    assert "egress" not in spec and "ingress" not in spec
    entities, imds = spec["egressDeny"]
    assert entities["toEntities"] == ["host", "remote-node"]
    assert {p["port"] for p in entities["toPorts"][0]["ports"]} == {"22", "10250"}
    assert imds == {"toCIDR": ["169.254.169.254/32"]}


def test_calico_policy_needs_node_cidrs() -> None:
    with pytest.raises(ConfigError, match="node subnet"):
        hp.calico_host_protection_policy([])
    with pytest.raises(ConfigError, match="twice"):
        hp.calico_host_protection_policy(["10.0.0.0/16", "10.0.0.0/16"])


# -- host protection: chart values --------------------------------------------------------------


def test_calico_values_are_policy_only_on_the_vpc_cni() -> None:
    values = hp.calico_values({"eks-secure.io/pool": "system"})
    installation = values["installation"]
    assert installation["kubernetesProvider"] == "EKS"
    assert installation["cni"] == {"type": "AmazonVPC"}
    assert installation["calicoNetwork"] == {"bgp": "Disabled"}
    assert values["apiServer"] == {"enabled": True}  # serves projectcalico.org/v3
    assert values["goldmane"] == {"enabled": False} and values["whisker"] == {"enabled": False}


def test_every_calico_image_value_points_into_the_mirror() -> None:
    images = hp.calico_image_values(MIRROR)
    root = MIRROR.root + "/"
    assert images["tigeraOperator"]["registry"] == f"{root}quay"
    assert images["tigeraOperator"]["image"] == "tigera/operator"
    assert images["tigeraOperator"]["version"] == hp.OPERATOR_VERSION
    assert images["calicoctl"]["image"] == f"{root}docker-hub/calico/ctl"
    assert images["installation"]["registry"] == f"{root}quay/"  # operator needs the slash
    assert overlapping_paths(hp.calico_values({}), images) == []
    # every operator-deployed image resolves inside the mirror from these values
    for upstream in hp.CALICO_OPERATOR_IMAGES:
        name = upstream.split("/", 1)[1]
        assert MIRROR.contains(images["installation"]["registry"] + name)
    assert ("installation", "imagePath") in leaf_paths(images)


# -- config errors -------------------------------------------------------------------------------


def test_exempting_an_app_namespace_is_an_error() -> None:
    (error,) = _errors(_config(host_protection={"exempt_namespaces": ["ledger-core"]}))
    assert error.field == "isolation.host_protection.exempt_namespaces[0]"
    assert "ledger" in error.problem


def test_chart_version_with_a_leading_v_is_an_error() -> None:
    errors = _errors(_config(host_protection={"chart_version": "v3.30.3"}))
    assert [e.field for e in errors] == ["isolation.host_protection.chart_version"]


def test_unknown_isolation_key_is_an_error() -> None:
    errors = _errors(_config(host_protectoin={}))
    assert errors[0].field.startswith("isolation")


def test_host_protection_needs_the_vpc_cni() -> None:
    from eks_secure import rules

    (problem,) = rules.host_protection_cni(False, "cilium", "isolation.host_protection")
    assert problem.field == "isolation.host_protection" and "cilium" in problem.problem
    assert rules.host_protection_cni(True, "subnet-per-app", "isolation.host_protection") == []


# -- the synthesized example ---------------------------------------------------------------------


def _resources(deployment: Synth, kind: str) -> list[dict[str, Any]]:
    return [
        r
        for template in deployment.templates.values()
        for r in template.get("Resources", {}).values()
        if r["Type"] == kind
    ]


def test_example_installs_calico_from_the_ecr_mirror(isolation_pods: Synth) -> None:
    (calico,) = [
        r
        for r in _resources(isolation_pods, "Custom::AWSCDK-EKS-HelmChart")
        if r["Properties"].get("Chart") == hp.CALICO_CHART
    ]
    props = calico["Properties"]
    assert props["Version"] == hp.CALICO_CHART_VERSION
    assert props["Namespace"] == hp.CALICO_NAMESPACE and props["Release"] == hp.CALICO_RELEASE
    repository = json.dumps(props["Repository"])
    assert "eks-secure/tigera-operator" in repository and repository.count("oci://") == 1
    values = json.dumps(props["Values"])
    assert "quay.io" not in values and "docker.io" not in values
    assert '\\"kubernetesProvider\\":\\"EKS\\"' in values


def test_example_ships_the_tier_and_policy_after_calico(isolation_pods: Synth) -> None:
    objects = isolation_pods.manifests["HostProtectionPolicy"]
    assert [o["kind"] for o in objects] == ["Tier", "GlobalNetworkPolicy"]
    policy = objects[1]
    # every VPC block: the primary and custom networking's secondary (100.64.0.0/16)
    assert policy["spec"]["egress"][0]["destination"]["nets"] == [
        isolation_pods.config.vpc_cidr,
        "100.64.0.0/16",
    ]
    cluster = isolation_pods.deployment.secure_cluster
    manifest = cluster.manifests["HostProtectionPolicy"]
    release = isolation_pods.deployment.isolation
    assert release is not None and release.host_protection is not None
    paths = {d.node.path for d in manifest.node.dependencies}
    assert release.host_protection.release.chart.node.path in paths


def test_example_synthesizes_nag_clean(isolation_pods: Synth) -> None:
    assert isolation_pods.synth_error is None, isolation_pods.synth_error
    assert isolation_pods.nag_errors() == []


def test_example_cfn_lint_has_no_errors_in_any_template(isolation_pods: Synth) -> None:
    for name, template in isolation_pods.templates.items():
        assert cfn_lint_findings(template, isolation_pods.config.region) == [], name


@requires_crd_schemas
def test_example_manifests_validate(isolation_pods: Synth) -> None:
    for chart in ("HostProtectionPolicy", "PodSecurityGroupPolicies"):
        assert validate_all(isolation_pods.manifests[chart], "1.34") == {}, chart


# -- security groups for pods --------------------------------------------------------------------


def _tenant() -> Any:
    from eks_secure.egress.contract import Tenant

    return Tenant(
        name="ledger", namespace="ledger-core", destinations=("10.2.4.0/24",), ports=(5432,)
    )


@requires_crd_schemas
def test_security_group_policy_matches_its_crd_schema() -> None:
    from eks_secure.isolation.pod_security_groups import security_group_policy

    policy = security_group_policy(_tenant(), ["sg-0123456789abcdef0"])
    assert validate_manifest(policy, "1.34") == []
    assert policy["metadata"]["namespace"] == "ledger-core"
    assert policy["spec"]["podSelector"] == {}  # every pod of the app's namespace


def test_egress_rules_are_destinations_times_ports() -> None:
    from eks_secure.egress.contract import Tenant
    from eks_secure.isolation.pod_security_groups import egress_rules

    tenant = Tenant(name="a", destinations=("10.1.0.0/16", "10.2.0.0/16"), ports=(443, 8443))
    assert {(r.cidr, r.port) for r in egress_rules(tenant)} == {
        ("10.1.0.0/16", 443),
        ("10.1.0.0/16", 8443),
        ("10.2.0.0/16", 443),
        ("10.2.0.0/16", 8443),
    }


@pytest.mark.parametrize("itype", ["t3.large", "t4g.medium", "m4.large", "c4.xlarge"])
def test_instance_types_without_trunk_enis_are_rejected(itype: str) -> None:
    data = _config(pod_security_groups={})
    data["apps"][1]["nodes"]["instance_types"] = [itype]
    (error,) = _errors(data)
    assert error.field == "apps[1].nodes.instance_types[0]"
    assert "trunk ENI" in error.problem


def test_system_node_instance_types_are_checked_too() -> None:
    data = _config(pod_security_groups={})
    data["system_nodes"] = {"instance_types": ["t3.xlarge"]}
    (error,) = _errors(data)
    assert error.field == "system_nodes.instance_types[0]"


def test_nitro_and_a1_instance_types_are_accepted() -> None:
    from eks_secure import rules

    for itype in ("m5.large", "m7g.large", "c7i.xlarge", "r6id.2xlarge", "a1.large"):
        assert rules.trunk_eni_instance_type(itype, "x") == []


def test_unknown_app_in_pod_security_groups_is_an_error() -> None:
    (error,) = _errors(_config(pod_security_groups={"apps": ["ledger", "legder"]}))
    assert error.field == "isolation.pod_security_groups.apps[1]"
    assert "ledger" in error.fix


def _cluster_resources(deployment: Synth, kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: r
        for logical_id, r in deployment.cluster_template["Resources"].items()
        if r["Type"] == kind
    }


def test_example_pod_security_groups_allow_only_destinations_ports_and_dns(
    isolation_pods: Synth,
) -> None:
    isolation = isolation_pods.deployment.isolation
    assert isolation is not None and isolation.pod_security_groups is not None
    groups = isolation.pod_security_groups.security_groups
    assert sorted(groups) == ["fraud-scoring", "ledger", "payments-api"]
    stack = isolation_pods.deployment
    resources = isolation_pods.cluster_template["Resources"]
    for app in isolation_pods.config.tenants:
        props = resources[stack.get_logical_id(groups[app.name].node.default_child)]["Properties"]
        egress = props["SecurityGroupEgress"]
        cidr_rules = {(r["CidrIp"], r["FromPort"], r["ToPort"]) for r in egress if "CidrIp" in r}
        assert cidr_rules == {(c, p, p) for c in app.destinations for p in app.ports}
        assert "SecurityGroupIngress" not in props
    # DNS to the cluster security group, TCP and UDP 53, as separate egress resources
    dns = [
        r["Properties"]
        for r in _cluster_resources(isolation_pods, "AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"].get("FromPort") == 53
    ]
    assert sorted(d["IpProtocol"] for d in dns) == ["tcp", "tcp", "tcp", "udp", "udp", "udp"]
    assert all("DestinationSecurityGroupId" in d for d in dns)


def test_example_turns_pod_enis_on_and_ships_the_policies(isolation_pods: Synth) -> None:
    (addon,) = [
        r["Properties"]
        for r in _cluster_resources(isolation_pods, "AWS::EKS::Addon").values()
        if r["Properties"]["AddonName"] == "vpc-cni"
    ]
    env = json.loads(addon["ConfigurationValues"])["env"]
    assert env["ENABLE_POD_ENI"] == "true"
    assert env["POD_SECURITY_GROUP_ENFORCING_MODE"] == "standard"
    policies = isolation_pods.manifests["PodSecurityGroupPolicies"]
    assert sorted(p["metadata"]["namespace"] for p in policies) == [
        "fraud-scoring",
        "ledger-core",
        "payments-api",
    ]
    assert "AmazonEKSVPCResourceController" in json.dumps(isolation_pods.cluster_template)


# -- custom networking (building blocks) -----------------------------------------------------------


@requires_crd_schemas
def test_eni_configs_match_their_crd_schema_one_per_az() -> None:
    from eks_secure.isolation.custom_networking import eni_configs

    configs = eni_configs(
        {"eu-west-1b": "subnet-0bbbbbbbbbbbbbbbb", "eu-west-1a": "subnet-0aaaaaaaaaaaaaaaa"},
        ["sg-0123456789abcdef0"],
    )
    assert [c["metadata"]["name"] for c in configs] == ["eu-west-1a", "eu-west-1b"]
    assert configs[0]["spec"] == {
        "subnet": "subnet-0aaaaaaaaaaaaaaaa",
        "securityGroups": ["sg-0123456789abcdef0"],
    }
    for config in configs:
        assert validate_manifest(config, "1.34") == []


@pytest.mark.parametrize(
    ("itype", "pod_eni", "expected"),
    [
        ("m5.large", False, 20),  # 29 without custom networking: one ENI fewer
        ("m7i.xlarge", False, 44),
        ("r7i.4xlarge", False, 205),
        ("m7i.large", True, 11),  # the trunk ENI takes another slot
        ("t3.large", False, 24),  # (3 ENIs, 12 addresses each) in the VPC CNI's table
    ],
)
def test_max_pods_leave_the_primary_eni_out(itype: str, pod_eni: bool, expected: int) -> None:
    from eks_secure.isolation.custom_networking import max_pods

    assert max_pods(itype, pod_eni=pod_eni) == expected


@pytest.mark.parametrize("itype", ["z9.large", "m7i.huge"])
def test_max_pods_of_unknown_types_is_an_error(itype: str) -> None:
    from eks_secure.isolation.custom_networking import max_pods

    with pytest.raises(ConfigError, match="max_pods"):
        max_pods(itype, field="apps[0].nodes.instance_types[0]")


def test_custom_networking_is_refused_where_pods_leave_unsnatted() -> None:
    from eks_secure.isolation.custom_networking import pattern_problems

    (problem,) = pattern_problems(
        {"AWS_VPC_K8S_CNI_EXTERNALSNAT": "true"}, "private-nat", "isolation.custom_networking"
    )
    assert "private-nat" in problem.problem
    assert pattern_problems({}, "subnet-per-app", "isolation.custom_networking") == []


# -- subnet NACLs (admin subnets, SSH only from them) -------------------------------------------


@pytest.mark.parametrize(
    ("ports", "field", "text"),
    [
        ([10250], "isolation.subnet_nacls.admin_ports[0]", "kubelet"),
        ([22, 443], "isolation.subnet_nacls.admin_ports[1]", "Kubernetes API"),
        ([22, 22], "isolation.subnet_nacls.admin_ports[1]", "twice"),
        ([], "isolation.subnet_nacls.admin_ports", "empty"),
        (list(range(20, 29)), "isolation.subnet_nacls.admin_ports", "at most 8"),
    ],
)
def test_bad_admin_ports_are_errors(ports: list[int], field: str, text: str) -> None:
    errors = _errors(_config(subnet_nacls={"admin_ports": ports}))
    assert any(e.field == field and text in f"{e.problem} {e.fix}" for e in errors), errors


def test_admin_pool_comes_after_the_patterns_pools() -> None:
    from eks_secure.config.plan import plan_for

    data = load_example("private-nat")
    without = plan_for(parse_config(copy.deepcopy(data)))
    data["isolation"] = {"subnet_nacls": {"admin_subnet_prefix": 27}}
    with_admin = plan_for(parse_config(data))
    assert with_admin.pool("nat") == without.pool("nat")  # turning it on moves no NAT subnet
    assert with_admin.apps == without.apps
    admin = with_admin.pool(nacls.ADMIN_POOL).member(nacls.ADMIN_MEMBER)
    assert [s.cidr.endswith("/27") for s in admin.subnets] == [True] * 3
    used = [s.cidr for s in without.all_subnets()]
    assert not any(
        ipaddress.IPv4Network(a).overlaps(ipaddress.IPv4Network(u))
        for a in admin.cidrs
        for u in used
    )


def test_nacl_entries_keep_admin_ports_for_the_admin_block_only() -> None:
    entries = nacls.node_nacl_entries("10.20.5.128/26", [22, 3389])
    inbound = sorted((e for e in entries if not e.egress), key=lambda e: e.number)
    allow_all = inbound[-1]
    assert (allow_all.allow, allow_all.cidr, allow_all.protocol) == (True, "0.0.0.0/0", -1)
    for port in (22, 3389):
        (allow,) = [e for e in inbound if e.port == port and e.allow]
        (deny,) = [e for e in inbound if e.port == port and not e.allow]
        assert allow.cidr == "10.20.5.128/26" and deny.cidr == "0.0.0.0/0"
        assert allow.number < deny.number < allow_all.number
    (outbound,) = [e for e in entries if e.egress]
    assert (outbound.allow, outbound.cidr, outbound.protocol) == (True, "0.0.0.0/0", -1)
    # a port's numbers come from the port alone: adding one renumbers no other entry
    alone = {e.name: e.number for e in nacls.node_nacl_entries("10.20.5.128/26", [22])}
    assert all(alone[e.name] == e.number for e in entries if e.name in alone)


def _network(isolation_pods: Synth) -> Any:
    from eks_secure.preflight.assembly import load
    from eks_secure.preflight.check_network import model_of

    return model_of(load(isolation_pods.outdir))


def test_example_node_subnets_admit_ssh_only_from_the_admin_subnets(isolation_pods: Synth) -> None:
    model = _network(isolation_pods)
    net = model.network
    subnet_nacls = isolation_pods.deployment.isolation.subnet_nacls
    admin = ipaddress.IPv4Network(subnet_nacls.admin_cidr)
    node_subnets = {
        k for name, p in model.parties.items() if name.startswith("nodes ") for k in p.subnets
    }
    # system nodes and the three apps' subnets, one per AZ each
    assert len(node_subnets) == 3 * 4
    vpc = ipaddress.IPv4Network(isolation_pods.config.vpc_cidr)
    on_prem = ipaddress.IPv4Network(isolation_pods.config.on_prem_cidrs[0])
    for k in node_subnets:
        acl = net.subnets[k].acl
        assert acl is not None, k
        assert net.acl_allows(acl, False, 6, (22, 22), admin)
        for peer in (vpc, on_prem, ipaddress.IPv4Network("0.0.0.0/0")):
            assert not net.acl_allows(acl, False, 6, (22, 22), peer), (k, peer)
        # stateless: the reply to an admin's SSH leaves on ephemeral ports
        assert net.acl_allows(acl, True, 6, (1024, 65535), admin)
    # the control-plane subnets keep their own NACL, the admin subnets the VPC default
    control_plane = model.parties["control-plane"].subnets
    assert all(
        net.subnets[k].acl not in {net.subnets[n].acl for n in node_subnets} for k in control_plane
    )
    admin_subnets = [s for s in net.subnets.values() if s.cidr.subnet_of(admin)]
    assert len(admin_subnets) == 3 and all(s.acl is None for s in admin_subnets)


def test_example_every_cluster_flow_passes_the_node_nacl(isolation_pods: Synth) -> None:
    from eks_secure.preflight.flows import trace

    model = _network(isolation_pods)
    net = model.network
    crossing = 0
    for flow in model.flows:
        source = model.parties[flow.source]
        target = model.parties.get(flow.destination.party or "")
        ends = [*source.subnets, *(target.subnets if target else [])]
        if not any(net.subnets[k].acl is not None for k in ends if k in net.subnets):
            continue
        for subnet in source.subnets:
            crossing += 1
            assert [f for f in trace(model, flow, subnet).failures if "NACL" in f] == [], flow
    # node bootstrap, kubelet, webhooks, app egress to on-prem: every kind crosses the NACL
    reasons = {f.reason for f in model.flows}
    assert {"node bootstrap", "kubelet", "webhook"} <= reasons
    assert any(r.startswith("app ") for r in reasons)
    assert crossing > 50


def test_node_launch_templates_name_no_security_group(isolation_pods: Synth) -> None:
    """Every node carries the EKS cluster security group only: no launch template names a
    group (docs/security-posture.md, "Cluster security group and the ports the cluster
    needs"), so there is no library-created node group of rules to narrow."""
    found = 0
    for template in isolation_pods.templates.values():
        for resource in template.get("Resources", {}).values():
            if resource["Type"] != "AWS::EC2::LaunchTemplate":
                continue
            found += 1
            data = resource["Properties"]["LaunchTemplateData"]
            assert "SecurityGroupIds" not in data and "SecurityGroups" not in data
            for nic in data.get("NetworkInterfaces", []):
                assert "Groups" not in nic
    assert found == 4  # system nodes and the three apps'
