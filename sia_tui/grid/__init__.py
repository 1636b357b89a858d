"""The smart grid: one person's Marketo activity (interesting moments, web, email, sales) fetched fast.

UI-free: the TUI and ``sia-tui --headless grid`` both use :func:`sia_tui.grid.fetch.fetch_grid` /
:func:`~sia_tui.grid.fetch.load_grid`, the cache in :mod:`sia_tui.grid.cache` and :mod:`sia_tui.grid.scores`.
"""
