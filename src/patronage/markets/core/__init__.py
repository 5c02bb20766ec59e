"""Pure parts of markets: currencies and conversion, no database."""
