"""Helm installs for eks-secure: one chart-source option and one release construct for all."""
