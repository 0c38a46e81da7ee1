"""The contract every registered egress pattern passes, automatically.

For each pattern of :data:`eks_secure.egress.registry.PATTERNS` (and a throw-away pattern this
module registers through the registry alone): one allow-list entry per app, derived from what
the template builds; each entry published as a stack output; stability when one app is removed
and another added; cfn-lint and cdk-nag clean; manifests valid for the cluster version. The
reference synthesis of each pattern is shared with its own test module (same xdist group).
"""

from __future__ import annotations

import copy
import functools
import ipaddress
import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from manifest_validation import requires_crd_schemas, validate_all
from synth import Synth, load_example, normalise, synth, synth_config
from template_checks import cfn_lint_findings

from eks_secure.config.base import ConfigModel
from eks_secure.egress.allowlist import CONTROL_PLANE, entries_from_template
from eks_secure.egress.contract import AllowListEntry, Tenant
from eks_secure.egress.registry import PATTERNS, register, unregister
from eks_secure.egress.spec import EgressSpec

REGISTERED = sorted(PATTERNS)
DUMMY = "contract-dummy"


# ------------------------------------------------------------------ a throw-away pattern


class _DummyApp(ConfigModel):
    """No per-app keys."""


class _DummyEgress(EgressSpec):
    """A pattern that only fences each app and lets it out through the node subnets.

    Registered by this module alone, to show a pattern needs no change anywhere else.
    """

    name = DUMMY
    title = "test pattern: fence only, apps leave from the system-node subnets"
    app_model = _DummyApp

    def build(self, scope: Any, id: str, *, cluster: Any, tenants: Any, nested: bool = True) -> Any:
        from eks_secure.egress.fence import AppFence
        from eks_secure.egress.pattern import EgressPattern

        class _Dummy(EgressPattern):
            def __init__(self) -> None:
                super().__init__(scope, id, cluster=cluster, tenants=tenants, spec=spec)
                for tenant in self.tenants:
                    AppFence(self, f"App-{tenant.name}", cluster=cluster, tenant=tenant)
                sources = tuple(s.ipv4_cidr_block for s in cluster.network.system_node_subnets)
                self.complete(
                    AllowListEntry(
                        app=t.name,
                        namespace=t.namespace,
                        pattern=spec.name,
                        source_cidrs=sources,
                        destination_cidrs=t.destinations,
                        ports=t.ports,
                    )
                    for t in self.tenants
                )

        spec = self
        return _Dummy()


@pytest.fixture(scope="module")
def dummy_registered() -> Iterator[None]:
    register(_DummyEgress)
    try:
        yield
    finally:
        unregister(DUMMY)


def _dummy_config(apps: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    data = load_example("subnet-per-app")
    data["pattern"] = DUMMY
    data["apps"] = [
        {k: v for k, v in app.items() if k not in ("nodes", "slot")}
        for app in (apps if apps is not None else data["apps"])
    ]
    return data


@functools.cache
def _dummy() -> Synth:
    return synth_config(_dummy_config())


# ------------------------------------------------------------------ the deployments checked


def _reference(pattern: str) -> Synth:
    return _dummy() if pattern == DUMMY else synth(pattern)


@functools.cache
def _variant(pattern: str) -> Synth:
    """The pattern's example with its first app (by name) removed and a new app added."""
    data = _dummy_config() if pattern == DUMMY else copy.deepcopy(_example(pattern))
    apps = sorted(data["apps"], key=lambda a: a["name"])
    removed, template = apps[0], copy.deepcopy(apps[-1])
    template.update(name="contract-new", namespace="contract-new")
    template.pop("slot", None)
    template.pop("team_role_arns", None)  # one access entry per principal
    data["apps"] = [a for a in data["apps"] if a["name"] != removed["name"]] + [template]
    for key in [k for k in data if k != "apps"]:
        data[key] = _without_app(data[key], removed["name"])
    return synth_config(data, nag=False, lock=_lock(pattern))


def _without_app(value: Any, app: str) -> Any:
    """A pattern section without references to ``app``: the name left out of every list of
    names, and list entries whose list of names it empties dropped (e.g. a destination that
    only the removed app could reach)."""
    if isinstance(value, dict):
        return {k: _without_app(v, app) for k, v in value.items()}
    if not isinstance(value, list):
        return value
    kept = []
    for item in value:
        if item == app:
            continue
        new = _without_app(item, app)
        emptied = isinstance(item, dict) and any(
            isinstance(v, list) and app in v and not new[k] for k, v in item.items()
        )
        if not emptied:
            kept.append(new)
    return kept


def _example(pattern: str) -> dict[str, Any]:
    data = load_example(pattern)
    data["pattern"] = pattern
    return data


def _lock(pattern: str) -> dict[str, dict[str, int]] | None:
    from eks_secure.network.lock import lock_path, read_lock
    from patterns.load import default_config_path

    return None if pattern == DUMMY else read_lock(lock_path(default_config_path(pattern)))


def _params() -> list[Any]:
    return [pytest.param(p, marks=pytest.mark.xdist_group(p), id=p) for p in [*REGISTERED, DUMMY]]


@pytest.fixture(params=_params())
def pattern(request: pytest.FixtureRequest, dummy_registered: None) -> str:
    name: str = request.param
    return name


# ------------------------------------------------------------------ the contract


def _template_addresses(s: Synth) -> set[ipaddress.IPv4Network]:
    """Every subnet CIDR and fixed private IP the deployment's templates create."""
    found: set[ipaddress.IPv4Network] = set()
    for template in s.templates.values():
        for resource in template.get("Resources", {}).values():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::EC2::Subnet" and isinstance(props.get("CidrBlock"), str):
                found.add(ipaddress.IPv4Network(props["CidrBlock"]))
            ip = props.get("PrivateIpAddress")
            if isinstance(ip, str):
                found.add(ipaddress.IPv4Network(f"{ip}/32"))
    return found


def _app_entries(s: Synth) -> list[AllowListEntry]:
    """The published entries of the apps (not the control plane's)."""
    return [e for e in s.allow_list() if not e.is_control_plane]


def test_one_published_entry_per_app(pattern: str) -> None:
    s = _reference(pattern)
    assert s.synth_error is None, s.synth_error
    published = _app_entries(s)
    assert sorted(e.app for e in published) == sorted(t.name for t in s.deployment.tenants)
    assert s.deployment.egress is not None
    assert tuple(published) == s.deployment.egress.allow_list
    for entry in published:
        assert entry.pattern == pattern
        assert entry.source_cidrs


def test_allow_list_sources_are_built_by_the_templates(pattern: str) -> None:
    s = _reference(pattern)
    built = _template_addresses(s)
    for entry in _app_entries(s):
        for cidr in entry.source_cidrs:
            assert ipaddress.IPv4Network(cidr) in built, (entry.app, cidr)


def test_allow_list_destinations_are_the_apps_own(pattern: str) -> None:
    s = _reference(pattern)
    tenants: dict[str, Tenant] = {t.name: t for t in s.deployment.tenants}
    for entry in _app_entries(s):
        tenant = tenants[entry.app]
        assert entry.destination_cidrs == tenant.destinations
        assert entry.ports == tenant.ports
        assert entry.namespace == tenant.namespace


def test_control_plane_destinations_have_rows_from_the_control_plane_subnets(
    pattern: str,
) -> None:
    """One row per control_plane_egress destination, sourced from the built control-plane
    subnets (read from the template, not from the planner), in every pattern."""
    s = _reference(pattern)
    template = s.cluster_template
    outputs = template["Outputs"]
    control_plane = [e for e in entries_from_template(template) if e.is_control_plane]
    assert len(control_plane) == len(s.config.control_plane_egress) > 0
    cluster = next(r for r in template["Resources"].values() if r["Type"] == "AWS::EKS::Cluster")
    subnet_ids = [ref["Ref"] for ref in cluster["Properties"]["ResourcesVpcConfig"]["SubnetIds"]]
    subnets = {template["Resources"][i]["Properties"]["CidrBlock"] for i in subnet_ids}
    for dest in s.config.control_plane_egress:
        key = "EksSecureAllowListControlPlane" + "".join(
            p.capitalize() for p in dest.name.split("-")
        )
        entry = AllowListEntry.from_dict(json.loads(outputs[key]["Value"]))
        assert entry.app == entry.pattern == CONTROL_PLANE and entry.namespace == ""
        assert entry.destination_cidrs == (dest.cidr,) and entry.ports == (dest.port,)
        assert set(entry.source_cidrs) == subnets
        assert len(entry.source_cidrs) == len(s.config.availability_zones)


def test_adding_and_removing_an_app_leaves_the_others_untouched(pattern: str) -> None:
    before, after = _reference(pattern), _variant(pattern)
    assert after.synth_error is None, after.synth_error
    old = {e.app: e for e in _app_entries(before)}
    new = {e.app: e for e in _app_entries(after)}
    removed = sorted(old)[0]
    assert removed not in new and "contract-new" in new
    for app in set(old) & set(new):
        assert old[app] == new[app], app
        chart = next(k for k in before.manifests if k.lower() == f"tenant{app.replace('-', '')}")
        assert before.manifests[chart] == after.manifests[chart], app
    kept_nested = {
        name: template
        for name, template in before.templates.items()
        if name.endswith(".nested.template.json") and removed.replace("-", "") not in name
    }
    for name, template in kept_nested.items():
        if name not in after.templates:
            continue
        if "NetworkRouteTables" in name:
            # a route-table shard holds several owners' tables: what both sides hold is
            # unchanged and only the new app's tables are new (a kept app losing its table
            # would change the app's own template, checked above)
            for section in ("Resources", "Outputs"):
                was, now = template.get(section, {}), after.templates[name].get(section, {})
                assert {k: now[k] for k in was if k in now} == {
                    k: v for k, v in was.items() if k in now
                }, (name, section)
                assert all("contractnew" in k for k in set(now) - set(was)), (name, section)
            continue
        assert normalise(after.templates[name]) == normalise(template), name


def test_templates_are_cfn_lint_clean(pattern: str) -> None:
    s = _reference(pattern)
    findings = {
        name: cfn_lint_findings(template, s.config.region)
        for name, template in sorted(s.templates.items())
    }
    assert {name: f for name, f in findings.items() if f} == {}


def test_cdk_nag_is_clean(pattern: str) -> None:
    assert _reference(pattern).nag_errors() == []


@requires_crd_schemas
def test_manifests_validate(pattern: str) -> None:
    s = _reference(pattern)
    for chart, objects in s.manifests.items():
        assert validate_all(objects, s.config.kubernetes_version) == {}, chart


def test_dummy_pattern_came_in_through_the_registry_alone(dummy_registered: None) -> None:
    s = _dummy()
    assert s.config.pattern == DUMMY
    assert isinstance(s.deployment.egress_spec, _DummyEgress)
    outputs = s.cluster_template["Outputs"]
    assert {k for k in outputs if k.startswith("EksSecureAllowList")}
    assert json.loads(
        next(iter(v["Value"] for k, v in sorted(outputs.items()) if "AllowList" in k))
    )
