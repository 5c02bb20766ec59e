"""The pure core of care (care rules and planner): computations over values and arrays, with no
database, web or CLI (checked by import-linter: every ``core`` subpackage is pure)."""
