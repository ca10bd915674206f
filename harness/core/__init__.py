"""What every feature shares: the catalog, processes, readiness, the client protocol,
the records and their evidence, the environment, errors, files, the run session and
the picture type. ``core`` imports nothing from the features above it."""
