"""The package's public API resolves, and the pure-Python parts never start jsii."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest
from synth import REPO

import eks_secure

pytestmark = pytest.mark.xdist_group("constructs")


@pytest.mark.parametrize("name", eks_secure.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(eks_secure, name) is not None


def test_all_lists_exactly_the_lazy_exports() -> None:
    assert sorted(eks_secure.__all__) == sorted(eks_secure._EXPORTS)


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = eks_secure.NoSuchThing  # type: ignore[attr-defined]


NO_CDK_SCRIPT = """
import contextlib, io, sys
import eks_secure.advisor, eks_secure.config.loader, eks_secure.firewall, eks_secure.network.planner
import eks_secure.testing
from eks_secure import plan_network, parse_config, eks_guardrail_document
from eks_secure.checks import check_template, RULES
from eks_secure.cli import main, verbs

with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    codes = {verb.name: main([verb.name, "--help"]) for verb in verbs()}
    codes["allowlist (run)"] = main(["allowlist", "/nonexistent/cdk.out"])
    codes["advise (run)"] = main(["advise", "--apps", "3"])
print(codes)
assert "aws_cdk" not in sys.modules and "jsii" not in sys.modules, "jsii loaded"
"""


def test_cli_and_planner_do_not_load_the_cdk() -> None:
    """Every CLI verb (its module, ``--help`` and the built-in verbs' runs), the loader, the
    planner, the advisor, the firewall diff, the snapshot helper, the pure template rules of the
    checks and the guardrail SCP builder stay free of the CDK."""
    result = subprocess.run(
        [sys.executable, "-c", NO_CDK_SCRIPT],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    codes = ast.literal_eval(result.stdout)
    assert {"allowlist", "advise"} <= set(codes)
    assert codes == {**dict.fromkeys(codes, 0), "allowlist (run)": 2}, codes
