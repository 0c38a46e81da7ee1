"""A config file read the way the reference app reads it: validated, planned with its lock."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eks_secure.config.loader import load_config
from eks_secure.config.model import DeploymentConfig
from eks_secure.config.plan import plan_for
from eks_secure.network.lock import lock_changes, lock_path, read_lock
from eks_secure.network.planner import NetworkPlan


@dataclass(frozen=True)
class PlannedConfig:
    """A validated config, its plan (with the committed lock) and what the lock would change."""

    path: Path
    config: DeploymentConfig
    plan: NetworkPlan
    lock_file: Path
    lock_changes: tuple[str, ...]
    """Changes the plan makes to the committed lock (empty: none, or no lock file yet)."""
    has_lock: bool

    @property
    def subnet_count(self) -> int:
        """Subnets the plan creates."""
        return len(self.plan.all_subnets())

    @property
    def free_app_slots(self) -> int:
        """App slots not taken (patterns with dedicated subnets per app)."""
        return self.plan.app_slot_count - len(self.plan.apps)

    @property
    def more_apps(self) -> int:
        """How many more apps with dedicated subnets fit: free slots and the subnet quota."""
        azs = len(self.plan.availability_zones)
        quota = (self.config.subnet_sizes.subnets_per_vpc - self.subnet_count) // azs
        return max(0, min(self.free_app_slots, quota))


def plan_config(path: str | Path, *, pattern: str | None = None) -> PlannedConfig:
    """Load ``path`` (ConfigError(s) on bad input) and plan it with its lock, if any."""
    path = Path(path)
    lock_file = lock_path(path)
    recorded = read_lock(lock_file)
    config = load_config(path, pattern=pattern, lock=recorded)
    plan = plan_for(config, recorded)
    changes = tuple(lock_changes(recorded, plan.lock)) if recorded is not None else ()
    return PlannedConfig(
        path=path,
        config=config,
        plan=plan,
        lock_file=lock_file,
        lock_changes=changes,
        has_lock=recorded is not None,
    )
