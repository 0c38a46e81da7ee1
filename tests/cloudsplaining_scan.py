"""Run inside ``.venv-cloudsplaining``: cloudsplaining's findings for IAM policy documents.

Reads ``{"<name>": <policy document>, ...}`` as JSON on stdin and prints
``{"<name>": {"<risk>": ["<finding>", ...], ...}, ...}`` for the four risks of cloudsplaining's
``scan`` report that this project gates on, computed by its ``PolicyDocument`` with its default
exclusions:

- ``PrivilegeEscalation``: the published escalation combinations (Rhino Security Labs) whose
  every action the document allows on ``*`` without a condition, after its explicit denies;
- ``ResourceExposure``: "Permissions management" actions (resource policies, RAM shares, IAM
  writes) without a resource constraint or condition, after the explicit denies;
- ``DataExfiltration``: ``s3:GetObject``, ``ssm:GetParameter*``, ``secretsmanager:GetSecretValue``
  and the RDS snapshot actions without constraints;
- ``CredentialsExposure``: actions whose response carries credentials, without constraints.

It imports nothing of eks-secure (the project's venv does not have cloudsplaining, this one has
no CDK).
"""

from __future__ import annotations

import json
import sys

from cloudsplaining.scan.policy_document import PolicyDocument


def findings(document: dict[str, object]) -> dict[str, list[str]]:
    """The four risks' findings of one policy document (empty risks left out)."""
    policy = PolicyDocument(document)
    risks = {
        "PrivilegeEscalation": [e["type"] for e in policy.allows_privilege_escalation],
        # cloudsplaining honours explicit denies for the other risks but not this one
        "ResourceExposure": policy.filter_deny_statements(
            set(policy.permissions_management_without_constraints)
        ),
        "DataExfiltration": policy.allows_data_exfiltration_actions,
        "CredentialsExposure": policy.credentials_exposure,
    }
    return {risk: sorted(set(items)) for risk, items in risks.items() if items}


def main() -> None:
    """Scan the documents on stdin, print the findings on stdout."""
    documents = json.load(sys.stdin)
    json.dump(
        {name: findings(document) for name, document in documents.items()},
        sys.stdout,
        indent=1,
        sort_keys=True,
    )


if __name__ == "__main__":
    main()
