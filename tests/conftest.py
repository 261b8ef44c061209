import os

import numpy as np
import pytest
import torch

from _browser import browser, served  # noqa: F401  (Chromium, and the one served process of the browser tests)
from _fresh import fresh_python  # noqa: F401  (as_code scripts run as in a fresh interpreter)

# Tests run on the CPU by default; CUDA cases are added where CUDA is available.
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch intra-op thread for a module (``pytestmark = pytest.mark.usefixtures(...)``): small
    convolutions on a shared 2-core machine run several times faster than with two OpenMP threads
    spin-waiting on busy cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def pytest_configure(config):
    os.environ.setdefault("SPECTRAL_EXPLORER_QUICK", "1")
    # the library's default device is CUDA when present: pin the default to the CPU (float64
    # tolerances), so CUDA runs only in the cases that ask for it through the `device` fixture
    os.environ.setdefault("SPECTRAL_EXPLORER_DEVICE", "cpu")


@pytest.fixture(autouse=True)
def _fresh_shared_stages():
    """Each test starts with an empty process-wide stage cache (counts of stage builds then
    mean the same in every order the tests run)."""
    from spectral_explorer.explorers._common import SHARED_STAGES

    SHARED_STAGES.clear()
    yield
