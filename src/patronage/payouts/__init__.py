"""Money out: the earnings ledger a committed period posts to, staff adjustments, holds and
payout batches (``docs/payouts.md``).

- :mod:`patronage.payouts.core.ledger`: the pure rules (kinds, amounts, selection, pay dates);
- :mod:`patronage.payouts.ledger`: posting committed runs, balances and movements;
- :mod:`patronage.payouts.adjustments`: bonuses and deductions, with a second approval;
- :mod:`patronage.payouts.holds`: why a balance is held, and staff holds;
- :mod:`patronage.payouts.batches`: the payout batch of a pay date, its export and returns;
- :mod:`patronage.payouts.methods` and :mod:`patronage.payouts.tax_ids`: payout methods and tax
  ids, encrypted at rest; :mod:`patronage.payouts.core.files`: the SEPA, NACHA and e-wallet
  files; :mod:`patronage.payouts.tax_year`: year-end tax data.
"""
