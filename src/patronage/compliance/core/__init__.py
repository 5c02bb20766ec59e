"""Pure compliance arithmetic: no database, no I/O."""
