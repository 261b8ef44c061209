"""Own models and matrices in the eigenspace explorer, and its results out (helpers of
:mod:`.eigenspace`, kept apart so the family module stays short).

- :func:`from_model` — ``EigenspaceExplorer.from_model(model, calibration, heldout=None,
  layers=None, **params)``: any ``torch.nn.Module`` fills the explorer's model stages (model,
  batches, Grams); the layer, PiSSA and fidelity views are the MiniLM views.  The explorer works
  on a private copy (``copy.deepcopy``, eval mode) taken at the call: the user's model is never
  touched (no hooks, no mode change, no swapped weights) and later changes to it are not seen.
  Fidelity = agreement of the final outputs (:func:`~spectral_explorer.calibration.output_fidelity`:
  relative error, mean cosine, argmax agreement) on the held-out inputs.
- *Your matrix*: a weight matrix uploaded in the page (``.npy`` / ``.safetensors``) — its singular
  spectrum and the rank-r SVD vs EoRA errors of its compression error, on a synthetic power-law
  activation Gram (:func:`~spectral_explorer.eigenspace.powerlaw_gram`: a matrix comes without
  activations) and on isotropic activations (where EoRA = SVD).
- :func:`table` / :func:`as_code` for every tab (``explorer.view``).
"""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pandas as pd
import panel as pn
import torch

VIEWS = ("toy", "anisotropy", "layer", "fidelity", "pissa", "matrix")
MINILM_METRICS = {"mean_cosine": "mean cosine", "spearman": "Spearman", "top1_nn_agreement": "top-1 NN agreement"}
USER_METRICS = {"mean_cosine": "mean cosine", "relative_error": "relative error", "argmax_agreement": "argmax agreement"}
#: inputs (columns) of an uploaded matrix at most: its synthetic Gram is in × in
MAX_MATRIX_INPUTS = 2048
EXAMPLE = "eigenspace_weight.npy"
_SERIAL = itertools.count(1)   # identifies each loaded matrix (a stage key, never the object)
HELDOUT_NOTE = "the last quarter of the calibration inputs (no held-out inputs were given)"


# ---------------------------------------------------------------------- from_model
def from_model(cls, model, calibration, heldout=None, layers=None, **params):
    """An :class:`EigenspaceExplorer` on any ``torch.nn.Module`` (see the module docstring).

    ``calibration`` / ``heldout``: a tensor or array ``(n, …)`` (split into batches of 256 rows), a
    dict of tensors (keyword arguments, e.g. a tokenizer's output) or a list of batches (tensors,
    dicts, tuples of positional arguments).  ``heldout=None`` takes the last quarter of the
    calibration inputs (rows, or batches of a list of several).  ``layers``: names of the model's
    ``nn.Linear`` modules to offer (default: all).  Bad objects raise a ``ValueError`` saying what
    is wrong (not a Module, no ``nn.Linear``, an unknown layer, NaN inputs, a batch the model
    rejects — with the model's message)."""
    from .. import calibration as cal

    names = cal.linear_layer_names(model, layers)
    for n in names:
        if not torch.isfinite(model.get_submodule(n).weight.detach()).all():
            raise ValueError(f"layer {n!r}: the weight holds NaN or infinite values")
    try:
        private = copy.deepcopy(model).eval()
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"the model could not be copied ({type(exc).__name__}: {exc}); from_model works on a "
                         "private copy so that your model is never modified") from None
    dtype = cal._weight_dtype(private)
    split = heldout is None
    if split:
        calibration, heldout = cal.split_heldout(calibration)
    calib = cal.model_batches(calibration, "calibration", dtype=dtype)
    held = cal.model_batches(heldout, "heldout", dtype=dtype)
    # one forward with hooks: the model's own error on a wrong shape, named; the layers it calls
    reached = cal.layers_reached(private, cal.linear_layer_names(private), calib[0])
    skipped = [n for n in names if n not in reached]
    if skipped and (layers is not None or not reached):
        raise ValueError(f"the forward pass never calls layer(s) {', '.join(skipped)} (e.g. nn.MultiheadAttention "
                         "uses its out_proj weight directly), so their inputs cannot be collected for EoRA"
                         + (f"; layers whose inputs can be: {', '.join(reached)}" if reached else ""))
    names = [n for n in names if n in reached]
    reference = cal.model_outputs(private, held, "heldout")
    layer = params.pop("layer", names[len(names) // 2])
    if layer not in names:
        raise ValueError(f"layer={layer!r} is not among the layers offered: {', '.join(names)}")
    view = params.pop("view", "layer")
    params.pop("minilm", None)
    ex = cls(_user_data=True, **params)
    ex._user = {"model": private, "calib": calib, "held": held, "names": names, "reference": reference,
                "split": split, "name": type(model).__name__, "skipped": skipped,
                "n_rows": (sum(_rows(b) for b in calib), sum(_rows(b) for b in held))}
    ex.param.layer.objects = list(names)
    ex.param.update(layer=layer, view=view)
    ex.minilm = True
    if "minilm" in ex._errors and not ex._served():
        raise ValueError(ex._errors["minilm"])
    return ex


def _rows(batch):
    from ..calibration import _rows as rows
    return rows(batch) or 1


def user_grams(ex):
    """XᵀX of the offered layers on the calibration and the held-out batches (private copy)."""
    from ..calibration import model_grams
    from ..progress import subrange
    u = ex._user
    job = ex._minilm_job
    cancel = job.cancel if job else None
    report = (lambda f, t: ex._report(f, t))
    out = {"calib": model_grams(u["model"], u["names"], u["calib"], "calibration", cancel=cancel,
                                progress=subrange(report, 0.05, 0.7)),
           "held": model_grams(u["model"], u["names"], u["held"], "heldout", cancel=cancel,
                               progress=subrange(report, 0.7, 0.95))}
    return {s: {n: g.cpu() for n, g in grams.items()} for s, grams in out.items()}   # the views compute on the CPU


def user_fidelity(ex, job=None):
    """The fidelity job on a user's model: :func:`~spectral_explorer.calibration.model_fidelity_vs_rank`
    with the explorer's Grams, reference outputs and a per-compression cache of factors (the Gram
    eigenbases are kept across compressions).  Returns ``(compression, rows)``."""
    from ..calibration import model_fidelity_vs_rank
    from ..progress import subrange
    u = ex._user
    with ex._fid_job:
        with ex._lock:
            grams = ex._grams()["calib"]
            gkey, compression = ex._grams_key(), ex.compression
            methods, ranks = ex._missing_fidelity()
            if ex._fid_state.get("key") != gkey:
                ex._fid_state = {"key": gkey, "cache": {}}
            cache = ex._fid_state["cache"]
        if not methods:
            return compression, ex._fidelity_rows()
        for k in [k for k in cache if isinstance(k, tuple) and k[1] != compression]:
            del cache[k]
        progress, cancel = (job.progress, job.cancel) if job is not None else (None, None)
        rows = model_fidelity_vs_rank(u["model"], u["calib"], u["held"], compression, ranks=ranks, methods=methods,
                                      layers=u["names"], grams=grams, reference=u["reference"], cache=cache,
                                      progress=subrange(progress, 0.0, 0.99), cancel=cancel)
        with ex._fid_rows_lock:
            done = ex._fid_rows.setdefault((gkey, compression), {})
            for r in rows:
                done[(r["method"], int(r["rank"]))] = r
            ex.stage_counts["fidelity"] = ex.stage_counts.get("fidelity", 0) + 1
            return compression, dict(done)


# ---------------------------------------------------------------------- labels
def label(ex) -> str:
    return "MiniLM" if ex._user is None else ex._user["name"]


def layers_text(ex) -> str:
    return "36 layers" if ex._user is None else f"{len(ex._user['names'])} layer(s)"


def fidelity_columns(ex) -> dict:
    return MINILM_METRICS if ex._user is None else USER_METRICS


def plotted_metrics(ex):
    return ("mean cosine", "Spearman") if ex._user is None else ("mean cosine", "relative error")


def user_status(ex) -> str:
    u = ex._user
    held = HELDOUT_NOTE if u["split"] else "the held-out inputs"
    skipped = (f" · not offered (forward never called, no inputs to collect): {', '.join(u['skipped'])}"
               if u["skipped"] else "")
    return (f"{u['name']} ready · {len(u['names'])} nn.Linear layer(s) · {u['n_rows'][0]} calibration / "
            f"{u['n_rows'][1]} held-out rows (held-out = {held}){skipped}")


def fidelity_text(ex) -> str:
    u = ex._user
    return (f"Compress **all {len(u['names'])}** offered nn.Linear layers of your {u['name']} at the chosen "
            "compression, compensate each with rank r (none / SVD / EoRA, Grams from the calibration inputs) "
            "and compare the model's final outputs (its tensor, `last_hidden_state` or first tensor) with the "
            "original's on the held-out inputs"
            + (f" ({HELDOUT_NOTE})" if u["split"] else "") + ": relative error ‖O − R‖/‖R‖, mean cosine of "
            "matching rows, argmax agreement (the predicted class of a classifier), for r = 4 … 128 and the "
            "chosen rank (a rank above a layer's min(out, in) gives it its exact correction). Your model is "
            "never modified: the explorer works on a private copy.")


# ---------------------------------------------------------------------- your matrix (upload)
def matrix_controls(ex):
    def on_load(W, filename):
        load_matrix(ex, W, filename)

    example = pn.widgets.Button(label=f"use the example matrix ({EXAMPLE}, 96 × 128)", color="light",
                                css_classes=["eig-example"], sizing_mode="stretch_width")
    example.on_click(lambda _: ex.param.update(matrix="example", view="matrix"))
    hint = ("show a 2-D array with `explorer.show_matrix(W, name)`; a whole model with "
            "`EigenspaceExplorer.from_model(model, inputs)`")
    return pn.Column(ex.upload_control("weights", on_load, "Your weight matrix", notebook_hint=hint), example,
                     sizing_mode="stretch_width")


def load_matrix(ex, W, filename="your_matrix.npy"):
    """Show a 2-D weight matrix ``W`` (out, in; array or tensor) on the *Your matrix* tab (an upload
    of the page lands here too); ``filename`` names it in the page and in :meth:`as_code`.  The
    explorer then holds user data (its stages stay in the session)."""
    if isinstance(W, torch.Tensor):
        W = W.detach().cpu().numpy()
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[1] > MAX_MATRIX_INPUTS:
        raise ValueError(f"{filename}: the matrix must be 2-D with at most {MAX_MATRIX_INPUTS} columns (inputs; "
                         f"the EoRA part needs an in × in activation Gram), got shape {W.shape}")
    if not np.isfinite(W).all():
        raise ValueError(f"{filename}: the matrix holds NaN or infinite values")
    if not ex.user_data:
        ex._hold_user_data()
    ex._upload = {"W": torch.from_numpy(W), "name": str(filename), "serial": next(_SERIAL)}
    ex.set_error("matrix", None)
    if ex.matrix == "upload":
        refresh_matrix(ex)
    else:
        ex.matrix = "upload"
    ex.view = "matrix"


def _matrix_stage(ex):
    from .. import eigenspace as es
    from ..calibration import compress_weight
    from .eigenspace import RANK_GRID
    up = ex._upload

    def build():
        W = up["W"]
        W_hat = compress_weight(W, ex.compression)
        C, eig = es.powerlaw_gram(W.shape[1])
        ranks = [r for r in RANK_GRID if r <= min(W.shape)] + ([min(W.shape)] if min(W.shape) not in RANK_GRID else [])
        curve = es.rank_error_curve(W, W_hat, C, ranks, eig=eig)
        return {"s": torch.linalg.svdvals(W).numpy(), "s_dw": torch.linalg.svdvals(W - W_hat).numpy(), "curve": curve}
    return ex._stage("matrix", (up["serial"], ex.compression), build)


def refresh_matrix(ex):
    if ex.matrix == "none":
        ex.set_error("matrix", None)
        return
    if ex.matrix == "example" and (ex._upload is None or not ex._upload.get("shipped")):
        from .. import uploads
        with open(uploads.example_path(EXAMPLE), "rb") as f:   # a shipped file: no user data
            W = uploads.parse("weights", EXAMPLE, f.read())
        ex._upload = {"W": torch.from_numpy(W), "name": EXAMPLE, "serial": next(_SERIAL), "shipped": True}
    if ex._upload is None or (ex.matrix == "upload" and ex._upload.get("shipped")):
        ex.set_error("matrix", "matrix=upload: an uploaded matrix is not kept across reloads or sessions; "
                               "upload the file again (Your weight matrix)")
        return
    ex.run("matrix", lambda job: ex._run_stages(lambda: _matrix_stage(ex), job=job),
           lambda _: setattr(ex, "_matrix_version", ex._matrix_version + 1), text="your matrix: computing …")


def matrix_tab(ex):
    import holoviews as hv

    from ..viz import eigenspace as vz
    sw = {"sizing_mode": "stretch_width"}

    def body(_version, _rank):
        if ex._upload is None or ex.matrix == "none" or "matrix" in ex._errors:
            return pn.pane.Markdown(
                "Upload a weight matrix (out × in, `.npy` or `.safetensors`) with **Your weight matrix** on the left — "
                "e.g. the shipped example `spectral_explorer/assets/examples/eigenspace_weight.npy` (96 × 128). "
                "Its singular spectrum and the errors of the rank-r SVD and EoRA corrections of its compression "
                "error appear here.", css_classes=["eig-matrix-hint"], **sw)
        with ex._lock:
            m = _matrix_stage(ex)
        c, r = m["curve"], int(ex.rank)
        k = min(range(len(c["rank"])), key=lambda i: abs(c["rank"][i] - r))
        text = (f"**{_md(ex._upload['name'])}** ({ex._upload['W'].shape[0]} × {ex._upload['W'].shape[1]}) · "
                f"{ex.compression} · rank {c['rank'][k]}: relative error on power-law activations — SVD "
                f"{c['SVD'][k]:.4f} · **EoRA {c['EoRA'][k]:.4f}**; on isotropic activations (C = I, where EoRA = "
                f"SVD) {c['SVD, C = I'][k]:.4f}. The matrix comes without activations: C = Q diag(k⁻¹) Qᵀ in a "
                "random orientation (seed 0) stands in for them.")
        errors = vz.rank_error_plot(np.maximum(c["rank"], 0.5), {m_: c[m_] for m_ in ("SVD", "EoRA", "SVD, C = I")},
                                    rank=r, title="uploaded matrix: relative error vs rank")
        spectrum = vz.pissa_plot(m["s"], r).opts(title="singular values of the uploaded W")
        return pn.Column(pn.pane.Markdown(text, css_classes=["eig-matrix-metrics"], **sw),
                         pn.pane.HoloViews(hv.Layout([spectrum, errors]).opts(shared_axes=False), linked_axes=False),
                         **sw)
    return pn.Column(pn.bind(body, ex.param._matrix_version, ex.param.rank), **sw)


def _md(text):
    from ._base import escape_markdown
    return escape_markdown(text)


# ---------------------------------------------------------------------- results out
def code_params(ex) -> tuple:
    """What rewrites the shown code: the URL parameters, the open tab, new fidelity rows, a new matrix."""
    return tuple(p for p in ex.url_params if p != "tour") + ("view", "_fidelity_version", "_matrix_version")


def export_name(ex) -> str:
    return f"eigenspace_{ex.view}"


def table(ex) -> pd.DataFrame:
    """The data of the open tab (``ex.view``): the toy's errors per method; the anisotropy sweep;
    the layer's held-out error vs rank; the fidelity table (compression, method, rank → fidelity);
    PiSSA's singular values; the uploaded matrix's errors vs rank."""
    v = ex.view
    if v == "toy":
        t = ex.toy_result()
        return pd.DataFrame([{"method": m, "output error": float(t["errors"][m]), "plain error": float(t["plain"][m])}
                             for m in ("none", "SVD", "EoRA")])
    if v == "anisotropy":
        with ex._lock:
            sw = ex._toy_sweep()
        return pd.DataFrame([{"anisotropy": a, "method": m, "output error": e[m], "share of uncorrected": e[m] / e["none"]}
                             for a, e in sw["errors"].items() for m in ("none", "SVD", "EoRA")])
    if v == "matrix":
        if ex._upload is None or ex.matrix == "none" or "matrix" in ex._errors:
            raise ValueError("no matrix: upload one (Your weight matrix) or use the example")
        with ex._lock:
            c = _matrix_stage(ex)["curve"]
        return pd.DataFrame({"compression": ex.compression, "rank": c["rank"], "SVD relative error": c["SVD"],
                             "EoRA relative error": c["EoRA"], "SVD relative error, C = I": c["SVD, C = I"]})
    if not ex._ready():
        raise ValueError(f"{label(ex)} is not loaded yet: open one of its tabs first")
    if v == "fidelity":
        curve = ex.fidelity_curve
        if curve is None:
            raise ValueError("the fidelity table is not computed yet: press 'compute fidelity vs rank' "
                             "(run_fidelity())")
        curve.insert(0, "compression", ex.compression)
        return curve
    with ex._lock:
        if v == "pissa":
            s = ex._pissa()["s"]
            return pd.DataFrame({"layer": ex.layer, "index": np.arange(1, s.size + 1), "singular value": s,
                                 "energy share": np.cumsum(s ** 2) / np.sum(s ** 2)})
        rc = ex._rank_curve()
    return pd.DataFrame({"layer": ex.layer, "compression": ex.compression, "rank": rc["ranks"],
                         "SVD relative error": rc["errors"]["SVD"], "EoRA relative error": rc["errors"]["EoRA"]})


_MINILM_SRC = """from spectral_explorer.minilm import calibration_split, load_minilm, stdlib_docstrings, tokenize_batches
tok, model = load_minilm("cpu")
calib, held = calibration_split(stdlib_docstrings(), {n_calib}, {n_heldout}, seed={text_seed})
"""
_USER_SRC = """from spectral_explorer.calibration import model_batches, model_grams, split_heldout
model = ...        # your torch.nn.Module ({name}); the explorer used a copy in eval mode
calibration = ...  # your calibration inputs (a tensor, a dict of tensors or a list of batches)
{held}
"""


def _data_src(ex) -> str:
    if ex._user is None:
        return _MINILM_SRC.format(n_calib=ex.n_calib, n_heldout=ex.n_heldout, text_seed=ex.text_seed)
    held = ("calibration, heldout = split_heldout(calibration)   # no held-out inputs were given"
            if ex._user["split"] else "heldout = ...      # your held-out inputs")
    return _USER_SRC.format(name=ex._user["name"], held=held)


def as_code(ex) -> str:
    """A script with the public API that rebuilds the open tab's numbers into ``result`` (a
    DataFrame equal to :func:`table`)."""
    v = ex.view
    head = "import numpy as np\nimport pandas as pd\nimport torch\n"
    if v == "toy":
        return head + f"""from spectral_explorer import data, eigenspace as es
X, dW = data.anisotropic_toy({ex.toy_samples}, {float(ex.anisotropy)!r}, {float(ex.toy_angle)!r}, {ex.toy_seed})
t = es.toy_compensation(X, dW, rank=1)
result = pd.DataFrame([{{"method": m, "output error": t["errors"][m], "plain error": t["plain"][m]}}
                       for m in ("none", "SVD", "EoRA")])
print(result)
"""
    if v == "anisotropy":
        from .eigenspace import ANISOTROPY_GRID
        return head + f"""from spectral_explorer import data, eigenspace as es
rows = []
for a in {tuple(ANISOTROPY_GRID)!r}:
    e = es.toy_compensation(*data.anisotropic_toy({ex.toy_samples}, a, {float(ex.toy_angle)!r}, {ex.toy_seed}), rank=1)["errors"]
    rows += [{{"anisotropy": a, "method": m, "output error": e[m], "share of uncorrected": e[m] / e["none"]}}
             for m in ("none", "SVD", "EoRA")]
result = pd.DataFrame(rows)
print(result)
"""
    if v == "matrix":
        name = ex._upload["name"] if ex._upload is not None else "your_matrix.npy"
        load = (f"W = torch.as_tensor(np.load({name!r}, allow_pickle=False), dtype=torch.float64)"
                if not name.lower().endswith(".safetensors") else   # the page's parser: the first 2-D tensor
                f"from spectral_explorer.uploads import parse_weights\n"
                f"W = torch.as_tensor(parse_weights({name!r}, open({name!r}, 'rb').read()))")
        return head + f"""from spectral_explorer import eigenspace as es
from spectral_explorer.calibration import compress_weight
{load}   # your uploaded matrix (out × in)
C, eig = es.powerlaw_gram(W.shape[1])     # stand-in activations: eigenvalues k^-1, random orientation (seed 0)
ranks = [r for r in {_rank_grid()!r} if r <= min(W.shape)]
ranks += [] if min(W.shape) in ranks else [min(W.shape)]
c = es.rank_error_curve(W, compress_weight(W, {ex.compression!r}), C, ranks, eig=eig)
result = pd.DataFrame({{"compression": {ex.compression!r}, "rank": c["rank"], "SVD relative error": c["SVD"],
                       "EoRA relative error": c["EoRA"], "SVD relative error, C = I": c["SVD, C = I"]}})
print(result)
"""
    src = head + _data_src(ex)
    user = ex._user is not None
    if v == "fidelity":
        ranks = sorted({r for (m, r) in ex._fidelity_rows() if m != "none"}) or sorted({4, 8, 16, 32, 64, 128, ex.rank})
        cols = fidelity_columns(ex)
        if user:
            call = (f"rows = model_fidelity_vs_rank(model, calibration, heldout, {ex.compression!r}, ranks={ranks!r}, "
                    f"layers={ex._user['names']!r})")
            imp = "from spectral_explorer.calibration import model_fidelity_vs_rank\n"
        else:
            call = (f"rows = fidelity_vs_rank(model, tok, calib, held, {ex.compression!r}, ranks={ranks!r}, "
                    f"max_length={ex.max_length})")
            imp = "from spectral_explorer.calibration import fidelity_vs_rank\n"
        return src + imp + call + f"""
names = {{"none": "none", "svd": "SVD", "eora": "EoRA"}}
result = pd.DataFrame([{{"compression": r["compression"], "method": names[r["method"]], "rank": r["rank"],
                        **{{c: r[k] for k, c in {cols!r}.items()}}}} for r in rows])
print(result)
"""
    layer = repr(ex.layer)
    w = f"W = model.get_submodule({layer}).weight.detach().to(torch.float64)\n"
    if v == "pissa":
        return src + w + f"""s = torch.linalg.svdvals(W).numpy()
result = pd.DataFrame({{"layer": {layer}, "index": np.arange(1, s.size + 1), "singular value": s,
                       "energy share": np.cumsum(s ** 2) / np.sum(s ** 2)}})
print(result)
"""
    from .eigenspace import RANK_GRID
    if user:
        grams = f"""import copy
from spectral_explorer.calibration import compress_weight
from spectral_explorer import eigenspace as es
model = copy.deepcopy(model).eval()
C = {{s: model_grams(model, [{layer}], model_batches(x, s))[{layer}] for s, x in (("calib", calibration), ("held", heldout))}}
"""
    else:
        grams = f"""from spectral_explorer.calibration import collect_grams, compress_weight
from spectral_explorer import eigenspace as es
C = {{s: collect_grams(model, [{layer}], tokenize_batches(x, tok, batch_size=16, max_length={ex.max_length}))[0][{layer}]
     for s, x in (("calib", calib), ("held", held))}}
"""
    return src + grams + w + f"""W_hat = compress_weight(W.to(torch.float32), {ex.compression!r}).to(torch.float64)
ranks = [r for r in {tuple(RANK_GRID)!r} if r <= min(W.shape)]
dW = W - W_hat   # corrections fitted on the calibration Gram, errors on the held-out activations
Bs, As = es.svd_compensation(dW, ranks[-1])
Be, Ae = es.eora_compensation(dW, C["calib"], ranks[-1])
den = float(((W @ C["held"]) * W).sum()) ** 0.5
result = pd.DataFrame({{"layer": {layer}, "compression": {ex.compression!r}, "rank": ranks,
                       "SVD relative error": [es.compensation_error(dW, Bs[:, :r], As[:r], C["held"]) / den for r in ranks],
                       "EoRA relative error": [es.compensation_error(dW, Be[:, :r], Ae[:r], C["held"]) / den for r in ranks]}})
print(result)
"""


def _rank_grid():
    from .eigenspace import RANK_GRID
    return tuple(RANK_GRID)
