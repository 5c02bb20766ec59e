"""The pure core of compensation (commission engines and plans): computations over values and
arrays, with no database, web or CLI (checked by import-linter: every ``core`` subpackage is
pure)."""
