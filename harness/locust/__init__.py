"""Load from many client hosts with Locust's distributed mode, reported like the harness's own runs.

``python/locustfile.py`` runs the article's batch (N requests at once, each answer
checked) as a Locust user; a master and any number of workers, on any hosts, run it.
``python -m harness locust-report`` reads what they leave behind (Locust's CSV files
and the workers' evidence lines) and writes ``locust.md`` and ``locust.json``:
see ``harness.locust.report`` and docs/many-clients.md.
"""
