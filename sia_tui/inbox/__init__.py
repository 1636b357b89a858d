"""The seller's inbox: replies, out-of-office answers, bounces and "unsubscribe me" replies to the email sia-tui
sent, found over IMAP and logged as MSIA logs them (issue 16). UI-free; the worker and ``sia-tui inbox check`` run
it. See :mod:`sia_tui.inbox.service` for a pass, :mod:`~sia_tui.inbox.classify` and :mod:`~sia_tui.inbox.match`
for the rules.
"""
