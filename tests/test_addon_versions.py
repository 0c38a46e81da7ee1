"""The one add-on pin table: complete, monotone, in the docs, and movable with the script."""

from __future__ import annotations

import copy
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from eks_secure import rules
from eks_secure.cluster.addon_versions import (
    ADDON_NAMES,
    ADDON_VERSIONS,
    describe_commands,
    markdown_table,
    newest_version,
    table_problems,
    version_key,
)

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "addon_versions.py"


def test_every_supported_version_pins_every_addon() -> None:
    assert set(ADDON_VERSIONS) == set(rules.SUPPORTED_KUBERNETES_VERSIONS)
    for pins in ADDON_VERSIONS.values():
        assert set(pins) == set(ADDON_NAMES) == set(rules.MANAGED_ADDONS)


def test_versions_never_go_down_across_kubernetes_versions() -> None:
    ordered = sorted(ADDON_VERSIONS, key=lambda v: tuple(int(p) for p in v.split(".")))
    for lower, higher in itertools.pairwise(ordered):
        for addon in ADDON_NAMES:
            assert version_key(ADDON_VERSIONS[higher][addon]) >= version_key(
                ADDON_VERSIONS[lower][addon]
            ), (addon, lower, higher)
    assert table_problems(ADDON_VERSIONS) == []


def _table() -> dict[str, dict[str, str]]:
    return {k: dict(v) for k, v in copy.deepcopy(dict(ADDON_VERSIONS)).items()}


def test_table_problems_catch_broken_tables() -> None:
    table = _table()
    table["1.34"]["coredns"] = "v1.10.0-eksbuild.1"
    del table["1.33"]["vpc-cni"]
    table["1.32"]["kube-proxy"] = "v1.31.0-eksbuild.1"
    del table["1.34"]["eks-pod-identity-agent"]
    table["1.34"]["eks-pod-identity-agent"] = "1.3.9"
    problems = table_problems(table)
    assert any("coredns: v1.10.0-eksbuild.1 for Kubernetes 1.34 is older" in p for p in problems)
    assert any("Kubernetes 1.33: pins" in p for p in problems)
    assert any("kube-proxy v1.31.0-eksbuild.1 is not of Kubernetes 1.32" in p for p in problems)
    assert any("'1.3.9' is not" in p for p in problems)
    table = _table()
    del table["1.32"]
    assert table_problems(table) == ["Kubernetes 1.32: no add-on pins"]


def test_docs_show_the_table() -> None:
    assert markdown_table(ADDON_VERSIONS) in (REPO / "docs" / "configuration.md").read_text()


def test_commands_cover_every_pair() -> None:
    commands = describe_commands("eu-west-1")
    assert len(commands) == len(ADDON_NAMES) * len(rules.SUPPORTED_KUBERNETES_VERSIONS)
    assert (
        "aws eks describe-addon-versions --region eu-west-1 --kubernetes-version 1.34 "
        "--addon-name coredns --output json > 1.34_coredns.json"
    ) in commands


def _answer(addon: str, versions: dict[str, list[str]]) -> dict[str, object]:
    return {
        "addons": [
            {
                "addonName": addon,
                "addonVersions": [
                    {
                        "addonVersion": v,
                        "compatibilities": [{"clusterVersion": k} for k in clusters],
                    }
                    for v, clusters in versions.items()
                ],
            }
        ]
    }


def test_newest_version_is_the_highest_compatible_one() -> None:
    answer = _answer(
        "coredns",
        {
            "v1.12.3-eksbuild.1": ["1.34"],
            "v1.12.10-eksbuild.1": ["1.34", "1.33"],
            "v1.13.0-eksbuild.1": ["1.35"],
        },
    )
    assert newest_version(answer, "coredns", "1.34") == "v1.12.10-eksbuild.1"
    with pytest.raises(ValueError, match=r"no coredns version for Kubernetes 1\.31"):
        newest_version(answer, "coredns", "1.31")


def test_script_proposes_the_next_table(tmp_path: Path) -> None:
    table = _table()
    table["1.34"]["vpc-cni"] = "v1.21.0-eksbuild.2"
    for k8s, pins in table.items():
        for addon, version in pins.items():
            answer = _answer(addon, {version: [k8s], "v0.0.1-eksbuild.1": [k8s]})
            (tmp_path / f"{k8s}_{addon}.json").write_text(json.dumps(answer))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "propose", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert markdown_table(table) in done.stdout
    assert "'vpc-cni': 'v1.21.0-eksbuild.2'" in done.stdout
    (tmp_path / "1.32_coredns.json").write_text(
        json.dumps(_answer("coredns", {"v1.99.0-eksbuild.1": ["1.32"]}))
    )
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "propose", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "coredns: v1.12.1-eksbuild.2 for Kubernetes 1.33 is older" in done.stderr
