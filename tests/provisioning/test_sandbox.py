"""What an interactive kernel inherits of the server's environment."""

from __future__ import annotations

import pytest

from watchdog_lab.provisioning.sandbox import scrub_environment

# Listed here, not read from the module: a name dropped from its list must fail this test.
SERVER_SECRETS = (
    "JUPYTER_TOKEN",
    "JPY_API_TOKEN",
    "JUPYTERHUB_API_TOKEN",
    "JUPYTER_PASSWORD",
    "WATCHDOG_LAB_PASSWORD",
    "WATCHDOG_LAB_NEW_PASSWORD",
    "WATCHDOG_LAB_TOTP_CODE",
)


@pytest.mark.parametrize("name", SERVER_SECRETS)
def test_a_server_secret_never_reaches_a_kernel(name: str) -> None:
    assert name not in scrub_environment({name: "sekrit-value", "PATH": "/usr/bin"})


def test_everything_else_of_the_environment_is_kept() -> None:
    env = {"PATH": "/usr/bin", "HOME": "/home/u", "WATCHDOG_LAB_KERNEL_TOKEN": "per-kernel"}
    assert scrub_environment(env) == env
