"""EksSecureChecks: each rule fires on a deliberately bad construct and stays quiet on a good one.

The bad and good stacks (``tests/nag_apps.py``) are synthesized once, with the pack registered
through ``cdk.Validations.of(app).add_plugins`` exactly as a user would. Edge cases of the rules
(CloudFormation defaults, intrinsics, standalone rule resources) are checked on template dicts
with the pure-Python ``check_template``, without synthesis. The reference stacks are checked in
``test_security_checks.py``.
"""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import pytest
from nag_apps import ACKNOWLEDGED, BAD, checks_app
from synth import REPO

from eks_secure.checks import RULES, EksSecureChecks, RuleOptions, check_template
from eks_secure.errors import ConfigError

pytestmark = pytest.mark.xdist_group("nag-pack")

RULE_IDS = [r.id for r in RULES]


def test_every_rule_has_a_bad_construct() -> None:
    assert sorted(BAD) == sorted(RULE_IDS)


@pytest.mark.parametrize("rule", RULE_IDS)
def test_rule_fires_on_the_bad_constructs(rule: str) -> None:
    found = checks_app().findings()
    assert found.get(f"EksSecure-{rule}", set()) == BAD[rule]


def test_good_stack_has_no_finding() -> None:
    found = checks_app().findings()
    good = sorted(f"{r} {p}" for r, paths in found.items() for p in paths if p.startswith("Good/"))
    assert good == []


def test_acknowledged_finding_is_not_reported() -> None:
    assert ACKNOWLEDGED not in checks_app().findings()["EksSecure-VPC1"]


def test_report_carries_the_fix_and_fails_synthesis_as_error() -> None:
    report = checks_app().report
    (pack,) = [p for p in report["pluginReports"] if p["pluginName"] == "EksSecure"]
    assert pack["conclusion"] == "failure"
    by_rule = {v["ruleName"]: v for v in pack["violations"]}
    for rule in RULES:
        violation = by_rule[rule.rule_id]
        assert violation["severity"] == "error"
        assert "Fix:" in violation["description"], rule.id


def test_rule_selection_and_warn_only_on_the_same_synthesized_app() -> None:
    app = checks_app().app
    report = EksSecureChecks(rule_ids=["EKS1", "SG1"], warn_only=True).validate_scope(app)
    assert {v.rule_name for v in report.violations} == {"EksSecure-EKS1", "EksSecure-SG1"}
    assert {v.severity for v in report.violations} == {"warning"}


def test_bad_options_are_refused() -> None:
    with pytest.raises(ConfigError) as exc:
        EksSecureChecks(rule_ids=["EKS1", "EKS99"])
    assert exc.value.field == "EksSecureChecks.rule_ids"
    with pytest.raises(ConfigError) as exc:
        EksSecureChecks(allowed_egress_modes=[])
    assert exc.value.field == "EksSecureChecks.allowed_egress_modes"


def test_unsynthesized_app_is_reported_not_silently_passed() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "S")
    cdk.CfnResource(stack, "Subnet", type="AWS::EC2::Subnet", properties={"VpcId": "vpc-1"})
    with pytest.raises(Exception, match="EksSecureChecks reads the synthesized templates"):
        EksSecureChecks().validate_scope(app)


# ----------------------------------------------------------------------------- rule edge cases


def _findings(resources: dict[str, dict[str, Any]], **options: Any) -> set[tuple[str, str]]:
    template = {"Resources": resources}
    return set(check_template(template, RuleOptions(**options)))


def _cluster(**props: Any) -> dict[str, Any]:
    return {"Type": "AWS::EKS::Cluster", "Properties": props}


GOOD_CLUSTER = {
    "ResourcesVpcConfig": {
        "EndpointPublicAccess": "false",  # CloudFormation also accepts string booleans
        "ControlPlaneEgressMode": "CUSTOMER_ROUTED",
    },
    "Logging": {
        "ClusterLogging": {
            "EnabledTypes": [
                {"Type": t}
                for t in ("api", "audit", "authenticator", "controllerManager", "scheduler")
            ]
        }
    },
    "EncryptionConfig": [{"Resources": ["secrets"], "Provider": {"KeyArn": {"Ref": "Key"}}}],
    "AccessConfig": {"AuthenticationMode": "API", "BootstrapClusterCreatorAdminPermissions": False},
}


def test_cluster_defaults_and_values() -> None:
    assert _findings({"C": _cluster(**GOOD_CLUSTER)}) == set()
    assert {r for r, _ in _findings({"C": _cluster()})} == {
        f"EksSecure-EKS{i}" for i in range(1, 7)
    }
    unknown = {**GOOD_CLUSTER, "ResourcesVpcConfig": {"EndpointPublicAccess": {"Ref": "Public"}}}
    assert ("EksSecure-EKS1", "C") in _findings({"C": _cluster(**unknown)})
    four_logs = {**GOOD_CLUSTER, "Logging": {"ClusterLogging": {"EnabledTypes": [{"Type": "api"}]}}}
    assert _findings({"C": _cluster(**four_logs)}) == {("EksSecure-EKS3", "C")}
    isolated = {
        **GOOD_CLUSTER,
        "ResourcesVpcConfig": {
            "EndpointPublicAccess": False,
            "ControlPlaneEgressMode": "CUSTOMER_ISOLATED",
        },
    }
    assert _findings({"C": _cluster(**isolated)}) == {("EksSecure-EKS2", "C")}
    modes = frozenset({"CUSTOMER_ROUTED", "CUSTOMER_ISOLATED"})
    assert _findings({"C": _cluster(**isolated)}, allowed_egress_modes=modes) == set()


def test_node_group_launch_template_is_followed() -> None:
    def template(**metadata: Any) -> dict[str, dict[str, Any]]:
        return {
            "Lt": {
                "Type": "AWS::EC2::LaunchTemplate",
                "Properties": {"LaunchTemplateData": {"MetadataOptions": metadata}},
            },
            "Ng": {
                "Type": "AWS::EKS::Nodegroup",
                "Properties": {"LaunchTemplate": {"Id": {"Ref": "Lt"}, "Version": "1"}},
            },
        }

    assert _findings(template(HttpTokens="required", HttpPutResponseHopLimit=1)) == set()
    assert _findings(template(HttpTokens="required", HttpPutResponseHopLimit=2)) == {
        ("EksSecure-EKS8", "Ng")
    }
    external = {"Type": "AWS::EKS::Nodegroup", "Properties": {"LaunchTemplate": {"Id": "lt-0a1"}}}
    assert _findings({"Ng": external}) == {("EksSecure-EKS8", "Ng")}


def test_security_group_rules() -> None:
    def sg(**props: Any) -> dict[str, Any]:
        return {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "d", **props}}

    https_out = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}
    assert _findings({"S": sg(SecurityGroupEgress=[https_out])}) == set()
    all_out = {"IpProtocol": "-1", "CidrIpv6": "::/0"}
    assert _findings({"S": sg(SecurityGroupEgress=[all_out])}) == {("EksSecure-SG2", "S")}
    assert _findings({"S": sg()}) == {("EksSecure-SG2", "S")}
    ingress = {
        "Type": "AWS::EC2::SecurityGroupIngress",
        "Properties": {**https_out, "GroupId": "sg-1"},
    }
    assert _findings({"I": ingress}) == {("EksSecure-SG1", "I")}
    routed = {**https_out, "CidrIp": "10.0.0.0/8"}
    assert (
        _findings({"S": sg(SecurityGroupIngress=[routed], SecurityGroupEgress=[https_out])})
        == set()
    )


def test_other_resources() -> None:
    subnet = {"Type": "AWS::EC2::Subnet", "Properties": {"MapPublicIpOnLaunch": "true"}}
    private = {"Type": "AWS::EC2::Subnet", "Properties": {}}  # CloudFormation default: false
    endpoint = {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"PolicyDocument": {}}}
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {"PermissionsBoundary": "arn:aws:iam::1:policy/b"},
    }
    assert _findings({"S": subnet, "P": private, "E": endpoint, "R": role}) == {
        ("EksSecure-VPC1", "S")
    }


def test_rule_table_in_the_docs_lists_every_rule() -> None:
    page = (REPO / "docs" / "security-posture.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(EksSecure-[A-Z]+[0-9]+)` \|", page, re.M))
    assert documented == {r.rule_id for r in RULES}


def test_endpoints_of_services_without_policy_support_pass_without_one() -> None:
    def endpoint(service: object) -> dict[str, object]:
        return {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"ServiceName": service}}

    joined = {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".ssmmessages"]]}
    found = _findings(
        {
            "EksAuth": endpoint("com.amazonaws.eu-west-1.eks-auth"),
            "Ec2messages": endpoint("com.amazonaws.eu-west-1.ec2messages"),
            "Joined": endpoint(joined),
            "Ssm": endpoint("com.amazonaws.eu-west-1.ssm"),
            "Opaque": endpoint({"Ref": "ServiceParam"}),
        }
    )
    assert found == {("EksSecure-VPC2", "Ssm"), ("EksSecure-VPC2", "Opaque")}
