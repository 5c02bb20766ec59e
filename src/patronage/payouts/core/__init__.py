"""The pure side of money out: entry kinds, balance arithmetic, hold rules, batch selection."""
