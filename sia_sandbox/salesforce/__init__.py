"""The sandbox's Salesforce: the REST API (api.py and its handlers by seam) over an org kept in the state file.

API: api.py (routes, auth/limit/transaction wrapper, the rule table) → router.py; auth.py (OAuth, sessions),
sobjects.py (describe, CRUD, external ids), replication.py (``updated`` / ``deleted``), query.py (SOQL and
cursors), composite.py (collections, composite); wire.py (calls, replies, JSON, errors); org.py (clock, lock,
transactions, the daily allocation); control.py (``/_sandbox/salesforce/*``).
Store: schema.py (sObjects and fields), ids.py (org ids, minting), records.py (SQLite tables), validation.py (write
rules), conversion.py (lead conversion), seeding.py (demo data), formats.py (dates on the wire).
"""
