"""The AWS services a private cluster reaches through its VPC endpoints (pure Python, no CDK).

The interface endpoints the VPC creates, and what an app that opts into AWS APIs
(``apps[].aws_services``) may reach: the EKS Pod Identity agent on its node and the named
services through their endpoints. The loader and the constructs read the same data.
"""

from __future__ import annotations

import re

DEFAULT_INTERFACE_ENDPOINT_SERVICES: tuple[str, ...] = (
    "ecr.api",
    "ecr.dkr",
    "ec2",
    "sts",
    "eks",
    "eks-auth",
    "logs",
    "elasticloadbalancing",
    "autoscaling",
    "ssm",
    "ssmmessages",
    "ec2messages",
    "kms",
    "lambda",
)
"""Interface endpoints a fully private cluster needs (short names: ``com.amazonaws.<region>.X``).

Image pulls (ECR, with S3 through the gateway endpoint), VPC CNI and node naming (EC2), IRSA
(STS), the EKS API and Pod Identity (EKS, EKS auth), logs, the AWS Load Balancer Controller, the
Cluster Autoscaler, Session Manager, KMS, and the Lambda API: the CDK provider framework runs
in the VPC and invokes the kubectl handler through it (without it every ``Custom::AWSCDK-EKS-*``
resource, and its rollback, hangs: aws/aws-cdk#12608, #30442).
"""

SERVICE_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
"""A short endpoint service name (the part after ``com.amazonaws.<region>.``)."""

S3_GATEWAY_SERVICE = "s3"
"""``aws_services`` entry for S3 through the VPC's gateway endpoint (not an interface endpoint:
its traffic goes to S3's public addresses, listed by the app in ``s3_cidrs``)."""

POD_IDENTITY_AGENT_CIDR = "169.254.170.23/32"
"""Link-local IPv4 address of the EKS Pod Identity agent on every node (hostNetwork DaemonSet;
the SDK reads ``AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials``)."""

POD_IDENTITY_AGENT_PORT = 80
"""TCP port of the Pod Identity agent's credentials endpoint (plain HTTP, on the node)."""

ENDPOINT_PORT = 443
"""TCP port of every interface endpoint and of S3 (HTTPS)."""

AWS_EGRESS_LABEL = "eks-secure.io/aws-egress"
"""Label of an app's AWS NetworkPolicies, valued ``pod-identity``, ``endpoints`` or ``s3``: the
preflight reads the S3 policy as a flow through the gateway endpoint and leaves the node-local
Pod Identity flow out (it never leaves the node)."""
