"""The Python clients of the comparison."""
