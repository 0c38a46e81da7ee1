"""Large synthetic deployments for the scale test and the benchmark (pure Python, no CDK).

:func:`scale_config` builds the raw config dict of a pattern's example with ``apps`` generated
apps in three AZs, sized so the address plan fits: app subnets of ``/27`` (4 AZ positions x /27
= one /25 slot; a /16 holds about 500), NAT groups of 25 apps carved from a secondary CIDR
(private-nat) and the subnet quota raised to what the plan needs (``subnets.subnets_per_vpc``,
AWS's adjustable "Subnets per VPC" quota). Apps get an empty address-plan lock, so each takes
the next free slot instead of a hashed one (hashes of hundreds of names collide).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

EXAMPLES = Path(__file__).parent / "examples"
SCALE_PATTERNS = ("subnet-per-app", "private-nat")
"""The patterns whose per-app resources grow with the app count."""
APPS_PER_NAT_GROUP = 25
SECONDARY_CIDR = "100.64.0.0/16"
"""Secondary VPC CIDR the NAT pool is carved from (RFC 6598 space, disjoint from on-prem)."""


def app_name(i: int) -> str:
    """Name of generated app ``i`` (``app-007``)."""
    return f"app-{i:03d}"


def scale_config(pattern: str, apps: int) -> dict[str, Any]:
    """The raw config of ``pattern``'s example with ``apps`` generated apps (see module doc)."""
    if pattern not in SCALE_PATTERNS:
        raise ValueError(f"no scale config for pattern {pattern!r} (only {SCALE_PATTERNS})")
    data: dict[str, Any] = copy.deepcopy(
        yaml.safe_load((EXAMPLES / f"{pattern}.yaml").read_text(encoding="utf-8"))
    )
    data["pattern"] = pattern
    azs = len(data["availability_zones"])
    generated: list[dict[str, Any]] = []
    for i in range(apps):
        app: dict[str, Any] = {
            "name": app_name(i),
            "destinations": ["10.1.0.0/16"] if i % 2 else ["172.16.10.0/24"],
            "ports": [443],
            # small nodes: /27 app subnets (27 addresses) must hold max_size + the update surge
            # with the VPC CNI's allocation (the synth-time capacity rule checks it)
            "nodes": {
                "instance_types": ["t3.micro"],
                "min_size": 1,
                "desired_size": 1,
                "max_size": 2,
            },
        }
        if i % 3 == 0:
            app["team_role_arns"] = [f"arn:aws:iam::111111111111:role/team-{i:03d}"]
        if pattern == "private-nat":
            app["nat_group"] = f"group-{i // APPS_PER_NAT_GROUP:02d}"
        generated.append(app)
    data["apps"] = generated
    groups = -(-apps // APPS_PER_NAT_GROUP) if pattern == "private-nat" else 0
    subnets = data.setdefault("subnets", {})
    subnets["app_prefix"] = 27
    subnets["subnets_per_vpc"] = max(200, (3 + apps + groups) * azs)
    if pattern == "private-nat":
        data.setdefault("private_nat", {})["secondary_cidr"] = SECONDARY_CIDR
    return data
