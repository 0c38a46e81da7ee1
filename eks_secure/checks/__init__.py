"""Reusable checks: the ``EksSecureChecks`` cdk-nag pack and its template rules.

``eks_secure.checks.rules`` is pure Python (usable on any CloudFormation template);
``EksSecureChecks`` needs the optional dependency ``cdk-nag`` (``pip install eks-secure[checks]``)
and is imported lazily from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eks_secure.checks.rules import RULES, Rule, RuleOptions, check_template

__all__ = ["RULES", "EksSecureChecks", "Rule", "RuleOptions", "check_template"]


def __getattr__(name: str) -> Any:
    """Import ``EksSecureChecks`` (and so cdk-nag and jsii) on first use only."""
    if name == "EksSecureChecks":
        from eks_secure.checks.pack import EksSecureChecks

        return EksSecureChecks
    raise AttributeError(f"module 'eks_secure.checks' has no attribute {name!r}")


if TYPE_CHECKING:  # pragma: no cover
    from eks_secure.checks.pack import EksSecureChecks
