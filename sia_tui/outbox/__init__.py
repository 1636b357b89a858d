"""The durable outbox: every email and call is a SQLite row first; a worker delivers it exactly once.

See :mod:`sia_tui.outbox.worker` for the delivery guarantees.
"""
