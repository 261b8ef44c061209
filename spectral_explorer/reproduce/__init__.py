"""Reproduction targets for ``spectral-explorer reproduce NAME``.

Every target writes ``DIR/NAME.json`` and ``DIR/NAME.csv`` and prints the table.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

__all__ = ["write_table"]


def write_table(rows: list[dict], name: str, out: Path, meta: dict | None = None) -> pd.DataFrame:
    """Write ``rows`` as ``out/name.json`` (with ``meta``) and ``out/name.csv``; return the frame."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(rows)
    df.to_csv(out / f"{name}.csv", index=False)
    (out / f"{name}.json").write_text(json.dumps({"meta": meta or {}, "rows": rows}, indent=2))
    return df
