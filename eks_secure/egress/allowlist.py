"""Reading and formatting the firewall allow-list (pure Python: no CDK, no jsii).

A pattern's entries become CloudFormation outputs (``EksSecureAllowList<App>``, value = the entry
as compact JSON, see :meth:`eks_secure.egress.pattern.EgressPattern.complete`) of the app's nested
stack, or of the cluster stack when the app has none, so the deployed stacks themselves answer
"which source IPs"; a stack's allow-list is the outputs of its template and of its nested
templates (listed in its asset manifest). After
synthesis, :func:`write_allowlists` reads those outputs back from the cloud assembly's templates
and writes ``<stack>.allowlist.json`` and ``<stack>.allowlist.csv`` next to them; the
``eks-secure allowlist`` command prints them. One source of truth: the template.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eks_secure import rules
from eks_secure.egress.contract import AllowListEntry

OUTPUT_PREFIX = "EksSecureAllowList"
"""Logical-ID prefix of the allow-list outputs."""

CONTROL_PLANE = rules.RESERVED_APP
"""App name (and pattern) of the entries of the control plane's own ``CUSTOMER_ROUTED`` calls:
one entry per ``control_plane_egress`` destination, from the control-plane subnets, published
by :class:`~eks_secure.cluster.control_plane_egress.ControlPlaneEgress` in every pattern
(``base`` included). App names starting with it are reserved (:func:`eks_secure.rules.app_name`),
so the output IDs never collide."""

CSV_COLUMNS = (
    "app",
    "namespace",
    "pattern",
    "source_cidr",
    "destination_cidr",
    "ports",
    "protocol",
)


def output_id(app: str) -> str:
    """Stable output logical ID of ``app``'s entry (``payments-api`` -> ``...PaymentsApi``)."""
    return OUTPUT_PREFIX + "".join(part.capitalize() for part in app.split("-"))


def control_plane_output_id(destination: str) -> str:
    """Output logical ID of the control-plane entry of destination ``destination``."""
    return output_id(f"{CONTROL_PLANE}-{destination}")


def control_plane_entry(
    destination: str, cidr: str, port: int, source_cidrs: Sequence[str]
) -> AllowListEntry:
    """The allow-list entry of one control-plane destination (no namespace: not an app)."""
    return AllowListEntry(
        app=CONTROL_PLANE,
        namespace="",
        pattern=CONTROL_PLANE,
        source_cidrs=tuple(source_cidrs),
        destination_cidrs=(cidr,),
        ports=(port,),
    )


def entries_from_template(template: dict[str, object]) -> list[AllowListEntry]:
    """The allow-list entries published in a synthesized template's outputs."""
    outputs = template.get("Outputs", {})
    assert isinstance(outputs, dict)
    entries = []
    for key in sorted(outputs):
        if key.startswith(OUTPUT_PREFIX):
            entries.append(AllowListEntry.from_dict(json.loads(outputs[key]["Value"])))
    return entries


NESTED_SUFFIX = ".nested.template.json"


def nested_templates(directory: Path, manifest: dict[str, Any], artifact_id: str) -> list[str]:
    """File names of the nested templates of stack ``artifact_id`` (from its asset manifest),
    sorted: an app in its own nested stack publishes its allow-list output there."""
    artifacts = manifest.get("artifacts", {})
    names: set[str] = set()
    for dependency in artifacts.get(artifact_id, {}).get("dependencies", ()):
        dep = artifacts.get(dependency, {})
        if dep.get("type") != "cdk:asset-manifest":
            continue
        assets = json.loads((directory / dep["properties"]["file"]).read_text(encoding="utf-8"))
        for asset in assets.get("files", {}).values():
            path = asset.get("source", {}).get("path", "")
            if isinstance(path, str) and path.endswith(NESTED_SUFFIX):
                names.add(path)
    return sorted(names)


def read_assembly(directory: str | Path) -> dict[str, list[AllowListEntry]]:
    """Allow-list entries of every stack in a cloud assembly directory, by stack name."""
    directory = Path(directory)
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{directory} is not a cloud assembly (no manifest.json)")
    manifest = json.loads(manifest_path.read_text())
    result: dict[str, list[AllowListEntry]] = {}
    for artifact_id, artifact in sorted(manifest.get("artifacts", {}).items()):
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        properties = artifact.get("properties", {})
        entries = []
        for name in (
            properties["templateFile"],
            *nested_templates(directory, manifest, artifact_id),
        ):
            entries += entries_from_template(json.loads((directory / name).read_text()))
        entries.sort(key=lambda e: e.app)
        if entries:
            result[properties.get("stackName", artifact_id)] = entries
    return result


def to_json(stacks: dict[str, list[AllowListEntry]]) -> str:
    """Allow-lists as a JSON document ``{stack: [entry, ...]}``."""
    document = {stack: [e.to_dict() for e in entries] for stack, entries in stacks.items()}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def rows(entries: Sequence[AllowListEntry]) -> list[dict[str, str]]:
    """One firewall rule per (app, source, destination): the CSV/table rows.

    Control-plane entries have no namespace: the table shows ``-``, the CSV an empty cell.
    """
    result = []
    for entry in entries:
        for source in entry.source_cidrs:
            for destination in entry.destination_cidrs:
                result.append(
                    {
                        "app": entry.app,
                        "namespace": entry.namespace,
                        "pattern": entry.pattern,
                        "source_cidr": source,
                        "destination_cidr": destination,
                        "ports": ";".join(str(p) for p in entry.ports),
                        "protocol": entry.protocol,
                    }
                )
    return result


def to_csv(entries: Sequence[AllowListEntry]) -> str:
    """Allow-list entries as CSV, one firewall rule per line."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(entries))
    return buffer.getvalue()


def to_table(stacks: dict[str, list[AllowListEntry]]) -> str:
    """Allow-lists as an aligned text table."""
    lines: list[list[str]] = [
        ["STACK", "APP", "NAMESPACE", "PATTERN", "SOURCE", "DESTINATION", "PORTS"]
    ]
    for stack, entries in stacks.items():
        for row in rows(entries):
            lines.append(
                [
                    stack,
                    row["app"],
                    row["namespace"] or "-",
                    row["pattern"],
                    row["source_cidr"],
                    row["destination_cidr"],
                    f"{row['protocol']}/{row['ports']}",
                ]
            )
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return (
        "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
            for line in lines
        )
        + "\n"
    )


def write_allowlists(directory: str | Path) -> list[Path]:
    """Write ``<stack>.allowlist.json`` and ``.csv`` for every stack with an allow-list."""
    directory = Path(directory)
    written = []
    for stack, entries in read_assembly(directory).items():
        json_path = directory / f"{stack}.allowlist.json"
        json_path.write_text(to_json({stack: entries}))
        csv_path = directory / f"{stack}.allowlist.csv"
        csv_path.write_text(to_csv(entries))
        written += [json_path, csv_path]
    return written
