"""``compare``: every client against every server at one N and D; the pairing runner,
its statistics, the claims checked against them, and the report."""
