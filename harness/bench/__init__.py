"""``bench``: the harness measuring itself; the runner and the timing model (floors,
overhead, where a run's time went)."""
