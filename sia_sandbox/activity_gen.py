"""Lazily generated Marketo behaviour: what each demo person did, hour by hour, recomputed on every read.

Nothing here is stored, so a million people start instantly. Whether person ``x`` has a "session" (an email
campaign touch, a web visit, a sales email thread, ...) in hour ``s`` on lane ``l`` is decided by a pseudo-random
*permutation* of all people for that (hour, lane): person x is active when ``(a*x + b) mod n < k``. That makes both
questions cheap: "what did these 30 people do this week" (test each hour), and "what did anyone do this hour"
(invert the permutation for ``j < k``, no scan of all people). ``k`` follows office hours and weekdays; people have
an engagement tier that accepts more or fewer of their slots, and a few "hot" people are busy every day. Each
session's activities come from ``random.Random(hash(seed, person, hour, lane))``.

Everyone else is also on the nurture programme: one email touch every :data:`NURTURE_DAYS` days at an hour fixed
per person (lane 2, which only hot people use otherwise), so every person has activity across any 90 days, however
disengaged. The touch days and hours are arithmetic in the person's index, so "who gets a touch this hour" is
enumerated, never scanned.

The demo activity rate (documented; ``GET /_sandbox/activity-rate?days=N`` measures it on a running sandbox).
Activities of every type per person per day, over a week (weekdays busier than weekends, office hours busier
than nights), measured at 2,000 people (seed 42):

=====  ===================================  ==================  ===============================================
tier   who                                  per person per day  what
=====  ===================================  ==================  ===============================================
cold   engagement tiers 0-1, ~55 % of them  ~0.24 (~22 / 90 d)  the fortnightly nurture email, an occasional
                                                                 campaign email or visit
warm   engagement tiers 2-4, ~45 %          ~0.6 (~55 / 90 d)   campaign emails with opens and clicks, web
                                                                 visits, sales emails and calls from their owner
hot    the named hot people (5 by default)  ~5 (450+ / 90 d)    busy every day: well over 300 in any 90 days
=====  ===================================  ==================  ===============================================

The instance averages ~0.41 activities per person per day (~820 a day at 2,000 people, ~41,000 at 100,000), so
with Marketo's paging (each call walks 300 of them, activity_store.py) one person's 90 days cost ~250 calls per
type chunk at 2,000 people. That is a modest B2B rate: real instances also log score changes, data-value changes,
list and program-status changes that the sandbox does not generate, so they page more.

Activity ids: ``hour * 10**10 + person * 32 + k`` (k < 30 for behaviour, 30/31 for the seeded Change Data Value /
New Lead records), so they are unique, stable and roughly time-ordered; ids of stored (API-written) activities use
``hour * 10**10 + 9 * 10**9 + seq``. All stay below 2**53 so JSON clients keep them exact.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sia_sandbox.activity_types import SALES_CALL_TYPE_ID
from sia_sandbox.datagen import EN_TITLES, FIRST_LEAD_ID, iso_ms
from sia_sandbox.ids import mix64

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
SLOT_ID = 10**10
STORED_ID_OFFSET = 9 * 10**9
LANE_IDS = 10  # activity index range per lane
P_DAY = 0.25  # share of people on a lane in a day before tiers thin it out
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 9, 8, 9, 10, 9, 8, 6, 4, 3, 2, 2, 1, 1)
_WEIGHT_SUM = sum(HOUR_WEIGHTS)
_WEEKEND = 0.3
_WEEK_NORM = 7 / (5 + 2 * _WEEKEND)
#: acceptance per engagement tier (per mille) on lane 0; tier 4 and hot people also use lane 1
_ACCEPT = (0, 100, 350, 1000, 1000)
NURTURE_DAYS = 14  # every person not "hot" gets a nurture email this often
NURTURE_HOURS = tuple(range(13, 21))  # UTC; which one is fixed per person
NURTURE_LANE = 2

# flags (same bits as state.py)
FLAG_SEEDED = 1
FLAG_EMAIL_INVALID = 2
FLAG_UNSUBSCRIBED = 4
FLAG_HAS_OWNER = 8

SITE = "www.sia-demo.example.com"
EMAIL_ASSETS = (
    (1101, "Newsletter 2026.Monthly Newsletter – January"),
    (1102, "Newsletter 2026.Monthly Newsletter – February"),
    (1103, "Newsletter 2026.Monthly Newsletter – March"),
    (1110, "Webinar – AI in Sales.Invitation"),
    (1111, "Webinar – AI in Sales.Reminder"),
    (1112, "Webinar – AI in Sales.Follow-up"),
    (1120, "Nurture – Onboarding.Email 1 – Welcome"),
    (1121, "Nurture – Onboarding.Email 2 – Getting Started"),
    (1122, "Nurture – Onboarding.Email 3 – Customer Story"),
    (1130, "APAC 新产品发布会.邀请函"),
    (1131, "APAC 製品セミナー.ご案内メール"),
    (1140, "Product Launch 2026.Announcement"),
    (1150, "Event – SaaS Summit Tokyo.Invitation"),
)
WEBPAGES = (
    (2001, "/"),
    (2002, "/pricing"),
    (2003, "/product/overview"),
    (2004, "/product/integrations"),
    (2005, "/customers/case-studies"),
    (2006, "/blog/ai-for-sales-teams"),
    (2007, "/resources/whitepaper-2026"),
    (2008, "/contact-us"),
    (2009, "/zh/pricing"),
    (2010, "/ja/seminar"),
    (2011, "/docs/getting-started"),
    (2012, "/events/saas-summit-tokyo"),
)
FORMS = (
    (3001, "Contact Us"),
    (3002, "Webinar Registration"),
    (3003, "Whitepaper Download"),
    (3004, "Free Trial Signup"),
)
LINKS = (
    (4001, "https://www.sia-demo.example.com/pricing"),
    (4002, "https://www.sia-demo.example.com/resources/whitepaper-2026"),
    (4003, "https://www.sia-demo.example.com/events/saas-summit-tokyo"),
    (4004, "https://www.sia-demo.example.com/customers/case-studies"),
)
SALES_TEMPLATES = (
    (501, "Quick question about your sales workflow"),
    (502, "Following up on our demo"),
    (503, "Pricing proposal for your team"),
    (504, "初回のご挨拶とご提案"),
    (505, "跟进：产品演示与报价"),
    (506, "Checking in before the quarter ends"),
)
SALES_CAMPAIGNS = ("Q1 Outbound – Enterprise", "Webinar Follow-up", "APAC Expansion", "Re-engage Closed Lost")
NURTURE_ASSETS = (
    (1201, "Nurture – Evergreen.Tips from the Field"),
    (1202, "Nurture – Evergreen.Customer Story of the Month"),
    (1203, "Nurture – Evergreen.Product Update Digest"),
    (1204, "Nurture – APAC.お客様事例のご紹介"),
    (1205, "Nurture – APAC.客户成功案例"),
)
CALL_OUTCOMES = (
    ("completed", "Connected – interested"),
    ("completed", "Connected – follow up next quarter"),
    ("completed", "Connected – not the right person"),
    ("completed", "Meeting booked"),
    ("no answer", "Left voicemail"),
    ("no answer", "No answer"),
    ("failed", "Wrong number"),
)
CALL_REASONS = ("Follow-up", "Discovery", "Demo request", "Renewal", "Cold call")
MILESTONES = (
    "Milestone: Lead score passed 100",
    "Milestone: Became a Marketing Qualified Lead",
    "Registered for webinar: AI in Sales",
    "Attended event: SaaS Summit Tokyo",
    "Downloaded whitepaper: The 2026 Sales Playbook",
    "Requested a demo",
)
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
)
BOUNCES = (
    ("1", "1003", "550 5.1.1 <{email}>: Recipient address rejected: User unknown"),
    ("2", "2001", "550 5.7.1 Message rejected as spam by Content Filtering"),
)
SOFT_BOUNCES = (
    ("4", "4003", "554 5.4.7 [internal] (last transfail: 454 4.4.4 [internal] no MX or A for domain)"),
    ("3", "3001", "552 5.2.2 The email account that you tried to reach is over quota"),
)


@dataclass(frozen=True)
class LeadInfo:
    """What generation needs to know about a person (immutable flags + display values)."""

    id: int
    created_ms: int
    flags: int
    email: str | None
    name: str
    owner_email: str | None
    owner_number: int


def attrs(*pairs: tuple[str, Any]) -> list[dict[str, Any]]:
    """Attributes as Marketo lists them; empty ones are omitted."""
    return [{"name": n, "value": v} for n, v in pairs if v is not None and v != ""]


Activity = tuple[int, int, dict[str, Any]]  # (activity ms, id, record)


class Generator:
    def __init__(
        self, seed: int, people: int, anchor_ms: int, history_days: int, hot_ids: Iterable[int]
    ) -> None:
        self.seed = seed
        self.n = max(1, people)
        self.start_ms = (anchor_ms - history_days * DAY_MS) // HOUR_MS * HOUR_MS
        self.hot = frozenset(hot_ids)
        self._slots: dict[int, tuple[tuple[int, int, int, int], ...]] = {}

    # -- who is active when --------------------------------------------------------------------------------

    def seeded(self, lead_id: int) -> bool:
        return FIRST_LEAD_ID <= lead_id < FIRST_LEAD_ID + self.n

    def rate_tier(self, lead_id: int) -> str:
        """The documented activity-rate tier: "hot" (the named hot people), "warm" (engagement tiers 2-4) or
        "cold" (tiers 0-1); see the module docstring for the rates."""
        tier = self.tier(lead_id)
        return "hot" if tier == 5 else "warm" if tier >= 2 else "cold"

    def tier(self, lead_id: int) -> int:
        if lead_id in self.hot:
            return 5
        t = mix64(self.seed, lead_id, 0x71E5) % 100
        return 0 if t < 15 else 1 if t < 55 else 2 if t < 85 else 3 if t < 97 else 4

    def lanes(self, slot: int) -> tuple[tuple[int, int, int, int], ...]:
        """(a, b, k, a_inverse) of the two lane permutations of hour ``slot``."""
        cached = self._slots.get(slot)
        if cached is not None:
            return cached
        n = self.n
        hour = slot % 24
        weekday = (slot // 24 + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        expected = (
            n * P_DAY * HOUR_WEIGHTS[hour] / _WEIGHT_SUM * _WEEK_NORM * (_WEEKEND if weekday >= 5 else 1.0)
        )
        out = []
        for lane in (0, 1):
            h = mix64(self.seed, slot, lane, 0x5107)
            k = int(expected + (h % 1000) / 1000)
            if n == 1:
                out.append((1, 0, k, 1))
                continue
            a = h % (n - 1) + 1
            while math.gcd(a, n) != 1:
                a = a % (n - 1) + 1
            b = (h >> 20) % n
            out.append((a, b, k, pow(a, -1, n)))
        lanes = tuple(out)
        if len(self._slots) > 50_000:
            self._slots.clear()
        self._slots[slot] = lanes
        return lanes

    def _accepts(self, lead_id: int, tier: int, slot: int, lane: int) -> bool:
        if lane == 1 and tier < 4:
            return False
        accept = 1000 if tier >= 3 else _ACCEPT[tier]
        if accept >= 1000:
            return True
        if accept <= 0:
            return False
        return mix64(self.seed, lead_id, slot, lane, 0xACC) % 1000 < accept

    def _hot_lane(self, lead_id: int, slot: int) -> bool:
        hour = slot % 24
        return 7 <= hour <= 20 and mix64(self.seed, lead_id, slot, 0xB07) % 9 == 0

    def sessions_of(self, lead_id: int, first_slot: int, last_slot: int) -> list[tuple[int, int]]:
        """(slot, lane) of ``lead_id``'s sessions in hours first_slot..last_slot (inclusive)."""
        if not self.seeded(lead_id):
            return []
        tier = self.tier(lead_id)
        x = lead_id - FIRST_LEAD_ID
        n = self.n
        nurture_hour = self.nurture_hour(x)
        out = []
        for slot in range(max(first_slot, self.start_ms // HOUR_MS), last_slot + 1):
            if tier:
                for lane, (a, b, k, _inv) in enumerate(self.lanes(slot)):
                    if (a * x + b) % n < k and self._accepts(lead_id, tier, slot, lane):
                        out.append((slot, lane))
            if tier == 5:
                if self._hot_lane(lead_id, slot):
                    out.append((slot, 2))
            elif slot % 24 == nurture_hour and (slot // 24 + x) % NURTURE_DAYS == 0:
                out.append((slot, NURTURE_LANE))
        return out

    @staticmethod
    def nurture_hour(x: int) -> int:
        """The UTC hour of person index ``x``'s nurture touches (spread evenly over :data:`NURTURE_HOURS`)."""
        return NURTURE_HOURS[x // NURTURE_DAYS % len(NURTURE_HOURS)]

    def nurtured_in(self, slot: int) -> list[int]:
        """Lead ids with a nurture touch in hour ``slot``: ``x ≡ -day (mod NURTURE_DAYS)`` at their hour."""
        hour = slot % 24
        if hour not in NURTURE_HOURS:
            return []
        residue = (-(slot // 24)) % NURTURE_DAYS
        step = NURTURE_DAYS * len(NURTURE_HOURS)
        first = residue + NURTURE_DAYS * NURTURE_HOURS.index(hour)
        return [x + FIRST_LEAD_ID for x in range(first, self.n, step) if x + FIRST_LEAD_ID not in self.hot]

    def sessions_in(self, slot: int) -> list[tuple[int, int]]:
        """(lead id, lane) of everyone's sessions in hour ``slot``."""
        if slot * HOUR_MS < self.start_ms:
            return []
        n = self.n
        out = []
        for lane, (_a, b, k, inv) in enumerate(self.lanes(slot)):
            for j in range(min(k, n)):
                lead_id = (j - b) * inv % n + FIRST_LEAD_ID
                tier = self.tier(lead_id)
                if tier and self._accepts(lead_id, tier, slot, lane):
                    out.append((lead_id, lane))
        for lead_id in self.hot:
            if self.seeded(lead_id) and self._hot_lane(lead_id, slot):
                out.append((lead_id, 2))
        out.extend((lead_id, NURTURE_LANE) for lead_id in self.nurtured_in(slot))
        return out

    # -- what a session holds ------------------------------------------------------------------------------

    def session(self, info: LeadInfo, slot: int, lane: int) -> list[Activity]:
        rng = random.Random(mix64(self.seed, info.id, slot, lane))
        base_ms = slot * HOUR_MS + rng.randrange(0, 40 * 60_000)
        if base_ms < info.created_ms:
            return []
        has_owner = bool(info.flags & FLAG_HAS_OWNER) and info.owner_email is not None
        b = _Builder(info, slot, lane, base_ms, rng)
        if lane == NURTURE_LANE and info.id not in self.hot:
            if info.flags & FLAG_UNSUBSCRIBED:
                b.web_visit()  # no more marketing email; the person still reads the site now and then
            else:
                b.email_campaign(open_rate=0.2, nurture=True)
            return b.out
        weights = (45, 30, 14 if has_owner else 0, 6 if has_owner else 0, 5)
        scenario = rng.choices(("email", "web", "sales", "call", "moment"), weights=weights)[0]
        if scenario == "email":
            b.email_campaign()
        elif scenario == "web":
            b.web_visit()
        elif scenario == "sales":
            b.sales_thread()
        elif scenario == "call":
            b.sales_call()
        else:
            b.moment(rng.choice(MILESTONES), "Milestone", "Marketo")
        return b.out


class _Builder:
    """Appends one session's activities, each a little after the previous, all within the hour."""

    def __init__(self, info: LeadInfo, slot: int, lane: int, base_ms: int, rng: random.Random) -> None:
        self.info = info
        self.rng = rng
        self.ms = base_ms
        self.limit_ms = slot * HOUR_MS + HOUR_MS - 1
        self.id_base = slot * SLOT_ID + info.id * 32 + lane * LANE_IDS
        self.out: list[Activity] = []
        self.ip = f"203.0.113.{rng.randrange(1, 255)}"
        self.ua = rng.choice(USER_AGENTS)

    def add(self, type_id: int, gap_ms: tuple[int, int], record: dict[str, Any]) -> None:
        if len(self.out) >= LANE_IDS:
            return
        # whole seconds, as the wire shows them, so (date, id) order is the same on both sides of the wire
        self.ms = min(self.limit_ms, self.ms + self.rng.randrange(*gap_ms)) // 1000 * 1000
        activity_id = self.id_base + len(self.out)
        full = {
            "id": activity_id,
            "marketoGUID": str(activity_id),
            "leadId": self.info.id,
            "activityDate": iso_ms(self.ms),
            "activityTypeId": type_id,
            **record,
        }
        full.setdefault("attributes", [])
        self.out.append((self.ms, activity_id, full))

    def moment(self, description: str, kind: str, source: str) -> None:
        self.add(46, (1_000, 60_000), {
            "primaryAttributeValue": description,
            "attributes": attrs(("Date", iso_ms(self.ms)), ("Source", source), ("Type", kind)),
        })  # fmt: skip

    def webpage(self, page: tuple[int, str], referrer: str = "") -> None:
        page_id, path = page
        self.add(1, (5_000, 180_000), {
            "primaryAttributeValueId": page_id,
            "primaryAttributeValue": f"{SITE}{path}",
            "attributes": attrs(
                ("Client IP Address", self.ip), ("Query Parameters", ""), ("Referrer URL", referrer),
                ("User Agent", self.ua), ("Webpage URL", path),
            ),
        })  # fmt: skip

    def email_campaign(self, *, open_rate: float = 0.45, nurture: bool = False) -> None:
        rng, info = self.rng, self.info
        mailing_id, name = rng.choice(NURTURE_ASSETS if nurture else EMAIL_ASSETS)
        campaign_id = 1000 + mailing_id % 97
        common = {
            "primaryAttributeValueId": mailing_id,
            "primaryAttributeValue": name,
            "campaignId": campaign_id,
        }
        run = (
            ("Campaign Run ID", rng.randrange(10, 400)),
            ("Choice Number", 0),
            ("Step ID", rng.randrange(10, 900)),
        )
        self.add(6, (0, 1), {**common, "attributes": attrs(*run)})
        if info.flags & FLAG_EMAIL_INVALID or rng.random() < 0.02:
            category, sub, details = rng.choice(BOUNCES)
            self.add(8, (2_000, 20_000), {**common, "attributes": attrs(
                *run, ("Category", category), ("Details", details.format(email=info.email or "")),
                ("Email", info.email), ("Subcategory", sub),
            )})  # fmt: skip
            return
        if rng.random() < 0.03:
            category, sub, details = rng.choice(SOFT_BOUNCES)
            self.add(27, (2_000, 20_000), {**common, "attributes": attrs(
                *run, ("Category", category), ("Details", details), ("Email", info.email), ("Subcategory", sub),
            )})  # fmt: skip
            return
        self.add(7, (2_000, 40_000), {**common, "attributes": attrs(*run)})
        if rng.random() >= open_rate:
            return
        mobile = "iPhone" in self.ua or "Android" in self.ua
        device = (("Device", "Mobile" if mobile else "Desktop"), ("Is Mobile Device", mobile),
                  ("Platform", "iOS" if "iPhone" in self.ua else "Android" if "Android" in self.ua else "Windows"),
                  ("Is Bot Activity", False), ("User Agent", self.ua))  # fmt: skip
        self.add(10, (60_000, 900_000), {**common, "attributes": attrs(*run, *device)})
        if rng.random() < 0.3:
            self.moment(f"Opened email: {name}", "Email", "Email")
        if rng.random() >= 0.4:
            return
        link_id, link = rng.choice(LINKS)
        self.add(11, (10_000, 300_000), {**common, "attributes": attrs(
            *run, *device, ("Link", link), ("Link ID", str(link_id)),
        )})  # fmt: skip
        self.moment(f"Clicked link in email: {name}", "Email", "Email")
        path = link.removeprefix(f"https://{SITE}")
        page = next((p for p in WEBPAGES if p[1] == path), WEBPAGES[0])
        self.webpage(page, referrer="")
        if info.flags & FLAG_UNSUBSCRIBED and rng.random() < 0.5:
            self.add(9, (5_000, 60_000), {**common, "attributes": attrs(
                *run, ("Client IP Address", self.ip), ("User Agent", self.ua), ("Webform ID", 9001),
                ("Webpage ID", 2999), ("Referrer URL", f"https://{SITE}/unsubscribe"),
            )})  # fmt: skip

    def web_visit(self) -> None:
        rng = self.rng
        referrer = rng.choice(
            ("https://www.google.com/", "https://www.linkedin.com/", "", "https://www.bing.com/")
        )
        for _ in range(rng.randrange(1, 5)):
            page = rng.choice(WEBPAGES)
            self.webpage(page, referrer)
            referrer = f"https://{SITE}{page[1]}"
            if page[1] in ("/pricing", "/zh/pricing"):
                self.moment("Visited pricing page", "Web", "Web")
        if rng.random() < 0.15:
            link_id, link = rng.choice(LINKS)
            self.add(3, (5_000, 60_000), {
                "primaryAttributeValueId": link_id, "primaryAttributeValue": link,
                "attributes": attrs(("Client IP Address", self.ip), ("Referrer URL", referrer),
                                    ("User Agent", self.ua), ("Webpage ID", 2001)),
            })  # fmt: skip
        if rng.random() < 0.15:
            form_id, form = rng.choice(FORMS)
            fields = f'a:3:{{s:5:"Email";s:{len(self.info.email or "")}:"{self.info.email or ""}";s:6:"formid";s:4:"{form_id}";}}'
            self.add(2, (30_000, 240_000), {
                "primaryAttributeValueId": form_id, "primaryAttributeValue": f"Website Forms.{form}",
                "attributes": attrs(("Client IP Address", self.ip), ("Form Fields", fields),
                                    ("Referrer URL", referrer), ("User Agent", self.ua), ("Webpage ID", 2008)),
            })  # fmt: skip
            self.moment(f"Filled out form: {form}", "Web", "Web")

    def sales_thread(self) -> None:
        rng, info = self.rng, self.info
        template_id, subject = rng.choice(SALES_TEMPLATES)
        campaign = rng.choice(SALES_CAMPAIGNS)
        artifact = rng.randrange(10_000_000, 99_999_999)
        common = (
            ("Sent By", info.owner_email), ("Source", "Sales App"), ("Template ID", template_id),
            ("Sales Template URL", f"https://app.sia-demo.example.com/templates/{template_id}"),
            ("Sales Campaign URL", f"https://app.sia-demo.example.com/campaigns/{SALES_CAMPAIGNS.index(campaign) + 7001}"),
            ("Sales Template Name", subject), ("Email Subject", f"{subject} (SIA-{artifact})"),
            ("Sales Campaign Name", campaign), ("Marketo Sales Person ID", info.owner_number),
            ("Artifact ID", artifact),
        )  # fmt: skip
        self.add(
            39, (0, 1), {"primaryAttributeValue": f"{subject} (SIA-{artifact})", "attributes": attrs(*common)}
        )
        if info.flags & FLAG_EMAIL_INVALID:
            self.add(48, (5_000, 60_000), {"attributes": attrs(
                ("Details", "550 5.1.1 User unknown"), ("Email", info.email), ("Sent By", info.owner_email),
                ("Marketo Sales Person ID", info.owner_number), ("Template ID", template_id),
            )})  # fmt: skip
            return
        if rng.random() >= 0.55:
            return
        self.add(
            40,
            (120_000, 1_200_000),
            {"primaryAttributeValue": f"{subject} (SIA-{artifact})", "attributes": attrs(*common)},
        )
        if rng.random() < 0.25:
            _link_id, link = rng.choice(LINKS)
            self.add(41, (10_000, 300_000), {"primaryAttributeValue": f"{subject} (SIA-{artifact})",
                                             "attributes": attrs(("Link", link), *common)})  # fmt: skip
        if rng.random() < 0.2:
            self.add(45, (60_000, 900_000), {"primaryAttributeValue": f"Re: {subject}", "attributes": attrs(
                ("Received By", info.owner_email), ("Source", "Sales App"),
                ("Marketo Sales Person ID", info.owner_number), ("Artifact ID", artifact),
            )})  # fmt: skip
            self.moment(f"Replied to sales email: {subject}", "Email", "Sales App")

    def sales_call(self) -> None:
        """A call the person's owner logged in MSIA (the native Received Sales Call type)."""
        rng, info = self.rng, self.info
        status, outcome = rng.choice(CALL_OUTCOMES)
        duration = rng.randrange(180, 1_800) if status == "completed" else rng.randrange(0, 40)
        self.add(SALES_CALL_TYPE_ID, (0, 1), {
            "primaryAttributeValue": outcome,
            "attributes": attrs(
                ("Sales Call Made By", info.owner_email), ("Sales Call Status", status),
                ("Sales Call Duration", duration), ("Sales Call Reason", rng.choice(CALL_REASONS)),
                ("Source", "Sales App"), ("Marketo Sales Person ID", info.owner_number),
                ("Artifact ID", rng.randrange(10_000_000, 99_999_999)),
            ),
        })  # fmt: skip
        if status == "completed" and rng.random() < 0.3:
            self.moment(f"Spoke with sales: {outcome}", "Call", "Sales App")


def new_lead_record(row: Any, ms: int) -> Activity:
    """The seeded New Lead (12) activity of a generated person, at its createdAt."""
    activity_id = ms // HOUR_MS * SLOT_ID + row["id"] * 32 + 31
    name = " ".join(p for p in (row["firstName"], row["lastName"]) if p)
    record = {
        "id": activity_id,
        "marketoGUID": str(activity_id),
        "leadId": row["id"],
        "activityDate": iso_ms(ms),
        "activityTypeId": 12,
        "primaryAttributeValueId": row["id"],
        "primaryAttributeValue": name,
        "attributes": attrs(
            ("Created Date", iso_ms(ms)[:10]),
            ("Lead Source", row["leadSource"]),
            ("SFDC Type", row["sfdcType"]),
            ("Source Type", "New lead" if (row["id"] % 3) else "Web form fillout"),
            ("Form Name", None if (row["id"] % 3) else "Website Forms.Contact Us"),
        ),
        "fields": [],
    }
    return (ms, activity_id, record)


TITLE_FIELD_ID = 6


def seeded_change_record(seed: int, row: Any, ms: int) -> Activity:
    """The seeded Change Data Value (13) activity at a generated person's original updatedAt (a title change)."""
    activity_id = ms // HOUR_MS * SLOT_ID + row["id"] * 32 + 30
    old = EN_TITLES[mix64(seed, row["id"], 0x717E) % len(EN_TITLES)]
    new = row["title"] or ""
    if old == new:
        old = "Consultant"
    record = {
        "id": activity_id,
        "marketoGUID": str(activity_id),
        "leadId": row["id"],
        "activityDate": iso_ms(ms),
        "activityTypeId": 13,
        "primaryAttributeValueId": TITLE_FIELD_ID,
        "primaryAttributeValue": "Job Title",
        "attributes": attrs(("Reason", "Salesforce.com sync"), ("Source", "Salesforce.com")),
        "fields": [{"id": TITLE_FIELD_ID, "name": "title", "newValue": new, "oldValue": old}],
    }
    return (ms, activity_id, record)
