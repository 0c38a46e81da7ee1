"""Audit settings: control-plane log retention and the trail's bad-input errors."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from synth import load_example

from eks_secure import rules
from eks_secure.config.loader import parse_config
from eks_secure.errors import ConfigError, ConfigErrors
from eks_secure.isolation.audit import AuditTrail


@pytest.mark.parametrize("days", rules.LOG_RETENTION_DAYS)
def test_every_accepted_retention_is_valid(days: int) -> None:
    assert rules.log_retention_days(days, "f") == []


@pytest.mark.parametrize("days", [0, 2, 366, 3650, 10000])
def test_other_retentions_are_refused_with_the_choices(days: int) -> None:
    (problem,) = rules.log_retention_days(days, "f")
    assert problem.field == "f"
    assert "365" in problem.fix


@pytest.mark.parametrize(
    ("audit", "field"),
    [
        ({"control_plane_log_retention_days": 42}, "audit.control_plane_log_retention_days"),
        ({"cloudtrail": "yes"}, "audit.cloudtrail"),
        ({"cloudtrail_retention_days": 0}, "audit.cloudtrail_retention_days"),
        ({"trail": True}, "audit.trail"),
    ],
)
def test_bad_audit_settings_name_the_yaml_path(audit: dict[str, object], field: str) -> None:
    data = load_example("base")
    data["audit"] = audit
    with pytest.raises(ConfigErrors) as info:
        parse_config(data)
    assert [e.field for e in info.value.errors] == [field]


def test_defaults_keep_a_year_without_a_trail() -> None:
    config = parse_config(load_example("base"))
    assert config.audit.control_plane_log_retention_days == 365
    assert config.audit.cloudtrail is False


def test_trail_retention_is_checked_by_the_construct() -> None:
    stack = cdk.Stack(
        cdk.App(), "S", env=cdk.Environment(account="111111111111", region="eu-west-1")
    )
    with pytest.raises(ConfigError) as info:
        AuditTrail(stack, "Trail", cluster_name="c", retention_days=0)
    assert info.value.field == "AuditTrail.retention_days"
