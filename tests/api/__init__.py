"""Tests of the API.

pytest imports this folder as the package `api`, the name of the product's package; its path
lists the checkout's own `api/` folder first, so that `api.app` and the routers are this
checkout's modules, not those of whichever checkout is installed in the environment.
"""

from pathlib import Path

__path__.insert(0, str(Path(__file__).resolve().parents[2] / "api"))
