"""The shop behind the share links: catalog, cart, checkout, sign-up, enrollment and leads."""
