"""The Marketo custom activity types sia-tui logs to, named after MSIA's native sales activities.

Third-party clients cannot write MSIA's native types (reference marketo-api.md §8), so sia-tui provisions two
custom types with MSIA's attribute names plus ``siaActivityId`` — our idempotency key — which lets the worker find
an activity whose write reply was lost instead of writing it twice. Two types stay well within the usual limit of
10 custom types per subscription.
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
        _SOURCE,
        _PERSON_ID,
        _ID,
    ),
)

SPECS: dict[str, CustomActivityTypeSpec] = {"email": EMAIL_SPEC, "call": CALL_SPEC}


@dataclass(frozen=True)
class ActivityTypeIds:
    email: int
    call: int

    def for_kind(self, kind: str) -> int:
        return self.email if kind == "email" else self.call


async def provision(marketo: MarketoClient) -> dict[str, CustomActivityType]:
    """Create, extend and approve both types as needed (idempotent: no writes when they already match)."""
    return {kind: await marketo.ensure_custom_activity_type(spec) for kind, spec in SPECS.items()}


def _ready(found: CustomActivityType | None, spec: CustomActivityTypeSpec) -> bool:
    if found is None or not found.approved or found.id is None:
        return False
    primary = (found.primary_attribute or {}).get("apiName")
    wanted = {a.api_name for a in spec.attributes}
    return wanted <= found.attribute_api_names | {primary}


async def resolve_type_ids(marketo: MarketoClient, *, auto_provision: bool = True) -> ActivityTypeIds:
    """The two type ids: one read when they are provisioned, else provisioned first (when allowed)."""
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
    return ActivityTypeIds(email=ids["email"], call=ids["call"])
