"""The base reference deployment: security invariants, real linters, snapshots, determinism."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match
from manifest_validation import validate_all
from synth import Synth, load_example, normalise, synth_config
from syrupy.assertion import SnapshotAssertion
from template_checks import cfn_lint_findings, only, props, ref_id, resources

pytestmark = pytest.mark.xdist_group("base")

EXPECTED_LOG_TYPES = {"api", "audit", "authenticator", "controllerManager", "scheduler"}


def test_synthesis_succeeds_with_cdk_nag_clean(base: Synth) -> None:
    """cdk-nag's AwsSolutions pack ran during synth and left no unacknowledged error."""
    assert base.synth_error is None, base.synth_error
    assert base.nag_errors() == []


def test_every_acknowledgment_has_a_reason(base: Synth) -> None:
    """Each acknowledged finding carries a written reason where it is applied."""
    acknowledged: dict[str, str] = {}
    for stack in (base.deployment.creator_stack, base.deployment.cluster_stack):
        for construct in stack.node.find_all():
            for entry in construct.node.metadata:
                if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                    for rule, reason in entry.data.items():
                        acknowledged[f"{construct.node.path} {rule}"] = reason
    assert len(acknowledged) > 20
    for where, reason in acknowledged.items():
        assert len(reason.strip()) > 20, where


def test_customer_routed_warning_is_emitted(base: Synth) -> None:
    annotations = Annotations.from_stack(base.deployment.cluster_stack)
    annotations.has_warning("*", Match.string_like_regexp("CUSTOMER_ROUTED.*never switch"))


@pytest.mark.parametrize("template_name", ["Creator.template.json", "Cluster.template.json"])
def test_cfn_lint_has_no_errors(base: Synth, template_name: str) -> None:
    assert cfn_lint_findings(base.templates[template_name], base.config.region) == []


@pytest.mark.parametrize("template_name", ["Creator.template.json", "Cluster.template.json"])
def test_template_snapshot(base: Synth, template_name: str, snapshot: SnapshotAssertion) -> None:
    assert normalise(base.templates[template_name]) == snapshot


def test_manifest_snapshot(base: Synth, snapshot: SnapshotAssertion) -> None:
    assert base.manifests == snapshot


def test_manifests_validate_against_the_cluster_version(base: Synth) -> None:
    for chart, objects in base.manifests.items():
        assert validate_all(objects, base.config.kubernetes_version) == {}, chart


# ----------------------------------------------------------------------------- the cluster


def _cluster(base: Synth) -> dict[str, Any]:
    return only(base.cluster_template, "AWS::EKS::Cluster")


def test_cluster_is_private_and_customer_routed(base: Synth) -> None:
    vpc_config = _cluster(base)["ResourcesVpcConfig"]
    assert vpc_config["ControlPlaneEgressMode"] == "CUSTOMER_ROUTED"
    assert vpc_config["EndpointPrivateAccess"] is True
    assert vpc_config["EndpointPublicAccess"] is False
    assert "PublicAccessCidrs" not in vpc_config


def test_cluster_enis_sit_in_the_control_plane_subnets(base: Synth) -> None:
    template = base.cluster_template
    subnet_ids = {ref_id(s) for s in _cluster(base)["ResourcesVpcConfig"]["SubnetIds"]}
    cidrs = {template["Resources"][s]["Properties"]["CidrBlock"] for s in subnet_ids}
    assert cidrs == {s.cidr for s in base.deployment.plan.control_plane}


def test_access_entries_only_no_creator_admin(base: Synth) -> None:
    access = _cluster(base)["AccessConfig"]
    assert access["AuthenticationMode"] == "API"
    assert access["BootstrapClusterCreatorAdminPermissions"] is False


def test_secrets_are_encrypted_with_a_rotating_key(base: Synth) -> None:
    template = base.cluster_template
    (encryption,) = _cluster(base)["EncryptionConfig"]
    assert encryption["Resources"] == ["secrets"]
    key_id = encryption["Provider"]["KeyArn"]["Fn::GetAtt"][0]
    assert template["Resources"][key_id]["Properties"]["EnableKeyRotation"] is True


def test_all_control_plane_log_types(base: Synth) -> None:
    enabled = _cluster(base)["Logging"]["ClusterLogging"]["EnabledTypes"]
    assert {t["Type"] for t in enabled} == EXPECTED_LOG_TYPES


def test_no_path_to_the_internet(base: Synth) -> None:
    template = base.cluster_template
    for rtype in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::EIP"):
        assert resources(template, rtype) == {}, rtype
    for subnet in props(template, "AWS::EC2::Subnet"):
        assert subnet["MapPublicIpOnLaunch"] is False
    for route in props(template, "AWS::EC2::Route"):
        assert route["DestinationCidrBlock"] != "0.0.0.0/0"


def test_required_vpc_endpoints_exist(base: Synth) -> None:
    services = set()
    for endpoint in props(base.cluster_template, "AWS::EC2::VPCEndpoint"):
        name = endpoint["ServiceName"]
        text = name if isinstance(name, str) else json.dumps(name)
        services.add(text.rsplit(".", 1)[-1].rstrip('"]}'))
    wanted = {"s3", "api", "dkr", "ec2", "sts", "eks", "eks-auth", "logs"}
    wanted |= {"elasticloadbalancing", "autoscaling", "ssm", "ssmmessages", "ec2messages", "kms"}
    assert wanted <= services, wanted - services


def test_hardened_launch_template(base: Synth) -> None:
    data = only(base.cluster_template, "AWS::EC2::LaunchTemplate")["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    (root,) = data["BlockDeviceMappings"]
    assert root["Ebs"]["Encrypted"] is True
    assert root["Ebs"]["VolumeType"] == "gp3"
    assert "KeyName" not in data
    assert "NetworkInterfaces" not in data


def test_system_nodes_private_no_ssh(base: Synth) -> None:
    template = base.cluster_template
    nodegroup = only(template, "AWS::EKS::Nodegroup")
    assert "RemoteAccess" not in nodegroup
    cidrs = {
        template["Resources"][ref_id(s)]["Properties"]["CidrBlock"] for s in nodegroup["Subnets"]
    }
    assert cidrs == {s.cidr for s in base.deployment.plan.system_nodes}


def test_addons_are_pinned_with_network_policy_on(base: Synth) -> None:
    addons = {a["AddonName"]: a for a in props(base.cluster_template, "AWS::EKS::Addon")}
    assert set(addons) == {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent"}
    for addon in addons.values():
        assert addon["AddonVersion"].startswith("v")
        assert addon["ResolveConflicts"] == "OVERWRITE"
    config = json.loads(addons["vpc-cni"]["ConfigurationValues"])
    assert config["enableNetworkPolicy"] == "true"


def test_access_entries_never_map_system_masters(base: Synth) -> None:
    entries = props(base.cluster_template, "AWS::EKS::AccessEntry")
    assert len(entries) >= 3  # admin, viewer, break-glass (+ the kubectl handler)
    for entry in entries:
        for group in entry.get("KubernetesGroups", []):
            assert not group.startswith("system:")


def test_break_glass_requires_mfa(base: Synth) -> None:
    roles = resources(base.creator_template, "AWS::IAM::Role")
    (break_glass,) = [r for k, r in roles.items() if k.startswith("RolesBreakGlass")]
    (statement,) = break_glass["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Condition"]["Bool"]["aws:MultiFactorAuthPresent"] == "true"


def test_creator_role_is_trusted_by_cloudformation_only(base: Synth) -> None:
    roles = resources(base.creator_template, "AWS::IAM::Role")
    (creator,) = [r for k, r in roles.items() if k.startswith("RolesCreator")]
    (statement,) = creator["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "cloudformation.amazonaws.com"}


def test_cluster_stack_deploys_with_the_creator_role(base: Synth) -> None:
    manifest = json.loads((base.outdir / "manifest.json").read_text())
    props_ = manifest["artifacts"]["Cluster"]["properties"]
    assert props_["cloudFormationExecutionRoleArn"].endswith(
        "role/eks-secure/payments-prod-creator"
    )
    assert props_["assumeRoleArn"].endswith("role/eks-secure/payments-prod-deployer")
    assert "Creator" in manifest["artifacts"]["Cluster"]["dependencies"]


def test_control_plane_security_group_egress_is_explicit(base: Synth) -> None:
    template = base.cluster_template
    sg_id = _cluster(base)["ResourcesVpcConfig"]["SecurityGroupIds"][0]["Fn::GetAtt"][0]
    egress = template["Resources"][sg_id]["Properties"]["SecurityGroupEgress"]
    destinations = {(e["CidrIp"], e["FromPort"]) for e in egress}
    vpc = base.deployment.plan.vpc_cidr
    assert (vpc, 10250) in destinations
    for dest in base.config.control_plane_egress:
        assert (dest.cidr, dest.port) in destinations
    assert all(e["CidrIp"] != "0.0.0.0/0" for e in egress)


def test_kubectl_handler_can_reach_s3_through_the_gateway_endpoint(base: Synth) -> None:
    """Custom-resource replies and ECR layers go to S3's own addresses (gateway endpoint)."""
    template = base.cluster_template
    sg = base.deployment.cluster_stack.secure_cluster.kubectl_security_group
    sg_id = base.deployment.cluster_stack.get_logical_id(sg.node.default_child)
    egress = template["Resources"][sg_id]["Properties"]["SecurityGroupEgress"]
    assert {(e["CidrIp"], e["FromPort"], e["ToPort"]) for e in egress} == {("0.0.0.0/0", 443, 443)}
    for route in props(template, "AWS::EC2::Route"):
        assert route["DestinationCidrBlock"] != "0.0.0.0/0", "no path to the internet exists"


def test_nodes_start_only_after_the_vpc_endpoints(base: Synth) -> None:
    template = base.cluster_template
    (nodegroup,) = resources(template, "AWS::EKS::Nodegroup").values()
    endpoints = set(resources(template, "AWS::EC2::VPCEndpoint"))
    assert endpoints <= set(nodegroup["DependsOn"])


def test_kubectl_handler_runs_in_private_subnets(base: Synth) -> None:
    functions = props(base.cluster_template, "AWS::Lambda::Function")
    in_vpc = [f for f in functions if "VpcConfig" in f]
    assert in_vpc, "the kubectl handler must run inside the VPC"
    system_subnets = {s.cidr for s in base.deployment.plan.system_nodes}
    for function in in_vpc:
        subnet_ids = function["VpcConfig"]["SubnetIds"]
        cidrs = {
            base.cluster_template["Resources"][ref_id(s)]["Properties"]["CidrBlock"]
            for s in subnet_ids
        }
        assert cidrs <= system_subnets


def test_every_taggable_resource_carries_the_cluster_tag(base: Synth) -> None:
    tagged = 0
    for template in (base.cluster_template, base.creator_template):
        for logical_id, resource in template["Resources"].items():
            tags = resource.get("Properties", {}).get("Tags")
            if isinstance(tags, list):
                assert {"Key": "eks-secure:cluster", "Value": "payments-prod"} in tags, logical_id
                tagged += 1
    assert tagged > 20


def test_synthesis_is_deterministic(base: Synth) -> None:
    again = synth_config(load_example("base"), nag=False)
    for name, template in base.templates.items():
        assert json.dumps(again.templates[name]) == json.dumps(template), name
    assert again.manifests == base.manifests


def _creator_statements(base: Synth) -> dict[str, dict[str, Any]]:
    policies = [
        p
        for k, p in resources(base.creator_template, "AWS::IAM::ManagedPolicy").items()
        if k.startswith("RolesCreator")
    ]
    assert len(policies) == 3  # the Cluster, Iam and Resources parts
    return {
        st["Sid"]: st for p in policies for st in p["Properties"]["PolicyDocument"]["Statement"]
    }


def test_creator_role_may_only_create_customer_routed_clusters(base: Synth) -> None:
    deny = _creator_statements(base)["OnlyCustomerRoutedClusters"]
    assert deny["Effect"] == "Deny"
    assert deny["Action"] == "eks:CreateCluster"
    assert deny["Condition"] == {
        "StringNotEquals": {"eks:controlPlaneEgressMode": "CUSTOMER_ROUTED"}
    }


def test_creator_role_deletes_only_this_clusters_resources(base: Synth) -> None:
    statements = _creator_statements(base)
    delete = statements["NetworkDeleteOnlyTagged"]
    assert delete["Condition"] == {
        "StringEquals": {"aws:ResourceTag/eks-secure:cluster": "payments-prod"}
    }
    assert all("payments-prod" in json.dumps(r) for r in statements["ThisClusterOnly"]["Resource"])


def test_control_plane_nacl_allows_only_the_egress_path(base: Synth) -> None:
    template = base.cluster_template
    (acl_id,) = resources(template, "AWS::EC2::NetworkAcl")
    associated = {
        template["Resources"][ref_id(a["SubnetId"])]["Properties"]["CidrBlock"]
        for a in props(template, "AWS::EC2::SubnetNetworkAclAssociation")
        if ref_id(a["NetworkAclId"]) == acl_id
    }
    assert associated == {s.cidr for s in base.deployment.plan.control_plane}
    entries = props(template, "AWS::EC2::NetworkAclEntry")
    vpc = base.deployment.plan.vpc_cidr
    allowed = {
        (e["Egress"], e["CidrBlock"], e["PortRange"]["From"], e["PortRange"]["To"])
        for e in entries
        if e["RuleAction"] == "allow"
    }
    assert (False, vpc, 443, 443) in allowed
    assert (True, vpc, 10250, 10250) in allowed
    for dest in base.config.control_plane_egress:
        assert (True, dest.cidr, dest.port, dest.port) in allowed
        assert (False, dest.cidr, 1024, 65535) in allowed
    assert all(e["CidrBlock"] != "0.0.0.0/0" for e in entries)
    assert all(e["Protocol"] == 6 for e in entries)


def test_operators_reach_the_private_api_from_declared_networks_only(base: Synth) -> None:
    template = base.cluster_template
    sg_id = _cluster(base)["ResourcesVpcConfig"]["SecurityGroupIds"][0]["Fn::GetAtt"][0]
    ingress = {
        (rule["CidrIp"], rule["FromPort"])
        for rule in template["Resources"][sg_id]["Properties"]["SecurityGroupIngress"]
    }
    expected = {(base.deployment.plan.vpc_cidr, 443)}
    expected |= {(cidr, 443) for cidr in base.config.api_access_cidrs}
    assert base.config.api_access_cidrs, "the example should exercise api_access_cidrs"
    assert ingress == expected
    inbound = {
        (e["CidrBlock"], e["PortRange"]["From"])
        for e in props(template, "AWS::EC2::NetworkAclEntry")
        if not e["Egress"]
    }
    for cidr in base.config.api_access_cidrs:
        assert (cidr, 443) in inbound
