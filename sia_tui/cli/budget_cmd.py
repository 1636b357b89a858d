"""``sia-tui budget [--json]``: today's Marketo API calls against ``marketo.daily_quota``.

This machine's calls per purpose come from the machine's budget ledger (every sia-tui process on the machine
records its calls there); the instance's own count is one ``stats/usage.json`` call, tagged ``check``. If that
call fails, the machine's figures are still shown and stderr says why.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sia_tui.cli.app import G, app, emit_json, info, run_async, settings_for_command, stdout, table
from sia_tui.clock import require_time
from sia_tui.i18n import N_, _

USAGE_TIMEOUT_S = 15.0
PURPOSE_HELP = {
    "grid": N_("a seller's grid"),
    "feed": N_("the activity feed"),
    "sync": N_("the people sync"),
    "outbox": N_("the outbox worker (checks, logging)"),
    "tasks": N_("reminder-task sync"),
    "check": N_("settings test, budget"),
    "other": N_("untagged scripts"),
}


@app.command("budget")
def budget_command() -> None:
    """Marketo API calls spent today: by this machine (per purpose) and by the whole instance, against the quota."""
    from sia_tui.embedded_sandbox import stop_embedded_sandboxes

    settings = settings_for_command()
    try:
        report, problem = run_async(lambda: _run(settings))
    finally:
        stop_embedded_sandboxes()
    if problem:
        info(problem)
    if G.json:
        emit_json(report)
    else:
        _print_human(report)


async def _run(settings: Any) -> tuple[dict[str, Any], str | None]:
    from sia_tui import budget
    from sia_tui.budget.report import usage_report
    from sia_tui.clock import system_clock
    from sia_tui.connections import marketo_client, resolve
    from sia_tui.marketo.session import RetryPolicy
    from sia_tui.net import ApiError

    settings.paths.ensure()
    client = marketo_client(settings, resolve(settings))
    # A status command answers within seconds: a couple of quick retries, not the sync's patient defaults.
    client.session.policy = RetryPolicy(2, 0.25, 2.0)
    instance_used: int | None = None
    problem: str | None = None
    async with client:
        with budget.purpose("check"):
            try:
                usage = await asyncio.wait_for(client.usage_today(), USAGE_TIMEOUT_S)
            except (ApiError, TimeoutError) as exc:
                usage = None
                problem = _("Marketo's own count of today's calls could not be read: {error}").format(
                    error=str(exc) or type(exc).__name__
                )
            else:
                if usage is None:
                    problem = _(
                        "This Marketo instance does not report its API usage (stats/usage.json), so only this "
                        "machine's calls are shown."
                    )
    now = system_clock()
    ledger = client.limiter.ledger
    if usage is not None:
        instance_used = usage.total
        ledger.note_instance_usage(client.instance, usage.date or budget.marketo_day(now), usage.total, now)
    report = usage_report(
        ledger,
        client.instance,
        quota=int(settings.get("marketo.daily_quota")),
        now=now,
        instance_used=instance_used,
        window_s=client.limiter.window_s,
    )
    return report, problem


def _local(iso: str) -> str:
    return require_time(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def _print_human(report: dict[str, Any]) -> None:
    rows = [
        (name, f"{calls:,}", _(PURPOSE_HELP.get(name, ""))) for name, calls in report["by_purpose"].items()
    ]
    rows.append((_("total"), f"{report['used_by_this_machine']:,}", ""))
    stdout.print(
        _("Marketo instance {instance}, Marketo day {day} (it starts at midnight US Central)").format(
            instance=report["instance"], day=report["day"]
        ),
        markup=False,
    )
    table(None, [_("purpose"), _("calls today by this machine"), ""], rows)
    quota = report["quota"]
    if report["instance_used"] is None:
        line = _("Instance total: unknown. This machine alone: {used:,} of {quota:,} ({percent}%).").format(
            used=report["used_by_this_machine"], quota=quota, percent=report["percent"]
        )
    else:
        line = _(
            "Instance total (all machines and integrations): {used:,} of {quota:,} ({percent}%)."
        ).format(used=report["instance_used"], quota=quota, percent=report["percent"])
    stdout.print(line, markup=False)
    resets = _local(report["resets_at"])
    if report["projected_exhaustion"] is None:
        line = _(
            "At today's rate ({rate:,} calls an hour) the quota lasts until it resets at {resets}."
        ).format(rate=report["calls_per_hour"], resets=resets)
    else:
        line = _(
            "At today's rate ({rate:,} calls an hour) the quota runs out at {when}, before it resets at {resets}."
        ).format(rate=report["calls_per_hour"], when=_local(report["projected_exhaustion"]), resets=resets)
    stdout.print(line, markup=False)
    if report["paused_until"]:
        stdout.print(
            _("Marketo asked every process to slow down; calls resume at {when}.").format(
                when=_local(report["paused_until"])
            ),
            markup=False,
        )
