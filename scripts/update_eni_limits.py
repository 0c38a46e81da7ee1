"""Regenerate eks_secure/network/data/eni_limits.json from the VPC CNI's instance limits.

Usage: python scripts/update_eni_limits.py <amazon-vpc-cni-k8s checkout> [<commit>]

Reads ``pkg/vpc/vpc_ip_resource_limit.go`` (the table the VPC CNI itself allocates by) and keeps,
per instance type, the number of ENIs and IPv4 addresses per ENI. The commit is recorded as the
data's provenance; the preflight's capacity check reads nothing else.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ENTRY = re.compile(r'"([a-z0-9-]+\.[a-z0-9-]+)":\s*\{\s*ENILimit:\s*(\d+),\s*IPv4Limit:\s*(\d+),')
OUT = Path(__file__).resolve().parents[1] / "eks_secure" / "network" / "data" / "eni_limits.json"


def main(argv: list[str]) -> int:
    checkout = Path(argv[1])
    commit = argv[2] if len(argv) > 2 else "unknown"
    text = (checkout / "pkg" / "vpc" / "vpc_ip_resource_limit.go").read_text()
    types = {name: [int(eni), int(ipv4)] for name, eni, ipv4 in ENTRY.findall(text)}
    document = {
        "source": f"aws/amazon-vpc-cni-k8s@{commit} pkg/vpc/vpc_ip_resource_limit.go",
        "columns": ["enis", "ipv4_per_eni"],
        "types": dict(sorted(types.items())),
    }
    OUT.write_text(json.dumps(document, indent=0, sort_keys=False) + "\n")
    print(f"{len(types)} instance types -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
