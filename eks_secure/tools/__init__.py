"""Pure-Python tools on a config (no CDK): the checked plan, the starter config, the diagram."""
