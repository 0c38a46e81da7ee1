"""Reference stacks composing the eks-secure library, one module per egress pattern."""
