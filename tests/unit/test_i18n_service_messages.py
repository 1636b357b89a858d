"""Service errors are written in the seller's language; reasons stored in English are shown in it."""

from __future__ import annotations

import pytest

from sia_tui.config import SettingError, parse_value
from sia_tui.i18n import using_locale
from sia_tui.outbox.model import shown_reason
from sia_tui.outbox.queue import CANCELLED_REASON, STOPPED_NOTE


def _setting_error(raw: str) -> str:
    with pytest.raises(SettingError) as caught:
        parse_value("marketo.max_calls_per_20s", raw)
    return str(caught.value)


def test_a_setting_error_speaks_the_process_language() -> None:
    with using_locale("en"):
        assert _setting_error("500") == "marketo.max_calls_per_20s: must be at most 100, got 500"
    with using_locale("ja"):
        assert (
            _setting_error("500")
            == "marketo.max_calls_per_20s: 100 以下にしてください (500 が指定されました)"
        )
    with using_locale("zh-TW"):
        assert _setting_error("500") == "marketo.max_calls_per_20s: 不可大於 100，收到的是 500"


def test_a_stored_english_reason_is_shown_in_the_seller_language() -> None:
    with using_locale("ja"):
        assert shown_reason(CANCELLED_REASON) == "営業担当者がキャンセル"
        assert shown_reason(STOPPED_NOTE).startswith("この書き込みの途中で")
    with using_locale("zh-TW"):
        assert shown_reason(CANCELLED_REASON) == "由業務取消"
    with using_locale("en"):
        assert shown_reason(CANCELLED_REASON) == "cancelled by the seller"


def test_a_reason_not_in_the_catalogue_is_shown_as_stored() -> None:
    with using_locale("ja"):
        assert shown_reason("550 5.1.1 mailbox unavailable") == "550 5.1.1 mailbox unavailable"
        assert shown_reason(None) == ""
        assert shown_reason("") == ""  # never the catalogue's header
