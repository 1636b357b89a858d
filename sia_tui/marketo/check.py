"""``settings test`` for Marketo: says precisely what works and what does not, item by item."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sia_tui.marketo import activities, custom_activities
from sia_tui.marketo.models import ApiUsage, CheckItem, CheckReport, CustomActivityType
from sia_tui.marketo.session import MarketoSession
from sia_tui.net import AccessDeniedError, ApiError, NotFoundError


async def usage_today(session: MarketoSession) -> ApiUsage | None:
    """Today's API usage from ``/rest/v1/stats/usage.json``; None where the instance does not offer it."""
    try:
        envelope = await session.get("/rest/v1/stats/usage.json")
    except NotFoundError:
        return None
    first = envelope.first
    if first is None:
        return None
    users = {
        str(u.get("userId")): int(u.get("count") or 0)
        for u in first.get("users") or []
        if isinstance(u, dict)
    }
    return ApiUsage(date=str(first.get("date") or ""), total=int(first.get("total") or 0), users=users)


async def _probe(name: str, ok_sentence: str, call: Callable[[], Awaitable[Any]], denied: str) -> CheckItem:
    try:
        await call()
    except AccessDeniedError as exc:
        return CheckItem(name, False, f"{denied} (Marketo error {exc.code}: access denied).")
    except ApiError as exc:
        return CheckItem(name, False, f"Could not check: {exc}")
    return CheckItem(name, True, ok_sentence)


async def run(
    session: MarketoSession,
    client_id: str,
    *,
    custom_type_api_names: Sequence[str] = (),
    daily_quota: int | None = None,
) -> CheckReport:
    report = CheckReport(api="marketo")
    try:
        token = await session.tokens.verify()
    except ApiError as exc:
        report.items.append(CheckItem("token", False, str(exc)))
        for name in ("read_leads", "read_activities", "write_activities"):
            report.items.append(CheckItem(name, False, "Not checked: there is no access token."))
        return report
    scope = f" for API user {token.scope}" if token.scope else ""
    left = f", valid for {max(0, int(token.remaining()))} s more"
    report.items.append(
        CheckItem("token", True, f"Marketo issued an access token to client id {client_id}{scope}{left}.")
    )

    report.items.append(
        await _probe(
            "read_leads",
            "The API user can read leads (lead describe answered).",
            lambda: session.get("/rest/v1/leads/describe.json"),
            "The API user cannot read leads: give its role the Read-Only Lead permission",
        )
    )
    report.items.append(
        await _probe(
            "read_activities",
            "The API user can read activities (activity types answered).",
            lambda: activities.activity_types(session),
            "The API user cannot read activities: give its role the Read-Only Activity permission",
        )
    )
    report.items.append(await _write_probe(session))

    try:
        usage = await usage_today(session)
    except ApiError as exc:
        report.items.append(CheckItem("api_usage", False, f"Could not read today's API usage: {exc}"))
    else:
        if usage is not None:
            quota = f" of the daily quota of {daily_quota:,}" if daily_quota else ""
            left_calls = f" ({max(0, daily_quota - usage.total):,} left)" if daily_quota else ""
            report.items.append(
                CheckItem(
                    "api_usage",
                    daily_quota is None or usage.total < daily_quota,
                    f"{usage.total:,} API calls used today ({usage.date}){quota}{left_calls}.",
                    {"date": usage.date, "total": usage.total, "users": usage.users},
                )
            )

    report.items.append(await _custom_types_item(session, custom_type_api_names))
    return report


async def _write_probe(session: MarketoSession) -> CheckItem:
    """An empty Add Custom Activities call: writes nothing, but Marketo checks the role's write permission."""
    name = "write_activities"
    try:
        await session.post("/rest/v1/activities/external.json", json={"input": []}, idempotent=True)
    except AccessDeniedError as exc:
        return CheckItem(
            name,
            False,
            f"The API user cannot write activities: give its role the Read-Write Activity permission "
            f"(Marketo error {exc.code}: access denied).",
        )
    except ApiError as exc:
        if exc.code and exc.code not in {"601", "602", "606", "615", "607", "608", "611", "713"}:
            # A validation answer (e.g. 701 "input cannot be blank") proves the permission check passed.
            return CheckItem(
                name, True, "The API user may write activities (Marketo validated an empty batch)."
            )
        return CheckItem(name, False, f"Could not check: {exc}")
    return CheckItem(name, True, "The API user may write activities (Marketo accepted an empty batch).")


async def _custom_types_item(session: MarketoSession, wanted: Sequence[str]) -> CheckItem:
    name = "custom_activity_types"
    try:
        types = await custom_activities.list_types(session)
    except AccessDeniedError as exc:
        return CheckItem(
            name,
            False,
            "The API user cannot read custom activity types: give its role Read-Write Activity Metadata "
            f"(Marketo error {exc.code}).",
        )
    except ApiError as exc:
        return CheckItem(name, False, f"Could not list custom activity types: {exc}")
    by_name: dict[str, CustomActivityType] = {t.api_name: t for t in types}
    detail = {t.api_name: {"id": t.id, "status": t.status} for t in types}
    if not wanted:
        names = ", ".join(f"{t.api_name} ({t.status})" for t in types) or "none"
        return CheckItem(name, True, f"{len(types)} custom activity type(s) exist: {names}.", detail)
    missing = [n for n in wanted if n not in by_name]
    unapproved = [n for n in wanted if n in by_name and not by_name[n].approved]
    if not missing and not unapproved:
        return CheckItem(
            name,
            True,
            f"All {len(wanted)} custom activity types sia-tui needs exist and are approved.",
            detail,
        )
    parts = []
    if missing:
        parts.append(f"missing: {', '.join(missing)}")
    if unapproved:
        parts.append(f"not approved: {', '.join(f'{n} ({by_name[n].status})' for n in unapproved)}")
    return CheckItem(
        name,
        False,
        f"Custom activity types {'; '.join(parts)}; run the activity-type provisioning action in settings.",
        detail,
    )
