"""Product credit: a ledger per customer, earned from rewards paid as credit and spent on orders."""
