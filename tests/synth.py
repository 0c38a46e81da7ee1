"""Synthesize reference deployments once per test process and hand out the results.

Tests never synthesize on their own: they ask for ``synth(pattern)`` (through the fixtures in
``conftest.py``), which builds the app with every policy pack of :func:`nag_packs` registered
(cdk-nag AwsSolutions, NIST 800-53 r5, HIPAA Security, PCI DSS 3.2.1 and eks-secure's own
``EksSecureChecks``), synthesizes it into a temporary directory and caches the result for the
rest of the session. Modules that use one pattern carry ``pytest.mark.xdist_group(<pattern>)``
so a single worker does that synth.
"""

from __future__ import annotations

import copy
import functools
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cdk_nag
import jsii
import yaml

from eks_secure.checks import EksSecureChecks
from eks_secure.config.loader import parse_config
from eks_secure.config.model import DeploymentConfig
from eks_secure.deployment import EksSecureDeployment
from eks_secure.egress.allowlist import read_assembly
from eks_secure.egress.contract import AllowListEntry
from eks_secure.network.lock import lock_path, read_lock
from eks_secure.preflight.report import Report
from eks_secure.testing import normalise  # noqa: F401 -- re-exported: tests import it from here
from patterns.load import default_config_path, project_context

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "patterns" / "examples"
SYNTH_ROOT = tempfile.TemporaryDirectory(prefix="eks-secure-synth-")
"""Parent of every assembly this test process synthesizes, removed when the process exits
(each assembly holds copies of the kubectl layer: tens of MB that used to stay in /tmp)."""
NAG_PACKS = ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321", "EksSecure")
"""Names of the policy packs :func:`nag_packs` registers, as they appear in the report."""


@jsii.implements(cdk.IPolicyValidationPlugin)
class ReportOnly:
    """Runs a policy pack and passes its findings on without failing synthesis.

    The suite reads findings from the report (``Synth.findings``) and checks them against
    ``KNOWN_OPEN``; a failing synthesis would also break every later in-process synthesis of
    the same app (``Template.from_stack``, ``Annotations.from_stack`` re-run the plugins).
    """

    def __init__(self, pack: cdk.IPolicyValidationPlugin) -> None:
        self._pack = pack
        self.ran = False
        """Whether CDK called the pack (the report omits a pack that found nothing)."""

    @property
    def name(self) -> str:
        """The wrapped pack's name."""
        return self._pack.name

    @property
    def version(self) -> str | None:
        """The wrapped pack's version."""
        return self._pack.version

    @property
    def rule_ids(self) -> list[str] | None:
        """The wrapped pack's rule IDs."""
        return self._pack.rule_ids

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        """The wrapped pack's violations, reported as a success."""
        report = self._pack.validate(context)
        self.ran = True
        return cdk.PolicyValidationPluginReport(success=True, violations=report.violations)


def nag_packs(app: cdk.App) -> list[ReportOnly]:
    """Every policy pack the reference stacks must pass, each wrapped in :class:`ReportOnly`."""
    packs: list[cdk.IPolicyValidationPlugin] = [
        cdk_nag.AwsSolutionsChecks(app),
        cdk_nag.NIST80053R5Checks(app),
        cdk_nag.HIPAASecurityChecks(app),
        cdk_nag.PCIDSS321Checks(app),
        EksSecureChecks(app),
    ]
    return [ReportOnly(pack) for pack in packs]


@dataclass(frozen=True)
class Finding:
    """One unacknowledged policy-pack violation on one construct."""

    pack: str
    rule: str
    path: str
    severity: str


@dataclass
class Synth:
    """A synthesized deployment: the templates, manifests and reports it produced."""

    deployment: EksSecureDeployment
    config: DeploymentConfig
    """The deployment's validated config."""
    outdir: Path
    synth_error: str | None = None
    """Why synthesis failed (policy packs only report: see :meth:`findings`)."""
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Every template in the assembly (nested stacks included), by file name."""
    manifests: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """cdk8s manifests shipped into the cluster, by chart construct ID."""
    packs_ran: tuple[str, ...] = ()
    """Names of the policy packs CDK ran on the app (the report lists only those with a
    finding or a suppressed finding, so a clean pack is missing from it)."""

    @property
    def cluster_template(self) -> dict[str, Any]:
        """The cluster stack's template."""
        return self.templates[f"{self.deployment.cluster_stack.artifact_id}.template.json"]

    @property
    def creator_template(self) -> dict[str, Any]:
        """The creator stack's template."""
        return self.templates[f"{self.deployment.creator_stack.artifact_id}.template.json"]

    def allow_list(self) -> list[AllowListEntry]:
        """The cluster stack's allow-list as published in the assembly (nested stacks too)."""
        return read_assembly(self.outdir).get(self.deployment.cluster_stack.stack_name, [])

    def nag_errors(self, pack: str = "AwsSolutions") -> list[str]:
        """Rule IDs of ``pack``'s errors left unacknowledged (empty when clean)."""
        return sorted({f.rule for f in self.findings() if f.pack == pack and f.severity == "error"})

    def findings(self) -> list[Finding]:
        """Every unacknowledged violation (error or warning) reported by the policy packs."""
        report = self.nag_report()
        if report is None:
            return []
        return [
            Finding(plugin["pluginName"], v["ruleName"], c["constructPath"], v["severity"])
            for plugin in report["pluginReports"]
            if plugin["pluginName"] in NAG_PACKS
            for v in plugin["violations"]
            for c in v["violatingConstructs"]
        ]

    def nag_report(self) -> dict[str, Any] | None:
        """The validation report CDK wrote (every registered plugin), if synthesis got that far."""
        path = self.outdir / "validation-report.json"
        if not path.exists():
            return None
        report: dict[str, Any] = json.loads(path.read_text())
        return report


def load_example(name: str) -> dict[str, Any]:
    """The raw YAML dict of ``patterns/examples/<name>.yaml`` (a fresh copy)."""
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    return copy.deepcopy(data)


def synth_config(
    data: dict[str, Any],
    *,
    nag: bool = True,
    lock: dict[str, dict[str, int]] | None = None,
) -> Synth:
    """Build and synthesize the reference deployment of a raw config dict (with ``lock``)."""
    config = parse_config(copy.deepcopy(data))
    outdir = Path(tempfile.mkdtemp(prefix="app-", dir=SYNTH_ROOT.name))
    # CDK's built-in template validation (cfn-lint rules ported to Node.js, errors under
    # `@aws-cdk/core:validateAgainstDefaultRules`) took about half of each synthesis
    # (docs/performance.md); the suite runs cfn-lint itself on every template of every pattern
    # (template_checks.cfn_lint_findings), and tests/test_reference_app.py keeps the built-in
    # check in the reference app's whole `cdk synth` runs. Templates are identical either way.
    app = cdk.App(
        outdir=str(outdir),
        context=project_context(),
        stack_traces=False,
        builtin_cloud_formation_validation=False,
    )
    deployment = EksSecureDeployment.from_config(app, config, address_lock=lock)
    packs = nag_packs(app) if nag else []
    if packs:
        cdk.Validations.of(app).add_plugins(*packs)
    error: str | None = None
    try:
        app.synth()
    except Exception as exc:  # the tests that need a clean synthesis report it
        error = str(exc)
    result = Synth(
        deployment=deployment,
        config=config,
        outdir=outdir,
        synth_error=error,
        packs_ran=tuple(p.name for p in packs if p.ran),
    )
    for path in sorted(outdir.glob("*.template.json")):
        result.templates[path.name] = json.loads(path.read_text())
    cluster = deployment.secure_cluster
    for chart_id, chart in cluster.charts.items():
        result.manifests[chart_id] = json.loads(json.dumps(chart.to_json()))
    return result


@functools.cache
def synth(pattern: str) -> Synth:
    """The reference deployment of ``pattern`` from its example config, synthesized once."""
    path = default_config_path(pattern)
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    data["pattern"] = pattern
    return synth_config(data, lock=read_lock(lock_path(path)))


@functools.cache
def synth_example(name: str) -> Synth:
    """The deployment of ``patterns/examples/<name>.yaml`` (its own pattern key and lock),
    synthesized once: examples that are not a pattern's reference config."""
    path = EXAMPLES / f"{name}.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return synth_config(data, lock=read_lock(lock_path(path)))


@functools.cache
def _preflight(outdir: Path) -> Report:
    from eks_secure.preflight import run

    return run(outdir)


def preflight(deployment: Synth) -> Report:
    """The ``eks-secure preflight`` report of a synthesized deployment, computed once."""
    return _preflight(deployment.outdir)


REFERENCE_FIXTURES = (
    "base",
    "subnet_per_app",
    "private_nat",
    "cilium",
    "istio",
    "isolation_pods",
    "isolation",
)
"""The session fixtures (tests/conftest.py) of every reference deployment."""


def copy_assembly(source: Path, target: Path) -> Path:
    """A copy of an assembly's JSON files (the ones a test breaks or edits); the large asset
    files linked."""
    target.mkdir()
    for item in source.iterdir():
        if item.suffix == ".json":
            shutil.copyfile(item, target / item.name)
        else:
            (target / item.name).symlink_to(item)
    return target
