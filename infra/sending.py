"""What send_email and send_sms send through: the SES configuration set (every event the routing
rules expect, to the default bus) and identity, the End User Messaging configuration set, and the
EventBridge Scheduler group and role that wake a deferred send."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_ses as ses
from aws_cdk import aws_smsvoice as smsvoice

from infra.arns import SCHEDULER_GROUP
from infra.config import DeployConfig
from infra.conventions import service
from touchpoint import routing

#: SES event type published for each EventBridge detail-type the routing rules expect.
SES_EVENTS: Final = {
    "Email Delivered": ses.EmailSendingEvent.DELIVERY,
    "Email Opened": ses.EmailSendingEvent.OPEN,
    "Email Clicked": ses.EmailSendingEvent.CLICK,
    "Email Bounced": ses.EmailSendingEvent.BOUNCE,
    "Email Complaint Received": ses.EmailSendingEvent.COMPLAINT,
    "Email Rendering Failed": ses.EmailSendingEvent.RENDERING_FAILURE,
    "Email Rejected": ses.EmailSendingEvent.REJECT,
}


@dataclass(frozen=True)
class Email:
    configuration_set: ses.ConfigurationSet
    identity: ses.EmailIdentity | None  # only when the stack is asked to create it


@dataclass(frozen=True)
class Deferral:
    group: scheduler.CfnScheduleGroup
    role: iam.Role  # assumed by EventBridge Scheduler to wake a deferred send


def email(scope: Stack, config: DeployConfig, default_bus: events.IEventBus) -> Email:
    configuration_set = ses.ConfigurationSet(
        scope,
        "EmailConfigurationSet",
        reputation_metrics=True,
        sending_enabled=True,
        suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
    )
    configuration_set.add_event_destination(
        "ToEventBridge",
        destination=ses.EventDestination.event_bus(default_bus),
        events=[SES_EVENTS[detail_type] for detail_type in routing.SES_DETAIL_TYPES],
    )
    if not config.create_email_identity:
        return Email(configuration_set, None)
    identity = config.sending_identity
    created = ses.EmailIdentity(
        scope,
        "EmailIdentity",
        identity=ses.Identity.email(identity) if "@" in identity else ses.Identity.domain(identity),
        configuration_set=configuration_set,
    )
    return Email(configuration_set, created)


def sms(scope: Stack, config: DeployConfig) -> smsvoice.CfnConfigurationSet | None:
    """End User Messaging configuration set that send_sms names on every SendTextMessage.

    Delivery status needs no event destination: the service publishes "Text Message Delivery
    Status Updated" to the default bus itself, where the ``sms-events`` routing rule takes it."""
    if config.sms_adapter != "end-user-messaging":
        return None
    return smsvoice.CfnConfigurationSet(scope, "SmsConfigurationSet")


def deferral(scope: Stack) -> Deferral:
    group = scheduler.CfnScheduleGroup(scope, "DeferredSendGroup", name=SCHEDULER_GROUP)
    role = iam.Role(
        scope,
        "DeferredSendRole",
        assumed_by=service(scope, "scheduler.amazonaws.com"),
        description="Assumed by EventBridge Scheduler to wake deferred sends.",
    )
    return Deferral(group, role)
