"""Organisation-level guardrails: the EKS service control policy and its construct."""
