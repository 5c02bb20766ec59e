"""Compliance evidence: where the volume comes from, and what participants really earn."""
