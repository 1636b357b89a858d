"""Deterministic cached people for TUI tests and benchmarks: English, Chinese and Japanese names, flags, and the
hostile names every front end must show literally."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

MARKUP_NAME = "[bold red]x[/]"
ESCAPE_NAME = "Escape\x1b[2J"

_EN_FIRST = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Ethan",
    "Mia",
    "Lucas",
    "Zoe",
    "Mason",
    "Grace",
    "Owen",
]
_EN_LAST = ["Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Taylor", "Clark", "Lewis"]
_ZH = [
    ("伟", "王"),
    ("芳", "李"),
    ("娜", "张"),
    ("秀英", "刘"),
    ("敏", "陈"),
    ("浩然", "欧阳"),
    ("子涵", "黄"),
]
_JA = [
    ("花子", "田中"),
    ("太郎", "佐藤"),
    ("美咲", "高橋"),
    ("翔太", "鈴木"),
    ("さくら", "山本"),
    ("大輔", "中村"),
]
_EN_CO = [
    "Acme Corporation",
    "Globex",
    "Initech",
    "Northwind Traders",
    "Blue Harbor Analytics",
    "Vertex Labs",
]
_ZH_CO = ["阿里巴巴集团", "腾讯科技", "华为技术有限公司", "星辰网络科技有限公司"]
_JA_CO = ["トヨタ自動車株式会社", "ソニーグループ株式会社", "株式会社日立製作所", "さくらシステムズ"]
_TITLES = [
    "VP of Sales",
    "IT Director",
    "CFO",
    "销售总监",
    "営業部長",
    "Product Manager",
    "マーケティング課長",
]
OWNERS = [
    ("00500000000001AAA", "alex.morgan@sia-demo.example.com"),
    ("00500000000002AAA", "wang.wei@sia-demo.example.com"),
]


def make_people(count: int, *, seed: int = 7, start_id: int = 1001) -> Iterator[dict[str, Any]]:
    """``count`` people; ids from ``start_id``; positions 3 and 4 hold the markup and escape-sequence names."""
    rng = random.Random(seed)
    for i in range(count):
        marketo_id = start_id + i
        kind = i % 3
        if kind == 0:
            first, last = rng.choice(_EN_FIRST), rng.choice(_EN_LAST)
            company = rng.choice(_EN_CO)
            email = f"{first.lower()}.{last.lower()}{i}@{company.split()[0].lower()}.example.com"
        elif kind == 1:
            first, last = rng.choice(_ZH)
            company = rng.choice(_ZH_CO)
            email = f"zh{i}@example.cn"
        else:
            first, last = rng.choice(_JA)
            company = rng.choice(_JA_CO)
            email = f"ja{i}@example.jp"
        if i == 3:
            first = MARKUP_NAME
        if i == 4:
            last = ESCAPE_NAME
        owner_id, owner_email = OWNERS[i % 5 == 0]
        has_sf = i % 4 != 1
        yield {
            "marketo_id": marketo_id,
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": f"+1 555 01{i % 100:02d}",
            "company": company,
            "title": rng.choice(_TITLES),
            "linkedin_url": f"https://www.linkedin.com/in/person-{marketo_id}",
            "source": rng.choice(["Website", "Webinar", "Trade Show"]),
            "sfdc_lead_id": f"00Q{marketo_id:012d}AAA" if has_sf and i % 2 == 0 else None,
            "sfdc_contact_id": f"003{marketo_id:012d}AAA" if has_sf and i % 2 == 1 else None,
            "sfdc_account_id": f"001{marketo_id:012d}AAA" if has_sf else None,
            "sfdc_opportunity_id": None,
            "sfdc_type": "Lead" if i % 2 == 0 else "Contact",
            "owner_id": owner_id,
            "owner_email": owner_email,
            "unsubscribed": i % 11 == 5,
            "marketing_suspended": i % 17 == 6,
            "email_invalid": i % 13 == 7,
            "black_listed": False,
            "lead_score": (i * 37) % 100,
            "priority": (i * 53) % 100,
            "urgency": (i * 29) % 100,
            "relative_score": (i % 5) + 1,
            "marketo_created_at": "2024-01-02T03:04:05Z",
            "marketo_updated_at": f"2025-0{1 + i % 9}-1{i % 10}T10:00:00Z",
            "synced_at": "2025-06-01T12:00:00+00:00",
        }
