#!/usr/bin/env python
"""Run a notebook top to bottom, cell by cell, and time every code cell (wall clock and CPU).

The notebooks' timing notes ("*Timing (measured ...)*") come from this script. Each code cell
is executed in a fresh kernel that runs this interpreter; around each cell the kernel reports
its own CPU time (``time.process_time()`` plus its finished children's user time), so the CPU
seconds do not depend on how busy the machine is, while the wall-clock seconds do. Quick or
full mode follows ``SPECTRAL_EXPLORER_QUICK`` as for a reader; set ``OMP_NUM_THREADS`` to fix
the thread count (wall and CPU time both depend on it).

Output: one JSON document on stdout, ``{"meta": {...}, "cells": [...]}`` with, per code cell,
its index, first line, ``wall_s`` and ``cpu_s``, and the totals in ``meta``; progress on stderr.

Usage::

    OMP_NUM_THREADS=1 SPECTRAL_EXPLORER_QUICK=0 python benchmarks/notebook_timing.py notebooks/positional_encodings.ipynb
    SPECTRAL_EXPLORER_QUICK=1 python benchmarks/notebook_timing.py notebooks/eigenspace_projections.ipynb
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

_PROBE = ("import time as _t, resource as _r\n"
          "print(_t.process_time() + _r.getrusage(_r.RUSAGE_CHILDREN).ru_utime)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebook", type=Path)
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = ap.parse_args(argv)

    import nbformat
    from nbclient import NotebookClient

    # a kernelspec that runs this interpreter, found before any other
    spec = Path(tempfile.mkdtemp()) / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    spec.joinpath("kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python"}))
    os.environ["JUPYTER_PATH"] = str(spec.parents[1])

    nb = nbformat.read(args.notebook, as_version=4)
    client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(args.notebook.resolve().parent)}})

    def cpu() -> float:
        cell = nbformat.v4.new_code_cell(_PROBE)
        client.execute_cell(cell, 0)
        return float("".join(o.get("text", "") for o in cell.outputs).split()[-1])

    cells = []
    with client.setup_kernel():
        wall0, cpu0 = time.perf_counter(), cpu()
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            c0, t0 = cpu(), time.perf_counter()
            client.execute_cell(cell, i)
            rec = {"cell": i, "first_line": cell.source.strip().split("\n")[0][:80],
                   "wall_s": round(time.perf_counter() - t0, 2), "cpu_s": round(cpu() - c0, 2)}
            cells.append(rec)
            print(f"cell {i:3d}: {rec['wall_s']:7.1f} s wall, {rec['cpu_s']:7.1f} s CPU  {rec['first_line']}",
                  file=sys.stderr, flush=True)
        total = {"wall_s": round(time.perf_counter() - wall0, 1), "cpu_s": round(cpu() - cpu0, 1)}
    meta = {"notebook": str(args.notebook), "quick": os.environ.get("SPECTRAL_EXPLORER_QUICK", "0") == "1",
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "cpu_count": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2), "python": sys.version.split()[0],
            "machine": platform.machine(), **{f"total_{k}": v for k, v in total.items()}}
    print(json.dumps({"meta": meta, "cells": cells}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
