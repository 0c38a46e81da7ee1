"""The package's public API resolves, and the pure-Python parts never start jsii."""

from __future__ import annotations

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


def test_cli_and_planner_do_not_load_the_cdk() -> None:
    """Nor do the pure template rules of the checks and the guardrail SCP builder."""
    code = (
        "import sys, eks_secure.cli, eks_secure.config.loader, eks_secure.network.planner; "
        "from eks_secure import plan_network, parse_config, eks_guardrail_document; "
        "from eks_secure.checks import check_template, RULES; "
        "assert 'aws_cdk' not in sys.modules and 'jsii' not in sys.modules, 'jsii loaded'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
