"""Session fixtures: each reference deployment is synthesized once per test session.

Test modules that use a fixture below carry ``pytest.mark.xdist_group("<pattern>")`` so that,
under ``pytest -n 2 --dist loadgroup``, one worker synthesizes each pattern once.
"""

from __future__ import annotations

import os

import pytest
from helm import SKIP_REASON, Helm, charts_available, helm_binary
from synth import Synth, synth, synth_example

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session")
def base() -> Synth:
    """The base deployment (VPC + cluster + creator role + baseline) of ``examples/base.yaml``."""
    return synth("base")


@pytest.fixture(scope="session")
def subnet_per_app() -> Synth:
    """Pattern 1 from ``examples/subnet-per-app.yaml`` (three apps)."""
    return synth("subnet-per-app")


@pytest.fixture(scope="session")
def private_nat() -> Synth:
    """Pattern 2 from ``examples/private-nat.yaml`` (three apps in two NAT groups)."""
    return synth("private-nat")


@pytest.fixture(scope="session")
def isolation() -> Synth:
    """``examples/isolation.yaml``: subnet-per-app with every isolation and audit feature on."""
    return synth_example("isolation")


@pytest.fixture(scope="session")
def isolation_pods() -> Synth:
    """Pattern 1 with the isolation features on, from ``examples/isolation-pods.yaml``."""
    return synth_example("isolation-pods")


@pytest.fixture(scope="session")
def cilium() -> Synth:
    """Pattern 3 from ``examples/cilium.yaml`` (three apps in two egress groups)."""
    return synth("cilium")


@pytest.fixture(scope="session")
def istio() -> Synth:
    """Pattern 4 from ``examples/istio.yaml`` (two apps, three destinations)."""
    return synth("istio")


@pytest.fixture(scope="session")
def helm() -> Helm:
    """The kubectl layer's helm binary (extracted once per machine) and a cached renderer.

    Skips when ``../shared/charts`` is absent.
    """
    if not charts_available():
        pytest.skip(SKIP_REASON)
    return Helm(helm_binary())
