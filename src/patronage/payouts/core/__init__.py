"""The pure core of payouts: computations over values, with no database, web or CLI (checked
by import-linter: every ``core`` subpackage is pure)."""
