"""Widgets of the inbox, one per module."""
