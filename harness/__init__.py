"""Cross-language comparison harness: Go and Python HTTP servers and clients.

``python -m harness compare`` runs the article's five-client scenario on every
client x server pairing and writes a normalized report; see README.md.
"""

__version__ = "0.1.0"
