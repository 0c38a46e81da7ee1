"""Isolation controls usable with every egress pattern (issue 12).

* :class:`~eks_secure.isolation.load_balancers.LoadBalancerPolicy`: Service load balancers
  internal unless allowed (Kyverno, on by default).
"""
