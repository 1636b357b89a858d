"""The Marketo custom activity types sia-tui logs to, named after MSIA's native sales activities.

Third-party clients cannot write MSIA's native types (reference marketo-api.md §8), so sia-tui provisions four
custom types — Send Sales Email, Received Sales Call, Add to Sales Campaign and Removed from Sales Campaign — with
MSIA's attribute names plus ``siaActivityId`` — our idempotency key — which lets the worker find an activity whose
write reply was lost instead of writing it twice. Four types stay within the usual limit of 10 custom types per
subscription. "Removed from Sales Campaign" also carries the reason (MSIA's has none; campaigns.md §14).
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

SPECS: dict[str, CustomActivityTypeSpec] = {
    "email": EMAIL_SPEC,
    "call": CALL_SPEC,
    "campaign_add": CAMPAIGN_ADD_SPEC,
    "campaign_remove": CAMPAIGN_REMOVE_SPEC,
}


@dataclass(frozen=True)
class ActivityTypeIds:
    email: int
    call: int
    campaign_add: int
    campaign_remove: int

    def for_kind(self, kind: str) -> int:
        """The type id for an outbox item kind (``email``, ``call``, ``campaign_add``, ``campaign_remove``)."""
        return int(getattr(self, kind))

    def all(self) -> list[int]:
        return [self.email, self.call, self.campaign_add, self.campaign_remove]


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
