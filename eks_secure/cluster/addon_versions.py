"""The one table of pinned managed add-on versions, and how to move it forward (pure Python).

:data:`ADDON_VERSIONS` pins every managed add-on for every supported Kubernetes version. To move
to newer versions (docs/deploy-time-checks.md, "Moving to newer add-on versions"):

1. ``python scripts/addon_versions.py commands --region <region>`` prints one
   ``aws eks describe-addon-versions`` command per Kubernetes version and add-on, each saving
   its answer as ``<k8s>_<addon>.json``;
2. ``python scripts/addon_versions.py propose <dir>`` reads those answers and prints the table
   of the newest version EKS offers for each pair (Python and the docs' Markdown), after
   checking it with :func:`table_problems`;
3. paste both, run the tests (``tests/test_addon_versions.py`` checks completeness and that
   versions never go down from one Kubernetes version to the next).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from eks_secure import rules

ADDON_VERSIONS: Mapping[str, Mapping[str, str]] = {
    "1.34": {
        "vpc-cni": "v1.20.4-eksbuild.1",
        "coredns": "v1.12.3-eksbuild.1",
        "kube-proxy": "v1.34.0-eksbuild.2",
        "eks-pod-identity-agent": "v1.3.9-eksbuild.3",
    },
    "1.33": {
        "vpc-cni": "v1.20.4-eksbuild.1",
        "coredns": "v1.12.1-eksbuild.2",
        "kube-proxy": "v1.33.3-eksbuild.4",
        "eks-pod-identity-agent": "v1.3.9-eksbuild.3",
    },
    "1.32": {
        "vpc-cni": "v1.20.4-eksbuild.1",
        "coredns": "v1.11.4-eksbuild.2",
        "kube-proxy": "v1.32.6-eksbuild.8",
        "eks-pod-identity-agent": "v1.3.9-eksbuild.3",
    },
}
"""Add-on versions pinned per Kubernetes version; override single ones with the
``addon_versions`` config key."""

ADDON_NAMES: tuple[str, ...] = ("vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent")
"""Install order of the managed add-ons (the names of :data:`eks_secure.rules.MANAGED_ADDONS`)."""

_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-eksbuild\.(\d+)$")


def version_key(version: str) -> tuple[int, int, int, int]:
    """``v1.20.4-eksbuild.1`` -> ``(1, 20, 4, 1)``, for ordering."""
    match = _VERSION.match(version)
    if not match:
        raise ValueError(f"{version!r} is not an add-on version like v1.20.4-eksbuild.1")
    major, minor, patch, build = (int(g) for g in match.groups())
    return major, minor, patch, build


def _k8s_key(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


def table_problems(table: Mapping[str, Mapping[str, str]]) -> list[str]:
    """What is wrong with a pin table (empty when fine).

    Every supported Kubernetes version pins every add-on, with a well-formed version;
    kube-proxy's minor version is the Kubernetes minor; and no add-on's version goes down from
    one Kubernetes version to the next.
    """
    problems: list[str] = []
    missing = set(rules.SUPPORTED_KUBERNETES_VERSIONS) - set(table)
    extra = set(table) - set(rules.SUPPORTED_KUBERNETES_VERSIONS)
    problems += [f"Kubernetes {v}: no add-on pins" for v in sorted(missing)]
    problems += [f"Kubernetes {v}: pinned but not supported" for v in sorted(extra)]
    ordered = sorted(set(table) & set(rules.SUPPORTED_KUBERNETES_VERSIONS), key=_k8s_key)
    for k8s in ordered:
        pins = table[k8s]
        if set(pins) != set(ADDON_NAMES):
            problems.append(
                f"Kubernetes {k8s}: pins {sorted(pins)}, not every add-on of {list(ADDON_NAMES)}"
            )
        for addon, version in sorted(pins.items()):
            if not _VERSION.match(version):
                problems.append(f"Kubernetes {k8s}: {addon} {version!r} is not v1.2.3-eksbuild.4")
        proxy = pins.get("kube-proxy", "")
        if _VERSION.match(proxy) and version_key(proxy)[:2] != _k8s_key(k8s):
            problems.append(f"Kubernetes {k8s}: kube-proxy {proxy} is not of Kubernetes {k8s}")
    for lower, higher in itertools.pairwise(ordered):
        for addon in ADDON_NAMES:
            old, new = table[lower].get(addon, ""), table[higher].get(addon, "")
            if _VERSION.match(old) and _VERSION.match(new) and version_key(new) < version_key(old):
                problems.append(
                    f"{addon}: {new} for Kubernetes {higher} is older than {old} for {lower}"
                )
    return problems


def describe_commands(region: str, kubernetes_versions: Iterable[str] = ()) -> list[str]:
    """The ``aws eks describe-addon-versions`` commands whose answers :func:`propose` reads."""
    versions = list(kubernetes_versions) or list(rules.SUPPORTED_KUBERNETES_VERSIONS)
    return [
        f"aws eks describe-addon-versions --region {region} --kubernetes-version {k8s} "
        f"--addon-name {addon} --output json > {k8s}_{addon}.json"
        for k8s in versions
        for addon in ADDON_NAMES
    ]


def newest_version(answer: Mapping[str, Any], addon: str, kubernetes_version: str) -> str:
    """The newest version of ``addon`` compatible with ``kubernetes_version`` in a
    ``describe-addon-versions`` answer."""
    versions = [
        v["addonVersion"]
        for a in answer.get("addons", [])
        if a.get("addonName") == addon
        for v in a.get("addonVersions", [])
        if _VERSION.match(v.get("addonVersion", ""))
        and any(c.get("clusterVersion") == kubernetes_version for c in v.get("compatibilities", []))
    ]
    if not versions:
        raise ValueError(f"the answer lists no {addon} version for Kubernetes {kubernetes_version}")
    newest: str = max(versions, key=version_key)
    return newest


def markdown_table(table: Mapping[str, Mapping[str, str]]) -> str:
    """The table as docs/configuration.md shows it (newest Kubernetes first)."""
    lines = [
        f"| Kubernetes | {' | '.join(ADDON_NAMES)} |",
        f"|---|{'---|' * len(ADDON_NAMES)}",
    ]
    for k8s in sorted(table, key=_k8s_key, reverse=True):
        lines.append(f"| {k8s} | {' | '.join(table[k8s][a] for a in ADDON_NAMES)} |")
    return "\n".join(lines)
