"""The sandbox: a local emulator of the Marketo and Salesforce REST APIs plus an SMTP sink, with demo data.

Start one with ``server.start_sandbox(SandboxConfig(...))`` (background thread) or ``server.serve(...)``
(foreground; ``python -m sia_sandbox``). ``app.create_app(config)`` is the same thing as an ASGI app.

Core: config.py (settings, demo credentials), clock.py (sandbox time, movable), state.py (SQLite state, limits,
tokens, stats), datagen.py (people and sales users), activity_gen.py (lazy behaviour, the documented activity
rate) / activity_store.py (the instance's activity stream), middleware.py (stats, faults, Marketo limits,
latency), control.py (``/_sandbox``), smtp_sink.py. Marketo: marketo_*.py, bulk_jobs.py (the export machinery
shared by lead and activity extracts). Salesforce: salesforce_*.py and soql.py. This package shares nothing with the clients but the wire format.
"""
