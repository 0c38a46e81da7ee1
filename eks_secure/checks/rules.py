"""The eks-secure rules, as pure functions of synthesized CloudFormation resources.

Each :class:`Rule` looks at one resource's ``Properties`` as written to the template (so
property overrides, which CDK users need for ``ControlPlaneEgressMode``, are seen) and at the
rest of that template (to follow a node group's launch template). No CDK or jsii import here:
the rules are usable on any CloudFormation template, and :mod:`eks_secure.checks.pack` wires
them into cdk-nag.

A setting that is an unresolved intrinsic (``Ref`` to a parameter, ``Fn::If``...) cannot be
proven safe, so the cluster and node-group rules treat it as non-compliant; acknowledge the
finding with a reason when the value is checked elsewhere. The security-group rules flag only
literal any-address CIDRs (``0.0.0.0/0``, ``::/0``): a CIDR taken from the VPC or a parameter
is the common, safe case.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

PACK_NAME = "EksSecure"
"""Prefix of every rule ID (``EksSecure-EKS1``...), as cdk-nag's packs use theirs."""

CUSTOMER_ROUTED = "CUSTOMER_ROUTED"
ALL_LOG_TYPES = frozenset({"api", "audit", "authenticator", "controllerManager", "scheduler"})
"""The five EKS control-plane log types."""
ANYWHERE = frozenset({"0.0.0.0/0", "::/0"})

Properties = Mapping[str, Any]
Template = Mapping[str, Any]


class Result(Enum):
    """Outcome of a rule on one resource."""

    COMPLIANT = "compliant"
    NON_COMPLIANT = "non-compliant"


@dataclass(frozen=True)
class Rule:
    """One check: a stable ID, the resource types it applies to, its message and its test."""

    id: str
    """Rule suffix; the full ID is ``EksSecure-<id>``."""
    resource_types: tuple[str, ...]
    info: str
    """What is wrong and the fix (shown in the validation report)."""
    explanation: str
    """Why it matters (shown with ``verbose``)."""
    check: Callable[[Properties, Template, RuleOptions], bool]
    """True when the resource complies."""

    @property
    def rule_id(self) -> str:
        """The full rule ID, as acknowledged with ``Validations.of(scope).acknowledge``."""
        return f"{PACK_NAME}-{self.id}"

    def evaluate(self, properties: Properties, template: Template, options: RuleOptions) -> Result:
        """Evaluate this rule on a resource's properties within its template."""
        return (
            Result.COMPLIANT if self.check(properties, template, options) else Result.NON_COMPLIANT
        )


@dataclass(frozen=True)
class RuleOptions:
    """Settings of the pack that some rules read."""

    allowed_egress_modes: frozenset[str] = frozenset({CUSTOMER_ROUTED})
    """Control-plane egress modes accepted by ``EKS2``. Default: ``CUSTOMER_ROUTED`` only."""


def _is_intrinsic(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)).startswith(("Fn::", "Ref"))
    )


def _bool(value: Any, default: bool) -> bool | None:
    """A CloudFormation boolean (``true``/``"true"``), ``default`` when omitted, None if unknown."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _get(props: Properties, *path: str) -> Any:
    value: Any = props
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


# ----------------------------------------------------------------------------- cluster


def _private_endpoint(props: Properties, _t: Template, _o: RuleOptions) -> bool:
    # CloudFormation's default for EndpointPublicAccess is true: omitted means public.
    return _bool(_get(props, "ResourcesVpcConfig", "EndpointPublicAccess"), True) is False


def _customer_routed(props: Properties, _t: Template, options: RuleOptions) -> bool:
    mode = _get(props, "ResourcesVpcConfig", "ControlPlaneEgressMode")  # omitted: AWS_MANAGED
    return isinstance(mode, str) and mode in options.allowed_egress_modes


def _all_log_types(props: Properties, _t: Template, _o: RuleOptions) -> bool:
    enabled = _get(props, "Logging", "ClusterLogging", "EnabledTypes")
    if not isinstance(enabled, list):
        return False
    types = {t.get("Type") for t in enabled if isinstance(t, Mapping)}
    return types >= ALL_LOG_TYPES


def _secrets_encrypted(props: Properties, _t: Template, _o: RuleOptions) -> bool:
    configs = props.get("EncryptionConfig")
    if not isinstance(configs, list):
        return False
    return any(
        isinstance(c, Mapping)
        and isinstance(c.get("Resources"), list)
        and "secrets" in c["Resources"]
        and _get(c, "Provider", "KeyArn") is not None
        for c in configs
    )


def _no_bootstrap_admin(props: Properties, _t: Template, _o: RuleOptions) -> bool:
    # Default true: the creator becomes cluster admin unless told otherwise.
    value = _get(props, "AccessConfig", "BootstrapClusterCreatorAdminPermissions")
    return _bool(value, True) is False


def _api_authentication(props: Properties, _t: Template, _o: RuleOptions) -> bool:
    # CloudFormation's default is CONFIG_MAP.
    return bool(_get(props, "AccessConfig", "AuthenticationMode") == "API")


# ----------------------------------------------------------------------------- node groups


def _launch_template(props: Properties, template: Template) -> Mapping[str, Any] | None:
    """The ``LaunchTemplateData`` of the node group's launch template, if in ``template``."""
    spec = props.get("LaunchTemplate")
    if not isinstance(spec, Mapping):
        return None
    ref = spec.get("Id", spec.get("Name"))
    logical_id: str | None = None
    if isinstance(ref, Mapping) and "Ref" in ref:
        logical_id = ref["Ref"]
    elif isinstance(ref, Mapping) and "Fn::GetAtt" in ref:
        logical_id = ref["Fn::GetAtt"][0]
    resource = template.get("Resources", {}).get(logical_id) if logical_id else None
    if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::EC2::LaunchTemplate":
        return None
    data = _get(resource, "Properties", "LaunchTemplateData")
    return data if isinstance(data, Mapping) else {}


def _no_ssh(props: Properties, template: Template, _o: RuleOptions) -> bool:
    if props.get("RemoteAccess") is not None:
        return False
    data = _launch_template(props, template)
    return data is None or data.get("KeyName") is None


def _imdsv2_hop_limit_one(props: Properties, template: Template, _o: RuleOptions) -> bool:
    # Without a launch template of our own, EKS's default one applies (hop limit 2).
    data = _launch_template(props, template)
    if data is None:
        return False
    options = data.get("MetadataOptions")
    if not isinstance(options, Mapping):
        return False
    hop_limit = options.get("HttpPutResponseHopLimit")
    return options.get("HttpTokens") == "required" and str(hop_limit) == "1"


# ----------------------------------------------------------------------------- network


def _no_public_ip_mapping(props: Properties, _t: Template, _o: RuleOptions) -> bool:
    return _bool(props.get("MapPublicIpOnLaunch"), False) is False


SERVICES_WITHOUT_ENDPOINT_POLICY: frozenset[str] = frozenset(
    {"eks-auth", "ssmmessages", "ec2messages"}
)
"""Interface endpoint services that accept no endpoint policy (only the implicit full access):
``VPC2`` passes their endpoints without one."""


def _service_suffix(name: Any) -> str | None:
    """The literal end of an endpoint's ``ServiceName`` (a string or a ``Fn::Join``)."""
    if isinstance(name, str):
        return name
    parts = _get(name, "Fn::Join") if isinstance(name, Mapping) else None
    if isinstance(parts, list) and len(parts) == 2 and isinstance(parts[1], list) and parts[1]:
        last = parts[1][-1]
        return last if isinstance(last, str) else None
    return None


def _endpoint_policy(props: Properties, _t: Template, _o: RuleOptions) -> bool:
    if props.get("PolicyDocument") is not None:
        return True
    suffix = _service_suffix(props.get("ServiceName"))
    return suffix is not None and any(
        suffix.endswith(f".{service}") for service in SERVICES_WITHOUT_ENDPOINT_POLICY
    )


def _open_to_anywhere(rule: Mapping[str, Any], peer_keys: Sequence[str]) -> bool:
    return any(rule.get(key) in ANYWHERE for key in peer_keys)


def _all_ports(rule: Mapping[str, Any]) -> bool:
    protocol = str(rule.get("IpProtocol", "")).lower()
    if protocol in ("-1", "all"):
        return True
    from_port, to_port = rule.get("FromPort"), rule.get("ToPort")
    if _is_intrinsic(from_port) or _is_intrinsic(to_port):
        return True
    return from_port is None or to_port is None or str(from_port) != str(to_port)


def _sg_rules(props: Properties, list_key: str) -> list[Mapping[str, Any]]:
    """The rules of an ``AWS::EC2::SecurityGroup`` list, or a standalone rule resource."""
    if "GroupDescription" not in props:  # AWS::EC2::SecurityGroupIngress / ...Egress
        return [props]
    rules = props.get(list_key)
    return [r for r in rules if isinstance(r, Mapping)] if isinstance(rules, list) else []


def _no_open_ingress(props: Properties, _t: Template, _o: RuleOptions) -> bool:
    rules = _sg_rules(props, "SecurityGroupIngress")
    return not any(_open_to_anywhere(r, ("CidrIp", "CidrIpv6")) for r in rules)


def _no_open_egress(props: Properties, _t: Template, _o: RuleOptions) -> bool:
    if "GroupDescription" in props and "SecurityGroupEgress" not in props:
        # A VPC security group without egress rules keeps EC2's default allow-all rule.
        return False
    rules = _sg_rules(props, "SecurityGroupEgress")
    return not any(_open_to_anywhere(r, ("CidrIp", "CidrIpv6")) and _all_ports(r) for r in rules)


# ----------------------------------------------------------------------------- IAM


def _permissions_boundary(props: Properties, _t: Template, _o: RuleOptions) -> bool:
    return props.get("PermissionsBoundary") is not None


CLUSTER = ("AWS::EKS::Cluster",)
NODEGROUP = ("AWS::EKS::Nodegroup",)
SECURITY_GROUP_INGRESS = ("AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress")
SECURITY_GROUP_EGRESS = ("AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupEgress")

RULES: tuple[Rule, ...] = (
    Rule(
        "EKS1",
        CLUSTER,
        "The EKS cluster's API endpoint is public (EndpointPublicAccess is true, or omitted, "
        "which CloudFormation treats as true). Fix: endpoint_access=EndpointAccess.PRIVATE "
        "(aws_eks_v2), i.e. ResourcesVpcConfig.EndpointPublicAccess: false.",
        "A public endpoint exposes the Kubernetes API to the internet; a private cluster "
        "reaches it only from routed networks.",
        _private_endpoint,
    ),
    Rule(
        "EKS2",
        CLUSTER,
        "The EKS cluster's control-plane egress is not CUSTOMER_ROUTED (omitted means "
        "AWS_MANAGED). Fix: set ResourcesVpcConfig.ControlPlaneEgressMode to CUSTOMER_ROUTED "
        "(aws_eks_v2 has no L2 prop: add_property_override on the CfnCluster, as SecureCluster "
        "does); the switch is one-way.",
        "With AWS_MANAGED egress the API server's webhook, OIDC and aggregated-API calls leave "
        "through AWS-managed networking, outside your VPC's routes, NACLs and firewalls.",
        _customer_routed,
    ),
    Rule(
        "EKS3",
        CLUSTER,
        "The EKS cluster does not send all five control-plane log types (api, audit, "
        "authenticator, controllerManager, scheduler) to CloudWatch Logs. Fix: "
        "cluster_logging=[every ClusterLoggingTypes member].",
        "Audit and authenticator logs are the record of who did what on the cluster.",
        _all_log_types,
    ),
    Rule(
        "EKS4",
        CLUSTER,
        "The EKS cluster does not envelope-encrypt Kubernetes secrets with a KMS key. Fix: "
        "secrets_encryption_key=<a kms.Key with rotation on>.",
        "Without envelope encryption, secrets in etcd are protected only by EKS's default "
        "encryption, with no key you control or can revoke.",
        _secrets_encrypted,
    ),
    Rule(
        "EKS5",
        CLUSTER,
        "The EKS cluster gives its creator bootstrap cluster-admin access "
        "(BootstrapClusterCreatorAdminPermissions true or omitted, whose default is true). "
        "Fix: bootstrap_cluster_creator_admin_permissions=False and access entries for admins.",
        "The creating principal keeps an invisible, permanent cluster-admin entry.",
        _no_bootstrap_admin,
    ),
    Rule(
        "EKS6",
        CLUSTER,
        "The EKS cluster's authentication mode allows the aws-auth ConfigMap (CONFIG_MAP or "
        "API_AND_CONFIG_MAP; omitted means CONFIG_MAP). Fix: "
        "authentication_mode=AuthenticationMode.API and access entries.",
        "Whoever can edit kube-system/aws-auth can map any IAM principal to system:masters; "
        "access entries are managed and audited through the EKS API instead.",
        _api_authentication,
    ),
    Rule(
        "EKS7",
        NODEGROUP,
        "The node group allows SSH (RemoteAccess set, or a KeyName in its launch template). "
        "Fix: drop remote_access and the key pair; use SSM Session Manager for node access.",
        "SSH keys are long-lived shared credentials and open port 22 on every node.",
        _no_ssh,
    ),
    Rule(
        "EKS8",
        NODEGROUP,
        "The node group does not provably require IMDSv2 with a response hop limit of 1 "
        "(no launch template in the same template, or MetadataOptions other than "
        "HttpTokens=required, HttpPutResponseHopLimit=1). Fix: give it a launch template with "
        "http_tokens=REQUIRED and http_put_response_hop_limit=1 (see HardenedNodegroup).",
        "With a hop limit above 1 (EKS's default launch template uses 2) pods can fetch the "
        "node role's credentials from the instance metadata service.",
        _imdsv2_hop_limit_one,
    ),
    Rule(
        "VPC1",
        ("AWS::EC2::Subnet",),
        "The subnet maps public IP addresses on launch. Fix: MapPublicIpOnLaunch: false "
        "(ec2.SubnetType.PRIVATE_ISOLATED or PRIVATE_WITH_EGRESS subnets).",
        "Instances with public IPs are one route away from the internet.",
        _no_public_ip_mapping,
    ),
    Rule(
        "VPC2",
        ("AWS::EC2::VPCEndpoint",),
        "The VPC endpoint has no endpoint policy, so it allows any principal and any resource "
        "of its service. Fix: add_to_policy(...) with the actions and resources this VPC "
        "needs (for S3, only the buckets the cluster uses). Endpoints of the services that "
        "accept no policy (eks-auth, ssmmessages, ec2messages) pass; acknowledge with a "
        "reason for any other service that does not support endpoint policies.",
        "An unrestricted endpoint is an exfiltration path: stolen credentials can copy data to "
        "buckets or accounts outside the organisation through it.",
        _endpoint_policy,
    ),
    Rule(
        "SG1",
        SECURITY_GROUP_INGRESS,
        "The security group allows ingress from anywhere (0.0.0.0/0 or ::/0). Fix: allow only "
        "the CIDRs or security groups that need access.",
        "In a private VPC every peer is known; an any-source rule admits whatever gets routed "
        "to the VPC later.",
        _no_open_ingress,
    ),
    Rule(
        "SG2",
        SECURITY_GROUP_EGRESS,
        "The security group allows egress to anywhere (0.0.0.0/0 or ::/0) on all protocols or "
        "a port range (CDK's allow_all_outbound default, or no egress rule at all, which keeps "
        "EC2's default allow-all rule). Fix: allow_all_outbound=False and explicit egress to "
        "the destinations and the single ports needed.",
        "Unrestricted egress lets a compromised workload reach any routed network on any port.",
        _no_open_egress,
    ),
    Rule(
        "IAM1",
        ("AWS::IAM::Role",),
        "The IAM role has no permissions boundary. Fix: iam.PermissionsBoundary.of(scope)"
        ".apply(<boundary>) (or permissions_boundary=) with the boundary the role creator is "
        "required to attach.",
        "Without a boundary, whoever may write the role's policies can grant it anything; a "
        "boundary caps what the role can ever do and blocks privilege escalation.",
        _permissions_boundary,
    ),
)
"""Every rule of the pack, in report order."""


def rules_by_type(rules: Collection[Rule] = RULES) -> dict[str, tuple[Rule, ...]]:
    """The rules that apply to each CloudFormation resource type."""
    by_type: dict[str, list[Rule]] = {}
    for rule in rules:
        for rtype in rule.resource_types:
            by_type.setdefault(rtype, []).append(rule)
    return {rtype: tuple(found) for rtype, found in by_type.items()}


def check_template(template: Template, options: RuleOptions | None = None) -> list[tuple[str, str]]:
    """``(rule ID, logical ID)`` of every non-compliant resource of a template (no CDK needed)."""
    options = options or RuleOptions()
    by_type = rules_by_type()
    findings = []
    for logical_id, resource in template.get("Resources", {}).items():
        for rule in by_type.get(resource.get("Type", ""), ()):
            props = resource.get("Properties", {})
            if rule.evaluate(props, template, options) is Result.NON_COMPLIANT:
                findings.append((rule.rule_id, logical_id))
    return findings
