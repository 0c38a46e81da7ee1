"""The egress pattern advisor behind ``eks-secure advise`` (pure Python: no CDK, no jsii).

It ranks the four on-premises egress patterns (``subnet-per-app``, ``private-nat``, ``cilium``,
``istio``) for a team's answers about its apps and constraints, following the "when to consider"
guidance and trade-offs of the AWS containers blog post on on-premises egress design patterns
for Amazon EKS (see ``docs/cli.md`` for the rules in plain words).

Every rule in :data:`RULES` looks at the :class:`Answers` and returns findings: a score change
for a pattern with its reason, or a *block* when the pattern cannot meet a stated requirement.
Patterns rank by suitability, then score, then rough monthly cost, then simplicity (the order of
:data:`PATTERNS`). Costs come from :mod:`eks_secure.advisor.prices`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Literal

from eks_secure.advisor.prices import CostLine, PatternCost, PriceTable
from eks_secure.errors import ConfigError, ConfigErrors

PATTERNS: tuple[str, ...] = ("subnet-per-app", "private-nat", "cilium", "istio")
"""The patterns compared, simplest first (the last tie-breaker)."""

APPETITES: tuple[str, ...] = ("yes", "unsure", "no")
"""Answers to "would your team run Cilium / Istio?"."""

FEW_ACCESS_PATTERNS = 5
"""Up to this many distinct upstream access patterns count as "few"."""
MANY_ACCESS_PATTERNS = 15
"""From this many distinct upstream access patterns on, they count as "many"."""
MANY_APPS = 10
"""From this many apps on, one node group and subnet set per app weighs on cost and space."""
HIGH_TRAFFIC_GB = 5000.0
"""From this many GB a month to on-premises on, NAT data processing is a real cost."""

DEFAULT_INTERFACE_ENDPOINTS = 14
"""Interface endpoints of eks-secure's default VPC (``DEFAULT_INTERFACE_ENDPOINT_SERVICES``)."""

Kind = Literal["int", "number", "bool", "appetite"]


@dataclass(frozen=True)
class Question:
    """One answer the advisor takes: its key, type, default and the question asked."""

    key: str
    kind: Kind
    default: object
    """``None``: the answer is required."""
    question: str
    """The question as asked interactively (and shown in ``--help``)."""
    minimum: float = 0


QUESTIONS: tuple[Question, ...] = (
    Question("apps", "int", None, "How many apps need a fixed source IP on-premises?", 1),
    Question(
        "access_patterns",
        "int",
        "apps",
        "How many distinct upstream access patterns do they have (apps that reach the same "
        "destinations and ports count once)?",
        1,
    ),
    Question(
        "traffic_gb_month",
        "number",
        0.0,
        "How many GB a month do the apps send to and receive from on-premises?",
    ),
    Question(
        "overlapping_cidrs", "bool", False, "Do the VPC's ranges overlap on-premises networks?"
    ),
    Question(
        "l7_rules",
        "bool",
        False,
        "Do you need L7 rules (by host name, path or workload identity)?",
    ),
    Question("fargate", "bool", False, "Do any of these apps run on AWS Fargate?"),
    Question(
        "vpc_changeable",
        "bool",
        True,
        "Can you change the VPC (add subnets, routes, a secondary CIDR)?",
    ),
    Question(
        "dynamic_access",
        "bool",
        False,
        "Do the apps' upstream access patterns change often?",
    ),
    Question("cilium", "appetite", "unsure", "Would your team run Cilium as the CNI?"),
    Question("istio", "appetite", "unsure", "Would your team run the Istio service mesh?"),
    Question("azs", "int", 3, "How many availability zones does the cluster use?", 2),
    Question(
        "gateway_nodes_per_az",
        "int",
        1,
        "How many gateway nodes per AZ would a gateway pattern run?",
        1,
    ),
    Question(
        "interface_endpoints",
        "int",
        DEFAULT_INTERFACE_ENDPOINTS,
        "How many interface VPC endpoints does the VPC have?",
    ),
)
"""Every answer, in the order asked and reported."""


@dataclass(frozen=True)
class Answers:
    """A team's answers (see :data:`QUESTIONS` for their meaning and defaults)."""

    apps: int
    access_patterns: int
    traffic_gb_month: float = 0.0
    overlapping_cidrs: bool = False
    l7_rules: bool = False
    fargate: bool = False
    vpc_changeable: bool = True
    dynamic_access: bool = False
    cilium: str = "unsure"
    istio: str = "unsure"
    azs: int = 3
    gateway_nodes_per_az: int = 1
    interface_endpoints: int = DEFAULT_INTERFACE_ENDPOINTS


TRUE_WORDS = ("yes", "y", "true", "on", "1")
FALSE_WORDS = ("no", "n", "false", "off", "0")


def _as_number(value: object) -> float | None:
    """``value`` as a finite number, or ``None`` (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _convert(question: Question, value: object, where: str) -> object:
    """``value`` as the question's type; a field-named error otherwise."""
    kind = question.kind
    text = value.strip().lower() if isinstance(value, str) else None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if text in TRUE_WORDS or text in FALSE_WORDS:
            return text in TRUE_WORDS
        raise ConfigError(where, f"must be yes or no, not {value!r}", "answer yes or no")
    if kind == "appetite":
        if isinstance(value, bool):  # YAML reads a bare yes/no as a boolean
            return "yes" if value else "no"
        if text in APPETITES:
            return text
        raise ConfigError(where, f"must be yes, unsure or no, not {value!r}", "pick one of them")
    number = _as_number(value)
    if number is None or (kind == "int" and not number.is_integer()):
        noun = "a whole number" if kind == "int" else "a number"
        raise ConfigError(where, f"must be {noun}, not {value!r}", "give a number")
    if number < question.minimum:
        raise ConfigError(
            where, f"must be at least {question.minimum:g}, not {value!r}", "give a larger value"
        )
    return int(number) if kind == "int" else number


def parse_answers(values: Mapping[str, object], where: Mapping[str, str] | None = None) -> Answers:
    """Validated :class:`Answers` from raw values (file, flags or prompts); all problems at once.

    ``where`` names the origin of each key for error messages (``--apps``, ``answers.yaml:
    apps``); by default the key itself.
    """
    where = dict(where or {})
    errors: list[ConfigError] = []
    known = {q.key for q in QUESTIONS}
    for key in sorted(set(values) - known):
        errors.append(
            ConfigError(
                where.get(key, key),
                "is not a question the advisor asks",
                f"use one of {', '.join(q.key for q in QUESTIONS)}",
            )
        )
    result: dict[str, object] = {}
    for question in QUESTIONS:
        field = where.get(question.key, question.key)
        if question.key in values and values[question.key] is not None:
            try:
                result[question.key] = _convert(question, values[question.key], field)
            except ConfigError as exc:
                errors.append(exc)
        elif question.default is None:
            errors.append(ConfigError(field, "is required", f"answer: {question.question}"))
    apps = result.get("apps")
    patterns = result.setdefault("access_patterns", apps)
    if isinstance(apps, int) and isinstance(patterns, int) and patterns > apps:
        errors.append(
            ConfigError(
                where.get("access_patterns", "access_patterns"),
                f"{patterns} access patterns for {apps} apps",
                "count each app's upstream access pattern once; at most one per app",
            )
        )
    if errors:
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    for question in QUESTIONS:
        result.setdefault(question.key, question.default)
    return Answers(**result)  # type: ignore[arg-type]  # each value converted above


# --- costs --------------------------------------------------------------------------------------

PER_APP_NODES = "per-app node groups: nodes one app cannot fill cannot be shared with other apps"


def pattern_costs(answers: Answers, prices: PriceTable) -> dict[str, PatternCost]:
    """Rough monthly cost of what each pattern adds for egress, by pattern."""
    hours = prices.hours_per_month
    a = answers
    nat_gateways = a.access_patterns * a.azs
    gateway_nodes = a.azs * a.gateway_nodes_per_az
    node = prices.gateway_node_type
    return {
        "subnet-per-app": PatternCost("subnet-per-app", (), (PER_APP_NODES,)),
        "private-nat": PatternCost(
            "private-nat",
            (
                CostLine(
                    "NAT gateways",
                    f"{a.access_patterns} NAT groups x {a.azs} AZs x {hours:g} h",
                    nat_gateways * hours,
                    "gateway-hours",
                    prices.nat_gateway_hour,
                ),
                CostLine(
                    "NAT data processing",
                    f"{a.traffic_gb_month:g} GB a month",
                    a.traffic_gb_month,
                    "GB",
                    prices.nat_gateway_gb,
                ),
            ),
            (PER_APP_NODES,),
        ),
        "cilium": PatternCost(
            "cilium",
            (
                CostLine(
                    f"gateway nodes ({node})",
                    f"{a.access_patterns} egress identities x {gateway_nodes} nodes "
                    f"({a.azs} AZs x {a.gateway_nodes_per_az}) x {hours:g} h",
                    a.access_patterns * gateway_nodes * hours,
                    "instance-hours",
                    prices.gateway_node_hour,
                ),
            ),
            ("commercial Cilium support, if you buy it",),
        ),
        "istio": PatternCost(
            "istio",
            (
                CostLine(
                    f"gateway nodes ({node})",
                    f"one shared gateway fleet: {gateway_nodes} nodes "
                    f"({a.azs} AZs x {a.gateway_nodes_per_az}) x {hours:g} h",
                    gateway_nodes * hours,
                    "instance-hours",
                    prices.gateway_node_hour,
                ),
            ),
            (
                "the sidecar proxy's CPU and memory in every app pod",
                "commercial Istio support, if you buy it",
            ),
        ),
    }


def common_cost(answers: Answers, prices: PriceTable) -> PatternCost:
    """What every pattern pays alike: the private cluster's interface endpoints."""
    hours = prices.hours_per_month
    return PatternCost(
        "all patterns",
        (
            CostLine(
                "interface endpoints",
                f"{answers.interface_endpoints} endpoints x {answers.azs} AZs x {hours:g} h",
                answers.interface_endpoints * answers.azs * hours,
                "endpoint-hours",
                prices.interface_endpoint_hour,
            ),
        ),
    )


# --- rules --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """What one rule says about one pattern."""

    rule: str
    pattern: str
    weight: int
    """Score change (positive: the pattern fits better)."""
    reason: str
    blocks: bool = False
    """The pattern cannot meet a stated requirement."""


Check = Callable[[Answers, Mapping[str, PatternCost], PriceTable], list[Finding]]


@dataclass(frozen=True)
class Rule:
    """A named piece of guidance: when it applies, and what it says about each pattern."""

    id: str
    when: str
    """When the rule applies, in plain words (for the docs and JSON output)."""
    check: Check


def _findings(
    rule: str, *items: tuple[str, int, str] | tuple[str, int, str, bool]
) -> list[Finding]:
    return [Finding(rule, *item) for item in items]


def _few_access_patterns(a: Answers, c: Mapping[str, PatternCost], p: PriceTable) -> list[Finding]:
    if a.access_patterns > FEW_ACCESS_PATTERNS:
        return []
    return _findings(
        "few-access-patterns",
        (
            "subnet-per-app",
            2,
            f"{a.access_patterns} access pattern(s): a subnet set per app is easy to plan, and "
            "the firewall gets ordinary CIDR rules it already knows how to review",
        ),
        (
            "private-nat",
            2,
            f"{a.access_patterns} access pattern(s) means as many NAT groups: a few fixed IPs "
            "on the firewall, from a managed NAT service with no gateway hosts to run",
        ),
    )


def _many_access_patterns(a: Answers, c: Mapping[str, PatternCost], p: PriceTable) -> list[Finding]:
    if a.access_patterns < MANY_ACCESS_PATTERNS:
        return []
    return _findings(
        "many-access-patterns",
        (
            "subnet-per-app",
            -2,
            f"{a.access_patterns} access patterns: each one adds subnets in every AZ, routes "
            "and firewall rules, and the address plan must leave room for all of them",
        ),
        (
            "private-nat",
            -1,
            f"{a.access_patterns} NAT groups, each with its own NAT subnets, a gateway per AZ "
            "and routes: workable, but the VPC work grows with every access pattern",
        ),
        (
            "cilium",
            2,
            "source IPs follow pod labels through egress gateway policies, so many access "
            "patterns need neither many subnets nor many node groups",
        ),
        (
            "istio",
            2,
            "each app's upstream access is a handful of mesh objects kept in Git, so adding "
            "access patterns leaves the VPC alone",
        ),
    )


def _shared_access_patterns(
    a: Answers, c: Mapping[str, PatternCost], p: PriceTable
) -> list[Finding]:
    if a.apps <= a.access_patterns:
        return []
    return _findings(
        "shared-access-patterns",
        (
            "private-nat",
            1,
            f"{a.apps} apps share {a.access_patterns} access pattern(s): apps of one NAT group "
            "share its fixed IPs, so firewall rules follow access patterns, not apps",
        ),
        (
            "subnet-per-app",
            -1,
            "every app still needs its own subnets and firewall rules, even when several apps "
            "reach the same upstream systems",
        ),
    )


def _many_apps(a: Answers, c: Mapping[str, PatternCost], p: PriceTable) -> list[Finding]:
    if a.apps < MANY_APPS:
        return []
    reason = (
        f"{a.apps} dedicated node groups and subnet sets: capacity one app leaves unused cannot "
        "go to another, and each app takes address space in every AZ"
    )
    return _findings("many-apps", ("subnet-per-app", -1, reason), ("private-nat", -1, reason))


def _high_traffic(a: Answers, c: Mapping[str, PatternCost], p: PriceTable) -> list[Finding]:
    if a.traffic_gb_month < HIGH_TRAFFIC_GB:
        return []
    processing = a.traffic_gb_month * p.nat_gateway_gb
    return _findings(
        "high-traffic",
        (
            "private-nat",
            -2,
            f"{a.traffic_gb_month:,.0f} GB a month through the NAT gateways costs about "
            f"{processing:,.0f} {p.currency} in data processing alone, growing with the traffic",
        ),
    )


def _overlapping_cidrs(a: Answers, c: Mapping[str, PatternCost], p: PriceTable) -> list[Finding]:
    if not a.overlapping_cidrs:
        return []
    return _findings(
        "overlapping-cidrs",
        (
            "subnet-per-app",
            0,
            "the firewall sees the app subnets themselves, so they must be unique and routable "
            "on-premises: overlapping ranges rule this pattern out",
            True,
        ),
        (
            "private-nat",
            3,
            "only the small NAT subnets need unique, routable space (a secondary VPC CIDR will "
            "do); nodes and pods may stay in overlapping ranges behind them",
        ),
        (
            "cilium",
            1,
            "only the gateway nodes' subnets need routable space: traffic takes the gateway's "
            "address before it leaves the VPC",
        ),
        (
            "istio",
            1,
            "only the egress gateway subnets need routable space: app traffic reaches "
            "on-premises through the gateways",
        ),
    )


def _l7_rules(a: Answers, c: Mapping[str, PatternCost], p: PriceTable) -> list[Finding]:
    if not a.l7_rules:
        return []
    l4 = (
        "works on addresses and ports only (L4): it cannot allow or deny by host name, path or "
        "workload identity"
    )
    return _findings(
        "l7-rules",
        ("subnet-per-app", 0, l4, True),
        ("private-nat", 0, l4, True),
        (
            "cilium",
            -2,
            "the egress gateway translates addresses at L4; host- or path-based rules would "
            "need Cilium's separate L7 network policies on top",
        ),
        (
            "istio",
            3,
            "the egress gateway is an Envoy proxy: it routes and authorises by host name (SNI), "
            "HTTP attributes and the calling workload's mesh identity",
        ),
    )


def _fargate(a: Answers, c: Mapping[str, PatternCost], p: PriceTable) -> list[Finding]:
    if not a.fargate:
        return []
    managed_nodes = "eks-secure itself builds managed node groups; Fargate profiles are yours"
    return _findings(
        "fargate",
        (
            "cilium",
            0,
            "Fargate pods run on AWS-managed networking, so Cilium's egress gateway never sees "
            "their traffic",
            True,
        ),
        (
            "istio",
            0,
            "Fargate pods cannot get the privileged traffic redirection the sidecar relies on, "
            "so their traffic would not pass the egress gateway",
            True,
        ),
        (
            "subnet-per-app",
            0,
            "Fargate pods take their IPs from the profile's subnets, so a profile per app on "
            f"the app's subnets keeps the same source ({managed_nodes})",
        ),
        (
            "private-nat",
            0,
            "Fargate pods in subnets routed through the NAT gateways leave with the NAT IPs "
            f"as well ({managed_nodes})",
        ),
    )


def _fixed_vpc(a: Answers, c: Mapping[str, PatternCost], p: PriceTable) -> list[Finding]:
    if a.vpc_changeable:
        return []
    stays = "the apps stay in the subnets they have; only the {} need a place (ideally subnets "
    return _findings(
        "fixed-vpc",
        (
            "subnet-per-app",
            0,
            "needs new subnets for every app in every AZ, which a VPC that cannot change does "
            "not allow: that rules this pattern out",
            True,
        ),
        (
            "private-nat",
            -2,
            "needs NAT subnets and new routes (and a secondary CIDR when space is short)",
        ),
        ("cilium", 2, stays.format("gateway nodes") + "of their own)"),
        ("istio", 2, stays.format("egress gateways") + "of their own)"),
    )


def _dynamic_access(a: Answers, c: Mapping[str, PatternCost], p: PriceTable) -> list[Finding]:
    if not a.dynamic_access:
        return []
    return _findings(
        "dynamic-access",
        (
            "subnet-per-app",
            -1,
            "every change of upstream access is subnet, routing or firewall work",
        ),
        (
            "private-nat",
            -1,
            "moving an app to another access pattern changes its routes; a new pattern is a new "
            "NAT group",
        ),
        (
            "cilium",
            1,
            "a changed access pattern is an edited egress policy, although new source IPs still "
            "need firewall rules",
        ),
        (
            "istio",
            2,
            "a changed upstream is a change to mesh objects through GitOps, while the firewall "
            "keeps allowing the same gateway subnets",
        ),
    )


def _appetite(pattern: str, key: str, unsure: str) -> Check:
    """The rule for the team's appetite for running ``pattern``'s extra software."""

    def check(a: Answers, c: Mapping[str, PatternCost], p: PriceTable) -> list[Finding]:
        answer = getattr(a, key)
        rule = f"{key}-appetite"
        if answer == "no":
            return _findings(rule, (pattern, 0, f"your team would rather not run {key}", True))
        if answer == "unsure":
            return _findings(rule, (pattern, -2, unsure))
        return _findings(rule, (pattern, 1, f"your team is ready to run {key}"))

    return check


RULES: tuple[Rule, ...] = (
    Rule(
        "few-access-patterns",
        f"at most {FEW_ACCESS_PATTERNS} distinct upstream access patterns",
        _few_access_patterns,
    ),
    Rule(
        "many-access-patterns",
        f"{MANY_ACCESS_PATTERNS} or more distinct upstream access patterns",
        _many_access_patterns,
    ),
    Rule(
        "shared-access-patterns",
        "more apps than access patterns (several apps reach the same upstream systems)",
        _shared_access_patterns,
    ),
    Rule("many-apps", f"{MANY_APPS} or more apps", _many_apps),
    Rule(
        "high-traffic",
        f"{HIGH_TRAFFIC_GB:,.0f} GB a month or more to and from on-premises",
        _high_traffic,
    ),
    Rule("overlapping-cidrs", "the VPC's ranges overlap on-premises networks", _overlapping_cidrs),
    Rule("l7-rules", "L7 rules are needed", _l7_rules),
    Rule("fargate", "some apps run on Fargate", _fargate),
    Rule("fixed-vpc", "the VPC cannot be changed", _fixed_vpc),
    Rule("dynamic-access", "upstream access patterns change often", _dynamic_access),
    Rule(
        "cilium-appetite",
        "always: the team's answer about running Cilium",
        _appetite(
            "cilium",
            "cilium",
            "Cilium replaces the VPC CNI (AWS does not support that), and the open-source "
            "egress gateway has no automatic failover: the team runs and watches the gateway "
            "nodes itself",
        ),
    ),
    Rule(
        "istio-appetite",
        "always: the team's answer about running Istio",
        _appetite(
            "istio",
            "istio",
            "a service mesh puts a sidecar in every app pod and brings its own upgrades and "
            "learning curve; on its own it cannot force all traffic through the gateway, so "
            "network policies must close the bypass",
        ),
    ),
)
"""Every rule the advisor applies, in the order its findings are listed."""


# --- ranking ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ranked:
    """One pattern's place in the ranking."""

    rank: int
    pattern: str
    score: int
    suitable: bool
    """False when a finding blocks the pattern."""
    findings: tuple[Finding, ...]
    cost: PatternCost


@dataclass(frozen=True)
class Advice:
    """The advisor's answer: the ranking, the costs and what they were computed from."""

    answers: Answers
    prices: PriceTable
    ranking: tuple[Ranked, ...]
    common: PatternCost
    """Costs every pattern shares (not part of the ranking)."""

    @property
    def best(self) -> Ranked | None:
        """The top suitable pattern, or ``None`` when no pattern meets every requirement."""
        top = self.ranking[0]
        return top if top.suitable else None


def advise(answers: Answers, prices: PriceTable) -> Advice:
    """Rank the patterns for ``answers``; costs priced with ``prices``."""
    costs = pattern_costs(answers, prices)
    findings: dict[str, list[Finding]] = {pattern: [] for pattern in PATTERNS}
    for rule in RULES:
        for finding in rule.check(answers, costs, prices):
            findings[finding.pattern].append(finding)
    scored = []
    for pattern in PATTERNS:
        own = tuple(findings[pattern])
        suitable = not any(f.blocks for f in own)
        score = sum(f.weight for f in own)
        scored.append((pattern, score, suitable, own))
    scored.sort(
        key=lambda s: (not s[2], -s[1], costs[s[0]].total, PATTERNS.index(s[0])),
    )
    ranking = tuple(
        Ranked(rank, pattern, score, suitable, own, costs[pattern])
        for rank, (pattern, score, suitable, own) in enumerate(scored, start=1)
    )
    return Advice(answers, prices, ranking, common_cost(answers, prices))


def answers_to_dict(answers: Answers) -> dict[str, object]:
    """The answers as a JSON-ready mapping, in the order of :data:`QUESTIONS`."""
    return asdict(answers)
