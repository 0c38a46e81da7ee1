"""Firewall change requests between two allow-lists (pure Python: no CDK, no jsii).

An allow-list comes from a synthesized cloud assembly (the ``EksSecureAllowList*`` outputs of its
templates and their nested templates, see :mod:`eks_secure.egress.allowlist`) or from a saved
``<stack>.allowlist.json`` written next to them by ``make synth``; :func:`load_allowlists` reads
either and reports a missing or malformed file as a :class:`~eks_secure.errors.ConfigError`
naming the file.

:func:`diff_allowlists` compares the two as *normalised rules*: one per (source network,
destination network, protocol, port), with networks parsed (``10.1.2.3`` is ``10.1.2.3/32``) and
the protocol lower-cased, so formatting differences never show up as changes. That is all the
firewall sees: the apps that need a rule, their namespaces and stacks are labels
(:class:`RuleLabel`), shown with each rule but not part of it. So a rule two apps share (two apps
of one NAT group) is added only when no old entry had it and removed only when no new entry
needs it, and renaming an app is a label change, not a firewall change. Rules match exactly: a
rule inside a wider one is still its own rule (see :func:`diff_allowlists`). The changed rules
are grouped back into rows (source, destination, protocol, ports, apps) in a fixed order and
rendered as Markdown, CSV or JSON for the network team.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import textwrap
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from eks_secure.egress.allowlist import entries_from_template, nested_templates
from eks_secure.egress.contract import AllowListEntry
from eks_secure.errors import ConfigError
from eks_secure.files import read_json_file

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Change = Literal["add", "remove"]

ALLOWLISTS_FIX = (
    "pass a cloud assembly directory (run `make synth` to write cdk.out) or a saved "
    "<stack>.allowlist.json"
)

CHANGE_COLUMNS = (
    "change",
    "source_cidr",
    "destination_cidr",
    "protocol",
    "ports",
    "apps",
    "namespaces",
    "stacks",
)
"""Columns of the CSV change request: the rule, then its labels (lists joined with ``;``, as
ports are in the allow-list CSV)."""


def _load_json(path: Path, what: str) -> object:
    """A JSON file's content; a field-named error when it is missing or not JSON."""
    return read_json_file(
        path, what, ALLOWLISTS_FIX, invalid_fix="re-run `make synth` to write it again"
    )


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
    """One normalised firewall rule: traffic from this source to this destination and port.

    Only what the firewall sees is part of the rule; who needs it is a :class:`RuleLabel`.
    """

    source: Network
    destination: Network
    protocol: str
    port: int

    def sort_key(self) -> tuple[object, ...]:
        """Deterministic order: source, destination, protocol, port (numerically)."""
        return (_network_key(self.source), _network_key(self.destination), self.protocol, self.port)


@dataclass(frozen=True, order=True)
class RuleLabel:
    """Who needs a rule: an app (its stack and namespace). For the reader, not the firewall."""

    app: str
    namespace: str
    stack: str


Labels = frozenset[RuleLabel]


def normalise_rules(
    stacks: Mapping[str, Sequence[AllowListEntry]], label: str = "allow-list"
) -> dict[FirewallRule, Labels]:
    """Every allow-list entry expanded to normalised rules, each with the apps that need it
    (``label`` names the allow-list in errors)."""
    rules: dict[FirewallRule, set[RuleLabel]] = defaultdict(set)
    for stack, entries in stacks.items():
        for entry in entries:
            where = f"{label}: {stack}: {entry.app}"
            sources = [_network(s, f"{where}.source_cidrs") for s in entry.source_cidrs]
            destinations = [
                _network(d, f"{where}.destination_cidrs") for d in entry.destination_cidrs
            ]
            protocol = entry.protocol.strip().lower()
            needed_by = RuleLabel(app=entry.app, namespace=entry.namespace, stack=str(stack))
            for source in sources:
                for destination in destinations:
                    for port in entry.ports:
                        rules[FirewallRule(source, destination, protocol, int(port))].add(needed_by)
    return {rule: frozenset(labels) for rule, labels in rules.items()}


def _apps(labels: Labels) -> tuple[str, ...]:
    return tuple(sorted({label.app for label in labels}))


def _namespaces(labels: Labels) -> tuple[str, ...]:
    return tuple(sorted({label.namespace for label in labels} - {""}))


def _stacks(labels: Labels) -> tuple[str, ...]:
    return tuple(sorted({label.stack for label in labels}))


def _joined(values: Sequence[object], empty: str = "") -> str:
    return ", ".join(str(v) for v in values) or empty


@dataclass(frozen=True)
class ChangeRow:
    """One line of a change request: add or remove these ports from source to destination,
    with the apps that need the rules (for a removal: that needed them) as labels."""

    change: Change
    source: Network
    destination: Network
    protocol: str
    ports: tuple[int, ...]
    apps: tuple[str, ...]
    namespaces: tuple[str, ...]
    stacks: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "change": self.change,
            "source_cidr": str(self.source),
            "destination_cidr": str(self.destination),
            "protocol": self.protocol,
            "ports": list(self.ports),
            "apps": list(self.apps),
            "namespaces": list(self.namespaces),
            "stacks": list(self.stacks),
        }

    def to_row(self) -> dict[str, str]:
        """CSV form (lists joined with ``;``, as ports are in the allow-list CSV)."""
        row = {k: str(v) for k, v in self.to_dict().items()}
        for key in ("ports", "apps", "namespaces", "stacks"):
            row[key] = ";".join(str(v) for v in getattr(self, key))
        return row


@dataclass(frozen=True)
class LabelChange:
    """Rules that stay on the firewall but are needed by other apps than before (an app renamed,
    or an app that starts or stops sharing them): a note, not a firewall change."""

    source: Network
    destination: Network
    protocol: str
    ports: tuple[int, ...]
    apps_before: tuple[str, ...]
    apps_after: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "source_cidr": str(self.source),
            "destination_cidr": str(self.destination),
            "protocol": self.protocol,
            "ports": list(self.ports),
            "apps_before": list(self.apps_before),
            "apps_after": list(self.apps_after),
        }


CHANGE_ORDER: dict[str, int] = {"add": 0, "remove": 1}
"""Additions come first: they go in before the deployment, removals after it."""


def _rows(change: Change, rules: Mapping[FirewallRule, Labels]) -> list[ChangeRow]:
    """Rules grouped into rows by (source, destination, protocol, apps that need them)."""
    groups: dict[tuple[Network, Network, str, Labels], list[int]] = defaultdict(list)
    for rule, labels in rules.items():
        groups[(rule.source, rule.destination, rule.protocol, labels)].append(rule.port)
    return [
        ChangeRow(
            change=change,
            source=source,
            destination=destination,
            protocol=protocol,
            ports=tuple(sorted(ports)),
            apps=_apps(labels),
            namespaces=_namespaces(labels),
            stacks=_stacks(labels),
        )
        for (source, destination, protocol, labels), ports in groups.items()
    ]


def _row_key(row: ChangeRow) -> tuple[object, ...]:
    return (
        CHANGE_ORDER[row.change],
        _network_key(row.source),
        _network_key(row.destination),
        row.protocol,
        row.ports,
        row.apps,
    )


def _label_changes(
    old: Mapping[FirewallRule, Labels], new: Mapping[FirewallRule, Labels]
) -> list[LabelChange]:
    """Rules on both sides whose apps differ, grouped like :func:`_rows`, in rule order."""
    groups: dict[tuple[Network, Network, str, tuple[str, ...], tuple[str, ...]], list[int]] = (
        defaultdict(list)
    )
    for rule in sorted(old.keys() & new.keys(), key=FirewallRule.sort_key):
        before, after = _apps(old[rule]), _apps(new[rule])
        if before != after:
            groups[(rule.source, rule.destination, rule.protocol, before, after)].append(rule.port)
    return [
        LabelChange(source, destination, protocol, tuple(ports), before, after)
        for (source, destination, protocol, before, after), ports in groups.items()
    ]


def _cells(values: Sequence[object]) -> str:
    """Markdown table row."""
    return "| " + " | ".join(str(v) for v in values) + " |"


@dataclass(frozen=True)
class ChangeRequest:
    """What the firewall must add and remove to go from the old allow-list to the new one."""

    old_label: str
    new_label: str
    rows: tuple[ChangeRow, ...]
    """Changed rows, additions before removals, then by source, destination, protocol, ports."""
    unchanged: int
    """Rows (source, destination, protocol, apps) that stay on the firewall."""
    label_changes: tuple[LabelChange, ...] = ()
    """Unchanged rules whose apps differ (included in :attr:`unchanged`): notes only."""

    @property
    def has_changes(self) -> bool:
        """Whether the firewall has anything to do (label changes alone are not changes)."""
        return bool(self.rows)

    def count(self, change: Change) -> int:
        """Number of rows to add or to remove."""
        return sum(1 for row in self.rows if row.change == change)

    @property
    def apps(self) -> tuple[str, ...]:
        """Apps that need (or needed) at least one added or removed rule, in order."""
        return tuple(sorted({app for row in self.rows for app in row.apps}))

    def to_json(self) -> str:
        """The change request as a JSON document."""
        document = {
            "from": self.old_label,
            "to": self.new_label,
            "summary": {
                "add": self.count("add"),
                "remove": self.count("remove"),
                "unchanged": self.unchanged,
                "label_changes": len(self.label_changes),
            },
            "changes": [row.to_dict() for row in self.rows],
            "label_changes": [note.to_dict() for note in self.label_changes],
        }
        return json.dumps(document, indent=2) + "\n"

    def to_csv(self) -> str:
        """The rows to add and remove as CSV (header included, even when empty; label changes
        are not firewall changes and are left out)."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CHANGE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(row.to_row() for row in self.rows)
        return buffer.getvalue()

    def _label_section(self) -> list[str]:
        if not self.label_changes:
            return []
        return [
            "",
            "## Label changes (no firewall change)",
            "",
            *textwrap.wrap(
                "These rules stay as they are; only the apps that need them change (an app "
                "renamed, or an app that starts or stops sharing them).",
                width=100,
            ),
            "",
            "| Source | Destination | Protocol | Ports | Apps before | Apps after |",
            "|---|---|---|---|---|---|",
            *(
                _cells(
                    (
                        note.source,
                        note.destination,
                        note.protocol,
                        _joined(note.ports),
                        _joined(note.apps_before),
                        _joined(note.apps_after),
                    )
                )
                for note in self.label_changes
            ),
        ]

    def to_markdown(self) -> str:
        """The change request as a Markdown document the network team can review."""
        lines = [
            "# Firewall change request",
            "",
            f"- From: `{self.old_label}`",
            f"- To: `{self.new_label}`",
        ]
        if not self.has_changes:
            lines += ["", f"No change: the same {self.unchanged} rules on both sides."]
            return "\n".join([*lines, *self._label_section(), ""])
        lines += [
            f"- Rules to add: {self.count('add')}; to remove: {self.count('remove')}; "
            f"unchanged: {self.unchanged}",
            f"- Apps affected: {', '.join(self.apps)}",
            "",
            *textwrap.wrap(
                "Each row is one rule: traffic from the source network to the destination "
                "network on the protocol and ports listed. A rule is added only if the old "
                "allow-list does not have it, and removed only if no app of the new one needs "
                "it; Apps names the apps that need it (for a removal: that needed it). Add the "
                "new rules before the deployment and remove the old ones after it, so the apps' "
                "traffic is allowed throughout the change.",
                width=100,
            ),
            "",
            "| Change | Source | Destination | Protocol | Ports | Apps | Namespaces |",
            "|---|---|---|---|---|---|---|",
            *(
                _cells(
                    (
                        row.change,
                        row.source,
                        row.destination,
                        row.protocol,
                        _joined(row.ports),
                        _joined(row.apps),
                        _joined(row.namespaces, "-"),
                    )
                )
                for row in self.rows
            ),
        ]
        return "\n".join([*lines, *self._label_section(), ""])


def diff_allowlists(
    old: Mapping[str, Sequence[AllowListEntry]],
    new: Mapping[str, Sequence[AllowListEntry]],
    *,
    old_label: str = "old",
    new_label: str = "new",
) -> ChangeRequest:
    """The change request that turns the ``old`` allow-lists into the ``new`` ones.

    Rules are compared by (source, destination, protocol, port) only: a rule several apps
    share is added when the first needs it and removed when the last stops needing it. They
    match exactly, never by containment: the firewall is known only as the old allow-list's
    rules, so it must hold each of them. A rule left out because a wider one covered it would
    be missing, with nothing left to add it, once the wider rule is removed; and narrowing a
    destination must remove the wider rule, not keep it because it covers the narrow one.
    """
    old_rules = normalise_rules(old, old_label)
    new_rules = normalise_rules(new, new_label)
    added = {rule: labels for rule, labels in new_rules.items() if rule not in old_rules}
    removed = {rule: labels for rule, labels in old_rules.items() if rule not in new_rules}
    kept = {rule: labels for rule, labels in new_rules.items() if rule in old_rules}
    # Additions carry the new side's labels, removals the old side's.
    rows = _rows("add", added) + _rows("remove", removed)
    return ChangeRequest(
        old_label=old_label,
        new_label=new_label,
        rows=tuple(sorted(rows, key=_row_key)),
        unchanged=len(_rows("add", kept)),
        label_changes=tuple(_label_changes(old_rules, new_rules)),
    )
