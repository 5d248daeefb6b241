"""Deliver: a snapshot becomes a committed file in an export folder's manifest."""
