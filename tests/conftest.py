"""Fixtures shared by the whole suite.

pytest-jupyter's server fixtures are registered here because pytest only honours
``pytest_plugins`` in the top-level conftest. Under pytest-xdist, each worker's kernels get
TCP ports of their own (see :mod:`tests.ports`).
"""

from __future__ import annotations

from tests.ports import install_worker_ports

pytest_plugins = ["pytest_jupyter.jupyter_server"]

install_worker_ports()
