"""``eks-secure advise``: recommend an on-premises egress pattern from a team's answers."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable
from typing import TextIO

from eks_secure.advisor import (
    APPETITES,
    QUESTIONS,
    Advice,
    Question,
    Ranked,
    advise,
    answers_to_dict,
    parse_answers,
)
from eks_secure.advisor.prices import PatternCost, load_prices
from eks_secure.cli._common import (
    EXIT_FINDINGS,
    EXIT_OK,
    Column,
    UsageError,
    Verb,
    add_format_argument,
    escape_help,
    to_csv,
    to_json,
    to_table,
)
from eks_secure.errors import ConfigError
from eks_secure.files import read_data_file

DESCRIPTION = """\
Recommend one of the four on-premises egress patterns (subnet-per-app, private-nat,
cilium, istio) from your answers about the apps and their constraints. Prints a ranking
with the reasons for and against each pattern, and a rough monthly cost of what each
pattern adds (NAT gateways and the data they process, gateway nodes), priced from a small
dated table of list prices that --prices FILE overrides.

Give the answers as options, in an answers file (YAML or JSON, keys as the option names
with underscores, e.g. 'apps: 12'), or both (options win). With --interactive, the
questions left unanswered are asked on the terminal. Only --apps is required."""

REPORT_WIDTH = 100
"""Width the table report is wrapped to."""

RANKING_COLUMNS = (
    Column("rank", "RANK"),
    Column("pattern", "PATTERN"),
    Column("suitable", "SUITABLE"),
    Column("score", "SCORE"),
    Column("monthly_cost", "MONTHLY COST"),
    Column("currency", "CURRENCY"),
    Column("reasons", "REASONS"),
)


def _flag(question: Question) -> str:
    return "--" + question.key.replace("_", "-")


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``advise``: one option per question, plus the answers and price files."""
    parser.add_argument(
        "-a",
        "--answers",
        metavar="FILE",
        help="answers file (YAML or JSON; keys as the options below, with underscores)",
    )
    questions = parser.add_argument_group("answers (options override the answers file)")
    for q in QUESTIONS:
        shown = "required" if q.default is None else f"default: {_default_text(q)}"
        help_text = escape_help(f"{q.question} ({shown})")
        if q.kind == "bool":
            questions.add_argument(
                _flag(q), dest=q.key, action=argparse.BooleanOptionalAction, help=help_text
            )
        elif q.kind == "appetite":
            questions.add_argument(_flag(q), dest=q.key, choices=APPETITES, help=help_text)
        else:
            questions.add_argument(
                _flag(q),
                dest=q.key,
                metavar="N",
                type=int if q.kind == "int" else float,
                help=help_text,
            )
    parser.add_argument(
        "--prices", metavar="FILE", help="price table laid over the default one (YAML or JSON)"
    )
    parser.add_argument(
        "-i",
        "--interactive",
        action="store_true",
        help="ask the questions not yet answered (needs a terminal)",
    )
    add_format_argument(parser, ("table", "json", "csv"), "table")


def _default_text(question: Question) -> str:
    if question.default is None:
        return "-"
    if question.kind == "bool":
        return "yes" if question.default else "no"
    if question.default == "apps":
        return "the number of apps"
    return f"{question.default:g}" if isinstance(question.default, float) else str(question.default)


def ask(
    values: dict[str, object],
    where: dict[str, str],
    read: Callable[[str], str],
    out: TextIO,
) -> None:
    """Ask each question missing from ``values`` with ``read``; an empty answer keeps the
    default. Invalid answers are asked again."""
    for question in QUESTIONS:
        if values.get(question.key) is not None:
            continue
        default = _default_text(question)
        while True:
            reply = read(f"{question.question} [{default}] ").strip()
            if not reply:
                if question.default is None:
                    out.write("  an answer is required\n")
                    continue
                break
            try:
                parse_answers({**values, question.key: reply})
            except ConfigError as exc:
                problems = [e for e in getattr(exc, "errors", (exc,)) if e.field == question.key]
                if problems:
                    out.write(f"  {problems[0].problem}\n")
                    continue
            values[question.key] = reply
            where[question.key] = f"answer to '{question.question}'"
            break


def _terminal_read(prompt: str) -> str:
    """One line from the terminal, the prompt on stderr (stdout may be redirected)."""
    sys.stderr.write(prompt)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        raise UsageError("standard input ended before every question was answered")
    return line


def _reason_text(ranked: Ranked) -> str:
    """A pattern's findings on one line (CSV): ``+2: reason | blocks: reason``."""
    return " | ".join(
        f"{'blocks' if f.blocks else f'{f.weight:+d}'}: {f.reason}" for f in ranked.findings
    )


def _money(amount: float, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _cost_lines(cost: PatternCost, currency: str, indent: str) -> list[str]:
    lines = []
    for line in cost.lines:
        lines += _wrap(
            f"{line.item}: {line.detail} = {line.quantity:,.0f} {line.unit} x "
            f"{line.unit_price:g} = {_money(line.amount, currency)}",
            indent,
        )
    if not cost.lines:
        lines.append(f"{indent}nothing extra to run for egress")
    for item in cost.not_priced:
        lines += _wrap(f"not priced: {item}", indent)
    return lines


def _wrap(text: str, indent: str, hanging: str = "  ") -> list[str]:
    return textwrap.wrap(
        text,
        width=REPORT_WIDTH,
        initial_indent=indent,
        subsequent_indent=indent + hanging,
        break_on_hyphens=False,
    )


def _answer_text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:g}" if isinstance(value, float) else str(value)


def render_table(advice: Advice) -> str:
    """The human-readable report: answers, ranking table, reasons and cost arithmetic."""
    prices = advice.prices
    cur = prices.currency
    answers = ", ".join(
        f"{key} {_answer_text(value)}" for key, value in answers_to_dict(advice.answers).items()
    )
    out = [
        *_wrap(f"Answers: {answers}", ""),
        *_wrap(
            f"Prices: {prices.region} list prices in {cur} as of {prices.as_of} "
            f"({prices.origin}; sources: {', '.join(prices.sources)})",
            "",
        ),
        "",
    ]
    rows = [
        {
            "rank": r.rank,
            "pattern": r.pattern,
            "suitable": "yes" if r.suitable else "no",
            "score": f"{r.score:+d}",
            "monthly_cost": _money(r.cost.total, cur),
        }
        for r in advice.ranking
    ]
    out.append(to_table(rows, RANKING_COLUMNS[:5]).rstrip("\n"))
    for r in advice.ranking:
        verdict = "" if r.suitable else " (not suitable)"
        out += ["", f"{r.rank}. {r.pattern}{verdict}"]
        for f in r.findings:
            sign = "x" if f.blocks else ("+" if f.weight > 0 else "-" if f.weight < 0 else "=")
            out += _wrap(f"{sign} {f.reason}", "   ")
        out.append(f"   cost per month: about {_money(r.cost.total, cur)}")
        out += _cost_lines(r.cost, cur, "     ")
    out += [
        "",
        *_wrap(
            "Every pattern also pays for the private cluster itself; its interface endpoints "
            f"come to about {_money(advice.common.total, cur)} a month:",
            "",
            "",
        ),
        *_cost_lines(advice.common, cur, "     "),
        "",
        *_wrap(
            "Signs: + for, - against, = neutral note, x rules the pattern out. The costs are "
            "rough list-price estimates of what each pattern adds for egress, before discounts "
            "and data transfer: use them to compare patterns, not as a budget.",
            "",
            "",
        ),
    ]
    if advice.best is None:
        out += ["", "No pattern meets every requirement: relax one of the answers marked x."]
    return "\n".join(out) + "\n"


def render_json(advice: Advice) -> str:
    """The full advice as JSON: answers, price table, ranking with findings and cost lines."""

    def cost(c: PatternCost) -> dict[str, object]:
        return {
            "total": c.total,
            "lines": [
                {
                    "item": line.item,
                    "detail": line.detail,
                    "quantity": line.quantity,
                    "unit": line.unit,
                    "unit_price": line.unit_price,
                    "amount": round(line.amount, 2),
                }
                for line in c.lines
            ],
            "not_priced": list(c.not_priced),
        }

    prices = advice.prices
    return to_json(
        {
            "answers": answers_to_dict(advice.answers),
            "prices": {
                "as_of": prices.as_of,
                "region": prices.region,
                "currency": prices.currency,
                "sources": list(prices.sources),
                "origin": prices.origin,
            },
            "recommended": advice.best.pattern if advice.best else None,
            "ranking": [
                {
                    "rank": r.rank,
                    "pattern": r.pattern,
                    "score": r.score,
                    "suitable": r.suitable,
                    "findings": [
                        {"rule": f.rule, "weight": f.weight, "blocks": f.blocks, "reason": f.reason}
                        for f in r.findings
                    ],
                    "monthly_cost": cost(r.cost),
                }
                for r in advice.ranking
            ],
            "common_monthly_cost": cost(advice.common),
        }
    )


def render_csv(advice: Advice) -> str:
    """One line per pattern: rank, pattern, suitable, score, monthly cost, reasons."""
    rows = [
        {
            "rank": r.rank,
            "pattern": r.pattern,
            "suitable": "yes" if r.suitable else "no",
            "score": r.score,
            "monthly_cost": f"{r.cost.total:.2f}",
            "currency": advice.prices.currency,
            "reasons": _reason_text(r),
        }
        for r in advice.ranking
    ]
    return to_csv(rows, RANKING_COLUMNS)


def run(args: argparse.Namespace) -> int:
    """Rank the patterns; exit 1 when no pattern meets every requirement."""
    values: dict[str, object] = {}
    where: dict[str, str] = {}
    if args.answers:
        data = read_data_file(args.answers, "answers file")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(args.answers, "is not a mapping of answers", "write 'apps: 12' etc.")
        values.update(data)
        where.update({key: f"{args.answers}: {key}" for key in data})
    for q in QUESTIONS:
        flag_value = getattr(args, q.key)
        if flag_value is not None:
            values[q.key] = flag_value
            where[q.key] = _flag(q)
    if args.interactive:
        if not sys.stdin.isatty():
            raise UsageError("--interactive needs a terminal on standard input")
        ask(values, where, _terminal_read, sys.stderr)
    answers = parse_answers(values, where)
    advice = advise(answers, load_prices(args.prices))
    render = {"table": render_table, "json": render_json, "csv": render_csv}[args.format]
    sys.stdout.write(render(advice))
    return EXIT_OK if advice.best else EXIT_FINDINGS


VERB = Verb(
    name="advise",
    summary="recommend an egress pattern from your answers, with reasons and rough costs",
    description=DESCRIPTION,
    configure=configure,
    run=run,
    findings="no pattern meets every requirement in the answers",
    examples=(
        "eks-secure advise --apps 12 --access-patterns 4 --traffic-gb-month 3000",
        "eks-secure advise --answers answers.yaml --format json",
        "eks-secure advise --apps 40 --no-vpc-changeable --cilium yes --prices my-prices.yaml",
        "eks-secure advise --interactive",
    ),
)
