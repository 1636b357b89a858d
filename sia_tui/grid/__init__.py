"""The smart grid: one person's Marketo activity (interesting moments, web, email, sales), from the local store.

UI-free: the person screen and ``sia-tui --headless grid`` both use :func:`sia_tui.grid.service.stream_grid`
(the activity store the sync keeps, topped up from the feed's watermark), the rows of :mod:`sia_tui.grid.models`
and :mod:`sia_tui.grid.scores`. Which activity types the grid shows: :mod:`sia_tui.grid.catalog`.
"""
