"""Markets: the countries a company sells in, their currencies, prices and exchange rates."""
