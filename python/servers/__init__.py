"""The Python servers of the comparison; the harness catalog says how each runs."""
