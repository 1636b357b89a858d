"""Which language an email to a person is written in, and how they are addressed in it.

An email is written in the **recipient's** language where it is known, else in the **seller's** (the UI's,
``ui.locale``). Known means, first evidence wins:

1. the email domain's country: ``.jp`` → ja; ``.tw``, ``.hk``, ``.mo`` → zh-TW; ``.uk``, ``.us``, ``.au``,
   ``.ca``, ``.nz``, ``.ie`` → en; ``.cn`` and ``.sg`` (Simplified Chinese, which sia-tui does not write) → not
   known, so the seller's language;
2. the company: kana or a Japanese company form → ja; a Chinese one (公司, 集團) → zh-TW;
3. the name's script (:mod:`sia_tui.names`): a Japanese name → ja, a Chinese one → zh-TW. A Latin-script name says
   nothing (a Japanese seller writing to "Jane Smith" at a ``.com`` writes Japanese).

No person field states a language or country (MSIA syncs 13 fixed fields), so these are the signals there are.
The built-in templates and the unsubscribe sentences are chosen in that language; a seller's own template file
may state its language (``Language: ja``), and then its footer follows the file, not the guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sia_tui import names
from sia_tui.i18n import current_locale, normalize_locale

_BY_COUNTRY = {
    "jp": "ja",
    "tw": "zh-TW",
    "hk": "zh-TW",
    "mo": "zh-TW",
    "uk": "en",
    "us": "en",
    "au": "en",
    "ca": "en",
    "nz": "en",
    "ie": "en",
}
#: Domains whose people read a language sia-tui does not write (Simplified Chinese): the seller's language.
_UNKNOWN_COUNTRIES = frozenset({"cn", "sg"})
_JA_COMPANY = ("株式会社", "有限会社", "合同会社", "合資会社", "合名会社", "（株）", "(株)", "㈱")
_ZH_COMPANY = ("公司", "集團", "企業社")

#: Japanese and Chinese job titles that address a person better than a name alone (王經理, 陳總經理).
ZH_TITLES: tuple[str, ...] = (
    "董事長", "總經理", "副總經理", "執行長", "營運長", "財務長", "技術長", "行銷長", "副總裁", "總裁", "副總",
    "協理", "經理", "總監", "處長", "主任", "課長", "組長", "科長", "部長", "廠長", "顧問", "教授", "博士",
    "醫師", "律師", "會計師", "校長", "總经理", "经理", "总监", "总裁", "处长", "董事长",
)  # fmt: skip


def _country(email: str | None) -> str:
    domain = (email or "").rpartition("@")[2].strip().lower().rstrip(".")
    return domain.rpartition(".")[2] if "." in domain else ""


def recipient_language(person: Mapping[str, Any]) -> str | None:
    """The person's language where the record shows it (``en``, ``zh-TW``, ``ja``), else None."""
    country = _country(str(person.get("email") or ""))
    if country in _UNKNOWN_COUNTRIES:
        return None
    if country in _BY_COUNTRY:
        return _BY_COUNTRY[country]
    company = str(person.get("company") or "")
    if names.has_kana(company) or any(form in company for form in _JA_COMPANY):
        return "ja"
    if any(form in company for form in _ZH_COMPANY):
        return "zh-TW"
    style = names.name_style(
        str(person.get("first_name") or ""),
        str(person.get("last_name") or ""),
        email=str(person.get("email") or ""),
        company=company,
    )
    return {"ja": "ja", "zh": "zh-TW"}.get(style)


def email_language(person: Mapping[str, Any], seller_language: str | None = None) -> str:
    """The language of an email to ``person``: theirs where known, else the seller's (default: the UI's)."""
    return recipient_language(person) or normalize_locale(seller_language) or current_locale()


def honorific_name(person: Mapping[str, Any], language: str) -> str:
    """How the person is addressed at the top of an email in ``language`` (the ``{{honorific_name}}`` field):

    - ja: family name + 様 (山田様, Smith様); the given name + 様 without a family name; ご担当者様 without a name.
    - zh-TW: family name + job title when the title names one (王經理, 陳總經理), else the full name (王小明);
      templates add 您好. Without a name: empty (the greeting reads 您好：).
    - en: the first name ("Hi Jane,"); "there" without one ("Hi there,").
    """
    first = str(person.get("first_name") or "").strip()
    last = str(person.get("last_name") or "").strip()
    code = normalize_locale(language) or "en"
    if code == "ja":
        if last or first:
            return f"{last or first}様"
        return "ご担当者様"
    if code == "zh-TW":
        title = str(person.get("title") or "")
        if last:
            for word in sorted(ZH_TITLES, key=len, reverse=True):  # 副總經理 before 總經理
                if word in title:
                    return f"{last}{word}"
        return names.display_name(person)
    return first or "there"
