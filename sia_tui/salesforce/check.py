"""``settings test`` for Salesforce: each thing sia-tui needs, checked without writing anything.

Each item says in one sentence what works or exactly what is missing, so an admin can fix it without logs:
the token, the API version, Task access (logging emails/calls, reminder sync), the opt-out field on Lead and
Contact (unsubscribes), the Task external-id field if one is configured (idempotent logging), and API usage left.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sia_tui.net import ApiError
from sia_tui.salesforce.models import CheckItem

if TYPE_CHECKING:
    from sia_tui.salesforce.client import SalesforceClient


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.lstrip("v").split(".") if p.isdigit())


def _field(describe: dict[str, Any], name: str) -> dict[str, Any] | None:
    for f in describe.get("fields") or []:
        if isinstance(f, dict) and str(f.get("name", "")).lower() == name.lower():
            return f
    return None


async def _token(sf: SalesforceClient) -> CheckItem:
    try:
        await sf.authenticate(force=True)
    except ApiError as exc:
        return CheckItem("token", False, str(exc))
    flow = "client-credentials" if sf.grant_type == "client_credentials" else "refresh-token"
    return CheckItem(
        "token",
        True,
        f"Logged in to {sf.instance_url} with the {flow} flow.",
        {"instance_url": sf.instance_url},
    )


async def _api_version(sf: SalesforceClient) -> CheckItem:
    try:
        versions = await sf.versions()
    except ApiError as exc:
        return CheckItem("api_version", False, f"Cannot list the org's API versions: {exc}")
    known = sorted({str(v.get("version")) for v in versions if v.get("version")}, key=_version_key)
    wanted = sf.api_version.lstrip("v")
    newest = f"v{known[-1]}" if known else "none"
    if wanted in known:
        return CheckItem(
            "api_version", True, f"API {sf.api_version} is available (newest: {newest}).", {"newest": newest}
        )
    return CheckItem(
        "api_version",
        False,
        f"This org does not serve API {sf.api_version} (it offers {known[0] if known else 'none'} to {newest}).",
        {"newest": newest},
    )


async def _tasks(sf: SalesforceClient, external_id_field: str | None) -> list[CheckItem]:
    try:
        task = await sf.describe("Task", refresh=True)
    except ApiError as exc:
        return [CheckItem("task_access", False, f"Cannot describe Task: {exc}")]
    missing = [what for what in ("queryable", "createable", "updateable") if not task.get(what)]
    if missing:
        words = {"queryable": "read", "createable": "create", "updateable": "update"}
        item = CheckItem(
            "task_access",
            False,
            "The integration user cannot "
            + " or ".join(words[m] for m in missing)
            + " Tasks: emails and calls "
            "cannot be logged to Salesforce (grant Read/Create/Edit on Task).",
        )
    else:
        item = CheckItem("task_access", True, "Can read, create and update Tasks.")
    items = [item]
    if external_id_field:
        f = _field(task, external_id_field)
        if f is None:
            items.append(
                CheckItem(
                    "task_external_id",
                    False,
                    f"Task has no field {external_id_field}: create it as an External ID text field, or clear "
                    "salesforce.external_id_field.",
                )
            )
        elif not f.get("externalId"):
            items.append(
                CheckItem(
                    "task_external_id",
                    False,
                    f"Task.{external_id_field} exists but is not marked External ID, so it cannot be used for "
                    "upserts.",
                )
            )
        else:
            items.append(
                CheckItem(
                    "task_external_id",
                    True,
                    f"Task.{external_id_field} is an external id: each activity is logged at most once.",
                )
            )
    return items


async def _optout(sf: SalesforceClient, sobject: str, field: str) -> CheckItem:
    name = f"{sobject.lower()}_optout"
    try:
        describe = await sf.describe(sobject, refresh=True)
    except ApiError as exc:
        return CheckItem(name, False, f"Cannot describe {sobject}: {exc}")
    f = _field(describe, field)
    if f is None:
        return CheckItem(
            name, False, f"{sobject} has no field {field}: unsubscribes cannot be written there."
        )
    if not f.get("updateable"):
        return CheckItem(
            name,
            False,
            f"{sobject}.{field} is read-only for the integration user: unsubscribes cannot be written "
            "(grant Edit field-level security).",
        )
    return CheckItem(name, True, f"{sobject}.{field} is writable: unsubscribes reach Salesforce.")


async def _usage(sf: SalesforceClient) -> CheckItem:
    try:
        limits = await sf.limits()
        daily = limits.get("DailyApiRequests") or {}
        maximum, remaining = int(daily.get("Max", 0)), int(daily.get("Remaining", 0))
    except (ApiError, TypeError, ValueError) as exc:
        info = sf.limit_info
        if info is None:
            return CheckItem("api_usage", False, f"Cannot read the org's API limits: {exc}")
        maximum, remaining = info.max, info.remaining
    data = {"remaining": remaining, "max": maximum}
    if remaining <= 0:
        return CheckItem(
            "api_usage",
            False,
            f"The org has used all {maximum:,} daily API requests: calls fail until usage falls over the "
            "rolling 24 hours.",
            data,
        )
    share = remaining / maximum if maximum else 0.0
    note = " (less than 10% left)" if share < 0.1 else ""
    return CheckItem("api_usage", True, f"{remaining:,} of {maximum:,} daily API requests left{note}.", data)


async def run_checks(
    sf: SalesforceClient, *, optout_field: str = "HasOptedOutOfEmail", external_id_field: str | None = None
) -> list[CheckItem]:
    """Every check, in order; if the login fails nothing else can be checked and that one item says why."""
    token = await _token(sf)
    if not token.ok:
        return [token]
    items = [token, await _api_version(sf)]
    items += await _tasks(sf, external_id_field)
    for sobject in ("Lead", "Contact"):
        items.append(await _optout(sf, sobject, optout_field))
    items.append(await _usage(sf))
    return items
