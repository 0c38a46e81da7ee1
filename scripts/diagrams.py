#!/usr/bin/env python3
"""Regenerate docs/diagrams/<pattern>.svg from the example configs (``make diagrams``).

``tests/test_diagrams.py`` fails when a committed diagram is not what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "diagrams"


def expected() -> dict[Path, str]:
    """Every diagram file and its content (one per example config with a pattern page)."""
    from eks_secure.egress.registry import pattern_names
    from eks_secure.tools.diagram import dot_source, render_svg
    from eks_secure.tools.planning import plan_config

    files: dict[Path, str] = {}
    for pattern in pattern_names():
        config = REPO / "patterns" / "examples" / f"{pattern}.yaml"
        if not config.is_file():
            continue
        planned = plan_config(config, pattern=pattern)
        files[OUT / f"{pattern}.svg"] = render_svg(dot_source(planned.config, planned.plan))
    return files


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for path, text in expected().items():
        print(f"drawing {path.relative_to(REPO)}", file=sys.stderr)
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
