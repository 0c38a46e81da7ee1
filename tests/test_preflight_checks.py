"""Each preflight check on a deliberately broken assembly: one fault at a time, exact problem."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from synth import Synth, copy_assembly, preflight

from eks_secure.cli import main as cli_main
from eks_secure.preflight import Problem, run

pytestmark = pytest.mark.xdist_group("private-nat")

Template = dict[str, Any]


Key = tuple[str, str, str]


@pytest.fixture(scope="session")
def baseline(private_nat: Synth) -> set[Key]:
    """The problems of the unedited assembly, computed once per session."""
    return {_key(p) for p in preflight(private_nat).problems}


def _key(problem: Problem) -> Key:
    return (problem.check, problem.logical_id, problem.problem)


def broken(
    private_nat: Synth,
    baseline: set[Key],
    tmp_path: Path,
    file: str,
    edit: Callable[[Template], None],
    *,
    lint: bool = False,
) -> list[Problem]:
    """Copy the assembly, apply ``edit`` to the one template ``file`` names; the new problems.

    Check ``lint``'s problems only with ``lint``: an edit that removes a resource also leaves
    references cfn-lint reports, which the other checks' tests are not about."""
    out = tmp_path / "cdk.out"
    copy_assembly(private_nat.outdir, out)
    matches = sorted(out.glob(file))
    assert len(matches) == 1, f"{file} matches {[m.name for m in matches]} in {out}"
    template = json.loads(matches[0].read_text())
    edit(template)
    matches[0].write_text(json.dumps(template))
    return [p for p in run(out).problems if _key(p) not in baseline and (lint or p.check != "lint")]


def resource(template: Template, prefix: str) -> tuple[str, Template]:
    for logical_id, res in template["Resources"].items():
        if logical_id.startswith(prefix):
            return logical_id, res
    raise KeyError(prefix)


def drop_statement(sid: str) -> Callable[[Template], None]:
    def edit(template: Template) -> None:
        for res in template["Resources"].values():
            if res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                doc = res["Properties"]["PolicyDocument"]
                doc["Statement"] = [s for s in doc["Statement"] if s.get("Sid") != sid]

    return edit


def test_iam_statement_removed(private_nat: Synth, baseline: set[Key], tmp_path: Path) -> None:
    new = broken(
        private_nat,
        baseline,
        tmp_path,
        "Creator.template.json",
        drop_statement("PassSelfToNestedStacks"),
    )
    assert {p.check for p in new} == {"iam"}
    nested = [p for p in new if p.logical_id.startswith("EgressApp")]
    assert nested and all(
        "iam:PassRole on arn:aws:iam::111111111111:role/eks-secure/payments-prod-creator"
        in p.problem
        for p in nested
    )
    assert "iam:PassedToService" in nested[0].fix and "RolesCreator" in nested[0].fix


def test_deployer_recovery_statement_removed(
    private_nat: Synth, baseline: set[Key], tmp_path: Path
) -> None:
    new = broken(
        private_nat,
        baseline,
        tmp_path,
        "Creator.template.json",
        drop_statement("RecoverTheClusterStack"),
    )
    actions = sorted({p.problem.split(" is denied ")[1].split(" ")[0] for p in new})
    assert {p.check for p in new} == {"deployer"}
    assert actions == [
        "cloudformation:CancelUpdateStack",
        "cloudformation:ContinueUpdateRollback",
        "cloudformation:DeleteStack",
        "cloudformation:RollbackStack",
    ]


def test_network_endpoint_removed(private_nat: Synth, baseline: set[Key], tmp_path: Path) -> None:
    def edit(template: Template) -> None:
        logical_id, _ = resource(template, "NetworkPrivateEndpointsLambda")
        del template["Resources"][logical_id]

    new = broken(private_nat, baseline, tmp_path, "Cluster.template.json", edit)
    assert [p.problem for p in new] == [
        "lambda payments-prod-cluster/EksClusterKubectlProviderframeworkonEvent13CC64B3 -> "
        "service lambda tcp/443 (provider framework): no interface endpoint for lambda"
    ]
    assert new[0].fix == "add an interface endpoint for lambda (private DNS on) to the VPC"


def test_network_nacl_rule_removed(private_nat: Synth, baseline: set[Key], tmp_path: Path) -> None:
    def edit(template: Template) -> None:
        # the replies the control-plane ENIs get from nodes (10250, webhooks) and the VPC
        logical_id, _ = resource(template, "EksControlPlaneEgressNetworkAclIngressReturnVpc")
        del template["Resources"][logical_id]

    new = broken(private_nat, baseline, tmp_path, "Cluster.template.json", edit)
    assert new and {p.check for p in new} == {"network"}
    kubelet = [p for p in new if "tcp/10250 (kubelet)" in p.problem]
    assert kubelet and all(p.logical_id == "EksClusterB2BDED5B" for p in kubelet)
    assert all("blocks the return traffic (1024-65535) from 10.20." in p.problem for p in kubelet)


def test_network_route_removed(private_nat: Synth, baseline: set[Key], tmp_path: Path) -> None:
    def edit(template: Template) -> None:
        # payments-api's on-prem routes from its first subnet (10.0.0.0/14 holds 10.1.0.0/16)
        for logical_id in [
            k for k in template["Resources"] if k.startswith("OnPremViaNatSubnet1OnPrem10x")
        ]:
            del template["Resources"][logical_id]

    new = broken(private_nat, baseline, tmp_path, "*Apppaymentsapi*.nested.template.json", edit)
    assert {p.check for p in new} == {"network"}, [p.format() for p in new]
    route = "route table of SubnetsSubnet1SubnetA3D90D66 has no route to 10.1.0.0/16"
    assert sorted(p.problem.split(" -> ", 1)[1] for p in new) == [
        f"10.1.0.0/16 tcp/443 (app payments-api): {route}",
        f"10.1.0.0/16 tcp/8443 (app payments-api): {route}",
    ]


def test_timeouts_service_timeout_removed_and_handler_raised(
    private_nat: Synth, baseline: set[Key], tmp_path: Path
) -> None:
    def edit(template: Template) -> None:
        _, baseline = resource(template, "EksBaseline")
        del baseline["Properties"]["ServiceTimeout"]
        _, handler = resource(template, "EksClusterKubectlProviderHandler")
        if handler["Type"] != "AWS::Lambda::Function":
            handler = template["Resources"]["EksClusterKubectlProviderHandlerDA75FB7A"]
        handler["Properties"]["Timeout"] = 900

    new = broken(private_nat, baseline, tmp_path, "Cluster.template.json", edit)
    texts = sorted(p.problem for p in new if p.check == "timeouts")
    assert any(
        t.startswith("Custom::AWSCDK-EKS-KubernetesResource has no ServiceTimeout") for t in texts
    )
    assert any("may run 900 s but its provider framework" in t for t in texts)


def test_names_function_name_removed(
    private_nat: Synth, baseline: set[Key], tmp_path: Path
) -> None:
    def edit(template: Template) -> None:
        template["Resources"]["EksClusterKubectlProviderframeworkonEvent13CC64B3"][
            "Properties"
        ].pop("FunctionName")

    new = broken(private_nat, baseline, tmp_path, "Cluster.template.json", edit)
    names = [p for p in new if p.check == "names"]
    assert names, [p.format() for p in new]
    assert all(p.problem.startswith("at the longest cluster name (40 characters)") for p in names)
    assert any("lambda:InvokeFunction" in p.problem for p in names)


def test_allowlist_row_removed(private_nat: Synth, baseline: set[Key], tmp_path: Path) -> None:
    def edit(template: Template) -> None:
        del template["Outputs"]["EksSecureAllowListLedger"]

    new = broken(private_nat, baseline, tmp_path, "*Appledger*.nested.template.json", edit)
    assert new and {p.check for p in new} == {"allowlist"}
    assert all("(app ledger)" in p.problem for p in new)


def test_allowlist_control_plane_row_removed(
    private_nat: Synth, baseline: set[Key], tmp_path: Path
) -> None:
    def edit(template: Template) -> None:
        del template["Outputs"]["EksSecureAllowListControlPlaneCorpOidc"]

    new = broken(private_nat, baseline, tmp_path, "Cluster.template.json", edit)
    assert new and {p.check for p in new} == {"allowlist"}
    assert all(
        p.problem.startswith("control-plane (CUSTOMER_ROUTED egress) reaches 10.1.2.0/24 tcp/443")
        for p in new
    )


def test_capacity_system_nodes_raised(
    private_nat: Synth, baseline: set[Key], tmp_path: Path
) -> None:
    def edit(template: Template) -> None:
        _, nodegroup = resource(template, "EksSystemNodesNodegroup")
        nodegroup["Properties"]["ScalingConfig"]["MaxSize"] = 30

    new = broken(private_nat, baseline, tmp_path, "Cluster.template.json", edit)
    assert len(new) == 3 and {p.check for p in new} == {"capacity"}
    assert (
        "12 nodes (max_size 30 over 3 subnets + 2 surge) x 30 addresses per m7i.large"
        in new[0].problem
    )


def drop_endpoint_statement(prefix: str, sid: str) -> Callable[[Template], None]:
    """Remove statement ``sid`` from the policy of the VPC endpoint whose ID starts ``prefix``."""

    def edit(template: Template) -> None:
        _, endpoint = resource(template, prefix)
        doc = endpoint["Properties"]["PolicyDocument"]
        before = len(doc["Statement"])
        doc["Statement"] = [s for s in doc["Statement"] if s.get("Sid") != sid]
        assert len(doc["Statement"]) == before - 1, f"{sid} not in {prefix}'s policy"

    return edit


def test_network_needed_bucket_removed_from_s3_endpoint_policy(
    private_nat: Synth, baseline: set[Key], tmp_path: Path
) -> None:
    edit = drop_endpoint_statement("NetworkPrivateEndpointsS3Gateway", "EcrImageLayers")
    new = broken(private_nat, baseline, tmp_path, "Cluster.template.json", edit)
    assert new and {p.check for p in new} == {"network"}
    layer = "s3:GetObject on arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/layer"
    assert all(f"endpoint policy of s3 denies {layer}" in p.problem for p in new)
    # every node group and the kubectl handler pull image layers
    assert any("(kubectl handler)" in p.problem for p in new)
    assert any("(node bootstrap)" in p.problem for p in new)
    assert new[0].fix.startswith("allow the call in the endpoint's policy")


def test_network_irsa_denied_by_sts_endpoint_policy(
    private_nat: Synth, baseline: set[Key], tmp_path: Path
) -> None:
    edit = drop_endpoint_statement("NetworkPrivateEndpointsSts", "WebIdentityToThisAccountsRoles")
    new = broken(private_nat, baseline, tmp_path, "Cluster.template.json", edit)
    assert new and all(
        "endpoint policy of sts denies sts:AssumeRoleWithWebIdentity" in p.problem for p in new
    )


def test_lint_unknown_property(private_nat: Synth, baseline: set[Key], tmp_path: Path) -> None:
    """cfn-lint's errors reach the report (the check CDK's synth-time validation made)."""
    logical_id = ""

    def edit(template: Template) -> None:
        nonlocal logical_id
        logical_id, subnet = resource(template, "NetworkControlPlaneSubnet1Subnet")
        subnet["Properties"]["MapPublicIpOnLaunchh"] = False

    new = broken(private_nat, baseline, tmp_path, "Cluster.template.json", edit, lint=True)
    assert [(p.check, p.logical_id) for p in new] == [("lint", logical_id)]
    assert new[0].problem.startswith("cfn-lint E3002 (error)")
    assert "MapPublicIpOnLaunchh" in new[0].problem


def test_lint_acknowledgment_is_scoped_to_its_resource_type(
    private_nat: Synth, baseline: set[Key], tmp_path: Path
) -> None:
    """W3010 (a hard-coded AZ) is acknowledged on subnets only: on a volume it is reported."""

    def edit(template: Template) -> None:
        template["Resources"]["StrayVolume"] = {
            "Type": "AWS::EC2::Volume",
            "Properties": {"AvailabilityZone": "eu-west-1a", "Size": 8, "Encrypted": True},
        }

    new = broken(private_nat, baseline, tmp_path, "Cluster.template.json", edit, lint=True)
    lint = [p for p in new if p.check == "lint"]
    assert [(p.logical_id, p.problem.split(" (")[0]) for p in lint] == [
        ("StrayVolume", "cfn-lint W3010")
    ]


# ------------------------------------------------------- a broken assembly is a usage error

RESYNTH_LINE = "  fix: re-run `make synth` to write the assembly again\n"


@pytest.mark.parametrize(
    ("file", "problem"),
    [
        ("manifest.json", "cloud assembly manifest is not valid JSON"),
        ("Cluster.template.json", "template of stack Cluster is not valid JSON"),
    ],
)
def test_preflight_malformed_json_exits_2(
    private_nat: Synth,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    file: str,
    problem: str,
) -> None:
    assembly = copy_assembly(private_nat.outdir, tmp_path / "cdk.out")
    (assembly / file).write_text('{"Resources": ', encoding="utf-8")
    assert cli_main(["preflight", str(assembly)]) == 2
    assert capsys.readouterr().err == (
        f"eks-secure preflight: {assembly / file}: {problem} "
        "(Expecting value at line 1 column 15)\n" + RESYNTH_LINE
    )


def test_preflight_missing_template_exits_2(
    private_nat: Synth, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assembly = copy_assembly(private_nat.outdir, tmp_path / "cdk.out")
    (assembly / "Cluster.template.json").unlink()
    assert cli_main(["preflight", str(assembly)]) == 2
    assert capsys.readouterr().err == (
        f"eks-secure preflight: {assembly / 'Cluster.template.json'}: template of stack Cluster "
        "is missing\n" + RESYNTH_LINE
    )


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        pytest.param(
            lambda t: t.update(Resources=[]), "Resources: is not a JSON object", id="resources"
        ),
        pytest.param(
            lambda t: t.update(Outputs="none"), "Outputs: is not a JSON object", id="outputs"
        ),
        pytest.param(
            lambda t: t["Resources"].update(Broken="AWS::EC2::VPC"),
            "Resources.Broken: is not a resource (a JSON object with a string Type)",
            id="resource-string",
        ),
        pytest.param(
            lambda t: t["Resources"].update(Untyped={"Properties": {}}),
            "Resources.Untyped: is not a resource (a JSON object with a string Type)",
            id="resource-untyped",
        ),
    ],
)
@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param("Cluster.template.json", id="stack"),
        pytest.param("*Appledger*.nested.template.json", id="nested"),
    ],
)
def test_preflight_malformed_template_exits_2(
    private_nat: Synth,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    *,
    edit: Callable[[dict[str, Any]], None],
    error: str,
    pattern: str,
) -> None:
    """A template whose sections or resources are not objects is a usage error naming the file
    and the key (it was an internal error, exit 3)."""
    assembly = copy_assembly(private_nat.outdir, tmp_path / "cdk.out")
    (path,) = assembly.glob(pattern)
    template = json.loads(path.read_text(encoding="utf-8"))
    edit(template)
    path.write_text(json.dumps(template), encoding="utf-8")
    assert cli_main(["preflight", str(assembly)]) == 2
    assert capsys.readouterr().err == (f"eks-secure preflight: {path}: {error}\n" + RESYNTH_LINE)
