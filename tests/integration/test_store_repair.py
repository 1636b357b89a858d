"""The repair advice is true (issue 12.2): following it rebuilds the cache and keeps every opt-out, ledger entry,
outbox item and task, so a person who opted out is still never emailed."""

from __future__ import annotations

import re
from pathlib import Path

from tests.integration.test_outbox import pick


def test_following_the_advice_for_a_damaged_cache_keeps_what_cannot_be_rebuilt(cli, people, running):
    opted_out, other = pick(people, 2, kind="contact")
    code, _, err = cli("optout", str(opted_out["marketo_id"]), "--reason", "asked by phone", "--json")
    assert code == 0, err
    code, _, err = cli("email", str(other["marketo_id"]), "--subject", "Hello", "--body", "Hi.", "--json")
    assert code == 0, err
    code, _, err = cli("task", "add", str(other["marketo_id"]), "--subject", "Follow up", "--due", "2026-12-09")
    assert code == 0, err
    code, report, err = cli("worker", "--once", "--json")
    assert code == 0 and report["sent"] == 1, err
    code, ledger_before, _ = cli("ledger", "--json")
    code, outbox_before, _ = cli("outbox", "--json")
    code, tasks_before, _ = cli("task", "list", "--all", "--json")

    # The cache file is damaged: the error names it and says what to do.
    from sia_tui.config import load_settings

    cache = load_settings().cache_path
    cache.write_bytes(b"scrambled by a disk error " * 400)
    code, out, err = cli("people", "search", "a", "--json")
    assert code == 1 and out is None
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    advice = re.search(r"The cache (\S+) is damaged .* delete it and run `sia-tui sync`", err)
    assert advice is not None, err

    # Do exactly what it says.
    Path(advice.group(1)).unlink()
    code, summary, err = cli("sync", "--json")
    assert code == 0, err
    assert summary["people"] > 0

    # Nothing that cannot be rebuilt was lost...
    assert cli("ledger", "--json")[1] == ledger_before
    assert cli("outbox", "--json")[1] == outbox_before
    assert cli("task", "list", "--all", "--json")[1] == tasks_before
    # ...and the opt-out still blocks: an email to that person is blocked at send time.
    code, queued, err = cli(
        "email", str(opted_out["marketo_id"]), "--subject", "Hello again", "--body", "Hi.", "--json"
    )
    assert code == 0, err
    code, report, err = cli("worker", "--once", "--json")
    assert code == 0 and report["blocked"] == 1 and report["sent"] == 0, err
    code, entries, _ = cli("ledger", "--item", queued["id"], "--json")
    assert [e["decision"] for e in entries] == ["blocked"]
    assert "opt" in entries[0]["reason"].lower()
