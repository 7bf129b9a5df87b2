"""Screens and dialogs of the inbox, one per module."""
