"""How a person's name is written: the one function for the list, the panel, compose, the call log, the outbox,
tasks, the CLI and email templates.

The order is decided by the **name's script**, never by the UI language (a Japanese seller still reads "Jane
Smith", and an English one "山田 太郎"):

- Japanese names: family name first, a space between (山田 太郎).
- Chinese names: family name first, no space (高浩然); Korean names likewise (김민준).
- Everything else: given name first (Jane Smith).
- When one part is CJK and the other Latin ("山田" + "Taro"), family first with a space.

Telling a kanji-only Japanese name from a Chinese one (:func:`han_name_language`), first evidence wins:

1. kana in the name → Japanese; hangul → Korean;
2. the name itself: a character only Japanese names use (国字 such as 畑 辻 込 峠 栃 榊, or a Japanese
   simplified form such as 沢 浜 辺 斎 広 恵 桜 徳), a family name of two or more kanji that is not a Chinese
   compound surname (歐陽, 司馬, 諸葛 …), or a given name of three or more kanji or ending in 郎 → Japanese
   (高橋一郎 at a Chinese company is still 高橋 一郎); a Chinese compound surname → Chinese;
3. the email domain's country: ``.jp`` → Japanese; ``.tw``, ``.hk``, ``.mo``, ``.cn``, ``.sg`` → Chinese;
4. the company: kana or a Japanese company form (株式会社, 有限会社, 合同会社, 合資会社, 合名会社) → Japanese;
   a Chinese one (公司, 集團, 集团, 企業社) → Chinese;
5. otherwise Chinese: a one-character family name with a one- or two-character given name is the overwhelming
   Chinese pattern, and a wrong guess costs only the space (both orders put the family name first).

No person field states a country (MSIA syncs 13 fixed fields), so these are the signals there are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

NameStyle = Literal["western", "ja", "zh", "ko"]

_KANA = re.compile("[\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9d]")
_HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3005\U00020000-\U0002fa1f]")
_CJK = re.compile(f"{_KANA.pattern}|{_HANGUL.pattern}|{_HAN.pattern}")

#: Country-code domains whose people write names the Japanese or the Chinese way.
JA_DOMAINS = frozenset({"jp"})
ZH_DOMAINS = frozenset({"tw", "hk", "mo", "cn", "sg"})
_JA_COMPANY = ("株式会社", "有限会社", "合同会社", "合資会社", "合名会社", "(株)", "（株）", "㈱")
#: Characters found in Japanese names but not in Chinese ones: 国字 (kanji made in Japan) and shinjitai forms that
#: differ from both the traditional and the simplified Chinese character.
JA_ONLY_HAN = frozenset(
    "畑畠込辻峠栃榊笹匂枠凪雫躾椛樫柾杢糀鰯麿"  # 国字
    "沢浜辺斎斉広恵栄桜実亜徳郷渕鉄竜滝瀬姫県駅黒湾隠穂"  # shinjitai
)
#: Chinese family names of two characters (traditional and simplified), which are not a sign of a Japanese name.
ZH_COMPOUND_SURNAMES = frozenset(
    {
        "歐陽", "欧阳", "欧陽", "司馬", "司马", "諸葛", "诸葛", "上官", "東方", "东方", "皇甫", "尉遲", "尉迟",
        "公孫", "公孙", "令狐", "夏侯", "慕容", "宇文", "長孫", "长孙", "軒轅", "轩辕", "端木", "獨孤", "独孤",
        "南宮", "南宫", "西門", "西门", "澹臺", "澹台", "司徒", "司空", "申屠", "鍾離", "钟离", "呼延", "百里",
        "万俟", "張簡", "张简", "范姜", "張廖", "张廖",
    }
)  # fmt: skip


def has_cjk(text: str) -> bool:
    """Any Chinese, Japanese or Korean character."""
    return bool(_CJK.search(text or ""))


def has_kana(text: str) -> bool:
    return bool(_KANA.search(text or ""))


def _domain_country(email: str | None) -> str:
    domain = (email or "").rpartition("@")[2].strip().lower().rstrip(".")
    return domain.rpartition(".")[2] if "." in domain else ""


def han_name_language(
    first: str, last: str, *, email: str | None = None, company: str | None = None
) -> Literal["ja", "zh"]:
    """Whether a name written in Chinese characters (no kana, no hangul) is Japanese or Chinese; see the module."""
    family, given = last.strip(), first.strip()
    if any(ch in JA_ONLY_HAN for ch in family + given):
        return "ja"
    if family in ZH_COMPOUND_SURNAMES:
        return "zh"
    if len(family) >= 2 and _HAN.fullmatch(family[0]):
        return "ja"
    if len(given) >= 3 or (len(given) >= 2 and given.endswith("郎")):  # 一太郎, 太郎: Chinese given names are 1-2
        return "ja"
    country = _domain_country(email)
    if country in JA_DOMAINS:
        return "ja"
    if country in ZH_DOMAINS:
        return "zh"
    firm = (company or "").strip()
    if has_kana(firm) or any(form in firm for form in _JA_COMPANY):
        return "ja"
    return "zh"


def name_style(
    first: str | None, last: str | None, *, email: str | None = None, company: str | None = None
) -> NameStyle:
    """How this name is written (see the module): ``western``, ``ja``, ``zh`` or ``ko``."""
    f, la = (first or "").strip(), (last or "").strip()
    name = f + la
    if not has_cjk(name):
        return "western"
    if has_kana(name):
        return "ja"
    if _HANGUL.search(name):
        return "ko"
    return han_name_language(f, la, email=email, company=company)


def full_name(
    first: str | None, last: str | None, *, email: str | None = None, company: str | None = None
) -> str:
    """The name as it is written: Jane Smith · 山田 太郎 · 高浩然 · 김민준 ("" when both parts are empty)."""
    f, la = (first or "").strip(), (last or "").strip()
    if not f or not la:
        return f or la
    style = name_style(f, la, email=email, company=company)
    if style == "western":
        return f"{f} {la}"
    if style in ("zh", "ko") and has_cjk(f) and has_cjk(la):
        return f"{la}{f}"
    return f"{la} {f}"


def display_name(person: Mapping[str, Any]) -> str:
    """The name of a person row (``first_name``, ``last_name``; ``email`` and ``company`` help tell Japanese from
    Chinese), or "" when it has none: callers add their own fallback (the email, the id)."""
    return full_name(
        _text(person.get("first_name")),
        _text(person.get("last_name")),
        email=_text(person.get("email")),
        company=_text(person.get("company")),
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value)
