"""Widgets of the sia-tui app."""
