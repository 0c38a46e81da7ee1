"""Helpers for snapshot tests of synthesized templates (pure Python: no CDK, no jsii).

Asset hashes (the 64-hex-digit SHA-256 names CDK gives Lambda code, layers and file assets) change
whenever a bundled file or a dependency changes, even when the infrastructure does not. Replace
them before comparing a template with a stored snapshot::

    from aws_cdk.assertions import Template
    from eks_secure.testing import normalise

    def test_stack_snapshot(snapshot):
        assert normalise(Template.from_stack(stack).to_json()) == snapshot

The library guide (``docs/library-guide.md``) has the full recipe with syrupy.
"""

from __future__ import annotations

import json
import re
from typing import Any

ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
"""An asset hash: a lower-case SHA-256 hex digest standing as a word of its own (``<hash>.zip``)."""

ASSET_HASH_PLACEHOLDER = "<asset-hash>"
"""What :func:`normalise` puts in place of each asset hash."""


def normalise(template: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``template`` with every asset hash replaced by ``<asset-hash>``.

    Nothing else changes: the result is the same JSON document with the hashes inside its strings
    (and its keys) replaced, and the input is not modified.
    """
    text = ASSET_HASH.sub(ASSET_HASH_PLACEHOLDER, json.dumps(template, sort_keys=True))
    normalised: dict[str, Any] = json.loads(text)
    return normalised
