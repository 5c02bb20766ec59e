"""The shop's pure rules: taxes, the cart, attribution, and what a checkout form must hold."""
