"""``eks-secure allowlist``: printing, ``--diff`` change requests, exit codes and input errors.

Most tests build small cloud assemblies in the exact format the stacks publish (an
``EksSecureAllowList<App>`` output per app, see ``eks_secure.egress.allowlist``), so the expected
rows can be written by hand. One test diffs the real synthesized subnet-per-app assembly.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from synth import REPO, Synth

from eks_secure.cli import main
from eks_secure.egress.allowlist import (
    control_plane_entry,
    output_id,
    read_assembly,
    write_allowlists,
)
from eks_secure.egress.contract import AllowListEntry
from eks_secure.firewall import diff_allowlists

pytestmark = pytest.mark.xdist_group("cli-tools")

STACK = "payments-prod-cluster"


def entry(
    app: str, sources: list[str], destinations: list[str], ports: list[int], **kw: str
) -> AllowListEntry:
    """An allow-list entry of ``app`` (namespace = app, pattern subnet-per-app)."""
    return AllowListEntry(
        app=app,
        namespace=kw.get("namespace", app),
        pattern=kw.get("pattern", "subnet-per-app"),
        source_cidrs=tuple(sources),
        destination_cidrs=tuple(destinations),
        ports=tuple(ports),
        protocol=kw.get("protocol", "tcp"),
    )


def write_assembly(directory: Path, entries: list[AllowListEntry], stack: str = STACK) -> Path:
    """A minimal cloud assembly whose cluster stack publishes ``entries`` as outputs."""
    directory.mkdir(parents=True, exist_ok=True)
    outputs = {
        output_id(e.app): {"Value": json.dumps(e.to_dict(), separators=(",", ":"))} for e in entries
    }
    (directory / "Cluster.template.json").write_text(json.dumps({"Outputs": outputs}))
    (directory / "Creator.template.json").write_text(json.dumps({"Resources": {}}))
    manifest = {
        "version": "55.0.0",
        "artifacts": {
            "Cluster": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "Cluster.template.json", "stackName": stack},
            },
            "Creator": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "Creator.template.json", "stackName": "creator"},
            },
            "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}},
        },
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


OLD = [
    entry("ledger", ["10.20.8.0/26", "10.20.8.64/26"], ["10.1.0.0/16"], [443]),
    entry("payments-api", ["10.20.9.0/26"], ["10.1.0.0/16", "10.2.0.0/24"], [443, 8443]),
    entry("reports", ["10.20.10.0/26"], ["10.3.0.0/16"], [1521]),
]
NEW = [
    # ledger: one source moves, a port is added on the unchanged source
    entry("ledger", ["10.20.8.0/26", "10.20.8.128/26"], ["10.1.0.0/16"], [443, 5432]),
    # payments-api: 8443 is dropped for one destination only (expressed as two entries)
    entry("payments-api", ["10.20.9.0/26"], ["10.1.0.0/16"], [443, 8443]),
    # reports is gone; fraud-scoring is new
    entry("fraud-scoring", ["10.20.11.0/26"], ["10.4.0.0/16"], [443]),
]
NEW_EXTRA = entry("payments-api", ["10.20.9.0/26"], ["10.2.0.0/24"], [443])

EXPECTED_CSV = """\
change,source_cidr,destination_cidr,protocol,ports,apps,namespaces,stacks
add,10.20.8.0/26,10.1.0.0/16,tcp,5432,ledger,ledger,payments-prod-cluster
add,10.20.8.128/26,10.1.0.0/16,tcp,443;5432,ledger,ledger,payments-prod-cluster
add,10.20.11.0/26,10.4.0.0/16,tcp,443,fraud-scoring,fraud-scoring,payments-prod-cluster
remove,10.20.8.64/26,10.1.0.0/16,tcp,443,ledger,ledger,payments-prod-cluster
remove,10.20.9.0/26,10.2.0.0/24,tcp,8443,payments-api,payments-api,payments-prod-cluster
remove,10.20.10.0/26,10.3.0.0/16,tcp,1521,reports,reports,payments-prod-cluster
"""
"""Written by hand from OLD and NEW: additions first, then by source numerically; the apps,
namespaces and stacks that need each rule are labels after it."""


@pytest.fixture
def assemblies(tmp_path: Path) -> tuple[Path, Path]:
    """(old, new) cloud assemblies of OLD and NEW (+ NEW_EXTRA)."""
    # NEW_EXTRA needs its own output ID: publish it under a second stack with the same rules
    old = write_assembly(tmp_path / "old", OLD)
    new = write_assembly(tmp_path / "new", NEW)
    extra = write_assembly(tmp_path / "extra", [NEW_EXTRA], stack="second-cluster")
    manifest = json.loads((new / "manifest.json").read_text())
    manifest["artifacts"]["Second"] = {
        "type": "aws:cloudformation:stack",
        "properties": {"templateFile": "Second.template.json", "stackName": "second-cluster"},
    }
    (new / "manifest.json").write_text(json.dumps(manifest))
    (new / "Second.template.json").write_text((extra / "Cluster.template.json").read_text())
    return old, new


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_diff_csv_rows_are_exact_and_ordered(
    assemblies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = assemblies
    code, out, err = run_cli(["allowlist", str(new), "--diff", str(old), "--format", "csv"], capsys)
    assert (code, err) == (1, "")
    assert out == EXPECTED_CSV


def test_diff_markdown_is_a_reviewable_change_request(
    assemblies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = assemblies
    code, out, _ = run_cli(["allowlist", str(new), "--diff", str(old)], capsys)
    assert code == 1
    assert out.startswith("# Firewall change request\n")
    assert f"- From: `{old}`" in out and f"- To: `{new}`" in out
    assert "- Rules to add: 3; to remove: 3; unchanged: 3" in out
    assert "- Apps affected: fraud-scoring, ledger, payments-api, reports" in out
    assert "\n## " not in out  # no label changes: one table
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert table == [
        "| Change | Source | Destination | Protocol | Ports | Apps | Namespaces |",
        "| add | 10.20.8.0/26 | 10.1.0.0/16 | tcp | 5432 | ledger | ledger |",
        "| add | 10.20.8.128/26 | 10.1.0.0/16 | tcp | 443, 5432 | ledger | ledger |",
        "| add | 10.20.11.0/26 | 10.4.0.0/16 | tcp | 443 | fraud-scoring | fraud-scoring |",
        "| remove | 10.20.8.64/26 | 10.1.0.0/16 | tcp | 443 | ledger | ledger |",
        "| remove | 10.20.9.0/26 | 10.2.0.0/24 | tcp | 8443 | payments-api | payments-api |",
        "| remove | 10.20.10.0/26 | 10.3.0.0/16 | tcp | 1521 | reports | reports |",
    ]


def test_diff_json_matches_the_csv(
    assemblies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = assemblies
    code, out, _ = run_cli(["allowlist", str(new), "--diff", str(old), "-f", "json"], capsys)
    assert code == 1
    document = json.loads(out)
    assert document["summary"] == {"add": 3, "remove": 3, "unchanged": 3, "label_changes": 0}
    assert (document["from"], document["to"]) == (str(old), str(new))
    assert document["label_changes"] == []
    expected = list(csv.DictReader(io.StringIO(EXPECTED_CSV)))
    lists = ("ports", "apps", "namespaces", "stacks")
    assert [
        {**c, **{k: ";".join(str(v) for v in c[k]) for k in lists}} for c in document["changes"]
    ] == expected


def test_no_change_exits_0_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = write_assembly(tmp_path / "old", OLD)
    # the same rules written differently: bare IP vs /32, upper-case protocol, ports reordered,
    # entries split and duplicated, another stack name and namespace (labels, not rules)
    same = [
        entry("ledger", ["10.20.8.0/26"], ["10.1.0.0/16"], [443]),
        entry("ledger", ["10.20.8.64/26", "10.20.8.0/26"], ["10.1.0.0/16"], [443], protocol="TCP"),
        entry("payments-api", ["10.20.9.0/26"], ["10.2.0.0/24", "10.1.0.0/16"], [8443, 443]),
        entry("reports", ["10.20.10.0/26"], ["10.3.0.0/16"], [1521], namespace="reporting"),
    ]
    saved = tmp_path / "same.allowlist.json"
    saved.write_text(json.dumps({"renamed-cluster": [e.to_dict() for e in same]}))
    for fmt, expected in (
        ("markdown", "No change: the same 5 rules on both sides."),
        ("csv", "change,source_cidr,destination_cidr,protocol,ports,apps,namespaces,stacks\n"),
        ("json", '"changes": []'),
    ):
        code, out, err = run_cli(["allowlist", str(saved), "--diff", str(old), "-f", fmt], capsys)
        assert (code, err) == (0, ""), fmt
        assert expected in out, fmt


def test_single_address_equals_its_slash_32() -> None:
    old = {"s": [entry("a", ["10.0.0.5"], ["10.9.0.0/16"], [443])]}
    new = {"s": [entry("a", ["10.0.0.5/32"], ["10.9.0.0/16"], [443])]}
    request = diff_allowlists(old, new)
    assert not request.has_changes and request.unchanged == 1


def test_order_is_numeric_not_lexical() -> None:
    new = {
        "s": [entry("a", ["10.0.0.128/25", "10.0.0.16/28", "9.0.0.0/8"], ["10.9.0.0/16"], [443])]
    }
    request = diff_allowlists({}, new)
    assert [str(r.source) for r in request.rows] == ["9.0.0.0/8", "10.0.0.16/28", "10.0.0.128/25"]


def test_diff_output_is_deterministic(assemblies: tuple[Path, Path]) -> None:
    old, new = assemblies
    first = diff_allowlists(read_assembly(old), read_assembly(new)).to_markdown()
    reversed_new = {k: list(reversed(v)) for k, v in reversed(read_assembly(new).items())}
    assert diff_allowlists(read_assembly(old), reversed_new).to_markdown() == first


def test_diff_accepts_the_saved_json_make_synth_writes(
    assemblies: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = assemblies
    (saved,) = [p for p in write_allowlists(old) if p.suffix == ".json"]
    code, out, _ = run_cli(["allowlist", str(new), "--diff", str(saved), "-f", "csv"], capsys)
    assert code == 1
    assert out == EXPECTED_CSV


# The reviewer's case: private-nat, payments-api and billing in NAT group core-banking, so both
# leave through the group's NAT gateways (one /32 per AZ) towards the same destination and port.
CORE_BANKING_NAT = ["10.20.4.4/32", "10.20.5.4/32", "10.20.6.4/32"]
PAYMENTS = entry("payments-api", CORE_BANKING_NAT, ["10.1.0.0/16"], [443], pattern="private-nat")
BILLING = entry("billing", CORE_BANKING_NAT, ["10.1.0.0/16"], [443], pattern="private-nat")


def saved(path: Path, entries: list[AllowListEntry], stack: str = STACK) -> Path:
    """A saved ``<stack>.allowlist.json`` of ``entries``."""
    path.write_text(json.dumps({stack: [e.to_dict() for e in entries]}))
    return path


def shared_rule_labels(before: str, after: str) -> list[str]:
    """The label-change rows of the three core-banking rules, apps ``before`` -> ``after``."""
    return [
        f"| {source} | 10.1.0.0/16 | tcp | 443 | {before} | {after} |"
        for source in ("10.20.4.4/32", "10.20.5.4/32", "10.20.6.4/32")
    ]


@pytest.mark.parametrize(
    ("old", "new", "apps"),
    [
        ([PAYMENTS, BILLING], [PAYMENTS], ("billing, payments-api", "payments-api")),
        ([PAYMENTS], [PAYMENTS, BILLING], ("payments-api", "billing, payments-api")),
    ],
    ids=["remove-billing", "add-billing"],
)
def test_apps_sharing_a_nat_group_share_their_rules(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    old: list[AllowListEntry],
    new: list[AllowListEntry],
    apps: tuple[str, str],
) -> None:
    """Removing billing removes no rule payments-api still needs; adding it adds none the
    firewall already has: only the apps labelling the three rules change (exit 0)."""
    before, after = apps
    old_path, new_path = saved(tmp_path / "old.json", old), saved(tmp_path / "new.json", new)
    args = ["allowlist", str(new_path), "--diff", str(old_path)]
    code, out, err = run_cli(args, capsys)
    assert (code, err) == (0, "")
    assert "No change: the same 3 rules on both sides." in out
    assert "| add " not in out and "| remove " not in out
    assert [line for line in out.splitlines() if line.startswith("| 10.")] == shared_rule_labels(
        before, after
    )
    code, out, _ = run_cli([*args, "-f", "csv"], capsys)
    assert (code, out.count("\n")) == (0, 1)  # the header only
    code, out, _ = run_cli([*args, "-f", "json"], capsys)
    document = json.loads(out)
    assert code == 0 and document["changes"] == []
    assert document["summary"] == {"add": 0, "remove": 0, "unchanged": 3, "label_changes": 3}
    assert {
        (tuple(n["apps_before"]), tuple(n["apps_after"])) for n in document["label_changes"]
    } == {(tuple(before.split(", ")), tuple(after.split(", ")))}


def test_a_shared_app_removed_takes_only_its_own_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """billing also reaches 10.5.0.0/24: removing it removes those three rules (labelled
    billing), not the 10.1.0.0/16 ones payments-api still needs."""
    billing = entry(
        "billing", CORE_BANKING_NAT, ["10.1.0.0/16", "10.5.0.0/24"], [443], pattern="private-nat"
    )
    old_path = saved(tmp_path / "old.json", [PAYMENTS, billing])
    new_path = saved(tmp_path / "new.json", [PAYMENTS])
    code, out, _ = run_cli(
        ["allowlist", str(new_path), "--diff", str(old_path), "-f", "csv"], capsys
    )
    assert code == 1
    assert out.splitlines()[1:] == [
        f"remove,{source},10.5.0.0/24,tcp,443,billing,billing,{STACK}"
        for source in CORE_BANKING_NAT
    ]
    code, out, _ = run_cli(["allowlist", str(new_path), "--diff", str(old_path)], capsys)
    assert "- Rules to add: 0; to remove: 3; unchanged: 3" in out
    assert "- Apps affected: billing\n" in out


def test_a_shared_rule_goes_when_its_last_app_goes() -> None:
    """Both apps of the NAT group removed: the shared rules are removed, labelled with both."""
    other = entry("reports", ["10.20.10.0/26"], ["10.3.0.0/16"], [1521])
    request = diff_allowlists({STACK: [PAYMENTS, BILLING, other]}, {STACK: [other]})
    assert (request.count("remove"), request.count("add")) == (3, 0)
    assert [(r.change, str(r.source), r.apps, r.namespaces) for r in request.rows] == [
        ("remove", s, ("billing", "payments-api"), ("billing", "payments-api"))
        for s in CORE_BANKING_NAT
    ]
    assert request.apps == ("billing", "payments-api") and request.unchanged == 1


def test_shared_rules_count_across_stacks_and_spellings() -> None:
    """A rule is the same whichever stack, app or spelling of its address needs it: billing
    moved to a second cluster, written as bare addresses, keeps the rules payments-api no
    longer needs."""
    bare = entry(
        "billing", [s.removesuffix("/32") for s in CORE_BANKING_NAT], ["10.1.0.0/16"], [443],
        protocol="TCP",
    )  # fmt: skip
    request = diff_allowlists({STACK: [PAYMENTS, BILLING]}, {"second-cluster": [bare]})
    assert not request.has_changes and request.unchanged == 3
    assert [(n.apps_before, n.apps_after) for n in request.label_changes] == [
        (("billing", "payments-api"), ("billing",))
    ] * 3


def test_a_renamed_app_is_a_label_change_not_a_firewall_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """reports renamed reporting (and its namespace): the same rules, exit 0, one note."""
    old_path = saved(tmp_path / "old.json", OLD)
    renamed = [
        *OLD[:2],
        entry("reporting", ["10.20.10.0/26"], ["10.3.0.0/16"], [1521], namespace="reporting"),
    ]
    new_path = saved(tmp_path / "new.json", renamed)
    code, out, err = run_cli(["allowlist", str(new_path), "--diff", str(old_path)], capsys)
    assert (code, err) == (0, "")
    assert "No change: the same 5 rules on both sides." in out
    assert "## Label changes (no firewall change)" in out
    assert [line for line in out.splitlines() if line.startswith("| 10.")] == [
        "| 10.20.10.0/26 | 10.3.0.0/16 | tcp | 1521 | reports | reporting |"
    ]
    code, out, _ = run_cli(
        ["allowlist", str(new_path), "--diff", str(old_path), "-f", "csv"], capsys
    )
    assert (code, out.count("\n")) == (0, 1)


def test_rules_match_exactly_not_by_containment() -> None:
    """A rule inside a wider existing one is still added, and narrowing a destination removes
    the wider rule: the firewall must hold exactly the old allow-list's rules for the next diff
    to be right (see diff_allowlists)."""
    wide = entry("payments-api", CORE_BANKING_NAT[:1], ["10.1.0.0/16"], [443])
    narrow = entry("billing", CORE_BANKING_NAT[:1], ["10.1.2.0/24"], [443])
    added = diff_allowlists({STACK: [wide]}, {STACK: [wide, narrow]})
    assert [(r.change, str(r.destination), r.apps) for r in added.rows] == [
        ("add", "10.1.2.0/24", ("billing",))
    ]
    narrowed = diff_allowlists({STACK: [wide, narrow]}, {STACK: [narrow]})
    assert [(r.change, str(r.destination), r.apps) for r in narrowed.rows] == [
        ("remove", "10.1.0.0/16", ("payments-api",))
    ]


@pytest.mark.xdist_group("subnet-per-app")
def test_diff_of_the_synthesized_assembly(
    subnet_per_app: Synth, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Against its own saved allow-list: no change; against an edited copy: exactly the edit."""
    assembly = str(subnet_per_app.outdir)
    (saved,) = [p for p in write_allowlists(subnet_per_app.outdir) if p.suffix == ".json"]
    assert run_cli(["allowlist", assembly, "--diff", str(saved)], capsys)[0] == 0

    document = json.loads(saved.read_text())
    (stack,) = document
    ledger = next(e for e in document[stack] if e["app"] == "ledger")
    removed_source = ledger["source_cidrs"].pop()
    ledger["ports"] = [*ledger["ports"], 9999]
    edited = tmp_path / "edited.allowlist.json"
    edited.write_text(json.dumps(document))
    code, out, _ = run_cli(["allowlist", assembly, "--diff", str(edited), "-f", "json"], capsys)
    assert code == 1
    changes = json.loads(out)["changes"]
    destinations = ledger["destination_cidrs"]
    expected_add = [
        ("add", ["ledger"], removed_source, d, "tcp", sorted(ledger["ports"][:-1]))
        for d in destinations
    ]
    remaining = sorted(ledger["source_cidrs"])
    expected_remove = [
        ("remove", ["ledger"], s, d, "tcp", [9999]) for s in remaining for d in destinations
    ]
    got = [
        (c["change"], c["apps"], c["source_cidr"], c["destination_cidr"], c["protocol"], c["ports"])
        for c in changes
    ]
    assert sorted(got) == sorted(expected_add + expected_remove)
    assert [c["change"] for c in changes] == ["add"] * len(expected_add) + ["remove"] * len(
        expected_remove
    )


def test_print_table_json_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assembly = write_assembly(tmp_path / "a", OLD)
    code, out, _ = run_cli(["allowlist", str(assembly)], capsys)
    assert code == 0
    assert out.splitlines()[0].split() == [
        "STACK", "APP", "NAMESPACE", "PATTERN", "SOURCE", "DESTINATION", "PORTS"
    ]  # fmt: skip
    assert "10.20.9.0/26" in out and "tcp/443;8443" in out
    code, out, _ = run_cli(["allowlist", str(assembly), "--format", "json"], capsys)
    assert code == 0
    assert json.loads(out) == {STACK: [e.to_dict() for e in OLD]}
    code, out, _ = run_cli(["allowlist", str(assembly), "--format", "csv"], capsys)
    assert code == 0
    assert len(out.splitlines()) == 1 + 2 + 2 + 1


CONTROL_PLANE_ROWS = control_plane_entry(
    "corp-oidc", "10.1.2.0/24", 443, ["10.20.5.0/27", "10.20.5.32/27"]
)


def test_control_plane_rows_print_and_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control plane's entry has no namespace: ``-`` in the table, empty in the CSV, app
    ``control-plane`` and namespace ``-`` in a change request."""
    old = write_assembly(tmp_path / "old", OLD)
    new = write_assembly(tmp_path / "new", [*OLD, CONTROL_PLANE_ROWS])
    code, out, _ = run_cli(["allowlist", str(new)], capsys)
    assert code == 0
    rows = [line.split() for line in out.splitlines() if "control-plane" in line]
    assert rows == [
        [STACK, "control-plane", "-", "control-plane", source, "10.1.2.0/24", "tcp/443"]
        for source in ("10.20.5.0/27", "10.20.5.32/27")
    ]
    code, out, _ = run_cli(["allowlist", str(new), "-f", "csv"], capsys)
    assert "control-plane,,control-plane,10.20.5.0/27,10.1.2.0/24,443,tcp" in out.splitlines()
    code, out, _ = run_cli(["allowlist", str(new), "--diff", str(old)], capsys)
    assert code == 1
    assert [line for line in out.splitlines() if line.startswith("| add")] == [
        "| add | 10.20.5.0/27 | 10.1.2.0/24 | tcp | 443 | control-plane | - |",
        "| add | 10.20.5.32/27 | 10.1.2.0/24 | tcp | 443 | control-plane | - |",
    ]
    code, out, _ = run_cli(["allowlist", str(new), "--diff", str(old), "-f", "csv"], capsys)
    assert "add,10.20.5.0/27,10.1.2.0/24,tcp,443,control-plane,,payments-prod-cluster" in out


def test_saved_json_prints_like_its_assembly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assembly = write_assembly(tmp_path / "a", OLD)
    (saved,) = [p for p in write_allowlists(assembly) if p.suffix == ".json"]
    printed = [run_cli(["allowlist", str(src), "-f", "csv"], capsys) for src in (assembly, saved)]
    assert printed[0] == printed[1]


def test_assembly_without_allow_list_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assembly = write_assembly(tmp_path / "base", [])
    code, out, err = run_cli(["allowlist", str(assembly)], capsys)
    assert (code, out) == (1, "")
    assert "no allow-list" in err


def _corrupt(directory: Path, name: str, text: str) -> Path:
    (directory / name).write_text(text)
    return directory


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda d: _corrupt(d, "manifest.json", "{not json"), "manifest.json"),
        (lambda d: _corrupt(d, "manifest.json", '{"artifacts": []}'), "manifest.json: artifacts"),
        (lambda d: _corrupt(d, "Cluster.template.json", "[1, 2"), "Cluster.template.json"),
        (lambda d: (d / "Cluster.template.json").unlink() or d, "Cluster.template.json"),
        (
            lambda d: _corrupt(
                d, "Cluster.template.json", '{"Outputs": {"EksSecureAllowListX": {"Value": "{}"}}}'
            ),
            "Cluster.template.json: Outputs",
        ),
        (lambda d: (d / "manifest.json").unlink() or d, "no manifest.json"),
        (lambda d: d / "missing", "does not exist"),
        (lambda d: _corrupt(d, "saved.json", "[]") / "saved.json", "saved.json"),
        (
            lambda d: _corrupt(d, "saved.json", '{"s": [{"app": "a"}]}') / "saved.json",
            "saved.json: s[0]",
        ),
    ],
    ids=[
        "manifest-not-json",
        "manifest-artifacts-not-object",
        "template-not-json",
        "template-missing",
        "malformed-output",
        "no-manifest",
        "missing-path",
        "saved-not-object",
        "saved-bad-entry",
    ],
)
def test_unreadable_input_is_a_clear_error_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: Any, named: str
) -> None:
    source = damage(write_assembly(tmp_path / "a", OLD))
    good = write_assembly(tmp_path / "good", OLD)
    for args in (
        ["allowlist", str(source)],
        ["allowlist", str(good), "--diff", str(source)],
        ["allowlist", str(source), "--diff", str(good)],
    ):
        code, out, err = run_cli(args, capsys)
        assert (code, out) == (2, ""), args
        assert named in err and "fix:" in err, err
        assert "Traceback" not in err


def test_bad_cidr_in_a_saved_allow_list_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_assembly(tmp_path / "good", OLD)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"s": [entry("ledger", ["10.20.8.1/26"], ["x"], [443]).to_dict()]}))
    code, _, err = run_cli(["allowlist", str(good), "--diff", str(bad)], capsys)
    assert code == 2
    assert "s: ledger.source_cidrs" in err and "is not a CIDR" in err


@pytest.mark.parametrize(
    "args",
    [
        ["allowlist", "--format", "markdown"],
        ["allowlist", "--diff", "x", "--format", "table"],
        ["allowlist", "--format", "yaml"],
        ["allowlist", "--no-such-flag"],
    ],
)
def test_format_and_flag_misuse_is_a_usage_error(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(args, capsys)
    assert (code, out) == (2, "")
    assert "error" in err


def test_missing_manifest_through_the_console_script(tmp_path: Path) -> None:
    """The installed command itself: exit 2, one clear message, no traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "eks_secure.cli", "allowlist", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"eks-secure allowlist: {tmp_path}: is not a cloud assembly")
    assert "Traceback" not in result.stderr
