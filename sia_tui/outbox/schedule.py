"""Reading a scheduled send time (``email ... --send-at``, the compose screen's "Send at" field).

``2026-12-08 09:00`` is in the seller's zone (``seller.timezone``, default: this machine's); a zone name
(``2026-12-08 09:00 Asia/Tokyo``) or an offset (``2026-12-08T09:00+09:00``, ``...Z``) says otherwise. A local time
that does not exist (skipped by a daylight-saving change) or that is already past is refused with one sentence.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sia_tui.clock import ZoneError, zone, zone_label
from sia_tui.i18n import _
from sia_tui.outbox.compose import OutboxInputError

#: A send time further ahead than this is taken for a typo.
MAX_AHEAD = timedelta(days=366)


def parse_send_at(text: str, seller_zone: tzinfo, now: datetime) -> datetime:
    """The moment (aware, UTC) ``text`` names; raises :class:`OutboxInputError` with one sentence."""
    raw = (text or "").strip()
    if not raw:
        raise OutboxInputError(_("The send time is empty; give it as 2026-12-08 09:00."))
    where: tzinfo = seller_zone
    body = raw
    head, _sep, last = raw.rpartition(" ")
    if head and ("/" in last or last.upper() == "UTC" or last.upper() == "GMT"):
        try:
            where = zone(last)
        except ZoneError as exc:
            raise OutboxInputError(str(exc)) from None
        body = head.strip()
    try:
        parsed = datetime.fromisoformat(body.replace("z", "Z"))
    except ValueError:
        raise OutboxInputError(
            _(
                "{text!r} is not a send time; write it as 2026-12-08 09:00 (your zone), "
                "2026-12-08 09:00 Asia/Tokyo, or 2026-12-08T09:00+09:00."
            ).format(text=raw)
        ) from None
    if parsed.tzinfo is None:
        moment = parsed.replace(tzinfo=where)
        back = moment.astimezone(UTC).astimezone(where).replace(tzinfo=None)
        if back != parsed:
            raise OutboxInputError(
                _("{text} does not exist in {zone}: the clocks skip it (daylight saving).").format(
                    text=parsed.isoformat(sep=" ", timespec="minutes"), zone=getattr(where, "key", where)
                )
            )
    elif head and where is not seller_zone:
        raise OutboxInputError(_("Give either an offset or a zone name in the send time, not both."))
    else:
        moment = parsed
    moment = moment.astimezone(UTC)
    if moment <= now:
        raise OutboxInputError(
            _("The send time {when} has already passed.").format(when=moment.strftime("%Y-%m-%d %H:%M UTC"))
        )
    if moment - now > MAX_AHEAD:
        raise OutboxInputError(_("The send time is more than a year ahead; check the year."))
    return moment


def seller_zone(settings: Any) -> tzinfo:
    """``seller.timezone`` (an IANA name), else this machine's zone."""
    try:
        return zone(str(settings.get("seller.timezone") or ""))
    except ZoneError:
        return zone("")


def local_text(stamp: str | datetime, where: tzinfo) -> str:
    """A stored time as the seller reads it: ``2026-12-08 09:00 Asia/Tokyo``."""
    moment = datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
    return f"{moment.astimezone(where).strftime('%Y-%m-%d %H:%M:%S')} {zone_label(where)}"
