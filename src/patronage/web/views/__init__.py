"""Read models for the pages: small, indexed, paginated queries shaped for one screen each."""
