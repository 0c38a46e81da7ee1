#!/usr/bin/env python3
"""eks-secure reference app.

``cdk synth [-c pattern=NAME] [-c config=PATH] [-c update_lock=true]``; CDK's built-in
template validation only with ``EKS_SECURE_BUILTIN_VALIDATION=1`` (``eks-secure preflight``
lints every template instead, see docs/performance.md).
"""

from __future__ import annotations

import os
import sys

from eks_secure.errors import ConfigError
from patterns.load import config_from_context, config_path_from_context, update_lock_from_context
from patterns.reference import build, reference_app


def main() -> int:
    """Synthesize the reference deployment; bad input prints a clear error, not a trace."""
    app = reference_app()
    try:
        config = config_from_context(app)
        build(
            app,
            config,
            config_path=config_path_from_context(app),
            update_lock=update_lock_from_context(app),
        )
        app.synth()
    except ConfigError as exc:
        print(
            f"eks-secure: invalid configuration ({config_path_from_context(app)})\n{exc}",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:  # a jsii/CDK error: say what failed, keep the trace for debugging
        if os.environ.get("EKS_SECURE_DEBUG", "0") not in ("", "0", "false"):
            raise
        print(
            f"eks-secure: synthesis failed: {exc}\n(set EKS_SECURE_DEBUG=1 for the stack trace)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
