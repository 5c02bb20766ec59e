"""Pure parts of orders: pricing and classification, no database."""
