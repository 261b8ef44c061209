"""Server-side latency of the eigenspace dashboard's MiniLM tabs (prints JSON).

What a served session computes, with one BLAS thread as ``apps/eigenspace.py`` sets:

* ``open_minilm_s``   — switching the MiniLM stages on: load the model, collect ``XᵀX`` of
  all 36 layers on the calibration and held-out texts, then the chosen layer's stages;
* ``layer_switch_s``  — choosing another layer, per layer shape (384 inputs: q/k/v, attention
  output, intermediate; 1536 inputs: ``*.output.dense``), Grams cached;
* ``compression_switch_s`` — another compression for the same layer;
* ``rank_change_s``   — moving the rank slider (no stage reruns: the curves hold every rank);
* ``fidelity_first_s`` / ``fidelity_add_rank_s`` — the *Model fidelity* button: ranks 4–128
  for none / SVD / EoRA, then one more rank (factors reused, only embeddings).

The rendering of plots and the browser are not included (see the browser tests).

    python benchmarks/eigenspace_app_latency.py [--n-calib 64] [--n-heldout 64]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("SPECTRAL_EXPLORER_DEVICE", "cpu")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import threadpoolctl  # noqa: E402
import torch  # noqa: E402

from spectral_explorer.explorers import EigenspaceExplorer  # noqa: E402


def _timed(fn):
    t = time.perf_counter()
    fn()
    return round(time.perf_counter() - t, 3)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-calib", type=int, default=64)
    p.add_argument("--n-heldout", type=int, default=64)
    args = p.parse_args(argv)
    threadpoolctl.threadpool_limits(1, user_api="blas")

    ex = EigenspaceExplorer(n_calib=args.n_calib, n_heldout=args.n_heldout, rank=16)
    out = {"n_calib": args.n_calib, "n_heldout": args.n_heldout, "torch": torch.__version__,
           "torch_threads": torch.get_num_threads()}
    out["open_minilm_s"] = _timed(lambda: setattr(ex, "minilm", True))
    assert not ex.error, ex.error
    out["layer_switch_s"] = {}
    for layer in ("encoder.layer.3.attention.self.query", "encoder.layer.3.intermediate.dense",
                  "encoder.layer.3.output.dense"):
        out["layer_switch_s"][layer] = _timed(lambda layer=layer: setattr(ex, "layer", layer))
    out["compression_switch_s"] = _timed(lambda: setattr(ex, "compression", "rtn4"))
    out["rank_change_s"] = _timed(lambda: setattr(ex, "rank", 48))
    ex.param.update(compression="rtn3", rank=16)
    out["fidelity_first_s"] = _timed(ex.run_fidelity)
    ex.rank = 24
    out["fidelity_add_rank_s"] = _timed(ex.run_fidelity)
    assert not ex.error, ex.error
    table = ex.fidelity_table
    out["fidelity_rank24_mean_cosine"] = {m: round(float(v), 4) for m, v in table["mean cosine"].items()}
    out["stage_counts"] = dict(ex.stage_counts)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
