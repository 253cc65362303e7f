"""Shared fixtures: real Keras 3 on its numpy backend, side by side with initcli."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

os.environ["KERAS_BACKEND"] = "numpy"  # must precede the first Keras import
# JAX stream tables are cached per test process, not in the home directory, and removed when it ends
if "INITCLI_CACHE_DIR" not in os.environ:
    os.environ["INITCLI_CACHE_DIR"] = tempfile.mkdtemp(prefix="initcli-test-cache-")
    atexit.register(shutil.rmtree, os.environ["INITCLI_CACHE_DIR"], ignore_errors=True)

import pytest
from hypothesis import settings

# In CI the property-based fuzzers run a fixed budget of fixed examples (each test's
# max_examples, derandomized), so a run is reproducible; elsewhere they explore anew.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def keras():
    """The real ``keras`` package (3.15.1, numpy backend)."""
    import keras as keras_module

    assert keras_module.backend.backend() == "numpy"
    return keras_module
