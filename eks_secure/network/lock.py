"""The address-plan lock: a committed record of every app's and pool member's slot.

Like ``cdk.context.json`` for lookups, the lock makes the address plan a reviewed, versioned
input. Members recorded in it keep their slot whatever else changes; a new member takes the
next free slot (no hand-picked ``slot:`` and no hash clash); a removed member's slot is not
reused in the same change. Synthesis fails when the plan would change the lock and the change
was not asked for, so CI catches an unreviewed address change.

Format (JSON, keys sorted)::

    {"version": 1, "slots": {"apps": {"ledger": 12, ...}, "nat": {"core-banking": 0}}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from eks_secure.errors import ConfigError

LOCK_VERSION = 1
LOCK_SUFFIX = ".lock.json"

Slots = Mapping[str, Mapping[str, int]]


def lock_path(config_path: str | Path) -> Path:
    """The lock file beside a config file: ``payments.yaml`` -> ``payments.lock.json``."""
    path = Path(config_path)
    return path.with_name(path.stem + LOCK_SUFFIX)


def read_lock(path: str | Path) -> dict[str, dict[str, int]] | None:
    """The slots recorded in ``path``; ``None`` when the file does not exist."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != LOCK_VERSION:
            raise ValueError(f"version {data.get('version')!r} is not {LOCK_VERSION}")
        slots = data["slots"]
        return {
            str(pool): {str(name): int(slot) for name, slot in members.items()}
            for pool, members in slots.items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(
            "address_lock",
            f"{path} is not a valid address-plan lock ({exc})",
            "restore it from version control; never edit slots by hand",
        ) from None


def render_lock(slots: Slots) -> str:
    """The lock file's text for ``slots`` (deterministic)."""
    document = {
        "version": LOCK_VERSION,
        "slots": {
            pool: dict(sorted(members.items()))
            for pool, members in sorted(slots.items())
            if members
        },
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def write_lock(path: str | Path, slots: Slots) -> None:
    """Write the lock for ``slots`` to ``path``."""
    Path(path).write_text(render_lock(slots), encoding="utf-8")


def lock_changes(old: Slots | None, new: Slots) -> list[str]:
    """Human-readable differences between two locks (empty when equal)."""
    changes = []
    old = old or {}
    for pool in sorted({*old, *new}):
        before, after = dict(old.get(pool, {})), dict(new.get(pool, {}))
        for name in sorted({*before, *after}):
            if name not in before:
                changes.append(f"{pool}: add {name} at slot {after[name]}")
            elif name not in after:
                changes.append(f"{pool}: release {name} (slot {before[name]})")
            elif before[name] != after[name]:
                changes.append(f"{pool}: move {name} from slot {before[name]} to {after[name]}")
    return changes
