"""250 apps x 3 AZs: the deployment synthesizes within CloudFormation's per-template limits.

One synthesis per session (private-nat, the larger of the two per-app patterns: app stacks, NAT
groups from a secondary CIDR, routes through the NAT gateways), without the policy packs, which
the reference synths already run. The benchmark (``make bench``) measures both patterns at
1 to 250 apps; this test only guards the limits.
"""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path

import aws_cdk as cdk
import pytest
from synth import SYNTH_ROOT

from eks_secure.config.loader import parse_config
from eks_secure.deployment import EksSecureDeployment
from eks_secure.egress.allowlist import CONTROL_PLANE, read_assembly
from eks_secure.firewall import load_allowlists
from eks_secure.limits import LIMITS, assembly_usage
from patterns.load import project_context
from patterns.scale import app_name, scale_config

pytestmark = [pytest.mark.scale, pytest.mark.xdist_group("scale")]

APPS = 250


@functools.cache
def _scale_synth() -> Path:
    config = parse_config(scale_config("private-nat", APPS), lock={})
    outdir = Path(tempfile.mkdtemp(prefix="scale-", dir=SYNTH_ROOT.name))
    app = cdk.App(outdir=str(outdir), context=project_context(), stack_traces=False)
    EksSecureDeployment.from_config(app, config, address_lock={})
    app.synth()
    return outdir


@pytest.fixture(scope="module")
def scale() -> Path:
    """The cloud assembly of private-nat with 250 apps in 3 AZs."""
    return _scale_synth()


@pytest.mark.parametrize("limit", sorted(set(LIMITS) - {"template_bytes"}))
def test_every_template_within_limit(scale: Path, limit: str) -> None:
    usage = assembly_usage(scale)
    over = [
        f"{u.template}: {getattr(u, limit)}" for u in usage if getattr(u, limit) > LIMITS[limit]
    ]
    assert not over, f"over CloudFormation's {LIMITS[limit]} {limit}: {over}"


def test_nested_templates_within_size_limit(scale: Path) -> None:
    over = [
        u.template
        for u in assembly_usage(scale)
        if u.nested and u.template_bytes > LIMITS["template_bytes"]
    ]
    assert not over


def test_cluster_template_within_size_limit(scale: Path) -> None:
    top = [u for u in assembly_usage(scale) if not u.nested]
    assert all(u.template_bytes <= LIMITS["template_bytes"] for u in top), top


def test_allowlist_complete(scale: Path) -> None:
    """Every app's entry is read back, from the assembly and by the firewall reader."""
    names = [app_name(i) for i in range(APPS)]
    for stacks in (read_assembly(scale), load_allowlists(scale)):
        (entries,) = stacks.values()
        entries = [e for e in entries if not e.is_control_plane]
        assert [e.app for e in entries] == names
        assert all(len(e.source_cidrs) == 3 for e in entries)
    saved = json.loads(next(scale.glob("*.allowlist.json")).read_text())
    assert [e["app"] for e in next(iter(saved.values())) if e["app"] != CONTROL_PLANE] == names


def test_one_kubectl_provider(scale: Path) -> None:
    """One kubectl handler for the cluster; Lambda functions do not grow with the apps."""
    functions = [
        (path.name, logical_id)
        for path in sorted(scale.glob("*.template.json"))
        for logical_id, resource in json.loads(path.read_text())["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    ]
    assert {name for name, _ in functions} == {"Cluster.template.json"}
    handlers = [i for _, i in functions if "KubectlProviderHandler" in i]
    assert len(handlers) == 1, handlers
