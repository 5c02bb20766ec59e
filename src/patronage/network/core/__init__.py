"""The pure core of network (genealogy arrays): computations over values and arrays, with no
database, web or CLI (checked by import-linter: every ``core`` subpackage is pure)."""
