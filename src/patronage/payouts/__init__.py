"""Money out: the earnings ledger, payout methods, payout files and year-end tax data."""
