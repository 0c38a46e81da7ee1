"""Check 3: every flow the deployment needs is reachable (see :mod:`eks_secure.preflight.flows`)."""

from __future__ import annotations

from eks_secure.preflight.assembly import Assembly
from eks_secure.preflight.flows import Model, build, trace
from eks_secure.preflight.network import read
from eks_secure.preflight.report import Problem, Report

CHECK = "network"


def model_of(assembly: Assembly) -> Model:
    """The network model and flows of ``assembly``."""
    return build(assembly, read(assembly))


def run(assembly: Assembly, report: Report, model: Model | None = None) -> None:
    """Trace every flow from every source subnet and report each that cannot pass."""
    model = model or model_of(assembly)
    for flow in model.flows:
        source = model.parties[flow.source]
        failures: dict[str, None] = {}
        for subnet in source.subnets:
            report.count(CHECK)
            for failure in trace(model, flow, subnet).failures:
                failures.setdefault(failure, None)
        for failure in failures:
            proto = "udp" if flow.protocol == 17 else "tcp"
            report.add(
                Problem(
                    CHECK,
                    source.stack.name,
                    source.logical_id,
                    f"{flow.source} -> {flow.destination.describe()} {proto}/{flow.port} "
                    f"({flow.reason}): {failure}",
                    _fix(failure),
                )
            )


def _fix(failure: str) -> str:
    if failure.startswith("no interface endpoint"):
        service = failure.rsplit(" ", 1)[-1]
        return f"add an interface endpoint for {service} (private DNS on) to the VPC"
    if failure.startswith("endpoint policy"):
        return "allow the call in the endpoint's policy (PolicyDocument of the VPC endpoint)"
    if "S3 gateway" in failure:
        return "associate the route table with the S3 gateway endpoint"
    if "no route" in failure:
        return "add a route for the destination (transit gateway, VPN gateway or NAT gateway)"
    if failure.startswith("NACL"):
        return "add the NACL entry (stateless: both the request and the reply on 1024-65535)"
    if "egress rule" in failure:
        return "add the security-group egress rule at the source"
    if "ingress rule" in failure:
        return "add the security-group ingress rule at the destination"
    return "fix the path"
