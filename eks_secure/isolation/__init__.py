"""Isolation controls usable with every egress pattern (issue 12).

* :class:`~eks_secure.isolation.load_balancers.LoadBalancerPolicy`: Service load balancers
  internal unless allowed (Kyverno, on by default).
* :class:`~eks_secure.isolation.audit.AuditTrail`: an opt-in CloudTrail trail (the control-plane
  log group with its retention is :class:`~eks_secure.cluster.cluster.SecureCluster`'s).
* :mod:`~eks_secure.isolation.host_protection`: pods cannot reach their node's kubelet (10250),
  SSH (22) or the instance metadata service, through Calico in policy-only mode on top of the VPC
  CNI (a ``GlobalNetworkPolicy`` in its own tier) or, on a Cilium cluster, a
  ``CiliumClusterwideNetworkPolicy``.
* :mod:`~eks_secure.isolation.pod_security_groups`: a security group per app attached to its pods'
  branch ENIs through a ``SecurityGroupPolicy``.
* :mod:`~eks_secure.isolation.subnet_nacls`: an admin (bastion) subnet per AZ and a node-subnet
  NACL that admits SSH only from it (explicit DENY from everywhere else).
* :mod:`~eks_secure.isolation.custom_networking`: pods in dedicated pod subnets through one
  ``ENIConfig`` per AZ (pure building blocks only; not yet a config key).

The builders of the policy objects are pure Python (no CDK); the CDK side of the node and pod
features is :mod:`eks_secure.isolation.construct`.
"""
