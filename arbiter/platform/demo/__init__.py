"""The demo world and its narrated flows: the goods, warehouses, suppliers and users that
`arbiter demo`, `make run` and the end-to-end tests share, and each business flow told step by
step with its figures."""
