"""Eigenspace-projection explorer: why weighting a compression error by the activation
eigenspace (EoRA) beats plain SVD, first on a 2-D toy, then on MiniLM's layers; PiSSA's split
of a weight's spectrum.

Staged computation (each stage keyed on parameter values, never on tensors; per instance)::

    toy         (anisotropy, toy_angle, toy_seed, toy_samples)     -> X, ΔW, rank-1 SVD / EoRA, errors
    model       ()                                                 -> MiniLM tokenizer + model (once)
    texts       (n_calib, n_heldout, text_seed)                    -> calibration / held-out texts
    grams       texts + (max_length,)                              -> XᵀX of all 36 layers, both splits
    delta       (layer, compression)                               -> W, Ŵ, ΔW
    layer_eig   grams + (layer,)                                   -> eigenpairs of the calibration Gram
    dw_spectra  grams + (layer, compression)                       -> σ(ΔW), σ(ΔW Q Λ^½)
    rank_curve  grams + (layer, compression)                       -> held-out error vs rank, SVD / EoRA
    pissa       (layer,)                                           -> σ(W)
    fidelity    grams + (compression,)        (button, lazy)       -> mean cos / Spearman / top-1 NN vs rank

Changing ``rank`` reruns nothing expensive (the rank curve holds every rank); the model-level
fidelity curve is computed on demand, once per compression (ranks 4–128 and the chosen rank,
one factorisation per method at the largest rank, sliced), and a new rank only adds embeddings.
The Grams are collected once per text split.

Examples
--------
>>> ex = EigenspaceExplorer(anisotropy=10.0)
>>> ex.toy_errors["EoRA"] <= ex.toy_errors["SVD"]
True
"""

from __future__ import annotations

import threading

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
import torch

from .. import data
from .. import eigenspace as es
from ..viz import eigenspace as vz
from ._tour import tour_param
from ._base import Explorer, Job, placeholder
from ._common import SharedResults
from . import _eigenspace_own as own
from ..progress import subrange

__all__ = ["EigenspaceExplorer", "LAYER_NAMES", "COMPRESSIONS", "RANK_GRID", "MODEL_RANKS"]

_SUFFIXES = ("attention.self.query", "attention.self.key", "attention.self.value",
             "attention.output.dense", "intermediate.dense", "output.dense")
#: the 36 encoder nn.Linear layers of all-MiniLM-L6-v2, in forward order
LAYER_NAMES = [f"encoder.layer.{i}.{s}" for i in range(6) for s in _SUFFIXES]
COMPRESSIONS = ("rtn3", "rtn4", "rtn3g64", "prune24")
#: ranks of the error-vs-rank curve (clipped to the layer's min(out, in))
RANK_GRID = (0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 384)
#: ranks of the model-level fidelity curve (the chosen rank is added)
MODEL_RANKS = (4, 8, 16, 32, 64, 128)
_LABEL = {"none": "none", "svd": "SVD", "eora": "EoRA"}
_ORDER = {"none": 0, "svd": 1, "eora": 2}
#: Gram matrices of the most recent text splits, shared by every session of the process
#: (about 0.3 GB each for 36 layers, calibration + held-out)
SHARED_GRAMS = SharedResults(maxsize=2)
_TOY = ("anisotropy", "toy_angle", "toy_seed", "toy_samples")
#: anisotropies of the error curve of the "Across anisotropy" tab, and of its residual clouds
ANISOTROPY_GRID = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 100.0)
MULTIPLE_ANISOTROPIES = (1.0, 4.0, 16.0, 64.0)
_MINILM = ("layer", "compression", "rank", "n_calib", "n_heldout", "text_seed", "max_length")


#: axis labels with units of the toy's plots (the dimension names the viz module uses)
_TOY_UNITS = {"x₁": "x₁ (input, arbitrary units)", "x₂": "x₂ (input, arbitrary units)",
              "y₁": "y₁ = ((ΔW − BA)x)₁ (output units)", "y₂": "y₂ = ((ΔW − BA)x)₂ (output units)",
              "error": "‖X(ΔW − BA)ᵀ‖_F (output units)", "k": "index k (eigenvalues descending)",
              "eigenvalue of XᵀX": "eigenvalue of XᵀX (summed over tokens)",
              "energy captured": "energy captured (fraction of the trace)"}


#: the same for the three toy plots, as plot options (cheap: set in place)
_TOY_AXES = {"data": dict(xlabel=_TOY_UNITS["x₁"], ylabel=_TOY_UNITS["x₂"]),
             "residuals": dict(xlabel=_TOY_UNITS["y₁"], ylabel=_TOY_UNITS["y₂"]),
             "errors": dict(ylabel=_TOY_UNITS["error"])}


def _toy_units(el):
    return el.redim.label(**{k: v for k, v in _TOY_UNITS.items()})


def _placeholder(title):
    return placeholder(title, 430, 300)


class EigenspaceExplorer(Explorer):
    """Low-rank compensation of a compression error: plain SVD vs EoRA, toy and MiniLM."""

    url_params = _TOY + _MINILM + ("matrix", "tour")
    tour_name = "eigenspace"
    tour = tour_param(tour_name)
    _ERROR_ORDER = ("url", "upload", "toy", "minilm", "fidelity", "matrix")

    # ------------------------------------------------------------------ 2-D toy
    anisotropy = param.Number(default=8.0, bounds=(1.0, 100.0), step=0.5, doc="""
        Ratio σ₁/σ₂ of the standard deviations of the 2-D Gaussian activations (1 = isotropic:
        EoRA and SVD coincide for the true covariance, and nearly for a sample Gram).""")
    toy_angle = param.Number(default=30.0, bounds=(0.0, 180.0), step=1.0, doc="""
        Angle (degrees) of the activations' long axis.""")
    toy_seed = param.Integer(default=0, bounds=(0, 10_000), doc="Seed of the activations and of the 2×2 error ΔW.")
    toy_samples = param.Integer(default=300, bounds=(3, 5000), doc="Number of 2-D activation samples.")

    # ------------------------------------------------------------------ MiniLM
    layer = param.ObjectSelector(default="encoder.layer.2.attention.output.dense", objects=LAYER_NAMES, doc="""
        Encoder nn.Linear layer of all-MiniLM-L6-v2 whose weight is compressed and compensated.""")
    compression = param.ObjectSelector(default="rtn3", objects=list(COMPRESSIONS), doc="""
        Compression: round-to-nearest 3 or 4 bit per output row, 3 bit in groups of 64 inputs,
        or 2:4 semi-structured magnitude pruning.""")
    rank = param.Integer(default=16, bounds=(4, 128), doc="Rank r of the correction B A (both methods).")
    n_calib = param.Integer(default=64, bounds=(4, 2048), doc="""
        Calibration texts (stdlib docstrings) whose activations give the Gram XᵀX of EoRA.""")
    n_heldout = param.Integer(default=64, bounds=(4, 2048), doc="""
        Held-out texts (disjoint from the calibration set): layer errors and embedding fidelity
        are measured on them.""")
    text_seed = param.Integer(default=0, bounds=(0, 10_000), doc="Seed of the calibration / held-out split.")
    max_length = param.Integer(default=128, bounds=(8, 512), doc="Tokens per text (longer texts are truncated).")
    minilm = param.Boolean(default=False, doc="""
        Load MiniLM and collect the Grams (the dashboard sets it when a MiniLM tab is opened).""")
    _toy_version = param.Integer(default=0, precedence=-1, doc="Bumped after each toy computation.")
    _minilm_version = param.Integer(default=0, precedence=-1, doc="Bumped after each MiniLM computation.")
    _fidelity_version = param.Integer(default=0, precedence=-1, doc="Bumped when the fidelity table changes.")
    view = param.ObjectSelector(default="toy", objects=list(own.VIEWS), precedence=-1, doc="""
        The main view (the page's open tab): what table() and as_code() give.""")
    matrix = param.ObjectSelector(default="none", objects=["none", "upload", "example"], doc="""
        The matrix of the "Your matrix" tab: "upload" once one was uploaded (the URL records it; a reload
        asks for the file again), "example" the shipped assets/examples/eigenspace_weight.npy.""")
    _matrix_version = param.Integer(default=0, precedence=-1, doc="Bumped after each uploaded-matrix computation.")

    from_model = classmethod(own.from_model)
    table = own.table
    as_code = own.as_code
    export_name = own.export_name
    show_matrix = own.load_matrix
    code_params = own.code_params

    def __init__(self, **params):
        private = params.pop("_user_data", False)   # from_model: private before the first stage
        super().__init__(**params)
        if private:
            self._hold_user_data()
        self.status = "MiniLM not loaded yet"
        self._minilm_job = None       # the job whose progress the MiniLM stages report
        self._fid_rows: dict = {}      # (grams key, compression) -> {(method, rank): fidelity row}
        self._fid_rows_lock = threading.Lock()
        self._fid_state: dict = {}     # grams key, reference embeddings, compressed weights + factors
        self._fid_job = threading.Lock()   # one fidelity computation at a time
        self._user = None      # from_model: the model's private copy, its batches, its name
        self._upload = None    # an uploaded weight matrix {"W", "name"} (this session only)
        self.param.watch(self._on_matrix, ["matrix", "compression"])
        self.param.watch(self._on_toy, list(_TOY))
        self.param.watch(self._on_minilm, list(_MINILM) + ["minilm"])
        self._refresh_toy()
        if self.matrix != "none":
            self._on_matrix()
        if self.minilm:
            self._on_minilm()

    def _report(self, frac, text):
        job = self._minilm_job
        if job is not None:
            job.checkpoint(frac, text)

    # ------------------------------------------------------------------ toy
    def _toy_key(self):
        return (float(self.anisotropy), float(self.toy_angle), int(self.toy_seed), int(self.toy_samples))

    def _toy(self):
        def build():
            X, dW = data.anisotropic_toy(int(self.toy_samples), float(self.anisotropy), float(self.toy_angle),
                                         int(self.toy_seed))
            return es.toy_compensation(X, dW, rank=1)
        return self._stage("toy", self._toy_key(), build, shared=True)

    def _toy_sweep(self):
        """The toy at every ``ANISOTROPY_GRID`` value (the other toy parameters as set): errors per
        method, and the residual clouds at ``MULTIPLE_ANISOTROPIES``.  A few milliseconds; shared."""
        def build():
            errors, clouds = {}, {}
            for a in ANISOTROPY_GRID:
                X, dW = data.anisotropic_toy(int(self.toy_samples), a, float(self.toy_angle), int(self.toy_seed))
                t = es.toy_compensation(X, dW, rank=1)
                errors[a] = {k: float(v) for k, v in t["errors"].items()}
                if a in MULTIPLE_ANISOTROPIES:
                    clouds[a] = t["residuals"]
            return {"errors": errors, "clouds": clouds}
        key = (float(self.toy_angle), int(self.toy_seed), int(self.toy_samples))
        return self._stage("toy_sweep", key, build, shared=True)

    @param.depends("_toy_version")
    def view_anisotropy(self):
        """Small multiples across the anisotropy: the output error of no correction, SVD and EoRA
        against σ₁/σ₂ (log-log, the current value dashed); the same errors as a share of the
        uncorrected one (unchanged by any rescaling of X, unlike the absolute errors, which
        depend on the toy keeping σ₁σ₂ = 1); and the residual clouds at four values."""
        def fn():
            sw = self._toy_sweep()
            a = np.array(ANISOTROPY_GRID)

            def panel(names, ylabel, relative, title):
                els = []
                for name in names:
                    y = np.array([sw["errors"][v][name] / (sw["errors"][v]["none"] if relative else 1.0)
                                  for v in ANISOTROPY_GRID])
                    c = vz.METHOD_COLORS[name]
                    els += [hv.Curve((a, y), "anisotropy σ₁/σ₂", ylabel, label=name).opts(color=c, line_width=2),
                            hv.Scatter((a, y), "anisotropy σ₁/σ₂", ylabel, label=name).opts(
                                color=c, size=6, tools=["hover"])]
                return (hv.Overlay(els) * hv.VLine(float(self.anisotropy)).opts(color="black", line_dash="dashed")).opts(
                    hv.opts.Overlay(logx=True, logy=True, width=430, height=300, show_grid=True,
                                    legend_position="top_left" if not relative else "bottom_left", title=title))
            curve = panel(("none", "SVD", "EoRA"), "output error ‖X(ΔW − BA)ᵀ‖_F (output units)", False,
                          f"error across anisotropy ({self.toy_samples} samples, seed {self.toy_seed})")
            share = panel(("SVD", "EoRA"), "error / uncorrected error (ratio)", True,
                          "share of the uncorrected error left")
            clouds = [vz.toy_residual_plot(sw["clouds"][v], size=230).opts(title=f"residuals, σ₁/σ₂ = {v:g}",
                                                                            **_TOY_AXES["residuals"])
                      for v in MULTIPLE_ANISOTROPIES]
            return hv.Layout([curve, share] + clouds).cols(3).opts(shared_axes=False)
        return self._guard(fn, "across anisotropy", width=430, height=300)

    def _refresh_toy(self):
        """The toy is cheap: computed at once, also in a served page."""
        self.run("toy", lambda job: self._run_stages(self._toy, job=job), background=False)
        self._toy_version += 1

    def _on_toy(self, *events):
        self._refresh_toy()

    @property
    def toy_errors(self) -> dict:
        """Output error ‖X(ΔW − BA)ᵀ‖_F of the toy for no correction, rank-1 SVD and EoRA."""
        with self._lock:
            return dict(self._toy()["errors"])

    def toy_result(self) -> dict:
        """Everything the toy computed (X, ΔW, C, eigenpairs, kept directions, errors, residuals)."""
        with self._lock:
            return self._toy()

    # ------------------------------------------------------------------ MiniLM stages
    def _texts_key(self):
        return (int(self.n_calib), int(self.n_heldout), int(self.text_seed))

    def _grams_key(self):
        return self._texts_key() + (int(self.max_length),)

    def _model(self):
        if self._user is not None:
            return None, self._user["model"]

        def build():
            from ..minilm import load_minilm
            self._report(0.02, "loading MiniLM …")
            return load_minilm("cpu")
        return self._stage("model", ("minilm",), build)

    def _texts(self):
        if self._user is not None:
            return self._user["calib"], self._user["held"]

        def build():
            from ..minilm import calibration_split, stdlib_docstrings
            return calibration_split(stdlib_docstrings(), int(self.n_calib), int(self.n_heldout),
                                     seed=int(self.text_seed))
        return self._stage("texts", self._texts_key(), build)

    def _grams(self):
        """XᵀX of the 36 layers on both splits; shared across sessions with the same split
        (the packaged weights are identical in every session); a user's model: in the session."""
        if self._user is not None:
            return self._stage("grams", ("user",), lambda: own.user_grams(self))

        def build():
            from ..calibration import collect_grams
            from ..minilm import tokenize_batches
            tok, model = self._model()
            calib, held = self._texts()
            out = {}
            bs = 16
            total = len(calib) + len(held)
            lo = 0.05
            for split, texts in (("calib", calib), ("held", held)):
                hi = lo + 0.95 * len(texts) / total
                text = f"collecting XᵀX of 36 layers ({split}) …"
                self._report(lo, text)
                batches = tokenize_batches(texts, tok, batch_size=bs, max_length=int(self.max_length))
                job = self._minilm_job
                out[split] = collect_grams(
                    model, LAYER_NAMES, batches, cancel=job.cancel if job else None,
                    progress=subrange(lambda f, _t: self._report(f, text), lo, hi))[0]
                lo = hi
            return out
        key = self._grams_key()

        def shared():
            self._report(0.05, "collecting XᵀX of 36 layers (or waiting for another session collecting them) …")
            return SHARED_GRAMS.get(key, build)
        return self._stage("grams", key, shared)

    def _delta(self):
        def build():
            from ..calibration import compress_weight
            _, model = self._model()
            W = model.get_submodule(self.layer).weight.detach().to("cpu", torch.float64)   # a user's model: any device
            W_hat = compress_weight(W.to(torch.float32), self.compression).to(torch.float64)
            return {"W": W, "W_hat": W_hat, "dW": W - W_hat}
        return self._stage("delta", (self.layer, self.compression), build)

    def _layer_eig(self):
        def build():
            C = self._grams()["calib"][self.layer]
            evals, Q = es.gram_eigh(C)
            return {"evals": evals, "Q": Q, "energy": es.energy_captured(evals)}
        return self._stage("layer_eig", self._grams_key() + (self.layer,), build)

    def _dw_spectra(self):
        def build():
            e = self._layer_eig()
            dW = self._delta()["dW"]
            s_plain = torch.linalg.svdvals(dW)
            s_eig = torch.linalg.svdvals((dW @ e["Q"]) * e["evals"].clamp_min(0).sqrt())
            return {"plain": s_plain.numpy(), "eig": s_eig.numpy()}
        return self._stage("dw_spectra", self._grams_key() + (self.layer, self.compression), build)

    def _rank_curve(self):
        def build():
            d = self._delta()
            dW, W = d["dW"], d["W"]
            Ch = self._grams()["held"][self.layer]
            Cc = self._grams()["calib"][self.layer]
            rmax = min(dW.shape)
            ranks = [r for r in RANK_GRID if r <= rmax]
            Bs, As = es.svd_compensation(dW, ranks[-1])
            e = self._layer_eig()
            Be, Ae = es.eora_compensation(dW, Cc, ranks[-1], eig=(e["evals"], e["Q"]))
            den = float(((W @ Ch) * W).sum()) ** 0.5
            errs = {"SVD": [], "EoRA": []}
            for r in ranks:   # the rank-r solution is the first r columns / rows of the factors
                errs["SVD"].append(es.compensation_error(dW, Bs[:, :r], As[:r], Ch) / den)
                errs["EoRA"].append(es.compensation_error(dW, Be[:, :r], Ae[:r], Ch) / den)
            return {"ranks": ranks, "errors": errs, "B": {"SVD": Bs, "EoRA": Be}, "A": {"SVD": As, "EoRA": Ae},
                    "den": den}
        return self._stage("rank_curve", self._grams_key() + (self.layer, self.compression), build)

    def _pissa(self):
        def build():
            return {"s": torch.linalg.svdvals(self._delta()["W"]).numpy()}
        return self._stage("pissa", (self.layer,), build)

    def _layer_errors(self):
        """Held-out relative error of the layer at the chosen rank (cheap: slices the factors)."""
        rc = self._rank_curve()
        dW = self._delta()["dW"]
        Ch = self._grams()["held"][self.layer]
        r = int(self.rank)
        out = {"none": es.compensation_error(dW, rc["B"]["SVD"][:, :0], rc["A"]["SVD"][:0], Ch) / rc["den"]}
        for m in ("SVD", "EoRA"):
            out[m] = es.compensation_error(dW, rc["B"][m][:, :r], rc["A"][m][:r], Ch) / rc["den"]
        return out

    def _compute_minilm(self, job=None):
        self._minilm_job = job
        try:
            return self._run_stages(self._model, self._texts, self._grams, self._delta, self._layer_eig,
                                    self._dw_spectra, self._rank_curve, self._pissa, job=job)
        finally:
            self._minilm_job = None

    # ------------------------------------------------------------------ MiniLM reactions
    def _publish_minilm(self, _changed=None):
        c = self.stage_counts
        self.status = (own.user_status(self) if self._user is not None else
                       f"MiniLM ready · {self.n_calib} calibration / {self.n_heldout} held-out texts · "
                       f"Gram collections: {c.get('grams', 0)}")
        self._minilm_version += 1

    def _on_matrix(self, *events):
        own.refresh_matrix(self)

    def _on_minilm(self, *events):
        if self.minilm:
            self.run("minilm", self._compute_minilm, self._publish_minilm, text="computing …")

    # ------------------------------------------------------------------ fidelity vs rank (on demand)
    def _fidelity_rows(self) -> dict:
        """``{(method, rank): row}`` computed so far for the current texts and compression (a copy:
        the fidelity worker may be adding rows)."""
        with self._fid_rows_lock:
            return dict(self._fid_rows.get((self._grams_key(), self.compression), {}))

    def _missing_fidelity(self):
        """(methods, ranks) still to compute for MODEL_RANKS ∪ {rank} at the current compression."""
        have = self._fidelity_rows()
        ranks = sorted(r for r in set(MODEL_RANKS) | {int(self.rank)}
                       if ("svd", r) not in have or ("eora", r) not in have)
        methods = (("none",) if ("none", 0) not in have else ()) + (("svd", "eora") if ranks else ())
        return methods, ranks

    def _compute_fidelity(self, job=None):
        """Embed the held-out texts with the compressed model (none) and with SVD / EoRA
        corrections at every rank of MODEL_RANKS and the chosen rank that is not done yet.
        Compressed weights and max-rank factors are kept for one compression (one
        factorisation each), so adding a rank later only embeds.  One fidelity job runs at a
        time; it works on a private copy of the model (taken under the explorer lock, so it
        never carries the hooks of a Gram collection running in another thread).

        Returns ``(compression, rows)``."""
        import copy

        if self._user is not None:
            return own.user_fidelity(self, job)

        from ..calibration import fidelity_vs_rank
        from ..minilm import embed
        with self._fid_job:
            with self._lock:
                tok, model = self._model()
                calib, held = self._texts()
                grams = self._grams()["calib"]
                gkey = self._grams_key()
                compression, max_length = self.compression, int(self.max_length)
                methods, ranks = self._missing_fidelity()
                if self._fid_state.get("key") != gkey:   # new texts: old factors and rows do not apply
                    self._fid_state = {"key": gkey, "cache": {}}
                state = self._fid_state
                if methods:
                    model = copy.deepcopy(model).eval()
            if not methods:
                return compression, self._fidelity_rows()
            cache = state["cache"]   # one compression's weights and factors (~0.1–0.2 GB per session)
            for k in [k for k in cache if not (isinstance(k, tuple) and k[1] == compression)]:
                del cache[k]
            progress, cancel = (job.progress, job.cancel) if job is not None else (None, None)
            if "reference" not in state:
                if progress:
                    progress(0.01, "embedding held-out texts with the original model …")
                state["reference"] = embed(held, tok, model, max_length=max_length)
            rows = fidelity_vs_rank(model, tok, calib, held, compression, ranks=ranks, methods=methods,
                                    grams=grams, reference=state["reference"], cache=cache, max_length=max_length,
                                    progress=subrange(progress, 0.02, 0.99), cancel=cancel)
            cache.pop("gram_eigh", None)   # 36 eigenbases (~0.15 GB) only pay off across compressions
            with self._fid_rows_lock:
                done = self._fid_rows.setdefault((gkey, compression), {})
                for r in rows:
                    done[(r["method"], int(r["rank"]))] = r
                self.stage_counts["fidelity"] = self.stage_counts.get("fidelity", 0) + 1
                return compression, dict(done)

    @property
    def fidelity_curve(self) -> pd.DataFrame | None:
        """Rows (method, rank, mean cosine, Spearman, top-1 NN agreement) computed so far for the
        current texts and compression; ``none`` has rank 0.  None before the first computation."""
        rows = self._fidelity_rows()
        if not rows:
            return None
        cols = own.fidelity_columns(self)
        df = pd.DataFrame([{"method": _LABEL[m], "rank": r, **{c: v[k] for k, c in cols.items()}}
                           for (m, r), v in sorted(rows.items(), key=lambda kv: (_ORDER[kv[0][0]], kv[0][1]))])
        return df.reset_index(drop=True)

    @property
    def fidelity_table(self) -> pd.DataFrame | None:
        """none / SVD / EoRA at the chosen rank (index: method), or None when not computed yet."""
        rows = self._fidelity_rows()
        want = [("none", 0), ("svd", int(self.rank)), ("eora", int(self.rank))]
        if not all(k in rows for k in want):
            return None
        cols = own.fidelity_columns(self)
        return pd.DataFrame([{"method": _LABEL[m], **{c: rows[(m, r)][k] for k, c in cols.items()}}
                             for m, r in want]).set_index("method")

    def run_fidelity(self):
        """Compute the model-level fidelity against rank (none / SVD / EoRA at MODEL_RANKS and the
        chosen rank) for the current compression.  Served: in a worker thread with progress
        (returns None); else synchronously, returning :attr:`fidelity_table`."""
        def publish(result):
            self.status = f"fidelity vs rank computed ({result[0]})"
            self._fidelity_version += 1
        result = self.run("fidelity", self._compute_fidelity, publish, text="fidelity: starting …")
        if isinstance(result, Job):   # running in a worker thread
            return None
        return self.fidelity_table

    # ------------------------------------------------------------------ views
    def _ready(self):
        return self._minilm_version > 0 and "minilm" not in self._errors

    def _toy_plot(self, which):
        @param.depends(self.param._toy_version)
        def plot(*_, **__):
            def fn():
                return draw().opts(**_TOY_AXES[which])   # in place: a redim would copy the plot

            def draw():
                t = self._toy()
                if which == "data":
                    return vz.toy_data_plot(t["X"], t["evals"], t["Q"], t["A"]["SVD"], t["A"]["EoRA"])
                if which == "residuals":
                    return vz.toy_residual_plot(t["residuals"])
                return vz.error_bars(t["errors"])
            return self._guard(fn, f"toy {which}")
        return hv.DynamicMap(plot).opts(framewise=True)

    def view_toy(self):
        """Data with principal axes and kept directions | output residuals | error bars: three
        DynamicMaps, so a slider move updates their data in place instead of sending new plots."""
        return (self._toy_plot("data") + self._toy_plot("residuals") + self._toy_plot("errors")).opts(
            shared_axes=False)

    @param.depends("_toy_version")
    def toy_markdown(self):
        """The 2-D toy's numbers in words (errors of SVD and EoRA at this setting)."""
        if "toy" in self._errors:
            return ""
        t = self.toy_result()
        e, p = t["errors"], t["plain"]
        lam = t["evals"]
        return (f"**output error ‖X(ΔW − BA)ᵀ‖** — none {e['none']:.3f} · SVD {e['SVD']:.3f} · "
                f"**EoRA {e['EoRA']:.3f}** (EoRA/SVD = {e['EoRA'] / max(e['SVD'], 1e-300):.3f})<br>"
                f"plain ‖ΔW − BA‖_F — SVD {p['SVD']:.3f} · EoRA {p['EoRA']:.3f} · "
                f"eigenvalues of XᵀX {lam[0]:.1f}, {lam[1]:.1f}")

    @param.depends("_minilm_version")
    def view_spectrum(self):
        """The selected layer's activation spectrum (eigenvalues of its Gram)."""
        if not self._ready():
            return _placeholder(f"activation spectrum (waiting for {own.label(self)})")
        def fn():
            e = self._layer_eig()
            return (_toy_units(vz.gram_spectrum_plot(e["evals"].numpy(), e["energy"].numpy(), k=self.rank))
                    .opts(shared_axes=False))
        return self._guard(fn, "spectrum")

    @param.depends("_minilm_version")
    def view_error_energy(self):
        """Energy of the compression error ΔW along the input basis and the activation eigenbasis, and error against rank."""
        if not self._ready():
            return _placeholder(f"error energy (waiting for {own.label(self)})")
        def fn():
            s = self._dw_spectra()
            rc = self._rank_curve()
            return (vz.delta_energy_plot(s["plain"], s["eig"], k=self.rank)
                    + vz.rank_error_plot(rc["ranks"][1:], {m: v[1:] for m, v in rc["errors"].items()},
                                         rank=self.rank)).opts(shared_axes=False)
        return self._guard(fn, "error")

    @param.depends("_minilm_version")
    def layer_markdown(self):
        """The selected layer's numbers in words."""
        if not self._ready():
            return ""
        with self._lock:
            try:
                e = self._layer_errors()
                ev = self._layer_eig()
                k90 = int((ev["energy"].numpy() < 0.9).sum()) + 1
            except Exception:
                return ""
        return (f"**{self.layer}** · {self.compression} · rank {self.rank} — held-out relative error "
                f"‖X(ΔW − BA)ᵀ‖/‖XWᵀ‖: none {e['none']:.4f} · SVD {e['SVD']:.4f} · **EoRA {e['EoRA']:.4f}** · "
                f"{k90} of {ev['evals'].numel()} activation eigenvectors hold 90 % of the energy")

    @param.depends("_minilm_version")
    def view_pissa(self):
        """PiSSA's split of the selected layer: its singular values, the top ``rank`` in the trainable ``B A``."""
        if not self._ready():
            return _placeholder(f"PiSSA (waiting for {own.label(self)})")
        def fn():
            s = self._pissa()["s"]
            return vz.pissa_plot(s, self.rank)
        return self._guard(fn, "PiSSA")

    @param.depends("_minilm_version")
    def pissa_markdown(self):
        """PiSSA's numbers for the selected layer in words."""
        if not self._ready():
            return ""
        with self._lock:
            s2 = self._pissa()["s"] ** 2
        r = int(self.rank)
        return (f"PiSSA puts the top **{r}** singular directions of W into the trainable B A "
                f"({100 * s2[:r].sum() / s2.sum():.1f} % of ‖W‖²_F) and freezes the residual W_res; "
                f"EoRA instead spends its rank on the *error* ΔW, weighted by the activations.")

    @param.depends("_fidelity_version", "rank", "compression")
    def fidelity_view(self):
        """Mean cosine and Spearman of the held-out embeddings vs rank (none / SVD / EoRA), the
        chosen rank marked, and the table at the chosen rank."""
        curve = self.fidelity_curve
        if curve is None:
            return pn.pane.Markdown(f"Press **compute fidelity vs rank** for {self.compression} "
                                    f"({own.layers_text(self)}, ranks 4–128{'' if self._user else '; about 20–40 s'}).",
                                    css_classes=["eig-fid-hint"])
        plots = []
        for metric in own.plotted_metrics(self):
            none = curve.loc[curve["method"] == "none", metric]
            series = {}
            for m in ("SVD", "EoRA"):
                sub = curve[curve["method"] == m].sort_values("rank")
                series[m] = sub[metric].to_numpy()
            ranks = curve.loc[curve["method"] == "EoRA", "rank"].sort_values().to_numpy()
            if none.size and ranks.size:
                series["none"] = np.full(ranks.size, float(none.iloc[0]))
            if ranks.size:
                plots.append(vz.rank_error_plot(ranks, series, rank=self.rank, ylabel=metric,
                                                title=f"held-out {metric} vs rank ({self.compression}, {own.layers_text(self)})",
                                                legend_position="top_left"))
        table = self.fidelity_table
        parts = []
        if plots:
            parts.append(pn.pane.HoloViews(hv.Layout(plots).opts(shared_axes=False), linked_axes=False))
        if table is None:
            parts.append(pn.pane.Markdown(f"Rank {self.rank} is not computed yet: press **compute fidelity vs "
                                          "rank** to add it (a few seconds: the factors are reused).",
                                          css_classes=["eig-fid-hint"]))
        else:
            parts.append(pn.pane.Markdown(f"**At rank {self.rank}** ({self.compression}):"))
            parts.append(pn.widgets.Tabulator(table.reset_index().round(4), show_index=False, disabled=True,
                                              sizing_mode="stretch_width", css_classes=["eig-fid-table"]))
        return pn.Column(*parts, sizing_mode="stretch_width")

    # ------------------------------------------------------------------ dashboard
    def controls(self):
        """The toy's sliders; MiniLM's layer, compression, rank, text split and the fidelity button."""
        p = self.param
        sw = {"sizing_mode": "stretch_width"}
        aniso = pn.widgets.FloatSlider.from_param(p.anisotropy, name="anisotropy σ₁/σ₂",
                                                  css_classes=["anisotropy-slider"], **sw)
        angle = pn.widgets.FloatSlider.from_param(p.toy_angle, name="angle of the long axis (°)", **sw)
        layer = pn.widgets.Select.from_param(p.layer, css_classes=["w-layer"], **sw)
        comp = pn.widgets.RadioButtonGroup.from_param(p.compression, **sw)
        rank = pn.widgets.IntSlider.from_param(p.rank, css_classes=["rank-slider"], **sw)
        fid_button = pn.widgets.Button(label="compute fidelity vs rank", color="primary",
                                       css_classes=["eig-fid-button"], **sw)
        fid_button.on_click(lambda e: self.run_fidelity())
        self.param.watch(lambda e: setattr(fid_button, "disabled", e.new), "busy")
        texts = [] if self._user is not None else \
            [self.int_input(k) for k in ("n_calib", "n_heldout", "text_seed", "max_length")]
        return pn.Column(
            pn.pane.Markdown("### 2-D toy"), aniso, angle, self.int_input("toy_seed", "toy seed"),
            pn.pane.Markdown(f"### {own.label(self)}"), layer, comp, rank, *texts,
            fid_button, own.matrix_controls(self), **sw)

    def main(self):
        """Tabs: the 2-D toy, a MiniLM layer, model fidelity, PiSSA (MiniLM loads on first use)."""
        sw = {"sizing_mode": "stretch_width"}
        toy_text = pn.pane.Markdown(self.toy_markdown, css_classes=["eig-toy-metrics"], **sw)
        toy = pn.Column(
            pn.pane.Markdown(vz.TOY_CAPTION, **sw),
            toy_text, pn.pane.HoloViews(self.view_toy(), linked_axes=False), **sw)
        layer_tab = pn.Column(
            pn.pane.Markdown(self.layer_markdown, css_classes=["eig-layer-metrics"], **sw),
            pn.pane.HoloViews(self.view_spectrum, linked_axes=False),
            pn.pane.HoloViews(self.view_error_energy, linked_axes=False), **sw)
        fid_tab = pn.Column(pn.pane.Markdown(own.fidelity_text(self) if self._user is not None else
            "Compress **all 36** layers at the chosen compression, compensate each with rank r (none / SVD / "
            "EoRA, Grams from the calibration texts) and compare the held-out sentence embeddings with the "
            "original model's: mean cosine, Spearman of pairwise similarities, top-1 nearest-neighbour "
            "agreement — for r = 4 … 128 and the chosen rank. Each correction is factorised once at rank "
            "128 and truncated for smaller ranks (both SVD and EoRA are truncations of one SVD).", **sw), self.fidelity_view, **sw)
        pissa_tab = pn.Column(pn.pane.Markdown(self.pissa_markdown, **sw),
                              pn.pane.HoloViews(self.view_pissa, linked_axes=False), **sw)
        sweep_tab = pn.Column(pn.pane.Markdown(
            "The toy at σ₁/σ₂ = " + ", ".join(f"{a:g}" for a in ANISOTROPY_GRID) + " (same seed, angle and "
            "samples; standard deviations √a and 1/√a, so σ₁σ₂ = 1): SVD's correction does not depend on the "
            "activations, so its error on them grows with the long axis. Judge EoRA by the second plot, its error as "
            "a share of the uncorrected one, which falls as the data concentrate on one axis: that share does not "
            "depend on how X is scaled, while EoRA's absolute error does (with the short axis held at 1 instead, it "
            "would not fall). Below, the residual clouds X(ΔW − BA)ᵀ (output units, 2-D) at four anisotropies. At "
            "σ₁/σ₂ = 1 the two methods nearly coincide — nearly, because a sample Gram is not a multiple of I.", **sw), pn.param.ParamMethod(self.view_anisotropy, lazy=True, css_classes=["eig-sweep"]), **sw)
        tabs = pn.Tabs(("2-D toy", toy), ("Across anisotropy", sweep_tab), (f"{own.label(self)} layer", layer_tab),
                       ("Model fidelity", fid_tab), ("PiSSA", pissa_tab), ("Your matrix", own.matrix_tab(self)),
                       dynamic=True, active=own.VIEWS.index(self.view), **sw)

        def activate(event):
            self.view = own.VIEWS[event.new]
            if self.view in ("layer", "fidelity", "pissa") and not self.minilm:
                self.minilm = True
        tabs.param.watch(activate, "active")
        self.param.watch(lambda e: setattr(tabs, "active", own.VIEWS.index(e.new)), "view")
        return tabs
