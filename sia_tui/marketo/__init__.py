"""Marketo REST client (async httpx): auth, limits, retries, paging, bulk export, custom activities.

Import :class:`sia_tui.marketo.client.MarketoClient`; nothing here opens a connection at import time.
"""
