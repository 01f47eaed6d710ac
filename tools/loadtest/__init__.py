"""The load test: ``python -m tools.loadtest`` (``make loadtest``); see __main__.py."""
