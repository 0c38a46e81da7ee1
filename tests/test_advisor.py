"""``eks-secure advise``: every rule moves the ranking, costs match hand arithmetic, the price
table is dated and overridable, answers are validated, and the CLI formats and exit codes hold."""

from __future__ import annotations

import ast
import csv
import io
import json
import os
import select
import signal
import sys
import time
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from synth import REPO

from eks_secure.advisor import (
    QUESTIONS,
    RULES,
    Advice,
    Answers,
    advise,
    parse_answers,
)
from eks_secure.advisor.prices import load_prices
from eks_secure.cli import main
from eks_secure.cli.advise import ask
from eks_secure.errors import ConfigError, ConfigErrors

pytestmark = pytest.mark.xdist_group("cli-tools")

PRICES = load_prices()


def advice_for(**values: Any) -> Advice:
    return advise(parse_answers(values), PRICES)


def ranking(**values: Any) -> list[tuple[str, bool]]:
    """(pattern, suitable) from first to last."""
    return [(r.pattern, r.suitable) for r in advice_for(**values).ranking]


def order(**values: Any) -> list[str]:
    return [pattern for pattern, _ in ranking(**values)]


def fired(rule: str, **values: Any) -> bool:
    return any(f.rule == rule for r in advice_for(**values).ranking for f in r.findings)


BASE = {"apps": 3}
"""Three apps, three access patterns, everything else at its default."""

SPA, NAT, CIL, IST = "subnet-per-app", "private-nat", "cilium", "istio"

# rule -> (baseline answers, changed answers, ranking before, ranking after)
# Each pair differs only in the input of that rule; the rankings were worked out by hand from the
# weights in eks_secure/advisor/__init__.py (ties go to the cheaper, then the simpler pattern).
RULE_CASES: dict[str, tuple[dict[str, Any], dict[str, Any], list[str], list[str]]] = {
    "few-access-patterns": (
        {"apps": 6, "cilium": "yes", "istio": "yes"},
        {"apps": 5, "cilium": "yes", "istio": "yes"},
        [IST, CIL, SPA, NAT],
        [SPA, NAT, IST, CIL],
    ),
    "many-access-patterns": (
        {"apps": 14},
        {"apps": 15},
        [SPA, NAT, IST, CIL],
        [IST, CIL, NAT, SPA],
    ),
    "shared-access-patterns": (
        {"apps": 3, "access_patterns": 3},
        {"apps": 6, "access_patterns": 3},
        [SPA, NAT, IST, CIL],
        [NAT, SPA, IST, CIL],
    ),
    "many-apps": (
        {"apps": 9, "access_patterns": 2, "cilium": "yes"},
        {"apps": 10, "access_patterns": 2, "cilium": "yes"},
        [NAT, SPA, CIL, IST],
        [NAT, CIL, SPA, IST],
    ),
    "high-traffic": (
        {"apps": 6, "access_patterns": 3, "traffic_gb_month": 4999},
        {"apps": 6, "access_patterns": 3, "traffic_gb_month": 5000},
        [NAT, SPA, IST, CIL],
        [SPA, NAT, IST, CIL],
    ),
    "overlapping-cidrs": (
        BASE,
        {**BASE, "overlapping_cidrs": True},
        [SPA, NAT, IST, CIL],
        [NAT, IST, CIL, SPA],
    ),
    "l7-rules": (
        BASE,
        {**BASE, "l7_rules": True},
        [SPA, NAT, IST, CIL],
        [IST, CIL, SPA, NAT],
    ),
    "fargate": (
        {**BASE, "l7_rules": True},
        {**BASE, "l7_rules": True, "fargate": True},
        [IST, CIL, SPA, NAT],
        [SPA, NAT, IST, CIL],
    ),
    "fixed-vpc": (
        BASE,
        {**BASE, "vpc_changeable": False},
        [SPA, NAT, IST, CIL],
        [IST, NAT, CIL, SPA],
    ),
    "dynamic-access": (
        {**BASE, "istio": "yes"},
        {**BASE, "istio": "yes", "dynamic_access": True},
        [SPA, NAT, IST, CIL],
        [IST, SPA, NAT, CIL],
    ),
    "cilium-appetite": (
        BASE,
        {**BASE, "cilium": "yes"},
        [SPA, NAT, IST, CIL],
        [SPA, NAT, CIL, IST],
    ),
    "istio-appetite": (
        {**BASE, "cilium": "yes"},
        {**BASE, "cilium": "yes", "istio": "yes"},
        [SPA, NAT, CIL, IST],
        [SPA, NAT, IST, CIL],
    ),
}


def test_every_rule_has_a_case() -> None:
    assert set(RULE_CASES) == {rule.id for rule in RULES}


@pytest.mark.parametrize("rule", sorted(RULE_CASES))
def test_each_rule_changes_the_ranking(rule: str) -> None:
    before, after, expected_before, expected_after = RULE_CASES[rule]
    assert order(**before) == expected_before
    assert order(**after) == expected_after
    assert expected_before != expected_after
    appetite = rule.endswith("-appetite")  # these rules speak on every answer
    assert appetite or not fired(rule, **before), f"{rule} must not apply to the baseline"
    assert fired(rule, **after), f"{rule} must apply to the changed answers"


@pytest.mark.parametrize(
    ("answers", "blocked"),
    [
        ({"overlapping_cidrs": True}, {SPA}),
        ({"vpc_changeable": False}, {SPA}),
        ({"l7_rules": True}, {SPA, NAT}),
        ({"fargate": True}, {CIL, IST}),
        ({"cilium": "no"}, {CIL}),
        ({"istio": "no"}, {IST}),
        ({"cilium": "no", "istio": "no", "l7_rules": True}, {SPA, NAT, CIL, IST}),
    ],
)
def test_blocking_answers_rule_patterns_out(answers: dict[str, Any], blocked: set[str]) -> None:
    result = ranking(**BASE, **answers)
    assert {p for p, suitable in result if not suitable} == blocked
    suitable_first = [s for _, s in result]
    assert suitable_first == sorted(suitable_first, reverse=True), "unsuitable patterns rank last"


def test_seed_guidance_scenarios() -> None:
    """The blog's "when to consider" cases come out on top."""
    # few legacy access patterns, hybrid: subnet CIDR as source
    assert order(apps=2)[0] == SPA
    # few access patterns but overlapping CIDRs: private NAT from a secondary CIDR
    assert order(apps=4, access_patterns=2, overlapping_cidrs=True)[0] == NAT
    # many apps and access patterns, brownfield VPC that cannot be crafted: Cilium
    assert order(apps=40, access_patterns=30, vpc_changeable=False, cilium="yes")[0] == CIL
    # many and dynamic access patterns, VPC fixed: Istio
    many = {"apps": 40, "access_patterns": 30, "dynamic_access": True, "vpc_changeable": False}
    assert order(**many, istio="yes")[0] == IST


def test_costs_match_hand_arithmetic() -> None:
    advice = advice_for(apps=6, access_patterns=3, traffic_gb_month=2000)
    totals = {r.pattern: r.cost.total for r in advice.ranking}
    # 3 NAT groups x 3 AZs x 730 h x 0.045 = 295.65, plus 2000 GB x 0.045 = 90.00
    assert totals[NAT] == 385.65
    # 3 identities x 3 AZs x 1 node x 730 h x 0.1008 = 662.256
    assert totals[CIL] == 662.26
    # one fleet: 3 AZs x 1 node x 730 h x 0.1008 = 220.752
    assert totals[IST] == 220.75
    assert totals[SPA] == 0.0
    # 14 endpoints x 3 AZs x 730 h x 0.01 = 306.60
    assert advice.common.total == 306.60


def test_costs_with_overridden_prices(tmp_path: Path) -> None:
    override = tmp_path / "prices.yaml"
    override.write_text(
        "as_of: '2027-01-15'\nregion: eu-west-1\nhours_per_month: 720\n"
        "prices:\n  nat_gateway_hour: 0.05\n  nat_gateway_gb: 0.05\n  gateway_node_hour: 0.2\n"
    )
    prices = load_prices(override)
    assert (prices.as_of, prices.region, prices.currency) == ("2027-01-15", "eu-west-1", "USD")
    assert prices.interface_endpoint_hour == PRICES.interface_endpoint_hour  # not overridden
    assert str(override) in prices.origin
    answers = parse_answers(
        {"apps": 8, "access_patterns": 4, "traffic_gb_month": 10000, "azs": 2}
        | {"gateway_nodes_per_az": 2}
    )
    advice = advise(answers, prices)
    totals = {r.pattern: r.cost.total for r in advice.ranking}
    assert totals[NAT] == 788.00  # 4 x 2 x 720 x 0.05 = 288 + 10000 x 0.05 = 500
    assert totals[CIL] == 2304.00  # 4 x (2 x 2) x 720 x 0.2
    assert totals[IST] == 576.00  # (2 x 2) x 720 x 0.2
    assert advice.common.total == 201.60  # 14 x 2 x 720 x 0.01


def test_default_price_table_is_dated_and_sourced() -> None:
    assert PRICES.origin == "eks-secure default price table"
    assert len(PRICES.as_of) == 10 and PRICES.as_of[4] == "-" and PRICES.as_of[7] == "-"
    assert PRICES.sources and all(s.startswith("https://aws.amazon.com/") for s in PRICES.sources)
    assert PRICES.hours_per_month == 730


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("prices:\n  nat_gateway_hour: -1\n", "prices.nat_gateway_hour"),
        ("prices:\n  nat_gateway_hours: 0.05\n", "prices.nat_gateway_hours"),
        ("price: {}\n", "price"),
        ("hours_per_month: 0\n", "hours_per_month"),
        ("sources: [1]\n", "sources"),
        ("- 1\n", "prices.yaml"),
        ("prices: [\n", "prices.yaml"),
    ],
)
def test_bad_price_override_names_the_key(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_prices(path)
    assert field in error.value.field


def test_answers_match_the_questions() -> None:
    assert [q.key for q in QUESTIONS] == [f.name for f in fields(Answers)]
    defaults = {f.name: f.default for f in fields(Answers)}
    for q in QUESTIONS:
        if q.default not in (None, "apps"):
            assert defaults[q.key] == q.default, q.key


def test_default_endpoint_count_is_the_vpc_default() -> None:
    """Counted from the source, so this test does not load the CDK."""
    tree = ast.parse((REPO / "eks_secure" / "network" / "services.py").read_text())
    (services,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.AnnAssign)
        and getattr(node.target, "id", "") == "DEFAULT_INTERFACE_ENDPOINT_SERVICES"
    ]
    assert isinstance(services, ast.Tuple)
    assert Answers(apps=1, access_patterns=1).interface_endpoints == len(services.elts)


def test_answers_are_validated_all_at_once() -> None:
    with pytest.raises(ConfigErrors) as error:
        parse_answers(
            {"apps": 2.5, "traffic_gb_month": -1, "fargate": "maybe", "istio": "sometimes"}
            | {"azs": 1, "colour": "blue"}
        )
    assert set(error.value.fields) == {
        "apps",
        "traffic_gb_month",
        "fargate",
        "istio",
        "azs",
        "colour",
    }


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({}, "apps"),
        ({"apps": 3, "access_patterns": 4}, "access_patterns"),
        ({"apps": 0}, "apps"),
        ({"apps": True}, "apps"),
    ],
)
def test_bad_answers_name_the_field(values: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_answers(values)
    assert error.value.field == field


def test_answer_conversions() -> None:
    answers = parse_answers(
        {"apps": "4", "traffic_gb_month": "12.5", "fargate": "yes", "cilium": True, "istio": False}
    )
    assert (answers.apps, answers.access_patterns, answers.traffic_gb_month) == (4, 4, 12.5)
    assert answers.fargate is True
    assert (answers.cilium, answers.istio) == ("yes", "no")  # YAML reads bare yes/no as booleans


# --- the command ---------------------------------------------------------------------------------


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["advise", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_table_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        ["--apps", "6", "--access-patterns", "3", "--traffic-gb-month", "2000"], capsys
    )
    assert (code, err) == (0, "")
    header = next(line for line in out.splitlines() if line.startswith("RANK"))
    assert header.split() == ["RANK", "PATTERN", "SUITABLE", "SCORE", "MONTHLY", "COST"]
    assert "1     private-nat     yes       +3     385.65 USD" in out
    assert "3 NAT groups x 3 AZs x 730 h = 6,570 gateway-hours x 0.045 = 295.65 USD" in out
    assert f"as of {PRICES.as_of}" in out and PRICES.sources[0] in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_json_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--apps", "3", "--l7-rules", "--format", "json"], capsys)
    assert code == 0
    document = json.loads(out)
    assert document["recommended"] == IST
    assert [r["pattern"] for r in document["ranking"]] == [IST, CIL, SPA, NAT]
    assert document["answers"]["l7_rules"] is True
    assert document["prices"]["as_of"] == PRICES.as_of
    spa = next(r for r in document["ranking"] if r["pattern"] == SPA)
    assert spa["suitable"] is False
    assert {"rule": "l7-rules", "weight": 0, "blocks": True} in [
        {k: f[k] for k in ("rule", "weight", "blocks")} for f in spa["findings"]
    ]
    assert document["common_monthly_cost"]["total"] == 306.60


def test_csv_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--apps", "6", "--access-patterns", "3", "-f", "csv"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["pattern"] for r in rows] == [NAT, SPA, IST, CIL]
    assert rows[0] == {
        "rank": "1",
        "pattern": NAT,
        "suitable": "yes",
        "score": "3",
        "monthly_cost": "295.65",
        "currency": "USD",
        "reasons": rows[0]["reasons"],
    }
    assert rows[0]["reasons"].startswith("+2: ")


def test_answers_file_and_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text("apps: 40\naccess_patterns: 30\nvpc_changeable: no\ncilium: yes\n")
    code, out, _ = run_cli(["--answers", str(answers), "-f", "json"], capsys)
    assert (code, json.loads(out)["recommended"]) == (0, CIL)
    code, out, _ = run_cli(["--answers", str(answers), "--cilium", "no", "-f", "json"], capsys)
    assert code == 0
    document = json.loads(out)
    assert document["answers"]["cilium"] == "no" and document["recommended"] != CIL


def test_no_suitable_pattern_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--apps", "3", "--l7-rules", "--fargate"], capsys)
    assert code == 1
    assert "No pattern meets every requirement" in out


@pytest.mark.parametrize(
    ("args", "file_text", "named"),
    [
        ([], None, "apps: is required"),
        (["--apps", "3", "--access-patterns", "5"], None, "--access-patterns"),
        (["--answers", "{answers}"], "apps: [\n", "answers.yaml"),
        (["--answers", "{answers}"], "- 1\n", "answers.yaml"),
        (["--answers", "{answers}"], "apps: 3\ncolour: blue\n", "answers.yaml: colour"),
        (["--answers", "{missing}"], None, "does not exist"),
        (["--apps", "3", "--prices", "{answers}"], "prices: {x: 1}\n", "prices.x"),
        (["--apps", "three"], None, "invalid int value"),
        (["--apps", "3", "--interactive"], None, "needs a terminal"),
    ],
)
def test_bad_input_exits_2_without_a_traceback(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    file_text: str | None,
    named: str,
) -> None:
    answers = tmp_path / "answers.yaml"
    if file_text is not None:
        answers.write_text(file_text)
    paths = {"answers": str(answers), "missing": str(tmp_path / "missing.yaml")}
    code, out, err = run_cli([a.format(**paths) for a in args], capsys)
    assert (code, out) == (2, "")
    assert named in err, err
    assert "Traceback" not in err


def test_interactive_questions(capsys: pytest.CaptureFixture[str]) -> None:
    replies = iter(["", "twelve", "12", "4", "", "yes", "", "", "", "no", "", "", "", ""])
    asked: list[str] = []

    def read(prompt: str) -> str:
        asked.append(prompt)
        return next(replies)

    values: dict[str, object] = {"traffic_gb_month": 100}
    where: dict[str, str] = {}
    out = io.StringIO()
    ask(values, where, read, out)
    answers = parse_answers(values, where)
    assert (answers.apps, answers.access_patterns, answers.traffic_gb_month) == (12, 4, 100.0)
    assert answers.overlapping_cidrs is False and answers.l7_rules is True
    assert answers.cilium == "no"
    assert out.getvalue().splitlines()[:2] == [
        "  an answer is required",
        "  must be a whole number, not 'twelve'",
    ]
    assert asked[0].startswith("How many apps") and asked[0].endswith("[-] ")
    assert not any(q.startswith("How many GB") for q in asked), "answered questions are not asked"
    assert len(asked) == len(QUESTIONS) - 1 + 2  # two replies were asked again


def test_price_table_ships_as_package_data() -> None:
    """A wheel carries only the data files pyproject.toml lists: the price table is one."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["eks_secure"]
    package = REPO / "eks_secure"
    assert any((package / "advisor" / "prices.yaml").match(str(package / g)) for g in globs)


def test_interactive_on_a_real_terminal() -> None:
    """``--interactive`` under a pseudo-terminal: prompts on the terminal, the report after."""
    pty = pytest.importorskip("pty")
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command itself, with the terminal as stdin/stdout/stderr
        os.execv(
            sys.executable, [sys.executable, "-m", "eks_secure.cli", "advise", "-i", "-f", "csv"]
        )
    os.write(fd, b"7\n3\n" + b"\n" * (len(QUESTIONS) - 2))  # apps, access patterns, defaults
    output = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not select.select([fd], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    else:  # still waiting for input: end it, and fail below
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    text = output.decode().replace("\r\n", "\n")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "How many apps need a fixed source IP on-premises? [-]" in text
    assert "\n1,private-nat,yes,3,295.65,USD," in text
