"""``EksSecureChecks``: the eks-secure rules as a cdk-nag 3 ``NagPack``.

Register it like cdk-nag's own packs::

    cdk.Validations.of(app).add_plugins(EksSecureChecks(app))

and acknowledge a finding with its reason, as for any cdk-nag rule::

    cdk.Validations.of(construct).acknowledge(
        cdk.Acknowledgment(id="EksSecure-IAM1", reason="...")
    )

cdk-nag 3 calls the pack for every ``CfnResource`` of the construct tree after synthesis, when
the templates are written. The rules read each resource from its synthesized template rather
than from the L1's typed properties: that way they see property overrides (the only way to set
``ControlPlaneEgressMode`` with aws-cdk-lib 2.275) and resources created by constructs that
emit plain ``CfnResource`` objects, nested stacks included. Hence the pack works as a
validation plugin only, after synthesis: ``validate_scope`` on an app that has not been
synthesized raises an error that says so, rather than passing.

cdk-nag 3's ``NagPack`` is a jsii abstract class; this subclass implements its
``checkResource`` and ``name`` in Python, and hands each violation to ``applyRule`` as a
Python object implementing ``IApplyRule``.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any, cast

import aws_cdk as cdk
import jsii
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance
from constructs import IConstruct

from eks_secure.checks.rules import (
    CUSTOMER_ROUTED,
    PACK_NAME,
    RULES,
    Result,
    Rule,
    RuleOptions,
    rules_by_type,
)
from eks_secure.errors import ConfigError


class _TemplateCache:
    """Synthesized templates, read once per stack (each jsii call costs about a millisecond)."""

    def __init__(self) -> None:
        self._by_stack: dict[cdk.Stack, tuple[Path, dict[str, Any]]] = {}

    def _template(self, stack: cdk.Stack) -> dict[str, Any]:
        cached = self._by_stack.get(stack)
        if cached is not None:
            return cached[1]
        stage = cdk.Stage.of(stack)
        path = Path(stage.outdir if stage is not None else ".") / stack.template_file
        if not path.exists():
            raise FileNotFoundError(
                f"{path} does not exist: EksSecureChecks reads the synthesized templates, so "
                "register it with cdk.Validations.of(app).add_plugins(...) and synthesize"
            )
        template: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        self._by_stack[stack] = (path, template)
        return template

    def clear(self) -> None:
        """Forget every template (a new validation run may follow a new synthesis)."""
        self._by_stack.clear()

    def resource(self, node: cdk.CfnResource) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(Properties, template)`` of ``node`` as synthesized."""
        stack = node.stack
        template = self._template(stack)
        resource = template.get("Resources", {}).get(stack.get_logical_id(node), {})
        return resource.get("Properties", {}), template


@jsii.implements(IApplyRule)
class _Finding:
    """A rule found violated on one resource, in the shape cdk-nag's ``applyRule`` takes.

    The rules are evaluated in Python first and only violations are handed to cdk-nag, which
    then checks the acknowledgments and records the violation: one jsii round trip per
    finding instead of several per resource and rule.
    """

    def __init__(self, rule: Rule, node: cdk.CfnResource, level: NagMessageLevel) -> None:
        self._rule = rule
        self._node = node
        self._level = level

    # jsii finds an interface's members through the class's properties, not instance
    # attributes, so each is a read-only property here.

    @property
    def node(self) -> cdk.CfnResource:
        """The resource checked."""
        return self._node

    @property
    def rule_suffix_override(self) -> str:
        """The rule's stable ID, after the pack name."""
        return self._rule.id

    @property
    def info(self) -> str:
        """The finding and its fix."""
        return self._rule.info

    @property
    def explanation(self) -> str:
        """Why the rule exists."""
        return self._rule.explanation

    @property
    def level(self) -> NagMessageLevel:
        """Severity of a finding."""
        return self._level

    def rule(self, node: cdk.CfnResource) -> NagRuleCompliance:
        """Already evaluated: non-compliant."""
        return NagRuleCompliance.NON_COMPLIANT


class EksSecureChecks(NagPack):
    """cdk-nag pack of aws_eks_v2-aware EKS checks (rule IDs ``EksSecure-<id>``).

    cdk-nag's own EKS rules match only the old ``aws_eks`` L1, so a public or unlogged
    ``aws_eks_v2`` cluster passes them; this pack checks the synthesized ``AWS::EKS::Cluster``
    whatever construct made it, plus node groups, subnets, security groups, VPC endpoints and
    IAM roles. See ``docs/security-posture.md`` for the rule table.

    :param scope: the app, as for cdk-nag's packs.
    :param verbose: also show each rule's explanation. Default: False.
    :param allowed_egress_modes: control-plane egress modes ``EKS2`` accepts.
        Default: ``("CUSTOMER_ROUTED",)``.
    :param rule_ids: run only these rule suffixes (e.g. ``["EKS1", "EKS2"]``). Default: all.
    :param warn_only: report findings as warnings, which do not fail synthesis. Default: False.
    """

    def __init__(
        self,
        scope: IConstruct | None = None,
        *,
        verbose: bool = False,
        allowed_egress_modes: Collection[str] = (CUSTOMER_ROUTED,),
        rule_ids: Collection[str] | None = None,
        warn_only: bool = False,
    ) -> None:
        super().__init__(scope, verbose=verbose)
        self._pack_name = PACK_NAME
        known = {r.id for r in RULES}
        unknown = sorted(set(rule_ids or ()) - known)
        if unknown:
            raise ConfigError(
                "EksSecureChecks.rule_ids",
                f"unknown rule IDs {unknown}",
                f"use some of {sorted(known)}",
            )
        if not allowed_egress_modes:
            raise ConfigError(
                "EksSecureChecks.allowed_egress_modes",
                "is empty, so no cluster could pass EKS2",
                "list at least CUSTOMER_ROUTED",
            )
        selected = [r for r in RULES if rule_ids is None or r.id in rule_ids]
        self._rules = rules_by_type(selected)
        self._options = RuleOptions(allowed_egress_modes=frozenset(allowed_egress_modes))
        self._level = NagMessageLevel.WARN if warn_only else NagMessageLevel.ERROR
        self._cache = _TemplateCache()

    @property
    def name(self) -> str:
        """Plugin name in the validation report."""
        return PACK_NAME

    @jsii.member(jsii_name="validateScope")
    def validate_scope(self, scope: IConstruct) -> cdk.PolicyValidationPluginReport:
        """Validate the tree under ``scope`` against freshly read templates."""
        self._cache.clear()
        return super().validate_scope(scope)

    @jsii.member(jsii_name="checkResource")
    def _check_resource(self, node: cdk.CfnResource) -> None:
        """Apply the rules of ``node``'s resource type."""
        rules = self._rules.get(node.cfn_resource_type)
        if not rules:
            return
        properties, template = self._cache.resource(node)
        for rule in rules:
            if rule.evaluate(properties, template, self._options) is Result.NON_COMPLIANT:
                # read-only properties: mypy wants IApplyRule's setters too
                self._apply_rule(cast(IApplyRule, _Finding(rule, node, self._level)))
