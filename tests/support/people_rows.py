"""A minimal cached person for store and search tests: only what the test overrides differs between people."""

from __future__ import annotations


def person(i: int, **kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "marketo_id": i,
        "first_name": f"First{i}",
        "last_name": f"Last{i}",
        "email": f"p{i}@example.com",
        "company": "Acme",
        "title": "CTO",
        "owner_id": "005A",
    }
    base.update(kw)
    return base
