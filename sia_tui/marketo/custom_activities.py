"""Custom activity types (ensure they exist and are approved) and writing custom activities (≤300 per call).

Third-party clients cannot write native sales activity types (reference §8), so sia-tui logs its sales emails and
calls as custom activities. Writes are not idempotent: a lost reply is :class:`OutcomeUnknownError`, never
retried here, and the error carries the results of the batches that did complete.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sia_tui.i18n import _
from sia_tui.marketo.models import (
    ActivityWriteResult,
    ApiMessage,
    CustomActivity,
    CustomActivityType,
    CustomActivityTypeSpec,
    RecordResult,
)
from sia_tui.marketo.paging import chunks
from sia_tui.marketo.session import MarketoSession
from sia_tui.net import ApiError, OutcomeUnknownError, TransientError, ValidationError

log = logging.getLogger("sia_tui.marketo")

MAX_BATCH = 300
TYPES_PATH = "/rest/v1/activities/external/types.json"


async def list_types(session: MarketoSession) -> list[CustomActivityType]:
    envelope = await session.get(TYPES_PATH)
    return [CustomActivityType.parse(raw) for raw in envelope.result]


async def find_type(session: MarketoSession, api_name: str) -> CustomActivityType | None:
    for activity_type in await list_types(session):
        if activity_type.api_name == api_name:
            return activity_type
    return None


async def describe_type(
    session: MarketoSession, api_name: str, *, draft: bool = False
) -> CustomActivityType | None:
    envelope = await session.get(
        f"/rest/v1/activities/external/type/{api_name}/describe.json", {"draft": "true" if draft else None}
    )
    return CustomActivityType.parse(envelope.first) if envelope.first else None


def _check_spec(spec: CustomActivityTypeSpec) -> None:
    if not spec.api_name.isalnum() or len(spec.api_name) > 255:
        raise ValidationError(
            _("Custom activity type apiName {name!r} must be alphanumeric and at most 255 characters.").format(
                name=spec.api_name
            ),
            api="marketo",
        )
    if len(spec.attributes) > 20:
        raise ValidationError(
            _("Custom activity type {name!r} has {count} attributes; Marketo allows 20.").format(
                name=spec.api_name, count=len(spec.attributes)
            ),
            api="marketo",
        )


async def ensure_type(session: MarketoSession, spec: CustomActivityTypeSpec) -> CustomActivityType:
    """Make sure ``spec`` exists in Marketo with its attributes, approved. Idempotent: no writes when it does.

    Each step re-reads Marketo's state first, so a step whose reply was lost is simply re-checked and redone.
    """
    _check_spec(spec)
    for attempt in range(1, 4):
        try:
            return await _ensure_once(session, spec)
        except OutcomeUnknownError:
            if attempt == 3:
                raise
            log.info("Lost the reply while provisioning %s; re-reading Marketo's state", spec.api_name)
    raise AssertionError("unreachable")


async def _ensure_once(session: MarketoSession, spec: CustomActivityTypeSpec) -> CustomActivityType:
    current = await find_type(session, spec.api_name)
    changed = False
    if current is None:
        log.info("Creating Marketo custom activity type %s", spec.api_name)
        envelope = await session.post(
            "/rest/v1/activities/external/type.json", json=spec.to_api(), idempotent=True
        )
        current = CustomActivityType.parse(envelope.first or {"apiName": spec.api_name, "status": "draft"})
        changed = True
    elif current.status == "deleted":
        raise ValidationError(
            _("Marketo's custom activity type {name!r} is deleted; choose another apiName.").format(name=spec.api_name),
            api="marketo",
        )
    primary = (current.primary_attribute or {}).get("apiName")
    missing = [
        a for a in spec.attributes if a.api_name not in current.attribute_api_names and a.api_name != primary
    ]
    if missing:
        log.info("Adding %d attribute(s) to Marketo custom activity type %s", len(missing), spec.api_name)
        await session.post(
            f"/rest/v1/activities/external/type/{spec.api_name}/attributes/create.json",
            json={"attributes": [a.to_api() for a in missing]},
            idempotent=True,
        )
        changed = True
    if changed or current.status != "approved":
        log.info("Approving Marketo custom activity type %s", spec.api_name)
        await session.post(f"/rest/v1/activities/external/type/{spec.api_name}/approve.json", idempotent=True)
    final = await find_type(session, spec.api_name)
    if final is None or not final.approved:
        raise TransientError(
            (
                _("Marketo's custom activity type {name!r} is still 'missing' after creating and approving it.")
                if final is None
                else _("Marketo's custom activity type {name!r} is still {status!r} after creating and approving it.")
            ).format(name=spec.api_name, status=final.status if final is not None else ""),
            api="marketo",
        )
    return final


async def add(session: MarketoSession, items: Sequence[CustomActivity]) -> list[ActivityWriteResult]:
    """Write ``items`` (any number; 300 per call). One result per item, in order, with skipped reasons kept."""
    results: list[ActivityWriteResult] = []
    batches = chunks(list(items), MAX_BATCH)
    for number, batch in enumerate(batches):
        try:
            envelope = await session.post(
                "/rest/v1/activities/external.json", json={"input": [item.to_api() for item in batch]}
            )
        except OutcomeUnknownError as exc:
            exc.results = list(results)
            exc.unknown_items = list(batch)
            exc.message = (
                f"{exc.message} {len(batch)} activit{'y' if len(batch) == 1 else 'ies'} in batch {number + 1} of "
                f"{len(batches)} may or may not have been written; {len(results)} earlier ones were."
            )
            exc.args = (exc.message,)
            raise
        except ApiError as exc:
            exc.results = list(results)
            raise
        results.extend(_map_batch(batch, envelope.result))
    return results


def _map_batch(batch: Sequence[CustomActivity], raw: list[dict[str, Any]]) -> list[ActivityWriteResult]:
    """Marketo answers records in input order; a short answer leaves the rest marked as unknown."""
    mapped: list[ActivityWriteResult] = []
    for i, item in enumerate(batch):
        if i < len(raw):
            parsed = RecordResult.parse(i, raw[i])
            mapped.append(
                ActivityWriteResult(
                    item=item,
                    status=parsed.status,
                    marketo_guid=parsed.marketo_guid,
                    id=parsed.id,
                    reasons=parsed.reasons,
                )
            )
        else:
            mapped.append(
                ActivityWriteResult(
                    item=item,
                    status="unknown",
                    marketo_guid=None,
                    id=None,
                    reasons=(ApiMessage(None, "Marketo's answer had no result for this activity"),),
                )
            )
    return mapped
