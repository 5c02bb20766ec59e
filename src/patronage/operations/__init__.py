"""Running Patronage in production: the scheduled jobs and their worker, locks and recorded runs,
structured logs, health checks and metrics, backups."""
