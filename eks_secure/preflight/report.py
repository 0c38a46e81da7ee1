"""Problems found by the preflight checks, and the report that collects them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

CHECKS: dict[str, str] = {
    "iam": "IAM sufficiency of the CloudFormation execution role",
    "deployer": "permissions of the deploying principal (CDK CLI calls)",
    "network": "network reachability of the flows the deployment needs",
    "timeouts": "Helm/kubectl waits, Lambda timeouts and custom-resource ServiceTimeout",
    "names": "generated and explicit names at the longest accepted cluster name",
    "allowlist": "allow-list completeness for flows that reach on-premises",
    "capacity": "node subnet address capacity",
    "lint": "cfn-lint errors and warnings of every template (CDK's synth-time validation)",
}
"""Check IDs and what each proves."""


@dataclass(frozen=True, order=True)
class Problem:
    """One fault that would stop or break the deployment.

    :param check: the check ID (a key of :data:`CHECKS`).
    :param stack: the stack (physical name) holding the resource.
    :param logical_id: the resource's logical ID (or ``-`` when the problem is stack-wide).
    :param problem: what is wrong.
    :param fix: how to fix it.
    """

    check: str
    stack: str
    logical_id: str
    problem: str
    fix: str

    def format(self) -> str:
        """One human-readable block."""
        return (
            f"[{self.check}] {self.stack} {self.logical_id}\n"
            f"    problem: {self.problem}\n"
            f"    fix:     {self.fix}"
        )


@dataclass
class Report:
    """What the preflight found: problems (fail the run) and notes (what it could not see)."""

    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    """How many items (requests, flows, waits, names, subnets ...) each check evaluated."""

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def add(self, problem: Problem) -> None:
        """Record a problem once."""
        if problem not in self.problems:
            self.problems.append(problem)

    def count(self, check: str, n: int = 1) -> None:
        """Count ``n`` evaluated items for ``check``."""
        self.checked[check] = self.checked.get(check, 0) + n

    def by_check(self, check: str) -> list[Problem]:
        """The problems of one check."""
        return [p for p in self.problems if p.check == check]

    def to_text(self) -> str:
        """The report as text: problems, then notes, then a summary line."""
        lines = [p.format() for p in sorted(self.problems)]
        lines += [f"note: {n}" for n in self.notes]
        summary = ", ".join(f"{k} {v}" for k, v in sorted(self.checked.items()))
        verdict = "OK" if self.ok else f"{len(self.problems)} problem(s)"
        lines.append(f"preflight: {verdict} (checked: {summary})")
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        """The report as JSON."""
        return (
            json.dumps(
                {
                    "ok": self.ok,
                    "problems": [asdict(p) for p in sorted(self.problems)],
                    "notes": self.notes,
                    "checked": self.checked,
                },
                indent=2,
                sort_keys=True,
            )
            + "\n"
        )
