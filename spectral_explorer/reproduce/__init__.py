"""Reproduction targets for ``spectral-explorer reproduce NAME``.

Every target writes ``DIR/NAME.json`` and ``DIR/NAME.csv`` and prints the table.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import pandas as pd

__all__ = ["write_table", "run_target"]


def write_table(rows: list[dict], name: str, out: Path, meta: dict | None = None) -> pd.DataFrame:
    """Write ``rows`` as ``out/name.json`` (with ``meta``) and ``out/name.csv``; return the frame."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(rows)
    df.to_csv(out / f"{name}.csv", index=False)
    (out / f"{name}.json").write_text(json.dumps({"meta": meta or {}, "rows": rows}, indent=2))
    return df


def run_target(name: str, label: str, run, quick: bool, out: Path, threads: int) -> tuple[pd.DataFrame, dict]:
    """Run a torch-based target: ``run(quick=, progress=, meta=)`` with ``threads`` torch threads
    (at most the machine's), progress printed, the rows written by :func:`write_table` with the
    run's metadata (seconds, versions, threads); returns the table and the metadata."""
    import torch

    from ..progress import text_printer

    start = time.perf_counter()
    torch.set_num_threads(min(torch.get_num_threads(), threads))
    print(f"{label} ({'quick' if quick else 'full'}) ...", flush=True)
    meta = {"quick": quick}
    rows = run(quick=quick, progress=text_printer(), meta=meta)
    meta.update({"seconds": round(time.perf_counter() - start, 1), "python": sys.version.split()[0],
                 "torch": torch.__version__, "threads": torch.get_num_threads(), "machine": platform.machine()})
    return write_table(rows, name, out, meta), meta
