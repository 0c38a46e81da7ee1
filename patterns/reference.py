"""The reference deployment: one YAML config -> :class:`EksSecureDeployment` (+ its lock).

This is all the wiring the reference app has; everything else is library code a user's own
app gets the same way (see README, "Library usage").
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from eks_secure.config.model import DeploymentConfig
from eks_secure.deployment import EksSecureDeployment
from eks_secure.errors import ConfigError
from eks_secure.network.lock import lock_changes, lock_path, read_lock, write_lock

BUILTIN_VALIDATION_ENV = "EKS_SECURE_BUILTIN_VALIDATION"
"""Set to ``1`` (``make synth BUILTIN_VALIDATION=1``) to run CDK's built-in template validation
in the reference app's synthesis too."""


def builtin_validation() -> bool:
    """Whether the reference app runs CDK's built-in template validation (default: no).

    It is cfn-lint's rules ported to Node.js and took about half of every synthesis
    (docs/performance.md); ``eks-secure preflight`` makes the same check with cfn-lint itself
    (check ``lint``) before a deploy, and the test suite lints every template.
    """
    return os.environ.get(BUILTIN_VALIDATION_ENV, "").lower() in ("1", "true", "yes")


def reference_app(**props: Any) -> cdk.App:
    """The reference app's ``cdk.App`` (``props`` are passed on, e.g. ``outdir``, ``context``):
    no stack traces in the metadata (deterministic output) and CDK's built-in template
    validation as :func:`builtin_validation` says. ``app.py``, the benchmark and the profiler
    build the same app."""
    return cdk.App(
        stack_traces=False, builtin_cloud_formation_validation=builtin_validation(), **props
    )


def build(
    app: cdk.App,
    config: DeploymentConfig,
    *,
    config_path: Path | None = None,
    update_lock: bool = False,
) -> EksSecureDeployment:
    """Add the reference deployment of ``config`` to ``app`` (stacks ``Creator`` and ``Cluster``).

    With ``config_path``, the address-plan lock beside it (``<config>.lock.json``) is honoured:
    a missing lock is created (nothing is deployed yet, so nothing can move); a lock the plan
    would change is an error unless ``update_lock`` is true, so an address change is always a
    reviewed diff.
    """
    path = lock_path(config_path) if config_path is not None else None
    recorded = read_lock(path) if path is not None else None
    deployment = EksSecureDeployment.from_config(app, config, address_lock=recorded)
    if path is not None:
        changes = lock_changes(recorded, deployment.plan.lock)
        if recorded is None or (changes and update_lock):
            write_lock(path, deployment.plan.lock)
            verb = "wrote a new" if recorded is None else "updated the"
            print(
                f"eks-secure: {verb} address-plan lock {path}; commit it with the config "
                "(docs/configuration.md, 'The address-plan lock')",
                file=sys.stderr,
            )
        elif changes:
            raise ConfigError(
                "address_lock",
                f"the address plan would change {path.name}: " + "; ".join(changes),
                "review the change, then synthesize once with -c update_lock=true (make synth "
                "UPDATE_LOCK=1) and commit the updated lock",
            )
    return deployment
