"""CloudFormation's per-template limits, checked on a synthesized cloud assembly (pure Python).

The quotas (AWS CloudFormation User Guide, "Understand CloudFormation quotas"): 500 resources,
200 outputs, 200 parameters, 200 mappings and 60 dynamic references per template; a template
body of at most 1 MB from S3 (CDK uploads every nested template, and any top-level template
over 50 KiB, to S3) or 51,200 bytes passed inline. A nested stack counts as one resource of its
parent and has limits of its own, so every template of the assembly is checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LIMITS: dict[str, int] = {
    "resources": 500,
    "outputs": 200,
    "parameters": 200,
    "mappings": 200,
    "dynamic_references": 60,
    "template_bytes": 1_000_000,
}
"""CloudFormation's per-template quotas (``template_bytes``: 1 MB, read as 10^6 bytes)."""

INLINE_TEMPLATE_BYTES = 51_200
"""Largest template body CloudFormation accepts inline (larger ones must come from S3)."""


@dataclass(frozen=True)
class TemplateUsage:
    """How much of CloudFormation's per-template limits one template uses."""

    template: str
    """File name of the template in the assembly."""
    resources: int
    outputs: int
    parameters: int
    mappings: int
    dynamic_references: int
    template_bytes: int

    @property
    def nested(self) -> bool:
        """Whether this is a nested stack's template."""
        return self.template.endswith(".nested.template.json")

    def over(self) -> list[str]:
        """Each limit this template exceeds, as ``"resources 512 > 500"``."""
        return [
            f"{name} {getattr(self, name)} > {limit}"
            for name, limit in LIMITS.items()
            if getattr(self, name) > limit
        ]

    def headroom(self) -> float:
        """The largest fraction of a limit used (1.0 = at the limit)."""
        return max(float(getattr(self, name)) / limit for name, limit in LIMITS.items())


def template_usage(name: str, text: str) -> TemplateUsage:
    """The limit usage of one template given as its JSON text."""
    template: dict[str, Any] = json.loads(text)
    return TemplateUsage(
        template=name,
        resources=len(template.get("Resources", {})),
        outputs=len(template.get("Outputs", {})),
        parameters=len(template.get("Parameters", {})),
        mappings=len(template.get("Mappings", {})),
        dynamic_references=text.count("{{resolve:"),
        template_bytes=len(text.encode("utf-8")),
    )


def assembly_usage(directory: str | Path) -> list[TemplateUsage]:
    """The limit usage of every template (nested ones included) in a cloud assembly directory."""
    return [
        template_usage(path.name, path.read_text(encoding="utf-8"))
        for path in sorted(Path(directory).glob("*.template.json"))
    ]


def over_limits(directory: str | Path) -> list[str]:
    """Every template of the assembly over a CloudFormation limit, one line each (empty: none)."""
    return [f"{u.template}: {', '.join(u.over())}" for u in assembly_usage(directory) if u.over()]
