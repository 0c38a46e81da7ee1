"""Firewall change requests between two allow-lists (pure Python: no CDK, no jsii).

An allow-list comes from a synthesized cloud assembly (the ``EksSecureAllowList*`` outputs of its
templates and their nested templates, see :mod:`eks_secure.egress.allowlist`) or from a saved
``<stack>.allowlist.json`` written next to them by ``make synth``; :func:`load_allowlists` reads
either and reports a missing or malformed file as a :class:`~eks_secure.errors.ConfigError`
naming the file.

:func:`diff_allowlists` compares the two as *normalised rules*: one per (app, source network,
destination network, protocol, port), with networks parsed (``10.1.2.3`` is ``10.1.2.3/32``) and
the protocol lower-cased, so formatting differences never show up as changes. The stack and the
namespace are labels, not part of a rule: the firewall only sees addresses, protocols and ports.
The changed rules are grouped back into rows (app, source, destination, protocol, ports) in a
fixed order and rendered as Markdown, CSV or JSON for the network team.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from eks_secure.egress.allowlist import entries_from_template, nested_templates
from eks_secure.egress.contract import AllowListEntry
from eks_secure.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Change = Literal["add", "remove"]

ALLOWLISTS_FIX = (
    "pass a cloud assembly directory (run `make synth` to write cdk.out) or a saved "
    "<stack>.allowlist.json"
)

CHANGE_COLUMNS = (
    "change",
    "app",
    "namespace",
    "source_cidr",
    "destination_cidr",
    "protocol",
    "ports",
)
"""Columns of the CSV change request (``ports`` joined with ``;`` as in the allow-list CSV)."""


def _load_json(path: Path, what: str) -> object:
    """A JSON file's content; a field-named error when it is missing or not JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), f"{what} is missing", ALLOWLISTS_FIX) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read the {what} ({exc})", ALLOWLISTS_FIX) from None
    try:
        data: object = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            str(path),
            f"{what} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
            "re-run `make synth` to write it again",
        ) from None
    return data


def _assembly_allowlists(directory: Path) -> dict[str, list[AllowListEntry]]:
    """Allow-list entries of every stack of a cloud assembly directory, by stack name."""
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise ConfigError(
            str(directory), "is not a cloud assembly (it has no manifest.json)", ALLOWLISTS_FIX
        )
    manifest = _load_json(manifest_path, "cloud assembly manifest")
    artifacts = manifest.get("artifacts", {}) if isinstance(manifest, dict) else None
    if not isinstance(artifacts, dict):
        raise ConfigError(
            f"{manifest_path}: artifacts", "is not a JSON object", "re-run `make synth`"
        )
    result: dict[str, list[AllowListEntry]] = {}
    for artifact_id, artifact in sorted(artifacts.items()):
        if not isinstance(artifact, dict) or artifact.get("type") != "aws:cloudformation:stack":
            continue
        properties = artifact.get("properties", {})
        template_file = properties.get("templateFile") if isinstance(properties, dict) else None
        if not isinstance(template_file, str):
            raise ConfigError(
                f"{manifest_path}: artifacts.{artifact_id}.properties.templateFile",
                "is missing",
                "re-run `make synth`",
            )
        try:
            assert isinstance(manifest, dict)
            nested = nested_templates(directory, manifest, artifact_id)
        except (AssertionError, OSError, KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ConfigError(
                f"{manifest_path}: artifacts.{artifact_id}.dependencies",
                f"names an unreadable asset manifest ({type(exc).__name__}: {exc})",
                "re-run `make synth`",
            ) from None
        entries: list[AllowListEntry] = []
        for name in (template_file, *nested):
            template_path = directory / name
            template = _load_json(template_path, f"template of stack {artifact_id}")
            try:
                assert isinstance(template, dict)
                entries += entries_from_template(template)
            except (AssertionError, KeyError, TypeError, ValueError) as exc:
                raise ConfigError(
                    f"{template_path}: Outputs",
                    f"holds a malformed allow-list output ({type(exc).__name__}: {exc})",
                    "re-run `make synth` with this version of eks-secure",
                ) from None
        entries.sort(key=lambda e: e.app)
        if entries:
            result[str(properties.get("stackName", artifact_id))] = entries
    return result


def _saved_allowlists(path: Path) -> dict[str, list[AllowListEntry]]:
    """Entries of a saved ``<stack>.allowlist.json`` (``{stack: [entry, ...]}``)."""
    document = _load_json(path, "allow-list file")
    if not isinstance(document, dict):
        raise ConfigError(
            str(path), "is not an allow-list (expected {stack: [entry, ...]})", ALLOWLISTS_FIX
        )
    result: dict[str, list[AllowListEntry]] = {}
    for stack, items in sorted(document.items()):
        if not isinstance(items, list):
            raise ConfigError(f"{path}: {stack}", "is not a list of entries", ALLOWLISTS_FIX)
        entries = []
        for i, item in enumerate(items):
            try:
                assert isinstance(item, dict)
                entries.append(AllowListEntry.from_dict(item))
            except (AssertionError, KeyError, TypeError, ValueError) as exc:
                raise ConfigError(
                    f"{path}: {stack}[{i}]",
                    f"is not an allow-list entry ({type(exc).__name__}: {exc})",
                    "entries need app, namespace, pattern, source_cidrs, destination_cidrs and "
                    "ports",
                ) from None
        result[str(stack)] = entries
    return result


def load_allowlists(path: str | Path) -> dict[str, list[AllowListEntry]]:
    """The allow-lists of a cloud assembly directory or a saved allow-list JSON, by stack."""
    path = Path(path)
    if path.is_dir():
        return _assembly_allowlists(path)
    if path.exists():
        return _saved_allowlists(path)
    raise ConfigError(str(path), "does not exist", ALLOWLISTS_FIX)


def _network(value: str, where: str) -> Network:
    """``value`` as a network (a bare address is a /32 or /128); field-named error otherwise."""
    try:
        return ipaddress.ip_network(value.strip())
    except ValueError as exc:
        raise ConfigError(where, f"{value!r} is not a CIDR ({exc})", "fix the allow-list") from None


def _network_key(network: Network) -> tuple[int, int, int]:
    """Numeric sort key of a network (IPv4 before IPv6, then address, then prefix length)."""
    return network.version, int(network.network_address), network.prefixlen


@dataclass(frozen=True)
class FirewallRule:
    """One normalised firewall rule: this app's source may reach this destination and port."""

    app: str
    source: Network
    destination: Network
    protocol: str
    port: int
    namespace: str = field(default="", compare=False)
    """The app's namespace: a label for the reader, not part of the rule."""

    def sort_key(self) -> tuple[object, ...]:
        """Deterministic order: app, source, destination, protocol, port (numerically)."""
        return (
            self.app,
            _network_key(self.source),
            _network_key(self.destination),
            self.protocol,
            self.port,
        )


def normalise_rules(
    stacks: Mapping[str, Sequence[AllowListEntry]], label: str = "allow-list"
) -> frozenset[FirewallRule]:
    """Every allow-list entry expanded to normalised rules (``label`` names it in errors)."""
    rules = set()
    for stack, entries in stacks.items():
        for entry in entries:
            where = f"{label}: {stack}: {entry.app}"
            sources = [_network(s, f"{where}.source_cidrs") for s in entry.source_cidrs]
            destinations = [
                _network(d, f"{where}.destination_cidrs") for d in entry.destination_cidrs
            ]
            for source in sources:
                for destination in destinations:
                    for port in entry.ports:
                        rules.add(
                            FirewallRule(
                                app=entry.app,
                                source=source,
                                destination=destination,
                                protocol=entry.protocol.strip().lower(),
                                port=int(port),
                                namespace=entry.namespace,
                            )
                        )
    return frozenset(rules)


@dataclass(frozen=True)
class ChangeRow:
    """One line of a change request: add or remove these ports from source to destination."""

    change: Change
    app: str
    namespace: str
    source: Network
    destination: Network
    protocol: str
    ports: tuple[int, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "change": self.change,
            "app": self.app,
            "namespace": self.namespace,
            "source_cidr": str(self.source),
            "destination_cidr": str(self.destination),
            "protocol": self.protocol,
            "ports": list(self.ports),
        }

    def to_row(self) -> dict[str, str]:
        """CSV form (ports joined with ``;``, as in the allow-list CSV)."""
        row = {k: str(v) for k, v in self.to_dict().items()}
        row["ports"] = ";".join(str(p) for p in self.ports)
        return row


CHANGE_ORDER: dict[str, int] = {"add": 0, "remove": 1}
"""Within an app, additions come first: they go in before the deployment, removals after it."""


def _rows(change: Change, rules: Iterable[FirewallRule]) -> list[ChangeRow]:
    """Rules grouped into rows by (app, source, destination, protocol)."""
    groups: dict[tuple[str, Network, Network, str], list[FirewallRule]] = defaultdict(list)
    for rule in rules:
        groups[(rule.app, rule.source, rule.destination, rule.protocol)].append(rule)
    return [
        ChangeRow(
            change=change,
            app=app,
            namespace=", ".join(sorted({r.namespace for r in group})),
            source=source,
            destination=destination,
            protocol=protocol,
            ports=tuple(sorted(r.port for r in group)),
        )
        for (app, source, destination, protocol), group in groups.items()
    ]


def _row_key(row: ChangeRow) -> tuple[object, ...]:
    return (
        row.app,
        CHANGE_ORDER[row.change],
        _network_key(row.source),
        _network_key(row.destination),
        row.protocol,
        row.ports,
    )


@dataclass(frozen=True)
class ChangeRequest:
    """What the firewall must add and remove to go from the old allow-list to the new one."""

    old_label: str
    new_label: str
    rows: tuple[ChangeRow, ...]
    """Changed rows, by app, additions before removals, then by source, destination, protocol."""
    unchanged: int
    """Rows (app, source, destination, protocol) that stay exactly as they are."""

    @property
    def has_changes(self) -> bool:
        """Whether the firewall has anything to do."""
        return bool(self.rows)

    def count(self, change: Change) -> int:
        """Number of rows to add or to remove."""
        return sum(1 for row in self.rows if row.change == change)

    @property
    def apps(self) -> tuple[str, ...]:
        """Apps with at least one change, in order."""
        return tuple(sorted({row.app for row in self.rows}))

    def to_json(self) -> str:
        """The change request as a JSON document."""
        document = {
            "from": self.old_label,
            "to": self.new_label,
            "summary": {
                "add": self.count("add"),
                "remove": self.count("remove"),
                "unchanged": self.unchanged,
            },
            "changes": [row.to_dict() for row in self.rows],
        }
        return json.dumps(document, indent=2) + "\n"

    def to_csv(self) -> str:
        """The change request as CSV, one row per line (header included, even when empty)."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CHANGE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(row.to_row() for row in self.rows)
        return buffer.getvalue()

    def to_markdown(self) -> str:
        """The change request as a Markdown document the network team can review."""
        lines = [
            "# Firewall change request",
            "",
            f"- From: `{self.old_label}`",
            f"- To: `{self.new_label}`",
        ]
        if not self.has_changes:
            lines += ["", f"No change: the same {self.unchanged} rules on both sides.", ""]
            return "\n".join(lines)
        lines += [
            f"- Rules to add: {self.count('add')}; to remove: {self.count('remove')}; "
            f"unchanged: {self.unchanged}",
            f"- Apps affected: {', '.join(self.apps)}",
            "",
            *textwrap.wrap(
                "Each row is one rule: traffic from the source network to the destination "
                "network on the protocol and ports listed. Add the new rules before the "
                "deployment and remove the old ones after it, so the apps' traffic is allowed "
                "throughout the change.",
                width=100,
            ),
        ]
        for app in self.apps:
            rows = [row for row in self.rows if row.app == app]
            namespaces = ", ".join(sorted({row.namespace for row in rows}))
            lines += [
                "",
                f"## {app}",
                "",
                f"Namespace: `{namespaces}`"
                if namespaces
                else "The cluster's control plane (`CUSTOMER_ROUTED` egress): no namespace",
                "",
                "| Change | Source | Destination | Protocol | Ports |",
                "|---|---|---|---|---|",
            ]
            lines += [
                f"| {row.change} | {row.source} | {row.destination} | {row.protocol} | "
                f"{', '.join(str(p) for p in row.ports)} |"
                for row in rows
            ]
        return "\n".join(lines) + "\n"


def diff_allowlists(
    old: Mapping[str, Sequence[AllowListEntry]],
    new: Mapping[str, Sequence[AllowListEntry]],
    *,
    old_label: str = "old",
    new_label: str = "new",
) -> ChangeRequest:
    """The change request that turns the ``old`` allow-lists into the ``new`` ones."""
    old_rules = normalise_rules(old, old_label)
    new_rules = normalise_rules(new, new_label)
    # Keep each side's own rule objects, so removals carry the old labels (namespace).
    rows = _rows("add", new_rules - old_rules) + _rows("remove", old_rules - new_rules)
    unchanged = len(_rows("add", new_rules & old_rules))
    return ChangeRequest(
        old_label=old_label,
        new_label=new_label,
        rows=tuple(sorted(rows, key=_row_key)),
        unchanged=unchanged,
    )
