"""Check 5: names still fit, and policies still match them, at the longest accepted cluster name.

The cluster name prefixes stack names, role names, function names and log groups. The check
reads the assembly again with the cluster name lengthened to the longest the config accepts
(``eks_secure.config.loader.MAX_NAME_LENGTH`` unless told otherwise), so every generated name
is re-derived with CloudFormation's truncation rule (:mod:`eks_secure.preflight.physical`), and
then:

* re-evaluates the execution-role and deploy-role requests (checks ``iam`` and ``deployer``):
  a request allowed today but denied at the longest name is a policy that scopes a name prefix
  CloudFormation truncates away;
* checks every explicit name against its service's length limit.
"""

from __future__ import annotations

from pathlib import Path

from eks_secure.preflight import check_deployer, check_iam
from eks_secure.preflight.assembly import Assembly, load
from eks_secure.preflight.physical import NAME_PROPERTIES, is_generated, name_of, render
from eks_secure.preflight.report import Problem, Report

CHECK = "names"


def cluster_names(assembly: Assembly) -> list[str]:
    """The names of the EKS clusters the assembly creates."""
    names = []
    for stack, logical_id, _ in assembly.all_resources():
        if stack.resources[logical_id].get("Type") == "AWS::EKS::Cluster":
            name = render(stack.properties(logical_id).get("Name", ""))
            if name:
                names.append(name)
    return sorted(set(names))


def _explicit_names(assembly: Assembly, report: Report, label: str) -> None:
    for stack, logical_id, resource in assembly.all_resources():
        spec = NAME_PROPERTIES.get(str(resource.get("Type")))
        if spec is None or is_generated(stack, logical_id):
            continue
        name = name_of(stack, logical_id) or ""
        report.count(CHECK)
        if len(name) > spec[1]:
            report.add(
                Problem(
                    CHECK,
                    stack.name,
                    logical_id,
                    f"{spec[0]} '{name}' has {len(name)} characters{label}; "
                    f"{resource['Type']} allows {spec[1]}",
                    "shorten the name (or the cluster name limit of the config)",
                )
            )


def run(assembly: Assembly, report: Report, *, max_length: int | None = None) -> None:
    """Run the checks at the longest cluster name (see the module docstring)."""
    if max_length is None:
        from eks_secure.rules import MAX_NAME_LENGTH

        max_length = MAX_NAME_LENGTH
    _explicit_names(assembly, report, "")
    names = cluster_names(assembly)
    if not names:
        report.notes.append("names: no AWS::EKS::Cluster with a Name; not lengthened")
        return
    rename = {n: n + "x" * (max_length - len(n)) for n in names if len(n) < max_length}
    if not rename:
        return
    longest = load(Path(assembly.directory), rename=rename)
    label = f" at the longest cluster name ({max_length} characters)"
    _explicit_names(longest, report, label)
    baseline = Report()
    check_iam.run(assembly, baseline)
    check_deployer.run(assembly, baseline)
    known = {(p.check, p.logical_id, p.problem) for p in baseline.problems}
    lengthened = Report()
    check_iam.run(longest, lengthened)
    check_deployer.run(longest, lengthened)
    back = {new: old for old, new in rename.items()}
    for problem in lengthened.problems:
        restored = problem.problem
        for new, old in back.items():
            restored = restored.replace(new, old)
        if (problem.check, problem.logical_id, restored) in known:
            continue
        report.count(CHECK)
        report.add(
            Problem(
                CHECK,
                problem.stack,
                problem.logical_id,
                f"{label.strip()}: {problem.problem}",
                "scope the statement by a name the library sets (explicit physical name or "
                f"IAM path), not by a generated-name prefix; {problem.fix}",
            )
        )
    report.count(CHECK, max(0, sum(lengthened.checked.values())))
