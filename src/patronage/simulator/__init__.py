"""Growth and plan simulation: a finite market, a sponsor tree grown month by month, customers
who stay or go, and the production compensation engine run on every simulated month."""
