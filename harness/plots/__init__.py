"""The drawing code (headless matplotlib): ``timelines`` (compare) and ``sweep`` (the sweep's charts).

Imported only when there is something to draw; the picture type reports link to
is ``harness.core.picture.Picture``.
"""
