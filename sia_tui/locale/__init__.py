"""The message catalogues: ``sia_tui.pot`` (the template) and ``LANG/LC_MESSAGES/sia_tui.po`` (sources, edited).

The compiled ``.mo`` files beside the ``.po`` files are build outputs (see :mod:`sia_tui.locale.build`), never
committed.
"""
