"""A strict provider layer for local runs: every SES v2, End User Messaging SMS and SNS request is
checked against the limits AWS enforces before it reaches moto (or the local End User Messaging),
and refused with the error AWS would return, so a journey that would fail in production fails in
simulation too. moto accepts what AWS refuses (a dot in a message tag, a 2,000-character SMS).

Where botocore's service model holds a limit (End User Messaging's lengths, patterns and enums)
the model is the one source; the limits it does not hold are cited from AWS's documentation at
each check. A refusal travels the real botocore path: for a boto3 client a ``before-call``
handler answers with the HTTP error response the service would send, which botocore parses and
raises as the client's own modeled exception; the simulator's boto3-shaped clients (the in-memory
backend's, the local End User Messaging) raise the same, parsed by the same parser."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast
from xml.sax.saxutils import escape

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.endpoint import convert_to_response_dict
from botocore.errorfactory import ClientExceptionsFactory
from botocore.exceptions import ClientError
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.parsers import create_parser
from botocore.validate import validate_parameters

from touchpoint.channels import tags

SES, SMS_VOICE, SNS = "sesv2", "pinpoint-sms-voice-v2", "sns"

#: SES v2 MessageTag, name and value alike (touchpoint.channels.tags.SAFE):
#: https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_MessageTag.html
SES_TAG = tags.SAFE
#: SES documents no number of tags per message. 50 is chosen here (the limit AWS's own resource
#: tagging uses) so a request that piles tags up is noticed; Touchpoint sends four.
SES_MAX_TAGS = 50
#: "50 recipients per message" (a recipient is any To, CC or BCC address), and "40 MB per message
#: (after base64 encoding)" with the v2 API, here 40 MiB: https://docs.aws.amazon.com/ses/latest/dg/quotas.html
SES_MAX_RECIPIENTS = 50
SES_MAX_MESSAGE_BYTES = 40 * 1024 * 1024
#: "The length of any single line of text in the message can't exceed 1,000 characters"
#: (RFC 5321's 1,000 including the CRLF):
#: https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_RawMessage.html
SES_MAX_LINE = 1000
#: A configuration set name: "up to 64 alphanumeric characters, including letters, numbers,
#: hyphens (-) and underscores (_) only":
#: https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_CreateConfigurationSet.html
SES_CONFIGURATION_SET = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: E.164: "+", a country code and at most 15 digits in all. End User Messaging's model allows 19
#: digits and no "+", but its API reference asks for E.164
#: (https://docs.aws.amazon.com/sms-voice/latest/APIReference/API_SendTextMessage.html), as does
#: SNS Publish's PhoneNumber (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html).
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
#: "The total size limit for a single SMS Publish action is 1,600 characters":
#: https://docs.aws.amazon.com/sns/latest/api/API_Publish.html
SNS_MAX_SMS = 1600

_PARAMS = "touchpoint.strict.params"  # the request's parameters, kept in botocore's call context

#: What a provider accepted: (operation, request parameters, parsed response).
Accepted = Callable[[str, Mapping[str, Any], Mapping[str, Any]], None]


@dataclass(frozen=True)
class Refusal:
    """An error answer: its code (``Error.Code``), HTTP status, message, and the error shape's
    other members as the service returns them (End User Messaging's ``Reason``, ``Fields`` …)."""

    code: str
    status: int
    message: str
    fields: Mapping[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- the models


@cache
def service_model(service: str) -> ServiceModel:
    """botocore's own model of the service (its JSON, as the installed botocore ships it)."""
    return _session().get_service_model(service)


def input_shape(service: str, operation: str) -> Shape:
    shape = service_model(service).operation_model(operation).input_shape
    assert shape is not None, f"{service} {operation} takes no input"
    return shape


@cache
def _session() -> botocore.session.Session:
    return botocore.session.Session()


@cache
def exceptions(service: str) -> Any:
    """The modeled exception classes of ``service`` (what ``client.exceptions`` holds), for the
    simulator's boto3-shaped clients."""
    return ClientExceptionsFactory().create_client_exceptions(service_model(service))


def model_violations(shape: Shape, value: Any, path: str = "") -> list[tuple[str, str]]:
    """(field, constraint) for every value outside its shape's ``max``, ``pattern`` or ``enum``, or
    a map outside its ``min``: the constraints botocore's ParamValidator leaves to the service
    (it checks types, required members and ``min`` of strings and lists). Patterns match the whole
    value, as AWS's validation does."""
    meta, kind = shape.metadata, shape.type_name
    typed: Any = shape  # a StructureShape, ListShape or MapShape by its type_name
    found: list[tuple[str, str]] = []
    if kind == "structure" and isinstance(value, Mapping):
        for name, member in typed.members.items():
            if name in value:
                found += model_violations(member, value[name], f"{path}.{name}" if path else name)
    elif kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            found.append((path, f"Member must have length less than or equal to {meta['max']}"))
        for index, item in enumerate(value):
            found += model_violations(typed.member, item, f"{path}[{index}]")
    elif kind == "map" and isinstance(value, Mapping):
        if "max" in meta and len(value) > meta["max"]:
            found.append((path, f"Member must have length less than or equal to {meta['max']}"))
        if "min" in meta and len(value) < meta["min"]:
            found.append((path, f"Member must have length greater than or equal to {meta['min']}"))
        for key, item in value.items():
            found += model_violations(typed.key, key, f"{path}.key")
            found += model_violations(typed.value, item, f"{path}.{key}")
    elif kind == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            found.append((path, f"Member must have length less than or equal to {meta['max']}"))
        if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(value):
            found.append((path, f"Member must satisfy regular expression pattern: {meta['pattern']}"))
        if "enum" in meta and value not in meta["enum"]:
            found.append((path, f"Member must satisfy enum value set: [{', '.join(meta['enum'])}]"))
    elif kind in ("integer", "long", "float", "double") and isinstance(value, int | float):
        most = meta.get("max")
        if most is not None and value > most:
            found.append((path, f"Member must have value less than or equal to {most}"))
    return found


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# --------------------------------------------------------------------------- the checks


def _tag_problem(part: str, value: Any) -> str | None:
    if isinstance(value, str) and SES_TAG.fullmatch(value):
        return None
    shown = value[:64] if isinstance(value, str) else value
    return (
        f"Invalid tag {part} <{shown}>: only alphanumeric ASCII characters, '_', and '-' are "
        "allowed, at most 256"
    )


def recipients(params: Mapping[str, Any]) -> list[str]:
    """A SendEmail's recipients: its To, CC and BCC addresses."""
    destination = params.get("Destination") or {}
    return [a for kind in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destination.get(kind) or []]


def check_send_email(params: Mapping[str, Any]) -> Refusal | None:
    """SES v2 SendEmail: message tags (BadRequestException), the configuration set's name
    (BadRequestException), then recipients, size and line length (MessageRejected)."""
    tags = params.get("EmailTags") or []
    if len(tags) > SES_MAX_TAGS:
        return Refusal("BadRequestException", 400, f"Too many tags: {len(tags)} (at most {SES_MAX_TAGS})")
    for tag in tags:
        for part in ("Name", "Value"):
            problem = _tag_problem(part.lower(), tag.get(part))
            if problem is not None:
                return Refusal("BadRequestException", 400, problem)
    name = params.get("ConfigurationSetName")
    if name is not None and not SES_CONFIGURATION_SET.fullmatch(str(name)):
        return Refusal("BadRequestException", 400, "Invalid configuration set name")
    if len(recipients(params)) > SES_MAX_RECIPIENTS:
        return Refusal("MessageRejected", 400, f"Recipient count exceeds {SES_MAX_RECIPIENTS}.")
    raw = ((params.get("Content") or {}).get("Raw") or {}).get("Data")
    if raw is not None:
        data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        encoded = 4 * ((len(data) + 2) // 3)  # its base64 length, without encoding 40 MB to learn it
        if encoded > SES_MAX_MESSAGE_BYTES:
            return Refusal(
                "MessageRejected", 400, f"Message length is more than {SES_MAX_MESSAGE_BYTES} bytes long"
            )
        longest = max((len(line.rstrip(b"\r")) for line in data.split(b"\n")), default=0)
        if longest + 2 > SES_MAX_LINE:  # counted with its CRLF
            return Refusal(
                "MessageRejected",
                400,
                f"Message has a line of {longest + 2} characters with its CRLF (at most {SES_MAX_LINE})",
            )
    return None


def check_send_text_message(params: Mapping[str, Any]) -> Refusal | None:
    """End User Messaging SendTextMessage: every constraint of botocore's model (body 1–1600
    characters, at most 5 context entries of 1–100 / 1–800 characters, the origination identity's
    and configuration set's patterns …) and an E.164 destination; a ValidationException with
    ``Reason`` FIELD_VALIDATION_FAILED and one ``Fields`` entry per violation."""
    found = model_violations(input_shape(SMS_VOICE, "SendTextMessage"), params)
    destination = params.get("DestinationPhoneNumber")
    if isinstance(destination, str) and not E164.fullmatch(destination):
        found.append(("DestinationPhoneNumber", "Member must be a phone number in E.164 format"))
    if not found:
        return None
    detail = "; ".join(f"Value at '{name}' failed to satisfy constraint: {what}" for name, what in found)
    return Refusal(
        "ValidationException",
        400,
        f"{len(found)} validation error{'s' if len(found) > 1 else ''} detected: {detail}",
        {
            "Reason": "FIELD_VALIDATION_FAILED",
            "Fields": [{"Name": name, "Message": what} for name, what in found],
        },
    )


def check_publish(params: Mapping[str, Any]) -> Refusal | None:
    """SNS Publish to a phone number: an E.164 number and a body of 1–1600 characters
    (InvalidParameter). Publishing to a topic is not checked here."""
    phone = params.get("PhoneNumber")
    if phone is None:
        return None
    if not isinstance(phone, str) or not E164.fullmatch(phone):
        return Refusal(
            "InvalidParameter", 400, "Invalid parameter: PhoneNumber Reason: it is not an E.164 number"
        )
    message = params.get("Message")
    if not message:
        return Refusal("InvalidParameter", 400, "Invalid parameter: Empty message")
    if isinstance(message, str) and len(message) > SNS_MAX_SMS:
        return Refusal(
            "InvalidParameter",
            400,
            f"Invalid parameter: Message Reason: an SMS is at most {SNS_MAX_SMS} characters",
        )
    return None


CHECKS: Mapping[tuple[str, str], Callable[[Mapping[str, Any]], Refusal | None]] = {
    (SES, "SendEmail"): check_send_email,
    (SMS_VOICE, "SendTextMessage"): check_send_text_message,
    (SNS, "Publish"): check_publish,
}


def refusal(service: str, operation: str, params: Mapping[str, Any]) -> Refusal | None:
    """What AWS would answer instead of accepting this request, or None."""
    check = CHECKS.get((service, operation))
    return None if check is None else check(params)


# --------------------------------------------------------------------------- errors as botocore raises them


class _Body:
    """The raw stream of a response AWSResponse reads its content from."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterable[bytes]:
        yield self.data


def http_response(service: str, refused: Refusal) -> AWSResponse:
    """The HTTP error response the service would send, in its protocol's wire format."""
    model = service_model(service)
    protocol = model.protocol
    request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{service}:{refused.code}:{refused.message}"))
    headers = HTTPHeaders()
    headers["x-amzn-RequestId"] = request_id
    if protocol == "query":
        body = (
            f'<ErrorResponse xmlns="{model.metadata.get("xmlNamespace", "")}"><Error><Type>Sender</Type>'
            f"<Code>{escape(refused.code)}</Code><Message>{escape(refused.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers["Content-Type"] = "text/xml"
    elif protocol == "rest-json":
        headers["x-amzn-ErrorType"] = refused.code
        headers["Content-Type"] = "application/json"
        body = json.dumps({"message": refused.message, **refused.fields}).encode()
    else:  # json
        headers["Content-Type"] = "application/x-amz-json-1.0"
        body = json.dumps({"__type": refused.code, "Message": refused.message, **refused.fields}).encode()
    return AWSResponse(f"https://{service}.amazonaws.com/", refused.status, headers, _Body(body))


def parsed_error(operation: OperationModel, response: AWSResponse) -> dict[str, Any]:
    """The error response parsed as botocore's endpoint parses it: the protocol's parser, then
    the modeled error shape's members (``Reason`` …) at the top level."""
    model = operation.service_model
    response_dict = convert_to_response_dict(response, operation)
    parser = create_parser(model.protocol)
    parsed: dict[str, Any] = parser.parse(response_dict, cast(Shape, operation.output_shape))
    shape = model.shape_for_error_code(parsed.get("Error", {}).get("Code"))
    if shape is not None:
        parsed.update(parser.parse(response_dict, shape))
    return parsed


def client_error(service: str, operation: str, refused: Refusal) -> ClientError:
    """The exception a boto3 client of ``service`` raises for this answer."""
    model = service_model(service).operation_model(operation)
    parsed = parsed_error(model, http_response(service, refused))
    error_class: type[ClientError] = exceptions(service).from_code(parsed["Error"]["Code"])
    return error_class(cast(Any, parsed), operation)


def check(service: str, operation: str, params: Mapping[str, Any]) -> None:
    """For the simulator's boto3-shaped clients: what botocore checks before sending (raises
    ParamValidationError), then what the service checks (raises its ClientError)."""
    validate_parameters(dict(params), input_shape(service, operation))
    refused = refusal(service, operation, params)
    if refused is not None:
        raise client_error(service, operation, refused)


def install(client: Any, accepted: Accepted | None = None) -> Any:
    """Make a boto3 client strict: its requests are checked after botocore's own validation and
    before they are sent; a refusal is answered as the service's HTTP error, which botocore parses
    and raises. ``accepted`` hears of every request the provider took, with its response."""
    model: ServiceModel = client.meta.service_model
    service, service_id = model.service_name, model.service_id.hyphenize()
    events = client.meta.events

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_PARAMS] = params

    def answer(model: OperationModel, context: dict[str, Any], **_: Any) -> Any:
        refused = refusal(service, model.name, context.get(_PARAMS, {}))
        if refused is None:
            return None
        response = http_response(service, refused)
        return response, parsed_error(model, response)

    def after(
        http_response: Any, parsed: Any, model: OperationModel, context: dict[str, Any], **_: Any
    ) -> None:
        if accepted is not None and http_response.status_code < 300:
            accepted(model.name, context.get(_PARAMS, {}), parsed)

    events.register(f"before-parameter-build.{service_id}", remember, unique_id="touchpoint-strict-params")
    events.register(f"before-call.{service_id}", answer, unique_id="touchpoint-strict-check")
    if accepted is not None:
        events.register(f"after-call.{service_id}", after, unique_id="touchpoint-strict-accepted")
    return client
