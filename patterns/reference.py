"""The reference deployment: one YAML config -> :class:`EksSecureDeployment` (+ its lock).

This is all the wiring the reference app has; everything else is library code a user's own
app gets the same way (see README, "Library usage").
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk

from eks_secure.config.model import DeploymentConfig
from eks_secure.deployment import EksSecureDeployment
from eks_secure.errors import ConfigError
from eks_secure.network.lock import lock_changes, lock_path, read_lock, write_lock


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
        elif changes:
            raise ConfigError(
                "address_lock",
                f"the address plan would change {path.name}: " + "; ".join(changes),
                "review the change, then synthesize once with -c update_lock=true (make synth "
                "UPDATE_LOCK=1) and commit the updated lock",
            )
    return deployment
