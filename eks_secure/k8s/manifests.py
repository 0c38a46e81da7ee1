"""Turn a cdk8s chart into plain, deterministic Python data."""

from __future__ import annotations

import json
from typing import Any

import cdk8s


def synth_manifests(chart: cdk8s.Chart) -> list[dict[str, Any]]:
    """Return ``chart.to_json()`` as plain dicts with sorted keys, in the chart's object order.

    The JSON round trip strips jsii proxies and fixes key order, so the result compares and
    snapshots byte-for-byte stably.
    """
    text = json.dumps(chart.to_json(), sort_keys=True)
    manifests: list[dict[str, Any]] = json.loads(text)
    return manifests


def manifests_to_json(chart: cdk8s.Chart) -> str:
    """Serialize the chart's manifests as canonical JSON (sorted keys, two-space indent)."""
    return json.dumps(synth_manifests(chart), sort_keys=True, indent=2) + "\n"
