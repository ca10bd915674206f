"""``sweep``: N = 1 .. 1000 requests at once per server; the ladder runner, the capacity
model and the report."""
