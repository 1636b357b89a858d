"""The people sync: Marketo → the local people cache (owner-gated, 13 fixed fields, read-only).

Front door: :mod:`sia_tui.sync.engine` (``run_sync``, ``watch``, ``last_sync_at``). Modules: ``plan`` (sizing the
instance, REST vs bulk by estimated time), ``initial`` (REST id ranges, bulk extract, static list; resumable),
``incremental`` (lead changes, deleted leads, list membership from paging tokens), ``writer`` (batches into the
cache), ``fields`` (field mapping and the sales-owner rule), ``checkpoint``/``progress``/``lock``.
"""
