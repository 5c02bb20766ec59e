"""The pure core of demo (synthetic company generator): computations over values and arrays, with
no database, web or CLI (checked by import-linter: every ``core`` subpackage is pure)."""
