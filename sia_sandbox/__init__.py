"""The sandbox: a local emulator of the Marketo and Salesforce REST APIs plus an SMTP sink, with demo data.

Start one with ``server.start_sandbox(SandboxConfig(...))`` (background thread) or ``server.serve(...)``
(foreground; ``python -m sia_sandbox``). ``app.create_app(config)`` is the same thing as an ASGI app.

Core: config.py (settings, demo credentials), state.py (SQLite state, limits, tokens, stats), datagen.py (people
and sales users), activity_gen.py / activity_store.py (lazy activity history), middleware.py (stats, faults,
Marketo limits, latency), control.py (``/_sandbox``), smtp_sink.py. Marketo: marketo_*.py. Salesforce:
salesforce_*.py and soql.py. This package shares nothing with the clients but the wire format.
"""
