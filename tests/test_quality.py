"""The code quality bar, enforced by the suite CI runs: ruff lint + format, mypy --strict."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from synth import REPO

pytestmark = pytest.mark.xdist_group("quality")


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy-strict"],
)
def test_quality_tool_passes(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def _aws_cdk_modules_imported() -> set[str]:
    """Every ``aws_cdk`` module eks_secure imports (the package and its submodules)."""
    spec = importlib.util.find_spec("aws_cdk")
    assert spec is not None and spec.submodule_search_locations
    package = Path(next(iter(spec.submodule_search_locations)))
    found: set[str] = set()
    for path in (REPO / "eks_secure").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] != "aws_cdk":
                    continue
                found.add("aws_cdk")
                if len(parts) > 1 and (package / parts[1] / "__init__.py").is_file():
                    found.add(f"aws_cdk.{parts[1]}")
    return found


def test_mypy_follows_every_aws_cdk_module_eks_secure_imports() -> None:
    """pyproject.toml skips the aws_cdk stubs eks_secure does not import (mypy's cold run on a
    fresh clone took 80 s for them); a module eks_secure imports but mypy skips would be
    type-checked as Any without a word, so the followed list is exactly what it imports."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    followed: set[str] = set()
    for override in config["tool"]["mypy"]["overrides"]:
        if override.get("follow_imports") == "normal":
            followed.update(override["module"])
    imported = _aws_cdk_modules_imported()
    assert "aws_cdk.aws_ec2" in imported  # the scan sees eks_secure's imports
    missing, unused = sorted(imported - followed), sorted(followed - imported)
    assert not missing, (
        f"eks_secure imports {missing}, which mypy skips: add them to the followed "
        "aws_cdk modules in pyproject.toml ([[tool.mypy.overrides]], follow_imports = normal)"
    )
    assert not unused, (
        f"mypy follows {unused}, which eks_secure no longer imports: remove them from the "
        "followed aws_cdk modules in pyproject.toml (each costs mypy time on a fresh clone)"
    )
