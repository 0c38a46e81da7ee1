"""The validated deployment model: what a user's YAML config turns into.

Everything here is plain, frozen Python data (no CDK, no jsii) so it can be built and checked fast
and passed down one way: config -> plan -> constructs -> manifests -> allow-list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from eks_secure.errors import ConfigError

PatternName = Literal["base", "subnet-per-app", "private-nat", "cilium", "istio"]
"""Names accepted by ``-c pattern=``; ``base`` is the VPC + cluster + creator role alone."""

PATTERN_NAMES: tuple[str, ...] = ("base", "subnet-per-app", "private-nat", "cilium", "istio")

SUPPORTED_KUBERNETES_VERSIONS: tuple[str, ...] = ("1.32", "1.33", "1.34")
"""Kubernetes versions the pinned add-on versions and the kubectl layer (v1.34) are known for."""


def require_supported_version(version: str, field: str = "kubernetes_version") -> None:
    """Raise a field-named error unless ``version`` is in :data:`SUPPORTED_KUBERNETES_VERSIONS`."""
    if version not in SUPPORTED_KUBERNETES_VERSIONS:
        raise ConfigError(
            field,
            f"Kubernetes {version} is not supported",
            f"use one of {', '.join(SUPPORTED_KUBERNETES_VERSIONS)}",
        )


PLACEHOLDER_ACCOUNT = "111111111111"
PLACEHOLDER_REGION = "eu-west-1"


@dataclass(frozen=True)
class NodeGroupSize:
    """Instance types and scaling bounds of one managed node group."""

    instance_types: tuple[str, ...] = ("m7i.large",)
    min_size: int = 2
    max_size: int = 4
    desired_size: int = 2
    disk_size_gib: int = 50


@dataclass(frozen=True)
class OnPremRoute:
    """How traffic for ``on_prem_cidrs`` leaves the VPC.

    Exactly one of ``transit_gateway_id`` (attach the VPC to an existing transit gateway) or
    ``vpn_gateway`` (create a virtual private gateway, optionally with a fixed Amazon-side ASN)
    is set.
    """

    transit_gateway_id: str | None = None
    vpn_gateway: bool = False
    vpn_gateway_asn: int | None = None
    already_attached: bool = False
    """Adopted VPC only: the VPC is already attached to ``transit_gateway_id``; add routes only."""
    vpn_gateway_id: str | None = None
    """Adopted VPC only: the VPC's existing virtual private gateway; route to it, create none."""

    @property
    def kind(self) -> Literal["transit-gateway", "vpn-gateway"]:
        """``transit-gateway`` or ``vpn-gateway``."""
        return "transit-gateway" if self.transit_gateway_id else "vpn-gateway"


@dataclass(frozen=True)
class ControlPlaneDestination:
    """An address the Kubernetes API server calls out to (webhook, OIDC issuer, aggregated API).

    Under ``CUSTOMER_ROUTED`` egress this traffic leaves through the cluster's ENIs in the
    control-plane subnets, so it needs a route, a security-group rule and NACL entries.
    """

    name: str
    cidr: str
    port: int = 443


@dataclass(frozen=True)
class SubnetSizes:
    """Prefix length of each subnet tier (one subnet per AZ per tier / app / NAT group)."""

    control_plane: int = 27
    endpoints: int = 26
    system_nodes: int = 24
    app: int = 26
    nat: int = 28


@dataclass(frozen=True)
class ExistingVpc:
    """Adopt a VPC someone else owns instead of creating one.

    eks-secure still creates its own subnets, carved from ``vpc_cidr``, which must then be a free
    range of the existing VPC (part of its CIDR or an associated secondary CIDR, holding no
    subnet yet). With ``create_endpoints`` false it reuses the VPC's existing endpoints.
    """

    vpc_id: str
    create_endpoints: bool = False


@dataclass(frozen=True)
class KyvernoSettings:
    """Where the Kyverno Helm chart and images come from (patterns with a node group per app).

    A private cluster's kubectl handler and nodes have no internet access, so by default the
    chart is pulled from the deployment's own ECR registry
    (``oci://<account>.dkr.ecr.<region>.amazonaws.com/eks-secure/kyverno``): mirror it there.
    """

    chart_repository: str | None = None
    """Helm repository (https:// or oci://); default: ECR in the deployment's account/region."""
    chart_version: str = "3.9.0"
    """Pinned chart version (3.9.0 is Kyverno v1.19.0)."""
    image_registry: str | None = None
    """Mirror root the Kyverno images are pulled from, laid out by upstream registry
    (``<root>/github/kyverno/kyverno:v1.19.0``, see docs/helm-and-images.md); default: the
    deployment's own ECR (``<account>.dkr.ecr.<region>.amazonaws.com/eks-secure``)."""
    trusted_namespaces: tuple[str, ...] = ("kube-system",)
    """Namespaces whose pods (node agents such as DaemonSets) may run on every app's nodes."""
    image_digests: tuple[tuple[str, str], ...] = ()
    """Digest pins as (upstream image reference as the chart names it, ``sha256:...``) pairs,
    e.g. (``reg.kyverno.io/kyverno/kyverno:v1.19.0``, ``sha256:...``); an image not listed is
    pulled by tag."""


@dataclass(frozen=True)
class PrivateNatSettings:
    """Pattern ``private-nat``: where NAT subnets are carved from.

    With ``secondary_cidr`` set, the NAT subnets come from that extra VPC CIDR block (the seed's
    answer when the node CIDRs overlap on-premises space); otherwise from the primary CIDR.
    """

    secondary_cidr: str | None = None
    group_slots: tuple[tuple[str, int], ...] = ()
    """Explicit NAT-pool slots as (NAT group, slot) pairs (YAML ``groups: {name: {slot: n}}``);
    a group not listed gets a slot derived from its name."""


@dataclass(frozen=True)
class AppConfig:
    """One tenant application that needs a fixed upstream source IP."""

    name: str
    """DNS-1123 label; also the default namespace and the base of every construct ID."""
    namespace: str
    """Kubernetes namespace of the app (default: its name)."""
    slot: int | None = None
    """Explicit address slot in the app pool; default: derived from the name (stable)."""
    destinations: tuple[str, ...] = ()
    """On-prem CIDRs the app may reach (each inside ``on_prem_cidrs``); default: all of them."""
    ports: tuple[int, ...] = (443,)
    """Destination TCP ports the app may use towards on-premises."""
    nodes: NodeGroupSize = field(default_factory=NodeGroupSize)
    """Size of the app's dedicated node group (patterns with a node group per app)."""
    nat_group: str | None = None
    """Pattern ``private-nat``: the NAT group whose gateways translate this app's traffic."""
    team_role_arns: tuple[str, ...] = ()
    """IAM roles of the app's team: access entries with Kubernetes group
    ``eks-secure:app:<name>`` (``edit`` in the app's namespace only)."""


@dataclass(frozen=True)
class DeploymentConfig:
    """A whole deployment: one VPC, one cluster, one egress pattern, its apps."""

    cluster_name: str
    vpc_cidr: str
    availability_zones: tuple[str, ...]
    kubernetes_version: str
    on_prem_cidrs: tuple[str, ...]
    on_prem_route: OnPremRoute | None
    admin_role_arns: tuple[str, ...]
    apps: tuple[AppConfig, ...] = ()
    pattern: str = "base"
    account: str = PLACEHOLDER_ACCOUNT
    region: str = PLACEHOLDER_REGION
    viewer_role_arns: tuple[str, ...] = ()
    deployer_role_arns: tuple[str, ...] = ()
    """Principals allowed to deploy the cluster stack (assume its deploy role); default: admins."""
    break_glass_trusted_arns: tuple[str, ...] = ()
    """Principals allowed to assume the break-glass role (with MFA); default: the account."""
    control_plane_egress: tuple[ControlPlaneDestination, ...] = ()
    api_access_cidrs: tuple[str, ...] = ()
    """Networks (inside the VPC or routed on-prem) allowed to reach the private API endpoint,
    e.g. operators' or CI networks on-premises; the VPC itself is always allowed."""
    subnet_sizes: SubnetSizes = field(default_factory=SubnetSizes)
    system_nodes: NodeGroupSize = field(default_factory=NodeGroupSize)
    existing_vpc: ExistingVpc | None = None
    addon_versions: tuple[tuple[str, str], ...] = ()
    """Overrides of the pinned managed add-on versions, as (add-on name, version) pairs."""
    kyverno: KyvernoSettings = field(default_factory=KyvernoSettings)
    private_nat: PrivateNatSettings = field(default_factory=PrivateNatSettings)
    tags: tuple[tuple[str, str], ...] = ()
    """Extra tags put on every resource (besides the per-cluster tag)."""
    app_stacks: str = "nested"
    """``nested``: each app's AWS resources in its own nested stack (stable at any scale);
    ``inline``: in the cluster stack (synth error once it would pass CloudFormation's limit)."""

    def app(self, name: str) -> AppConfig:
        """The app called ``name``."""
        for app in self.apps:
            if app.name == name:
                return app
        raise KeyError(name)

    @property
    def nat_groups(self) -> tuple[str, ...]:
        """NAT group names used by the apps, sorted."""
        return tuple(sorted({a.nat_group for a in self.apps if a.nat_group}))

    def app_destinations(self, app: AppConfig) -> tuple[str, ...]:
        """The on-prem CIDRs ``app`` may reach (its own list, or all on-prem CIDRs)."""
        return app.destinations or self.on_prem_cidrs
