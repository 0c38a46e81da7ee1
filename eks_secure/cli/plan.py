"""``eks-secure plan``: print a config's address plan."""

from __future__ import annotations

import argparse
import sys

from eks_secure.cli._common import (
    EXIT_OK,
    Column,
    Verb,
    add_format_argument,
    to_csv,
    to_json,
    to_table,
)

DESCRIPTION = """\
Print the address plan of a deployment config (planned with its committed lock, the way
synthesis plans it): every subnet by tier and AZ with its CIDR, each app's and each pool
member's slot, fixed IPs (NAT gateway addresses), and the free space left: free app slots and
how many more apps with dedicated subnets fit (address space and the subnet quota)."""

COLUMNS = (
    Column("tier", "TIER"),
    Column("owner", "OWNER"),
    Column("slot", "SLOT"),
    Column("az", "AZ"),
    Column("cidr", "CIDR"),
    Column("fixed_ip", "FIXED IP"),
)


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``plan``."""
    parser.add_argument("config", metavar="CONFIG", help="the YAML config file")
    parser.add_argument("--pattern", help="override the config's pattern (as -c pattern=)")
    add_format_argument(parser, ("table", "json", "csv"), "table")


def run(args: argparse.Namespace) -> int:
    """Print the plan (exit 0; a bad config exits 2 with its problems)."""
    from eks_secure.tools.planning import plan_config

    planned = plan_config(args.config, pattern=args.pattern)
    plan = planned.plan
    rows: list[dict[str, object]] = []
    for subnet in (*plan.control_plane, *plan.endpoints, *plan.system_nodes):
        rows.append(
            {
                "tier": subnet.tier,
                "owner": "",
                "slot": "",
                "az": subnet.az,
                "cidr": subnet.cidr,
                "fixed_ip": "",
            }
        )
    for slot in plan.slots():
        for i, subnet in enumerate(slot.subnets):
            rows.append(
                {
                    "tier": subnet.tier,
                    "owner": slot.name,
                    "slot": slot.slot,
                    "az": subnet.az,
                    "cidr": subnet.cidr,
                    "fixed_ip": slot.fixed_ips[i] if slot.fixed_ips else "",
                }
            )
    pools = {
        p.name: {"block": p.block, "slots": p.slot_count, "free": p.slot_count - len(p.members)}
        for p in plan.pools
    }
    summary = {
        "vpc_cidr": plan.vpc_cidr,
        "secondary_cidr": plan.secondary_cidr,
        "subnets": planned.subnet_count,
        "app_slots": plan.app_slot_count,
        "free_app_slots": planned.free_app_slots,
        "more_apps_fit": planned.more_apps,
        "pools": pools,
        "lock_changes": list(planned.lock_changes),
    }
    if args.format == "json":
        sys.stdout.write(to_json({"subnets": rows, "summary": summary}))
    elif args.format == "csv":
        sys.stdout.write(to_csv(rows, COLUMNS))
    else:
        sys.stdout.write(to_table(rows, COLUMNS))
        print(
            f"\n{plan.vpc_cidr}: {planned.subnet_count} subnets; app slots "
            f"{len(plan.apps)}/{plan.app_slot_count} used; {planned.more_apps} more app(s) with "
            "dedicated subnets fit"
        )
        for name, pool in pools.items():
            print(f"pool {name} ({pool['block']}): {pool['free']} of {pool['slots']} slots free")
        for change in planned.lock_changes:
            print(f"lock change pending: {change}")
    return EXIT_OK


VERB = Verb(
    name="plan",
    summary="print the address plan: subnets by tier and AZ, slots, NAT IPs, free space",
    description=DESCRIPTION,
    configure=configure,
    run=run,
    findings="never (a config with problems exits 2 with them)",
    examples=(
        "eks-secure plan patterns/examples/private-nat.yaml",
        "eks-secure plan my-cluster.yaml --format csv > plan.csv",
    ),
)
