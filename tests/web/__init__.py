"""Tests of the web interface: pages rendered in-process, and end to end in Debian's Chromium.

pytest imports this folder as the package `web`; `api` (the product's package) resolves as in
tests/api/__init__.py, to the checkout's own `api/` folder first."""
