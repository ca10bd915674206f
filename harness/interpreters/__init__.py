"""The interpreter as an axis: the comparison's Python servers and clients under each CPython."""
