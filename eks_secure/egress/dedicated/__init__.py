"""Dedicated subnets and nodes per app: the shared base of patterns 1 and 2."""
