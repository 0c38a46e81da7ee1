"""``BreakGlassAlerts``: a notification on every use of the break-glass role and every change of
the cluster's access entries.

Two EventBridge rules match CloudTrail management events ("AWS API Call via CloudTrail"):

* ``<cluster>-break-glass-assumed``: ``sts:AssumeRole*`` calls naming the break-glass role;
* ``<cluster>-access-entry-changes``: ``eks:CreateAccessEntry``, ``UpdateAccessEntry``,
  ``DeleteAccessEntry``, ``AssociateAccessPolicy``, ``DisassociateAccessPolicy`` on this cluster.

Each rule sends the event to an SNS topic, and a CloudWatch alarm per rule (``TriggeredRules``
at least once in five minutes) keeps the state visible and notifies the same topic. The topic is
the one given or ``<cluster>-break-glass-alerts``, KMS-encrypted with a rotating key, TLS only.

What synthesis cannot check (docs/creator-role-runbook.md): EventBridge receives CloudTrail
events only while a trail logs management events in the account (``audit.cloudtrail`` creates
one); rules see the events of their own Region, and an ``AssumeRole`` through the global STS
endpoint is recorded in us-east-1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from eks_secure.keys import rotating_key

ASSUME_ROLE_EVENTS = ("AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity")
"""STS calls that start a session of a role (CloudTrail ``eventName``)."""

ACCESS_ENTRY_EVENTS = (
    "CreateAccessEntry",
    "UpdateAccessEntry",
    "DeleteAccessEntry",
    "AssociateAccessPolicy",
    "DisassociateAccessPolicy",
)
"""EKS calls that change who may do what in the cluster (CloudTrail ``eventName``)."""

ALERT_PUBLISHERS = ("events.amazonaws.com", "cloudwatch.amazonaws.com")
"""Services that publish to the alert topic (the rules and the alarms)."""


def alert_name_prefix(cluster_name: str) -> str:
    """Prefix of the names of the alert rules, alarms and topic (the creator's scope)."""
    return f"{cluster_name}-"


def alert_topic_name(cluster_name: str) -> str:
    """Name of the alert topic the stack creates."""
    return f"{cluster_name}-break-glass-alerts"


class BreakGlassAlerts(Construct):
    """Rules and alarms on break-glass assumptions and access-entry changes, to an SNS topic.

    :param cluster_name: the cluster whose access entries are watched; prefixes every name.
    :param break_glass_role: the role whose assumptions raise an alert.
    :param topic: where alerts go (its key policy must let EventBridge and CloudWatch use its
        key). Default: a new KMS-encrypted topic ``<cluster>-break-glass-alerts``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster_name: str,
        break_glass_role: iam.IRole,
        topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.key: kms.Key | None = None
        """The topic's KMS key, when this construct creates the topic."""
        if topic is None:
            self.key = rotating_key(
                self,
                "Key",
                description=f"Encryption of the break-glass alerts of EKS cluster {cluster_name}",
            )
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AlertPublishersEncrypt",
                    principals=[iam.ServicePrincipal(s) for s in ALERT_PUBLISHERS],
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=["*"],
                    conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account}},
                )
            )
            topic = sns.Topic(
                self,
                "Topic",
                topic_name=alert_topic_name(cluster_name),
                display_name=f"{cluster_name} break-glass and access-entry alerts",
                master_key=self.key,
                enforce_ssl=True,
            )
        self.topic: sns.ITopic = topic
        """The topic alerts go to (subscribe the on-call channel to it)."""

        prefix = alert_name_prefix(cluster_name)
        assumed = self._api_call_rule(
            "Assumed",
            rule_name=f"{prefix}break-glass-assumed",
            description=f"Every assumption of the break-glass role of EKS cluster {cluster_name}",
            service="sts",
            event_names=ASSUME_ROLE_EVENTS,
            match={"requestParameters": {"roleArn": [break_glass_role.role_arn]}},
        )
        access = self._api_call_rule(
            "AccessEntries",
            rule_name=f"{prefix}access-entry-changes",
            description=f"Every change of the access entries of EKS cluster {cluster_name}",
            service="eks",
            event_names=ACCESS_ENTRY_EVENTS,
            # the request's cluster name: "name" in the URI of these calls; "clusterName" is
            # matched too (which one CloudTrail records is not verifiable offline)
            match={
                "$or": [
                    {"requestParameters": {"name": [cluster_name]}},
                    {"requestParameters": {"clusterName": [cluster_name]}},
                ]
            },
        )
        self.rules = (assumed, access)
        """The two rules (assumptions, access-entry changes)."""
        self.alarms: list[cloudwatch.Alarm] = []
        """One alarm per rule: it fired in the last five minutes."""
        for rule, rule_name, alarm_name in (
            (assumed, f"{prefix}break-glass-assumed", f"{prefix}break-glass-assumed"),
            (access, f"{prefix}access-entry-changes", f"{prefix}access-entry-changed"),
        ):
            rule.add_target(targets.SnsTopic(topic))
            alarm = cloudwatch.Alarm(
                self,
                f"{rule.node.id}Alarm",
                alarm_name=alarm_name,
                alarm_description=(
                    f"Rule {rule_name} matched (see the SNS message for who and what)"
                ),
                metric=cloudwatch.Metric(
                    namespace="AWS/Events",
                    metric_name="TriggeredRules",
                    dimensions_map={"RuleName": rule.rule_name},
                    statistic="Sum",
                    period=cdk.Duration.minutes(5),
                ),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(cw_actions.SnsAction(topic))
            self.alarms.append(alarm)

    def _api_call_rule(
        self,
        id: str,
        *,
        rule_name: str,
        description: str,
        service: str,
        event_names: Sequence[str],
        match: Mapping[str, Any],
    ) -> events.Rule:
        """A rule on the CloudTrail records of ``service``'s API calls ``event_names`` whose
        detail also matches ``match``."""
        return events.Rule(
            self,
            id,
            rule_name=rule_name,
            description=description,
            event_pattern=events.EventPattern(
                source=[f"aws.{service}"],
                detail_type=["AWS API Call via CloudTrail"],
                detail={
                    "eventSource": [f"{service}.amazonaws.com"],
                    "eventName": list(event_names),
                    **match,
                },
            ),
        )
