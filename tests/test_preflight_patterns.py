"""Every reference pattern passes ``eks-secure preflight``, except the findings the lead closes."""

from __future__ import annotations

import pytest
from synth import REFERENCE_FIXTURES, Synth, preflight

from eks_secure.preflight import Problem

KNOWN_OPEN: list[tuple[str, str, str]] = [
    # (check, logical ID, start of the problem). Each entry is a real deploy blocker still open.
    # Empty: issue 8's findings are closed; keep the mechanism for the next one.
]


def _open(problem: Problem) -> bool:
    return any(
        problem.check == check
        and (not logical_id or problem.logical_id == logical_id)
        and (problem.problem.startswith(text) if logical_id else text in problem.problem)
        for check, logical_id, text in KNOWN_OPEN
    )


@pytest.mark.parametrize(
    "fixture",
    [
        pytest.param(name, marks=pytest.mark.xdist_group(name.replace("_", "-")))
        for name in REFERENCE_FIXTURES
    ],
)
def test_reference_pattern_passes_preflight(fixture: str, request: pytest.FixtureRequest) -> None:
    deployment: Synth = request.getfixturevalue(fixture)
    report = preflight(deployment)
    unexpected = [p.format() for p in report.problems if not _open(p)]
    assert unexpected == [], "\n".join(unexpected)
    assert set(report.checked) >= {
        "iam",
        "deployer",
        "network",
        "timeouts",
        "names",
        "allowlist",
        "capacity",
        "lint",
    }


@pytest.mark.parametrize(
    "fixture",
    [
        pytest.param(name, marks=pytest.mark.xdist_group(name.replace("_", "-")))
        for name in ("base", "subnet_per_app", "private_nat")
    ],
)
def test_preflight_reads_every_template(fixture: str, request: pytest.FixtureRequest) -> None:
    """Nested stacks are found (a missed one would pass every check vacuously)."""
    from eks_secure.preflight.assembly import load

    deployment: Synth = request.getfixturevalue(fixture)
    files = sorted(p.name for p in deployment.outdir.glob("*.template.json"))
    assert sorted(s.file.name for s in load(deployment.outdir).stacks) == files
