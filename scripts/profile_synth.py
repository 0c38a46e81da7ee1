#!/usr/bin/env python3
"""Where one whole-process synthesis spends its time: phases and jsii round-trips.

Usage: ``.venv/bin/python scripts/profile_synth.py --case subnet-per-app [--apps N]
[--json]``, with ``JSII_NODE`` set as ``scripts/benchmark.py`` sets it (``make bench`` does;
run it under ``python -m cProfile -o out.prof`` for the Python side). Never part of the test
suite. It counts every message the Python side sends to the jsii kernel (``create``,
``invoke``, ``get``, ``set``, static calls, callback completions, assembly ``load``) by
wrapping the kernel process's ``send``, with the wall time spent waiting for each answer, and
splits the run into phases: imports of aws_cdk / cdk8s / cdk8s-plus-27 / eks_secure (each
import loads its jsii assembly into the kernel), config parsing, construct-tree building and
``app.synth()`` (template rendering, validation, asset staging). The slowest ``create`` calls
by type name show where construction time goes in Node.js (for example the kubectl layer's
asset hashing inside ``KubectlV34Layer``).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import importlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PHASE = ["startup"]
CALLS: collections.Counter[tuple[str, str]] = collections.Counter()
"""(phase, request kind) -> round-trips."""
WAIT: collections.Counter[tuple[str, str]] = collections.Counter()
"""(phase, request kind) -> seconds spent waiting for the kernel's answer."""
BY_TARGET: collections.Counter[str] = collections.Counter()
"""``kind target`` (type name, method or property) -> seconds waited."""
TARGET_CALLS: collections.Counter[str] = collections.Counter()
SITES: collections.Counter[str] = collections.Counter()
"""``file:line function`` of the nearest eks_secure / patterns frame -> round-trips."""
SITE_WAIT: collections.Counter[str] = collections.Counter()
PHASES: dict[str, float] = {}


def _target(request: Any) -> str:
    for attr in ("fqn", "method", "property", "name"):
        value = getattr(request, attr, None)
        if isinstance(value, str):
            return value
    return ""


def _site() -> str:
    """The innermost caller in this project's code (eks_secure, patterns): where a round-trip
    was asked for; ``(CDK callback)`` when Node.js called back into Python outside it."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if "/eks_secure/" in name or "/patterns/" in name:
            where = name.split("/eks_secure/")[-1].split("/patterns/")[-1]
            return f"{where}:{frame.f_lineno} {frame.f_code.co_name}"
        frame = frame.f_back  # type: ignore[assignment]
    return "(outside eks_secure)"


CALLBACKS: collections.Counter[str] = collections.Counter()
"""``Python class.member`` Node.js called back into -> calls."""


def install_counter() -> None:
    """Wrap jsii's kernel process ``send`` so every round-trip is counted and timed, and
    jsii's callback handler so every call from Node.js into Python is counted by member."""
    import jsii._kernel as kernel_module
    from jsii._kernel.providers import process

    handle = kernel_module._handle_callback

    def handle_callback(kernel: Any, callback: Any) -> Any:
        request = callback.invoke or callback.get or callback.set
        obj = kernel_module._reference_map.resolve_id(request.objref.ref)
        CALLBACKS[f"{type(obj).__name__}.{callback.cookie}"] += 1
        return handle(kernel, callback)

    kernel_module._handle_callback = handle_callback

    original = process._NodeProcess.send

    def send(self: Any, request: Any, response_type: Any) -> Any:
        kind = type(request).__name__.removesuffix("Request")
        start = time.perf_counter()
        try:
            return original(self, request, response_type)
        finally:
            waited = time.perf_counter() - start
            key = (PHASE[0], kind)
            CALLS[key] += 1
            WAIT[key] += waited
            target = f"{kind} {_target(request)}"
            BY_TARGET[target] += waited
            TARGET_CALLS[target] += 1
            site = _site()
            SITES[site] += 1
            SITE_WAIT[site] += waited

    process._NodeProcess.send = send  # type: ignore[method-assign]


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """Attribute the round-trips and wall time of the block to ``name``."""
    PHASE[0] = name
    start = time.perf_counter()
    try:
        yield
    finally:
        PHASES[name] = PHASES.get(name, 0.0) + time.perf_counter() - start
        PHASE[0] = "other"


def run(case: str, apps: int | None, outdir: str, app_stacks: str | None = None) -> None:
    """One synthesis of a reference pattern (or ``apps`` generated apps), phase by phase."""
    with phase("import jsii runtime"):
        import jsii  # noqa: F401  (starts nothing yet: the kernel starts on the first load)
    for module in ("aws_cdk", "cdk8s", "cdk8s_plus_27"):
        with phase(f"import {module}"):
            importlib.import_module(module)
    with phase("import eks_secure (+ used aws_cdk submodules)"):
        from eks_secure.deployment import EksSecureDeployment
        from patterns.load import project_context
        from patterns.reference import reference_app
        from scripts.benchmark import pattern_config
    with phase("config (YAML, pydantic, address plan)"):
        config, lock = pattern_config(
            case, apps, {"app_stacks": app_stacks} if app_stacks else None
        )
    with phase("construct tree"):
        app = reference_app(outdir=outdir, context=project_context())
        EksSecureDeployment.from_config(app, config, address_lock=lock)
    with phase("app.synth()"):
        app.synth()
    with phase("kernel shutdown (at exit otherwise)"):
        from jsii._runtime import kernel

        kernel.provider._process.stop()


def main() -> int:
    """Profile one synthesis and print the phase and round-trip tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", default="subnet-per-app", help="reference pattern")
    parser.add_argument("--apps", type=int, help="generated apps instead of the example")
    parser.add_argument("--app-stacks", choices=("nested", "inline"), help="override app_stacks")
    parser.add_argument("--json", action="store_true", help="print JSON, not tables")
    parser.add_argument("--top", type=int, default=12, help="slowest kernel targets shown")
    args = parser.parse_args()
    start = time.perf_counter()
    install_counter()
    with tempfile.TemporaryDirectory(prefix="eks-secure-profile-") as out:
        run(args.case, args.apps, out, args.app_stacks)
        PHASE[0] = "remove the assembly"
        removing = time.perf_counter()
    PHASES["remove the assembly"] = time.perf_counter() - removing
    total = time.perf_counter() - start
    phases = {
        name: {
            "seconds": seconds,
            "round_trips": sum(n for (p, _), n in CALLS.items() if p == name),
            "kernel_wait": sum(w for (p, _), w in WAIT.items() if p == name),
        }
        for name, seconds in PHASES.items()
    }
    kinds: collections.Counter[str] = collections.Counter()
    for (_, kind), n in CALLS.items():
        kinds[kind] += n
    if args.json:
        print(json.dumps({"total": total, "phases": phases, "kinds": kinds}, indent=1))
        return 0
    print(f"{args.case} (apps: {args.apps or 'example'}): {total:.1f} s in-process\n")
    print("| Phase | Seconds | jsii round-trips | Waiting for the kernel |")
    print("|---|---|---|---|")
    for name, p in phases.items():
        print(f"| {name} | {p['seconds']:.2f} | {p['round_trips']} | {p['kernel_wait']:.2f} s |")
    print("\n| Request | Round-trips | Waiting |")
    print("|---|---|---|")
    for kind, n in kinds.most_common():
        waited = sum(w for (_, k), w in WAIT.items() if k == kind)
        print(f"| {kind} | {n} | {waited:.2f} s |")
    print(f"\nSlowest {args.top} kernel targets (total wait, calls):")
    for target, waited in BY_TARGET.most_common(args.top):
        print(f"  {waited:7.2f} s {TARGET_CALLS[target]:6d}  {target}")
    print(f"\nCallbacks from Node.js into Python ({sum(CALLBACKS.values())}):")
    for member, n in CALLBACKS.most_common(args.top):
        print(f"  {n:6d}  {member}")
    print(f"\nBusiest {args.top} call sites in eks_secure / patterns (round-trips, wait):")
    for site, n in SITES.most_common(args.top):
        print(f"  {n:6d} {SITE_WAIT[site]:7.2f} s  {site}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
