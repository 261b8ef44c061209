import os
import subprocess
import sys

import pytest
import torch

from spectral_explorer import device as dev


def test_env_override(monkeypatch):
    monkeypatch.setenv(dev.ENV_VAR, "cpu")
    dev.reset_default_device()
    try:
        assert dev.default_device() == torch.device("cpu")
    finally:
        dev.reset_default_device()


def test_bad_env_value(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("CUDA present: 'cuda' is a valid request here")
    monkeypatch.setenv(dev.ENV_VAR, "cuda")
    dev.reset_default_device()
    try:
        with pytest.raises(ValueError, match="CUDA is not available"):
            dev.default_device()
    finally:
        monkeypatch.delenv(dev.ENV_VAR)
        dev.reset_default_device()


def test_resolve_and_dtype():
    assert dev.resolve_device("cpu") == torch.device("cpu")
    assert dev.default_dtype(torch.device("cpu")) == torch.float64
    assert dev.default_dtype(torch.device("cuda")) == torch.float32
    with pytest.raises(ValueError, match="not a valid torch device"):
        dev.resolve_device("gpu0")
    with pytest.raises(TypeError, match="device must be"):
        dev.resolve_device(3)


def test_import_touches_no_cuda_and_no_ui():
    code = ("import sys, torch, spectral_explorer, spectral_explorer.comparisons, spectral_explorer.reproduce.heat_geodesics;"
            "print(torch.cuda.is_initialized(), any(m.split('.')[0] in {'panel','holoviews','bokeh','ipywidgets'} "
            "for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "SPECTRAL_EXPLORER_DEVICE": ""})
    assert out.stdout.split() == ["False", "False"]
