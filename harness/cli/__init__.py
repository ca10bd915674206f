"""The command line: ``python -m harness compare | sweep | bench | serve | article | list | diff | publish``.

``main`` builds the parser and turns errors into exit statuses; one module per subcommand.
"""
