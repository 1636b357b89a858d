"""Deterministic demo people and sales users (English, Chinese and Japanese), the same for a given seed.

Everything comes from ``random.Random(seed)`` streams (never the global generator), so two sandboxes with the same
seed, size and ``now`` hold identical people, and the Salesforce side can materialise matching Leads, Contacts,
Accounts, Opportunities and Users from the same dicts. People are yielded one at a time so a million of them fit
in constant memory.

A person is a dict keyed by Marketo REST field names (``firstName``, ``sfdcLeadId``, ...) with ``createdAt`` /
``updatedAt`` as ISO-8601 ``Z`` strings and booleans as ``bool``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sia_sandbox.ids import sfdc_id

FIRST_LEAD_ID = 1001
HISTORY_YEARS_DAYS = 3 * 365

#: People whose index (0-based) is listed here are "hot": always owned, reachable, and very active.
HOT_INDEXES: tuple[int, ...] = (2, 3, 5, 8, 13, 21, 34, 55, 89, 144)

#: Deliberately hostile values at fixed positions, so every front end is tested against them.
MARKUP_INDEX = 6  # firstName holds Rich markup
ESCAPE_INDEX = 12  # lastName holds a terminal escape sequence
LONG_COMPANY_INDEX = 18  # company is 255 characters long

EN_FIRST = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony Betty Mark Sandra Steven Ashley Paul "
    "Emily Andrew Kimberly Joshua Donna Kevin Michelle Brian Carol George Amanda Timothy Melissa Ryan Deborah "
    "Jacob Stephanie Gary Rebecca Nicholas Sharon Eric Laura Jonathan Cynthia Olivia Ethan Sophia Liam Zoe"
).split()
EN_LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall "
    "Rivera Campbell Mitchell Carter Roberts O'Brien Müller Dubois Rossi Novak"
).split()
#: (hanzi, pinyin)
ZH_LAST = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
    ("林", "lin"), ("罗", "luo"), ("欧阳", "ouyang"),
)  # fmt: skip
ZH_FIRST = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("秀英", "xiuying"), ("敏", "min"), ("静", "jing"),
    ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
    ("艳", "yan"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"),
    ("秀兰", "xiulan"), ("霞", "xia"), ("子涵", "zihan"), ("浩然", "haoran"),
)  # fmt: skip
#: (kanji, romaji)
JA_LAST = (
    ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"), ("伊藤", "ito"),
    ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"), ("小林", "kobayashi"), ("加藤", "kato"),
    ("吉田", "yoshida"), ("山田", "yamada"), ("佐々木", "sasaki"), ("松本", "matsumoto"), ("井上", "inoue"),
)  # fmt: skip
JA_FIRST = (
    ("花子", "hanako"), ("太郎", "taro"), ("一郎", "ichiro"), ("美咲", "misaki"), ("翔太", "shota"),
    ("陽菜", "hina"), ("大輔", "daisuke"), ("結衣", "yui"), ("健太", "kenta"), ("さくら", "sakura"),
    ("拓也", "takuya"), ("愛", "ai"), ("直樹", "naoki"), ("由美", "yumi"),
)  # fmt: skip

#: Well-known companies: (name, email domain slug, industry, country, city, language)
FAMOUS_COMPANIES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("Acme Corporation", "acme", "Manufacturing", "United States", "Chicago", "en"),
    ("Globex Corporation", "globex", "Energy", "United States", "Springfield", "en"),
    ("Initech", "initech", "Software", "United States", "Austin", "en"),
    ("Northwind Traders", "northwind", "Retail", "United States", "Seattle", "en"),
    ("Contoso Ltd", "contoso", "Technology", "United Kingdom", "London", "en"),
    ("Fabrikam Inc", "fabrikam", "Technology", "United States", "Redmond", "en"),
    ("Umbrella Health", "umbrella-health", "Healthcare", "Canada", "Toronto", "en"),
    ("Stark Industrial Systems", "stark-industrial", "Aerospace", "United States", "New York", "en"),
    ("阿里巴巴集团", "alibaba-group", "Internet", "China", "杭州", "zh"),
    ("腾讯科技", "tencent-tech", "Internet", "China", "深圳", "zh"),
    ("华为技术有限公司", "huawei-tech", "Telecommunications", "China", "深圳", "zh"),
    ("小米科技", "xiaomi-tech", "Consumer Electronics", "China", "北京", "zh"),
    ("比亚迪股份有限公司", "byd-auto", "Automotive", "China", "深圳", "zh"),
    ("联想集团", "lenovo-group", "Technology", "China", "北京", "zh"),
    ("株式会社日立製作所", "hitachi-ltd", "Industrial", "Japan", "東京", "ja"),
    ("トヨタ自動車株式会社", "toyota-motor", "Automotive", "Japan", "豊田", "ja"),
    ("ソニーグループ株式会社", "sony-group", "Consumer Electronics", "Japan", "東京", "ja"),
    ("富士通株式会社", "fujitsu-ltd", "Technology", "Japan", "川崎", "ja"),
    ("任天堂株式会社", "nintendo-co", "Entertainment", "Japan", "京都", "ja"),
    ("楽天グループ株式会社", "rakuten-group", "Internet", "Japan", "東京", "ja"),
)
EN_CO_A = (
    "Blue Harbor Northwind Silver Peak Red Rock Evergreen Bright Path Iron Bridge Summit Lakeside Granite Pioneer "
    "Atlas Beacon Cedar Falcon Horizon Keystone Meridian Orion Redwood Sterling Vertex Willow"
).split()
EN_CO_B = (
    "Analytics Robotics Logistics Software Foods Capital Health Energy Labs Systems Media Dynamics Networks "
    "Partners Materials Ventures Biotech Solutions Cloud Security"
).split()
EN_CO_C = ("Inc", "LLC", "Ltd", "Corp", "Group", "Co", "GmbH", "plc")
ZH_CITY = ("北京", "上海", "深圳", "广州", "杭州", "成都", "南京", "苏州", "武汉", "西安")
ZH_CORE = ("星辰", "华信", "天成", "瑞丰", "龙腾", "云帆", "博远", "恒通", "新锐", "东方", "智汇", "晨光")
ZH_KIND = (
    "科技有限公司",
    "网络科技有限公司",
    "信息技术有限公司",
    "贸易有限公司",
    "智能制造有限公司",
    "生物医药有限公司",
)
ZH_SLUG = ("xingchen", "huaxin", "tiancheng", "ruifeng", "longteng", "yunfan", "boyuan", "hengtong", "xinrui", "dongfang", "zhihui", "chenguang")  # fmt: skip
JA_CORE = (
    "さくら",
    "みらい",
    "ひかり",
    "あおば",
    "大和",
    "日本橋",
    "東海",
    "北斗",
    "富士",
    "瀬戸内",
    "飛鳥",
    "常盤",
)
JA_KIND = ("システムズ", "テクノロジー", "商事", "ソリューションズ", "電機", "物産", "製薬", "ロジスティクス")
JA_SLUG = ("sakura", "mirai", "hikari", "aoba", "yamato", "nihonbashi", "tokai", "hokuto", "fuji", "setouchi", "asuka", "tokiwa")  # fmt: skip
JA_CITY = ("東京", "大阪", "名古屋", "横浜", "福岡", "札幌", "京都", "神戸")
EN_CITY = (
    "San Francisco",
    "New York",
    "Boston",
    "Chicago",
    "Austin",
    "Denver",
    "London",
    "Toronto",
    "Sydney",
    "Dublin",
)
EN_COUNTRY = ("United States", "United States", "United States", "United States", "United States", "United States", "United Kingdom", "Canada", "Australia", "Ireland")  # fmt: skip
INDUSTRIES = ("Software", "Manufacturing", "Healthcare", "Financial Services", "Retail", "Education", "Logistics", "Energy")  # fmt: skip

EN_TITLES = (
    "VP of Sales", "Director of Marketing", "Chief Technology Officer", "Procurement Manager", "Head of Operations",
    "IT Director", "Marketing Operations Manager", "CFO", "Product Manager", "Sales Operations Analyst",
    "Demand Generation Lead", "Chief Executive Officer",
)  # fmt: skip
ZH_TITLES = (
    "销售总监",
    "市场经理",
    "首席技术官",
    "采购经理",
    "运营总监",
    "信息技术主管",
    "产品经理",
    "总经理",
)
JA_TITLES = (
    "営業部長",
    "マーケティング課長",
    "情報システム部長",
    "購買担当",
    "代表取締役",
    "経営企画室長",
    "製品企画マネージャー",
)
LEAD_SOURCES = (
    "Website", "Webinar", "Trade Show", "Partner Referral", "Paid Search", "Content Syndication", "Cold Call",
    "LinkedIn", "Event", "Organic Search",
)  # fmt: skip
LEAD_STATUSES = ("Open", "Working", "Nurturing", "Qualified", "Unqualified")
UNSUB_REASONS = ("Clicked unsubscribe link", "Requested by phone", "Manual: GDPR request", "Spam complaint")
INVALID_CAUSES = ("550 5.1.1 User unknown", "550 5.1.1 Mailbox does not exist", "Domain has no MX record")
SUSPEND_CAUSES = ("Repeated hard bounces", "Spam complaint")
BLACKLIST_CAUSES = ("Known spam trap", "Role address on suppression list")
TIMEZONES = {"en": "America/New_York", "zh": "Asia/Shanghai", "ja": "Asia/Tokyo"}

#: (first, last, first_latin, last_latin, title, language)
SALES_USER_NAMES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("Alex", "Morgan", "alex", "morgan", "Account Executive", "en"),
    ("Priya", "Shah", "priya", "shah", "Senior Account Executive", "en"),
    ("Marcus", "Reed", "marcus", "reed", "Sales Development Rep", "en"),
    ("Emma", "Clarke", "emma", "clarke", "Regional Sales Manager", "en"),
    ("Diego", "Alvarez", "diego", "alvarez", "Account Executive", "en"),
    ("Hannah", "Becker", "hannah", "becker", "Enterprise Account Executive", "en"),
    ("Noah", "Kim", "noah", "kim", "Sales Development Rep", "en"),
    ("Grace", "O'Connor", "grace", "oconnor", "Account Manager", "en"),
    ("伟", "王", "wei", "wang", "大客户经理", "zh"),
    ("芳", "李", "fang", "li", "销售经理", "zh"),
    ("磊", "张", "lei", "zhang", "销售代表", "zh"),
    ("静", "陈", "jing", "chen", "区域销售总监", "zh"),
    ("浩然", "刘", "haoran", "liu", "客户成功经理", "zh"),
    ("花子", "佐藤", "hanako", "sato", "営業担当", "ja"),
    ("翔太", "鈴木", "shota", "suzuki", "アカウントエグゼクティブ", "ja"),
    ("美咲", "高橋", "misaki", "takahashi", "営業マネージャー", "ja"),
    ("大輔", "田中", "daisuke", "tanaka", "インサイドセールス", "ja"),
    ("結衣", "山本", "yui", "yamamoto", "営業部長", "ja"),
    ("Olivia", "Turner", "olivia", "turner", "VP of Sales", "en"),
    ("Samuel", "Osei", "samuel", "osei", "Channel Sales Manager", "en"),
)
SALES_DOMAIN = "sia-demo.example.com"


@dataclass(frozen=True)
class Company:
    index: int
    name: str
    domain: str
    industry: str
    country: str
    city: str
    language: str
    account_id: str
    opportunity_id: str | None
    opportunity_name: str | None


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def sales_users(seed: int) -> list[dict[str, Any]]:
    """The ~20 Salesforce Users who own people (``005…`` ids); the seed varies their ids, not their names."""
    rng = random.Random(f"users:{seed}")
    base = rng.randrange(1000, 50000)
    users = []
    for i, (first, last, first_l, last_l, title, lang) in enumerate(SALES_USER_NAMES):
        email = f"{first_l}.{last_l}@{SALES_DOMAIN}"
        name = f"{last} {first}" if lang in ("zh", "ja") else f"{first} {last}"
        users.append(
            {
                "Id": sfdc_id("005", base + i * 7),
                "Name": name,
                "FirstName": first,
                "LastName": last,
                "Email": email,
                "Username": email,
                "Alias": (first_l[:1] + last_l[:4]).lower(),
                "Title": title,
                "IsActive": i != len(SALES_USER_NAMES) - 1,  # one departed seller still owns people
                "TimeZoneSidKey": TIMEZONES[lang],
                "LanguageLocaleKey": {"en": "en_US", "zh": "zh_CN", "ja": "ja"}[lang],
                "Phone": f"+1 415-555-{100 + i:04d}",
            }
        )
    return users


def company_count(n: int) -> int:
    return max(len(FAMOUS_COMPANIES) + 10, n // 6)


def company(seed: int, index: int) -> Company:
    """Company ``index`` (stable for a seed): the famous ones first, then combinatorial names per language."""
    rng = random.Random(seed * 1_000_003 + index)
    if index < len(FAMOUS_COMPANIES):
        name, slug, industry, country, city, lang = FAMOUS_COMPANIES[index]
    else:
        lang = rng.choices(("en", "zh", "ja"), weights=(6, 2, 2))[0]
        industry = rng.choice(INDUSTRIES)
        if lang == "en":
            a, b, c = rng.choice(EN_CO_A), rng.choice(EN_CO_B), rng.choice(EN_CO_C)
            name = f"{a} {b} {c}"
            slug = f"{a}-{b}".lower().replace(" ", "")
            k = rng.randrange(len(EN_CITY))
            city, country = EN_CITY[k], EN_COUNTRY[k]
        elif lang == "zh":
            k = rng.randrange(len(ZH_CORE))
            city = rng.choice(ZH_CITY)
            name = f"{city}{ZH_CORE[k]}{rng.choice(ZH_KIND)}"
            slug, country = ZH_SLUG[k], "China"
        else:
            k = rng.randrange(len(JA_CORE))
            city = rng.choice(JA_CITY)
            kind = rng.choice(JA_KIND)
            name = f"株式会社{JA_CORE[k]}{kind}" if rng.random() < 0.5 else f"{JA_CORE[k]}{kind}株式会社"
            slug, country = JA_SLUG[k], "Japan"
        slug = f"{slug}{index}"
    has_oppty = rng.random() < 0.4
    return Company(
        index=index,
        name=name,
        domain=f"{slug}.example.com",
        industry=industry,
        country=country,
        city=city,
        language=lang,
        account_id=sfdc_id("001", 10_000 + index),
        opportunity_id=sfdc_id("006", 10_000 + index) if has_oppty else None,
        opportunity_name=f"{name} – {rng.choice(('Platform', 'Expansion', 'Renewal', 'Pilot'))} {2024 + index % 3}"
        if has_oppty
        else None,
    )


def hot_lead_ids(n: int, count: int = 5) -> list[int]:
    """Marketo ids of the hot people (≥300 activities in the last 90 days) in a sandbox of ``n`` people."""
    return [FIRST_LEAD_ID + i for i in HOT_INDEXES[:count] if i < n]


def _romanised_local(first: str, last: str, style: int) -> str:
    if style == 0:
        return f"{first}.{last}"
    if style == 1:
        return f"{first[:1]}{last}"
    return f"{first}_{last}"


def iter_people(seed: int, n: int, now: datetime, *, hot_count: int = 5) -> Iterator[dict[str, Any]]:
    """The ``n`` demo people in id order; deterministic for (seed, n, now)."""
    rng = random.Random(f"people:{seed}")
    users = sales_users(seed)
    n_companies = company_count(n)
    companies: dict[int, Company] = {}
    now_ms = to_ms(now)
    span_ms = HISTORY_YEARS_DAYS * 86_400_000
    recent_emails: list[tuple[str, str, str, str]] = []  # for duplicates: (email, first, last, company)
    hot = set(HOT_INDEXES[:hot_count])
    rand = rng.random

    def randrange(k: int) -> int:  # much cheaper than Random.randrange, and uniform enough for demo data
        return int(rand() * k)

    for i in range(n):
        lead_id = FIRST_LEAD_ID + i
        # Company: a skewed pick so big accounts have many contacts.
        ci = int(n_companies * (rand() ** 2.2))
        co = companies.get(ci)
        if co is None:
            co = company(seed, ci)
            if len(companies) < 200_000:
                companies[ci] = co
        lang = co.language if rand() < 0.85 else ("en", "zh", "ja")[randrange(3)]
        if lang == "zh":
            (last, last_l), (first, first_l) = (
                ZH_LAST[randrange(len(ZH_LAST))],
                ZH_FIRST[randrange(len(ZH_FIRST))],
            )
            title = ZH_TITLES[randrange(len(ZH_TITLES))]
            phone = f"+86 {('10', '21', '755')[randrange(3)]} 5555 {randrange(10000):04d}"
        elif lang == "ja":
            (last, last_l), (first, first_l) = (
                JA_LAST[randrange(len(JA_LAST))],
                JA_FIRST[randrange(len(JA_FIRST))],
            )
            title = JA_TITLES[randrange(len(JA_TITLES))]
            phone = f"+81 {('3', '6', '52')[randrange(3)]}-5555-{randrange(10000):04d}"
        else:
            first, last = EN_FIRST[randrange(len(EN_FIRST))], EN_LAST[randrange(len(EN_LAST))]
            first_l, last_l = first.lower(), last.lower().replace("'", "").replace("ü", "ue")
            title = EN_TITLES[randrange(len(EN_TITLES))]
            phone = f"+1 {201 + randrange(789)}-555-{randrange(10000):04d}"
        email = f"{_romanised_local(first_l, last_l, randrange(3))}{'' if rand() < 0.7 else randrange(100)}@{co.domain}"
        company_name = co.name
        duplicate = i > 20 and i not in hot and rand() < 0.02 and recent_emails
        if duplicate:
            email, first, last, company_name = recent_emails[randrange(len(recent_emails))]
        else:
            recent_emails.append((email, first, last, company_name))
            if len(recent_emails) > 500:
                recent_emails.pop(0)

        # Salesforce side: Lead 58 %, Contact 36 %, Marketo-only 6 %.
        r = rand()
        sfdc_type = "Lead" if r < 0.58 else ("Contact" if r < 0.94 else None)
        owner = users[randrange(len(users))]
        o = rand()
        if i in hot:
            sfdc_type = sfdc_type or "Contact"
            o = 0.0
        owner_id = owner["Id"] if (o < 0.88 and sfdc_type) else None
        external_sp = owner["Email"] if (o < 0.88 and sfdc_type) or (0.88 <= o < 0.91) else None

        created_ms = now_ms - randrange(span_ms) if i not in hot else now_ms - (400 + i) * 86_400_000
        created_ms -= created_ms % 1000
        u = rand()
        if u < 0.3:
            updated_ms = max(created_ms, now_ms - randrange(30 * 86_400_000))
        elif u < 0.75:
            updated_ms = created_ms + randrange(max(1, now_ms - created_ms))
        else:
            updated_ms = created_ms
        updated_ms -= updated_ms % 1000

        unsub = rand() < 0.06
        suspended = rand() < 0.02
        invalid = rand() < 0.03
        black = rand() < 0.01
        if i in hot:
            unsub = suspended = invalid = black = False
        score = int(min(250, rng.gammavariate(2.0, 22.0))) if i not in hot else 180 + i
        relative = 3 if score > 110 else 2 if score > 60 else 1 if score > 25 else 0
        urgency = min(3, int(rand() * 4 * (0.4 + score / 250)))
        priority = min(3, (relative + urgency + 1) // 2)
        with_oppty = sfdc_type == "Contact" and co.opportunity_id is not None and rand() < 0.6

        person: dict[str, Any] = {
            "id": lead_id,
            "firstName": first,
            "lastName": last,
            "email": email,
            "company": company_name,
            "title": title,
            "phone": phone,
            "mobilePhone": None,
            "industry": co.industry,
            "city": co.city,
            "country": co.country,
            "personTimeZone": TIMEZONES[lang],
            "leadSource": LEAD_SOURCES[randrange(len(LEAD_SOURCES))],
            "leadStatus": LEAD_STATUSES[randrange(len(LEAD_STATUSES))] if sfdc_type == "Lead" else None,
            "linkedInProfileUrl": (
                f"https://www.linkedin.com/in/{first_l}-{last_l}-{randrange(16**6):06x}"
                if rand() < 0.7
                else None
            ),
            "sfdcType": sfdc_type,
            "sfdcLeadId": sfdc_id("00Q", 100_000 + i) if sfdc_type == "Lead" else None,
            "sfdcContactId": sfdc_id("003", 100_000 + i) if sfdc_type == "Contact" else None,
            "sfdcAccountId": co.account_id if sfdc_type == "Contact" else None,
            "sfdcAccountName": co.name if sfdc_type == "Contact" else None,
            "sfdcOpptyId": co.opportunity_id if with_oppty else None,
            "sfdcOpptyName": co.opportunity_name if with_oppty else None,
            "sfdcLeadOwnerId": owner_id,
            "externalSalesPersonId": external_sp,
            "unsubscribed": unsub,
            "unsubscribedReason": UNSUB_REASONS[randrange(len(UNSUB_REASONS))] if unsub else None,
            "marketingSuspended": suspended,
            "marketingSuspendedCause": SUSPEND_CAUSES[randrange(2)] if suspended else None,
            "emailInvalid": invalid,
            "emailInvalidCause": INVALID_CAUSES[randrange(3)] if invalid else None,
            "blackListed": black,
            "blackListedCause": BLACKLIST_CAUSES[randrange(2)] if black else None,
            "doNotCall": rand() < 0.03,
            "leadScore": score,
            "relativeScore": relative,
            "urgency": urgency,
            "priority": priority,
            "createdAt": iso_ms(created_ms),
            "updatedAt": iso_ms(updated_ms),
        }
        if i == MARKUP_INDEX:
            person["firstName"] = "[bold red]x[/]"
        elif i == ESCAPE_INDEX:
            person["lastName"] = "Escape\x1b[2J"
        elif i == LONG_COMPANY_INDEX:
            long_name = "Extremely Long Company Name Holdings International " * 6
            person["company"] = long_name[:255].rstrip()
        yield person


def default_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
