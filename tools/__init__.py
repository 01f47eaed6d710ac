"""Developer tools that drive the running app (not part of the installed package):

* ``python -m tools.screenshot`` (``make screenshot``): regenerate the README's screenshots in assets/;
* ``python -m tools.measure`` (``make measure``): first boundary, live updates per second, bytes per update;
* ``python -m tools.loadtest`` (``make loadtest``): one server, many concurrent sessions.

``tools.harness`` (a Streamlit server in a subprocess, the system Chromium through Playwright) is
shared with the browser tests (tests/conftest.py, tests/test_browser.py).
"""
