"""Ids of the emulated org: its fixed org and integration-user ids, and fresh record ids minted at run time.

(Checksums and the 15/18-character forms live in :mod:`sia_sandbox.ids`, shared with the data generator.)
"""

from __future__ import annotations

import sqlite3

from sia_sandbox.ids import sfdc_id, to18
from sia_sandbox.salesforce.schema import SfObject

#: The emulated org and its API user (client-credentials "Run As" user; also LastModifiedById of API writes).
ORG_ID = to18("00D8Z00000SIAtu")
INTEGRATION_USER_ID = to18("0058Z00000INTEG")
#: Pod characters of ids minted at run time, so they never collide with the generator's ``5g`` ids.
RUNTIME_POD = "8Z"


def new_id(db: sqlite3.Connection, obj: SfObject) -> str:
    """A fresh 18-char id with the object's key prefix (run-time pod, so seeded ids never collide)."""
    while True:
        row = db.execute(
            "INSERT INTO sf_counters (prefix, n) VALUES (?, 1) ON CONFLICT (prefix) DO UPDATE SET n = n + 1 "
            "RETURNING n",
            (obj.key_prefix,),
        ).fetchone()
        candidate = sfdc_id(obj.key_prefix, int(row[0]), pod=RUNTIME_POD)
        if db.execute("SELECT 1 FROM sf_records WHERE id = ?", (candidate,)).fetchone() is None:
            return candidate
