"""Money in: the card provider's adapter (Stripe), its webhooks, and which gateway is used."""
