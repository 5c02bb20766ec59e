"""The pure core of value (customer value models): computations over values and arrays, with no
database, web or CLI (checked by import-linter: every ``core`` subpackage is pure)."""
