"""Fixtures shared by the whole suite.

pytest-jupyter's server fixtures are registered here because pytest only honours
``pytest_plugins`` in the top-level conftest.
"""

from __future__ import annotations

pytest_plugins = ["pytest_jupyter.jupyter_server"]
