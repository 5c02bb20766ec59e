"""The back office pages, one router per area."""
