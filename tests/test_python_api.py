"""The library route (no YAML): a short app works, and realistic mistakes name field and fix.

Every mistake here is made against the public Python API and must raise a field-named
``ConfigError`` at construction, never a raw KeyError/AttributeError, a jsii error or nothing.
The deployments are built without synthesis (construction is where the checks run), so the
module stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import jsii
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import IConstruct

from eks_secure import (
    ConfigError,
    DeploymentConfig,
    EksSecureDeployment,
    NodeGroupSize,
    OnPremRoute,
    PrivateNatApp,
    PrivateNatEgress,
    SubnetPerAppEgress,
    Tenant,
)
from eks_secure.cluster.creator_role import creator_stack_synthesizer
from eks_secure.cluster.tagging import CLUSTER_TAG
from eks_secure.egress.private_nat.construct import PrivateNat
from eks_secure.egress.subnet_per_app.construct import SubnetPerApp

pytestmark = pytest.mark.xdist_group("python-api")

ADMIN = "arn:aws:iam::111111111111:role/platform-admin"
ON_PREM = ("10.0.0.0/14",)


def settings(**overrides: Any) -> DeploymentConfig:
    values: dict[str, Any] = {
        "cluster_name": "demo",
        "vpc_cidr": "10.20.0.0/16",
        "availability_zones": ("eu-west-1a", "eu-west-1b", "eu-west-1c"),
        "kubernetes_version": "1.34",
        "admin_role_arns": (ADMIN,),
        "on_prem_cidrs": ON_PREM,
        "on_prem_route": OnPremRoute(transit_gateway_id="tgw-0a1b2c3d4e5f67890"),
    }
    values.update(overrides)
    return DeploymentConfig(**values)


def tenant(name: str = "payments-api", **overrides: Any) -> Tenant:
    values: dict[str, Any] = {"name": name, "destinations": ("10.1.0.0/16",)}
    values.update(overrides)
    return Tenant(**values)


def field_of(build: Callable[[], object]) -> str:
    with pytest.raises(ConfigError) as info:
        build()
    assert info.value.fix, str(info.value)
    assert "Fix:" in str(info.value)
    return info.value.field


def deploy(**kwargs: Any) -> EksSecureDeployment:
    kwargs.setdefault("settings", settings())
    return EksSecureDeployment(cdk.App(), "Cluster", **kwargs)


# ------------------------------------------------------------------------------ a short app


def test_a_private_nat_deployment_is_a_few_lines() -> None:
    deployment = deploy(
        egress=PrivateNatEgress(apps={"payments-api": PrivateNatApp(nat_group="core")}),
        tenants=[tenant()],
    )
    assert deployment.stack_name == "demo-cluster"
    assert deployment.creator_stack.stack_name == "demo-creator"
    assert deployment.egress is not None and isinstance(deployment.egress, PrivateNat)
    # the pattern set what it needs on the cluster itself: pods keep their IPs up to the NAT
    assert deployment.secure_cluster.vpc_cni_env == {"AWS_VPC_K8S_CNI_EXTERNALSNAT": "true"}


def test_a_pattern_added_to_a_cluster_by_hand_configures_the_cluster_itself() -> None:
    """PrivateNat built directly on a cluster made without its options still gets SNAT right."""
    deployment = deploy()
    cluster = deployment.secure_cluster
    assert cluster.vpc_cni_env == {}
    spec = PrivateNatEgress(apps={"payments-api": PrivateNatApp(nat_group="core")})
    with pytest.raises(ConfigError):  # the cluster's plan has no NAT pool for the group
        PrivateNat(deployment, "Egress", cluster=cluster, tenants=[tenant()], spec=spec)
    assert cluster.vpc_cni_env == {"AWS_VPC_K8S_CNI_EXTERNALSNAT": "true"}


def test_add_nodegroup_keeps_the_system_nodes_invariants() -> None:
    deployment = deploy()
    cluster = deployment.secure_cluster
    extra = cluster.add_nodegroup(
        "Batch", subnets=cluster.network.system_node_subnets, size=NodeGroupSize()
    )
    assert extra in cluster.nodegroups
    assert cluster.network.endpoints is not None
    assert cluster.network.endpoints in extra.node.dependencies
    options = extra.launch_template.node.default_child
    assert isinstance(options, cdk.CfnResource)
    metadata = deployment.resolve(options._raw_overrides if False else None)
    assert metadata is None  # the launch template is the hardened one (checked in synth tests)
    assert extra.launch_template is not cluster.system_nodes.launch_template


def test_node_prerequisites_apply_to_existing_and_later_node_groups() -> None:
    deployment = deploy()
    cluster = deployment.secure_cluster
    barrier = cdk.CfnWaitConditionHandle(deployment, "Barrier")
    cluster.add_node_prerequisite(barrier)
    later = cluster.add_nodegroup(
        "Later", subnets=cluster.network.system_node_subnets, size=NodeGroupSize()
    )
    for nodegroup in (cluster.system_nodes, later):
        assert barrier in nodegroup.nodegroup.node.dependencies


# ------------------------------------------------------------------- the cluster tag


def test_every_taggable_resource_of_a_creator_deployed_stack_is_tagged() -> None:
    app = cdk.App()
    deployment = EksSecureDeployment(app, "Cluster", settings=settings())
    assembly = app.synth()
    template = assembly.get_stack_by_name(deployment.stack_name).template
    tagged = [
        r
        for r in template["Resources"].values()
        if isinstance(r.get("Properties", {}).get("Tags"), list)
    ]
    assert tagged
    for resource in tagged:
        assert {"Key": CLUSTER_TAG, "Value": "demo"} in resource["Properties"]["Tags"]


@jsii.implements(cdk.IAspect)
class _AddsARole:
    """A user's aspect that adds a role to the stack when it visits the stack."""

    def __init__(self, stack: cdk.Stack) -> None:
        self.stack = stack

    def visit(self, node: IConstruct) -> None:
        if node is self.stack and self.stack.node.try_find_child("AspectRole") is None:
            iam.Role(self.stack, "AspectRole", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))


def test_roles_added_after_the_cluster_get_the_path_and_boundary() -> None:
    """The deployment guards run at synthesis, once per stack: a role a user adds after the
    cluster, or from an aspect of their own on the stack, gets the role path and the
    permissions boundary the creator role requires, and a custom resource its ServiceTimeout."""
    app = cdk.App()
    deployment = EksSecureDeployment(app, "Cluster", settings=settings())
    iam.Role(deployment, "LaterRole", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"))
    cdk.CustomResource(
        deployment,
        "LaterResource",
        service_token="arn:aws:lambda:eu-west-1:111111111111:function:demo-x",
        resource_type="Custom::Later",
    )
    cdk.Aspects.of(deployment).add(_AddsARole(deployment))
    template = app.synth().get_stack_by_name(deployment.stack_name).template
    roles = {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
    }
    for prefix in ("LaterRole", "AspectRole"):
        (props,) = [p for logical_id, p in roles.items() if logical_id.startswith(prefix)]
        assert props["Path"] == "/eks-secure/demo/"
        assert "demo-boundary" in json.dumps(props["PermissionsBoundary"])
    (custom,) = [
        r["Properties"] for r in template["Resources"].values() if r["Type"] == "Custom::Later"
    ]
    assert "ServiceTimeout" in custom


def test_a_creator_deployed_stack_with_an_untagged_resource_fails_synthesis() -> None:
    app = cdk.App()
    stack = cdk.Stack(
        app,
        "Own",
        synthesizer=creator_stack_synthesizer("demo"),
        env=cdk.Environment(account="111111111111", region="eu-west-1"),
    )
    kms.Key(stack, "Key")
    with pytest.raises(Exception, match=CLUSTER_TAG):
        app.synth()


# ------------------------------------------------------------------- Python-API mistakes


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: tenant("Payments"), "Tenant.name"),
        (lambda: tenant(namespace="kube-system"), "Tenant.namespace"),
        (lambda: tenant(ports=[70000]), "Tenant.ports[0]"),
        (lambda: tenant(ports=["443"]), "Tenant.ports[0]"),
        (lambda: tenant(team_roles=["payments-team"]), "Tenant.team_roles[0]"),
        (lambda: tenant(destinations="10.1.0.0/16"), "Tenant.destinations"),
        (lambda: tenant(destinations=["10.1.0.1/16"]), "Tenant.destinations[0]"),
        (lambda: settings(cluster_name="a" * 100), "DeploymentConfig.cluster_name"),
        (lambda: settings(vpc_cidr="8.8.0.0/16"), "DeploymentConfig.vpc_cidr"),
        (
            lambda: settings(availability_zones=("eu-west-1a",)),
            "DeploymentConfig.availability_zones",
        ),
        (lambda: NodeGroupSize(min_size=5, max_size=3), "NodeGroupSize.min_size"),
        (
            lambda: deploy(tenants=[{"name": "x"}], egress=SubnetPerAppEgress()),
            "EksSecureDeployment.tenants[0]",
        ),
        (lambda: deploy(tenants=[tenant()]), "EksSecureDeployment.tenants"),
        (lambda: deploy(egress="subnet-per-app"), "EksSecureDeployment.egress"),
        (
            lambda: deploy(
                tenants=[tenant(destinations=["8.8.8.0/24"])], egress=SubnetPerAppEgress()
            ),
            "Tenant.destinations[0]",
        ),
        (
            lambda: deploy(tenants=[tenant(), tenant()], egress=SubnetPerAppEgress()),
            "Tenant.name",
        ),
        (
            lambda: deploy(
                tenants=[tenant()],
                egress=PrivateNatEgress(apps={"payments-api": PrivateNatApp()}),
            ),
            "PrivateNatEgress.apps[payments-api].nat_group",
        ),
        (
            lambda: deploy(
                tenants=[tenant()],
                egress=SubnetPerAppEgress(apps={"ledger": PrivateNatApp()}),
            ),
            "SubnetPerAppEgress.apps[ledger]",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_mistakes_name_their_field(build: Callable[[], object], field: str) -> None:
    assert field_of(build) == field


def test_strings_where_roles_are_expected() -> None:
    from eks_secure.cluster.cluster import SecureCluster

    deployment = deploy()
    assert (
        field_of(
            lambda: SecureCluster(
                deployment,
                "Other",
                network=deployment.network,
                cluster_name="other",
                kubernetes_version="1.34",
                admin_roles=[ADMIN],  # type: ignore[list-item]
            )
        )
        == "SecureCluster.admin_roles[0]"
    )


def test_a_tenant_missing_from_the_plan() -> None:
    deployment = deploy(egress=SubnetPerAppEgress(), tenants=[tenant()])
    assert (
        field_of(
            lambda: SubnetPerApp(
                deployment,
                "More",
                cluster=deployment.secure_cluster,
                tenants=[tenant("ledger")],
                spec=SubnetPerAppEgress(),
            )
        )
        == "Tenant.name"
    )


def test_the_same_tenant_in_two_patterns() -> None:
    deployment = deploy(egress=SubnetPerAppEgress(), tenants=[tenant()])
    with pytest.raises(ConfigError) as info:
        SubnetPerApp(
            deployment,
            "Again",
            cluster=deployment.secure_cluster,
            tenants=[tenant()],
            spec=SubnetPerAppEgress(),
        )
    assert info.value.field == "Tenant.name"
    assert "already served" in info.value.problem


def test_a_cluster_that_is_not_a_secure_cluster() -> None:
    deployment = deploy()
    role = iam.Role(deployment, "R", assumed_by=iam.AccountRootPrincipal())
    assert (
        field_of(
            lambda: SubnetPerApp(
                deployment,
                "X",
                cluster=role,
                tenants=[tenant()],
                spec=SubnetPerAppEgress(),  # type: ignore[arg-type]
            )
        )
        == "SubnetPerApp.cluster"
    )


def test_two_kyverno_installs_on_one_cluster() -> None:
    from eks_secure.cluster.kyverno import KyvernoInstall
    from eks_secure.config.model import KyvernoSettings

    deployment = deploy(egress=SubnetPerAppEgress(), tenants=[tenant()])
    cluster = deployment.secure_cluster
    assert cluster.policy_engine() is cluster.policy_engine()
    assert (
        field_of(
            lambda: KyvernoInstall(cluster, "Second", cluster=cluster, settings=KyvernoSettings())
        )
        == "KyvernoInstall.cluster"
    )
