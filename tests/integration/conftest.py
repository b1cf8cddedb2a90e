"""Fixtures for the integration tests: every test gets its own NOOK_ROOT and NOOK_RUN, and
everything nook started in them is taken down afterwards, even when the test failed
(tests/lib/nooktest.py, shared with the dashboard tests)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nooktest import MUST_WORK, NOOK, Nook, drop_busybox_cache, private_root, remove_networks, skip_or_fail  # noqa: E402,F401

PROBES = os.path.abspath(os.environ.get("NOOK_PROBES") or
                         os.path.join(os.path.dirname(__file__), "..", "..", "build", "probe"))


@pytest.fixture
def nook():
    with private_root("nook-test-") as n:
        yield n


def pytest_sessionfinish(session, exitstatus):
    drop_busybox_cache()
