"""What the users and their providers do: the apps' events, the behaviour model's replies to each
message (opens, clicks, conversions, unsubscribes, bounces …) and the scripted users' feedback,
each put on the bus in AWS's shape or sent to the real endpoint."""

from __future__ import annotations

import datetime as dt
import json
import random
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlparse

from touchpoint.clock import iso
from touchpoint.local import provider_events
from touchpoint.local.cloud import ACCOUNT, REGION
from touchpoint.local.population import PlannedEvent, react
from touchpoint.local.simulator.record import Sent
from touchpoint.local.simulator.world import World

#: What a scripted email.bounced may name (SES's bounceType; the subtype defaults as shown).
_SCRIPTED_BOUNCES = {"permanent": "General", "transient": "General", "undetermined": "Undetermined"}


class Reactions:
    def __init__(self, world: World) -> None:
        self.world = world

    def app_event(self, user_id: str, planned: PlannedEvent, source: str = "shop.web") -> None:
        world = self.world
        detail: dict[str, Any] = {
            "event_id": planned.event_id or _event_id(world.scenario.seed, user_id, planned),
            "user_id": user_id,
            "occurred_at": iso(planned.at),
            "properties": planned.properties,
        }
        if planned.profile is not None:
            detail["profile"] = planned.profile
        if planned.consent is not None:
            detail["consent"] = planned.consent
        entry = {
            "EventBusName": world.cloud.settings.event_bus_name,
            "Source": source,
            "DetailType": planned.type,
            "Detail": json.dumps(detail, sort_keys=True),
            "Time": planned.at,
        }
        now = world.clock.now()
        copies = world.faults.copies(now) if world.faults is not None else [now]
        world.cloud.put_app_events([entry])
        for arrival in copies[1:]:  # EventBridge delivering it again, maybe days later
            world.clock.call_at(arrival, partial(world.cloud.put_app_events, [entry]), label="redelivery")

    def scripted(self, user_id: str, planned: PlannedEvent) -> None:
        """A scripted user's event: an app event, or feedback about a message they were sent."""
        if not planned.type.startswith(("email.", "sms.")):
            self.app_event(user_id, planned, source="qa.script")
            return
        seen = self.world.seen
        journey_id, step_id = planned.properties.get("journey_id"), planned.properties.get("step_id")
        sent = seen.sent.get((user_id, str(journey_id), str(step_id)))
        event = {
            "type": planned.type,
            "user_id": user_id,
            "at": iso(planned.at),
            "properties": planned.properties,
        }
        if sent is None:
            seen.rejected.append(
                {
                    "event": event,
                    "reason": f"{user_id} was sent no message by {journey_id}/{step_id} before this",
                }
            )
            return
        kind = planned.type.split(".", 1)[1]
        if kind == "unsubscribed":
            self.unsubscribe(sent)
        elif kind in ("delivered", "opened", "clicked", "bounced", "complained", "failed"):
            detail, problem = _scripted_detail(sent.channel, kind, planned.properties)
            if problem is None and sent.channel == "sms" and self.world.cloud.settings.sms_adapter == "sns":
                problem = "SMS through SNS reports no delivery: SNS publishes no events to feed back"
            if problem is not None:
                seen.rejected.append({"event": event, "reason": problem})
            else:
                self.feedback(sent, kind, planned.at, detail)
        else:
            seen.rejected.append({"event": event, "reason": f"{planned.type} is not message feedback"})

    def react(self, sent: Sent) -> None:
        """The behaviour model's reply to a message the user was sent, onto the clock."""
        world = self.world
        clock = world.clock
        if sent.user_id in world.scripted:  # scripted users: delivered, and only what their script says
            clock.call_at(
                sent.at + dt.timedelta(seconds=30),
                lambda: self.feedback(sent, "delivered", None),
                label="delivered",
            )
            return
        population = world.scenario.population
        if population is None or sent.user_id not in world.people:
            return
        journey = world.registry.journeys.get(sent.journey_id)
        for reaction in react(
            population.behaviour,
            world.scenario.seed,
            sent.user_id,
            f"{sent.journey_id}:{sent.step_id}",
            sent.channel,
            sent.at,
            journey,
        ):
            if reaction.kind == "convert" and reaction.event is not None:
                clock.call_at(
                    reaction.at, partial(self.app_event, sent.user_id, reaction.event), label="convert"
                )
            elif reaction.kind == "unsubscribe":
                clock.call_at(reaction.at, lambda: self.unsubscribe(sent), label="unsubscribe")
            else:
                clock.call_at(
                    reaction.at,
                    partial(self.feedback, sent, reaction.kind, reaction.at, reaction.detail),
                    label=reaction.kind,
                )

    def feedback(self, sent: Sent, kind: str, at: dt.datetime | None, detail: str | None = None) -> None:
        """The event SES or End User Messaging publishes about this message, in AWS's shape
        (``provider_events``); SNS publishes none, and carriers report delivery, not clicks."""
        world = self.world
        when = at or world.clock.now()
        if sent.channel == "email":
            envelope = self._ses_event(sent, kind, when, detail)
        elif kind in ("delivered", "failed", "pending"):
            envelope = self._sms_event(sent, kind, when, detail)
        else:
            envelope = None
        if envelope is not None:
            world.seen.unanswered.discard(sent.message_id)
            world.cloud.put_default_bus([provider_events.entry(envelope)])

    def _ses_event(self, sent: Sent, kind: str, at: dt.datetime, detail: str | None) -> dict[str, Any] | None:
        """SES's event, when its configuration set publishes it: a message sent without one, or
        an event type its event destination does not take (DeliveryDelay), reaches no bus."""
        ledger = self.world.cloud.ses_messages
        message = ledger.messages.get(sent.message_id)
        if message is None or not message.configuration_set:
            return None
        envelope = provider_events.ses_event(message, kind, at, ACCOUNT, REGION, detail)
        return envelope if ledger.publishes(envelope) else None

    def _sms_event(self, sent: Sent, kind: str, at: dt.datetime, detail: str | None) -> dict[str, Any] | None:
        """End User Messaging's status event (a final one, or ``pending``: not final yet)."""
        sms_voice = self.world.cloud.sms_voice
        message = sms_voice.messages.get(sent.message_id)
        if message is None:  # sent through SNS, which publishes no status events
            return None
        status = detail or ("TEXT_DELIVERED" if kind == "delivered" else "TEXT_INVALID")
        envelope = provider_events.sms_event(message, status, kind != "pending", at, ACCOUNT, REGION)
        sms_voice.published[provider_events.label(envelope)] += 1
        return envelope

    def unsubscribe(self, sent: Sent) -> None:
        """The user clicks the unsubscribe link of the email they got (the real token, the real
        endpoint), or replies STOP to the SMS, which End User Messaging turns into an opt-out of
        the number (SNS keeps its own list, which the simulator does not model)."""
        cloud = self.world.cloud
        if sent.channel == "sms":
            message = cloud.sms_voice.messages.get(sent.message_id)  # None: sent through SNS
            if message is not None:
                cloud.sms_voice.opt_out(message.destination)
            return
        accepted = cloud.ses_messages.messages.get(sent.message_id)
        headers = {name.lower(): value for name, value in accepted.headers} if accepted else {}
        if "list-unsubscribe" not in headers:
            return
        url = headers["list-unsubscribe"].strip().strip("<>")
        token = parse_qs(urlparse(url).query)["t"][0]
        # a click that fails (a throttled table) is clicked again, as a user would
        cloud.invoke_retried("unsubscribe", _function_url_post(token, self.world.clock.now()))


def _event_id(seed: int, user_id: str, planned: PlannedEvent) -> str:
    rng = random.Random(f"{seed}:{user_id}:{planned.type}:{iso(planned.at)}")
    return f"sim-{rng.getrandbits(64):016x}"


def _scripted_detail(channel: str, kind: str, properties: dict[str, Any]) -> tuple[str | None, str | None]:
    """What a scripted feedback event asks the provider to report: a bounce's ``bounce_type`` /
    ``bounce_subtype`` (SES's names; Permanent/General by default), a failed SMS's final
    ``status`` (TEXT_INVALID by default). Returns (detail, problem)."""
    if channel == "email" and kind == "bounced":
        bounce_type = str(properties.get("bounce_type", "permanent")).lower()
        if bounce_type not in _SCRIPTED_BOUNCES:
            return None, f"bounce_type must be one of {', '.join(_SCRIPTED_BOUNCES)}"
        subtype = str(properties.get("bounce_subtype", _SCRIPTED_BOUNCES[bounce_type]))
        detail = f"{bounce_type.capitalize()}/{subtype}"
        if detail not in provider_events.BOUNCES:
            return None, f"SES reports no {detail} bounce; one of {', '.join(provider_events.BOUNCES)}"
        return detail, None
    if channel == "sms" and kind == "failed":
        status = str(properties.get("status", "TEXT_INVALID"))
        if status not in provider_events.SMS_FAILURES:
            failures = ", ".join(sorted(provider_events.SMS_FAILURES))
            return None, f"status must be a final failure End User Messaging reports: {failures}"
        return status, None
    return None, None


def _function_url_post(token: str, at: dt.datetime) -> dict[str, Any]:
    """The request a mail client's one-click unsubscribe makes to the Lambda function URL."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": f"t={token}",
        "queryStringParameters": {"t": token},
        "headers": {"content-type": "application/x-www-form-urlencoded"},
        "isBase64Encoded": False,
        "body": "List-Unsubscribe=One-Click",
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": "unsubscribe.local",
            "domainPrefix": "unsubscribe",
            "requestId": f"r-{int(at.timestamp())}",
            "routeKey": "$default",
            "stage": "$default",
            "time": at.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(at.timestamp() * 1000),
            "http": {
                "method": "POST",
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "mail-client",
            },
        },
    }
