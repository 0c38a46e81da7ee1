"""The JSON Schema of the deployment config, generated from the models and the registry.

One schema per registered pattern (``base`` included), joined with ``anyOf``: each branch fixes
``pattern`` to its name and allows exactly that pattern's section and per-app keys, so an editor
completes and checks the keys of the pattern a file names. A file without ``pattern:`` (chosen
on the command line with ``-c pattern=``) is valid when it fits any branch.

The schema is committed as ``eks_secure/config/eks-secure.schema.json`` (package data) and
``docs/configuration.md`` carries the key reference; both are regenerated with ``make schema``
(``python -m eks_secure.config.schema --write``) and checked current by the tests (``--check``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from eks_secure.config.model import API_VERSION, deployment_model

SCHEMA_FILE = Path(__file__).with_name("eks-secure.schema.json")
"""Where the schema is committed (shipped in the wheel as package data)."""

DOCS_FILE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
"""The page whose key reference is generated (in a source checkout)."""


def config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a config of any registered pattern."""
    from eks_secure.egress.registry import pattern_names

    models = [deployment_model(name) for name in pattern_names()]
    refs, defs = models_json_schema(
        [(model, "validation") for model in models], ref_template="#/$defs/{model}"
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"eks-secure deployment config ({API_VERSION})",
        "description": (
            "One deployment of eks-secure: a private VPC, an EKS cluster and one egress pattern. "
            "Generated from eks_secure.config.model by `make schema`; do not edit."
        ),
        "anyOf": [refs[(model, "validation")] for model in models],
        "$defs": defs["$defs"],
    }


def render_schema() -> str:
    """The schema file's text (deterministic)."""
    return json.dumps(config_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``--write`` regenerates the schema file and the docs reference; ``--check`` (default)
    exits 1 when either is stale."""
    from eks_secure.config.reference import update_reference

    parser = argparse.ArgumentParser(prog="python -m eks_secure.config.schema")
    parser.add_argument("--write", action="store_true", help="rewrite the generated files")
    parser.add_argument("--docs", type=Path, default=DOCS_FILE, help="configuration.md to update")
    args = parser.parse_args(argv)
    stale: list[str] = []
    text = render_schema()
    if not SCHEMA_FILE.is_file() or SCHEMA_FILE.read_text(encoding="utf-8") != text:
        stale.append(str(SCHEMA_FILE))
        if args.write:
            SCHEMA_FILE.write_text(text, encoding="utf-8")
    if args.docs.is_file() and update_reference(args.docs, write=args.write):
        stale.append(str(args.docs))
    if stale and not args.write:
        print("stale (run `make schema`): " + ", ".join(stale), file=sys.stderr)
        return 1
    for path in stale:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
