"""The advisor's price table and the rough monthly cost of each egress pattern (pure Python).

The default table is ``prices.yaml`` next to this module: on-demand list prices of one region,
with the date they were recorded and their source pages. :func:`load_prices` reads it and lays
an override file over it (any subset of the same keys), so a team can use its own region,
discounts or instance type.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from eks_secure.errors import ConfigError, ConfigErrors
from eks_secure.files import parse_data, read_data_file

DEFAULT_PRICES_FILE = "prices.yaml"
"""The package's price table (``eks_secure/advisor/prices.yaml``)."""


@dataclass(frozen=True)
class PriceTable:
    """Unit prices used by the cost estimates, and where they come from."""

    as_of: str
    """Date the prices were recorded (ISO ``YYYY-MM-DD``)."""
    region: str
    currency: str
    sources: tuple[str, ...]
    """Pages the prices were taken from."""
    hours_per_month: float
    nat_gateway_hour: float
    nat_gateway_gb: float
    gateway_node_hour: float
    gateway_node_type: str
    interface_endpoint_hour: float
    origin: str = "eks-secure default price table"
    """Which files the table was read from (for the report)."""


TOP_LEVEL = ("as_of", "region", "currency", "sources", "hours_per_month")
PRICE_KEYS = (
    "nat_gateway_hour",
    "nat_gateway_gb",
    "gateway_node_hour",
    "gateway_node_type",
    "interface_endpoint_hour",
)
TEXT_KEYS = ("as_of", "region", "currency", "gateway_node_type")


def _check_value(key: str, value: object, where: str) -> tuple[object, ConfigError | None]:
    """The value of ``key`` in its stored form, or the error that rejects it."""
    if key == "sources":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            return None, ConfigError(where, "must be a URL or a list of URLs", "list the pages")
        return tuple(value), None
    if key in TEXT_KEYS:
        if not isinstance(value, str | int | float) or isinstance(value, bool) or value == "":
            return None, ConfigError(where, "must be a non-empty text", "quote the value")
        return str(value), None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None, ConfigError(where, f"must be a number >= 0, not {value!r}", "fix the price")
    if key == "hours_per_month" and value == 0:
        return None, ConfigError(where, "must be more than 0", "use 730 (hours in a month)")
    return float(value), None


def _merge(values: dict[str, object], data: object, label: str) -> list[ConfigError]:
    """Lay one price document over ``values``; the problems found (all of them)."""
    if not isinstance(data, dict):
        return [
            ConfigError(
                label,
                "is not a price table (a mapping of keys to values)",
                "start from eks_secure/advisor/prices.yaml",
            )
        ]
    errors: list[ConfigError] = []
    for key, value in data.items():
        if key == "prices":
            if not isinstance(value, dict):
                errors.append(
                    ConfigError(
                        f"{label}: prices",
                        "must be a mapping of price names to numbers",
                        "write e.g. 'prices: {nat_gateway_hour: 0.045}'",
                    )
                )
                continue
            for name, price in value.items():
                if name not in PRICE_KEYS:
                    errors.append(
                        ConfigError(
                            f"{label}: prices.{name}",
                            "is not a known price",
                            f"use one of {', '.join(PRICE_KEYS)}",
                        )
                    )
                    continue
                checked, error = _check_value(name, price, f"{label}: prices.{name}")
                errors += [error] if error else []
                values[name] = checked
        elif key in TOP_LEVEL:
            checked, error = _check_value(key, value, f"{label}: {key}")
            errors += [error] if error else []
            values[key] = checked
        else:
            errors.append(
                ConfigError(
                    f"{label}: {key}",
                    "is not a price table key",
                    f"use {', '.join(TOP_LEVEL)} or prices",
                )
            )
    return errors


def _text(values: dict[str, object], key: str) -> str:
    value = values[key]
    assert isinstance(value, str)
    return value


def _number(values: dict[str, object], key: str) -> float:
    value = values[key]
    assert isinstance(value, float)
    return value


def load_prices(override: str | Path | None = None) -> PriceTable:
    """The default price table, with ``override`` (a YAML/JSON file) laid over it."""
    default_text = resources.files(__package__).joinpath(DEFAULT_PRICES_FILE).read_text("utf-8")
    values: dict[str, object] = {}
    default = parse_data(default_text, DEFAULT_PRICES_FILE, "price table")
    errors = _merge(values, default, DEFAULT_PRICES_FILE)
    origin = "eks-secure default price table"
    if override is not None:
        errors += _merge(values, read_data_file(override, "price table"), str(override))
        origin = f"{override} laid over the eks-secure default price table"
    if errors:
        raise errors[0] if len(errors) == 1 else ConfigErrors(errors)
    missing = sorted(set(TOP_LEVEL + PRICE_KEYS) - set(values))
    if missing:  # only a broken package table can miss keys
        raise ConfigError(DEFAULT_PRICES_FILE, f"lacks {', '.join(missing)}", "reinstall")
    sources = values["sources"]
    assert isinstance(sources, tuple)
    return PriceTable(
        as_of=_text(values, "as_of"),
        region=_text(values, "region"),
        currency=_text(values, "currency"),
        sources=sources,
        hours_per_month=_number(values, "hours_per_month"),
        nat_gateway_hour=_number(values, "nat_gateway_hour"),
        nat_gateway_gb=_number(values, "nat_gateway_gb"),
        gateway_node_hour=_number(values, "gateway_node_hour"),
        gateway_node_type=_text(values, "gateway_node_type"),
        interface_endpoint_hour=_number(values, "interface_endpoint_hour"),
        origin=origin,
    )


@dataclass(frozen=True)
class CostLine:
    """One priced item: ``quantity`` billed units at ``unit_price`` each."""

    item: str
    """What is billed, e.g. ``NAT gateways``."""
    detail: str
    """How the quantity is made up, e.g. ``3 NAT groups x 3 AZs x 730 h``."""
    quantity: float
    unit: str
    """Billed unit, e.g. ``gateway-hours``, ``GB``."""
    unit_price: float

    @property
    def amount(self) -> float:
        """Monthly amount (not rounded)."""
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class PatternCost:
    """The rough monthly cost of one pattern: its priced lines and what is left unpriced."""

    pattern: str
    lines: tuple[CostLine, ...]
    not_priced: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        """Sum of the lines, rounded to cents."""
        return round(sum(line.amount for line in self.lines), 2)
