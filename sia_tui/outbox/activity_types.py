"""The Marketo custom activity types sia-tui logs to, named after MSIA's native sales activities.

Third-party clients cannot write MSIA's native types (reference marketo-api.md §8), so sia-tui provisions six
custom types — Send Sales Email, Received Sales Call, Add to Sales Campaign, Removed from Sales Campaign, Replied to
Sales Email and Sales Email Bounced — with MSIA's attribute names plus ``siaActivityId`` — our idempotency key —
which lets the worker find an activity whose write reply was lost instead of writing it twice. Six types stay within
the usual limit of 10 custom types per subscription. "Removed from Sales Campaign" also carries the reason (MSIA's
has none; campaigns.md §14).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sia_tui.marketo.models import CustomActivityType, CustomActivityTypeSpec, CustomAttributeSpec

if TYPE_CHECKING:
    from sia_tui.marketo.client import MarketoClient

EMAIL_TYPE = "siaSendSalesEmail"
CALL_TYPE = "siaReceivedSalesCall"
ACTIVITY_ID_ATTRIBUTE = "siaActivityId"
ACTIVITY_ID_NAME = "sia Activity ID"
SOURCE = "sia-tui"

_ID = CustomAttributeSpec(ACTIVITY_ID_ATTRIBUTE, ACTIVITY_ID_NAME, "string", "sia-tui outbox idempotency key")
_SOURCE = CustomAttributeSpec("source", "Source", "string", "The app that logged the activity")
_PERSON_ID = CustomAttributeSpec(
    "marketoSalesPersonId", "Marketo Sales Person ID", "string", "Unique id of the person in sia-tui"
)

EMAIL_SPEC = CustomActivityTypeSpec(
    api_name=EMAIL_TYPE,
    name="Send Sales Email (sia-tui)",
    trigger_name="Sends Sales Email (sia-tui)",
    filter_name="Sent Sales Email (sia-tui)",
    description="A sales email sent or recorded by a seller in sia-tui (after MSIA's Send Sales Email).",
    primary_attribute=CustomAttributeSpec(
        "emailSubject", "Email Subject", "string", "Subject line followed by a unique id"
    ),
    attributes=(
        CustomAttributeSpec("sentBy", "Sent By", "string", "The seller's email address"),
        _SOURCE,
        CustomAttributeSpec("salesTemplateName", "Sales Template Name", "string"),
        CustomAttributeSpec("recipients", "Recipients", "string", "To, CC and BCC addresses"),
        CustomAttributeSpec("recordedOnly", "Recorded Only", "boolean", "Sent outside sia-tui, only logged"),
        CustomAttributeSpec(
            "salesCampaignName", "Sales Campaign Name", "string", "The campaign, for its steps"
        ),
        _PERSON_ID,
        _ID,
    ),
)

CALL_SPEC = CustomActivityTypeSpec(
    api_name=CALL_TYPE,
    name="Received Sales Call (sia-tui)",
    trigger_name="Receives Sales Call (sia-tui)",
    filter_name="Received Sales Call (sia-tui)",
    description="A sales call logged by a seller in sia-tui (after MSIA's Received Sales Call).",
    primary_attribute=CustomAttributeSpec(
        "salesCallSubject", "Sales Call Subject", "string", "Call outcome selected by the seller"
    ),
    attributes=(
        CustomAttributeSpec("salesCallMadeBy", "Sales Call Made By", "string", "The seller's email address"),
        CustomAttributeSpec(
            "salesCallStatus", "Sales Call Status", "string", "completed, no answer, cancelled, failed"
        ),
        CustomAttributeSpec(
            "salesCallDuration", "Sales Call Duration", "integer", "Length of call in seconds"
        ),
        CustomAttributeSpec("salesPhoneNumberCalled", "Sales Phone Number Called", "string"),
        CustomAttributeSpec("salesCallReason", "Sales Call Reason", "string"),
        CustomAttributeSpec("salesCallNotes", "Sales Call Notes", "text"),
        CustomAttributeSpec(
            "salesCampaignName", "Sales Campaign Name", "string", "The campaign, for its steps"
        ),
        _SOURCE,
        _PERSON_ID,
        _ID,
    ),
)

CAMPAIGN_ADD_TYPE = "siaAddToSalesCampaign"
CAMPAIGN_REMOVE_TYPE = "siaRemovedFromSalesCampaign"
_CAMPAIGN_NAME = CustomAttributeSpec(
    "salesCampaignName", "Sales Campaign Name", "string", "Name of the campaign"
)
_CAMPAIGN_ATTRIBUTES = (
    CustomAttributeSpec("salesCampaignId", "Sales Campaign ID", "string", "The campaign's id in sia-tui"),
    CustomAttributeSpec("sentBy", "Sent By", "string", "The seller's email address"),
    _SOURCE,
    _PERSON_ID,
    _ID,
)

CAMPAIGN_ADD_SPEC = CustomActivityTypeSpec(
    api_name=CAMPAIGN_ADD_TYPE,
    name="Add to Sales Campaign (sia-tui)",
    trigger_name="Is Added to Sales Campaign (sia-tui)",
    filter_name="Added to Sales Campaign (sia-tui)",
    description="A seller enrolled the person in a sales campaign in sia-tui (after MSIA's Add to Sales Campaign).",
    primary_attribute=_CAMPAIGN_NAME,
    attributes=_CAMPAIGN_ATTRIBUTES,
)

CAMPAIGN_REMOVE_SPEC = CustomActivityTypeSpec(
    api_name=CAMPAIGN_REMOVE_TYPE,
    name="Removed from Sales Campaign (sia-tui)",
    trigger_name="Is Removed from Sales Campaign (sia-tui)",
    filter_name="Removed from Sales Campaign (sia-tui)",
    description="The person's sales campaign in sia-tui ended (after MSIA's Removed from Sales Campaign).",
    primary_attribute=_CAMPAIGN_NAME,
    attributes=(
        *_CAMPAIGN_ATTRIBUTES,
        CustomAttributeSpec(
            "removalReason",
            "Removal Reason",
            "string",
            "completed, removed, replied, bounced, unsubscribed",
        ),
    ),
)

REPLY_TYPE = "siaRepliedToSalesEmail"
BOUNCE_TYPE = "siaSalesEmailBounced"
_SALES_EMAIL_ID = CustomAttributeSpec(
    "salesEmailId", "Sales Email ID", "string", "The sia-tui id of the sales email (SIA-xxxxxxxx)"
)

#: MSIA's "Replied to Sales Email" (Received By, Source, Marketo Sales Person ID), plus who sent our email, the
#: reply's subject and the id of the email it answers. Primary: our email's subject with its id, as on the send.
REPLY_SPEC = CustomActivityTypeSpec(
    api_name=REPLY_TYPE,
    name="Replied to Sales Email (sia-tui)",
    trigger_name="Replies to Sales Email (sia-tui)",
    filter_name="Replied to Sales Email (sia-tui)",
    description="The person replied to a sales email a seller sent from sia-tui (after MSIA's Replied to Sales Email).",
    primary_attribute=CustomAttributeSpec(
        "emailSubject", "Email Subject", "string", "Subject of the sales email, followed by its unique id"
    ),
    attributes=(
        CustomAttributeSpec("receivedBy", "Received By", "string", "Email address of the person who replied"),
        CustomAttributeSpec("sentBy", "Sent By", "string", "The seller's email address"),
        CustomAttributeSpec("replySubject", "Reply Subject", "string", "Subject line of the reply"),
        _SALES_EMAIL_ID,
        CustomAttributeSpec(
            "unsubscribeRequest", "Unsubscribe Request", "boolean", "The reply asked to stop emails"
        ),
        _SOURCE,
        _PERSON_ID,
        _ID,
    ),
)

#: MSIA's "Sales Email Bounced" (Details, Email, Sent By, Marketo Sales Person ID), plus hard/soft and the code.
BOUNCE_SPEC = CustomActivityTypeSpec(
    api_name=BOUNCE_TYPE,
    name="Sales Email Bounced (sia-tui)",
    trigger_name="Sales Email Bounces (sia-tui)",
    filter_name="Sales Email Bounced (sia-tui)",
    description="A sales email sent from sia-tui bounced (after MSIA's Sales Email Bounced).",
    primary_attribute=CustomAttributeSpec(
        "emailSubject", "Email Subject", "string", "Subject of the sales email, followed by its unique id"
    ),
    attributes=(
        CustomAttributeSpec(
            "details", "Details", "string", "Hard or soft, the status code and the server's words"
        ),
        CustomAttributeSpec("email", "Email", "string", "The address that bounced"),
        CustomAttributeSpec("sentBy", "Sent By", "string", "The seller's email address"),
        CustomAttributeSpec("bounceType", "Bounce Type", "string", "hard or soft"),
        CustomAttributeSpec(
            "statusCode", "Status Code", "string", "RFC 3463 enhanced status code, e.g. 5.1.1"
        ),
        _SALES_EMAIL_ID,
        _SOURCE,
        _PERSON_ID,
        _ID,
    ),
)

SPECS: dict[str, CustomActivityTypeSpec] = {
    "email": EMAIL_SPEC,
    "call": CALL_SPEC,
    "campaign_add": CAMPAIGN_ADD_SPEC,
    "campaign_remove": CAMPAIGN_REMOVE_SPEC,
    "reply": REPLY_SPEC,
    "bounce": BOUNCE_SPEC,
}


@dataclass(frozen=True)
class ActivityTypeIds:
    email: int
    call: int
    campaign_add: int
    campaign_remove: int
    reply: int
    bounce: int

    def for_kind(self, kind: str) -> int:
        """The type id for an outbox item kind (``email``, ``call``, ``campaign_add``, ``campaign_remove``,
        ``reply``, ``bounce``)."""
        return int(getattr(self, kind))

    def all(self) -> list[int]:
        return [self.email, self.call, self.campaign_add, self.campaign_remove, self.reply, self.bounce]


async def provision(marketo: MarketoClient) -> dict[str, CustomActivityType]:
    """Create, extend and approve every type as needed (idempotent: no writes when they already match)."""
    return {kind: await marketo.ensure_custom_activity_type(spec) for kind, spec in SPECS.items()}


def _ready(found: CustomActivityType | None, spec: CustomActivityTypeSpec) -> bool:
    if found is None or not found.approved or found.id is None:
        return False
    primary = (found.primary_attribute or {}).get("apiName")
    wanted = {a.api_name for a in spec.attributes}
    return wanted <= found.attribute_api_names | {primary}


async def resolve_type_ids(marketo: MarketoClient, *, auto_provision: bool = True) -> ActivityTypeIds:
    """The type ids: one read when they are provisioned, else provisioned first (when allowed)."""
    existing = {t.api_name: t for t in await marketo.custom_activity_types()}
    ids: dict[str, int] = {}
    for kind, spec in SPECS.items():
        found = existing.get(spec.api_name)
        if not _ready(found, spec):
            if not auto_provision:
                raise LookupError(
                    f"Marketo has no approved custom activity type {spec.api_name!r}; run "
                    "`sia-tui --headless marketo provision-activity-types`."
                )
            found = await marketo.ensure_custom_activity_type(spec)
        assert found is not None and found.id is not None
        ids[kind] = found.id
    return ActivityTypeIds(**ids)
