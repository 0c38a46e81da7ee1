"""``python -m eks_secure.cli``: the same as the ``eks-secure`` console script."""

import sys

from eks_secure.cli import main

sys.exit(main())
