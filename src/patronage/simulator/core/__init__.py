"""The simulation itself (numpy only, no database): parameters, the monthly step, outputs."""
