"""What a notebook cell showed a student, from its saved outputs (nbclient, JupyterLab, classic)."""

from __future__ import annotations


def stderr_outputs(cells) -> list[tuple[int, str]]:
    """(code cell index, text) of every stderr stream output: warnings and log lines a student sees.
    ``cells`` are nbformat cells, or JupyterLab's ``{"outputs": [...]}`` per code cell."""
    out, i = [], -1
    for c in cells:
        if c.get("cell_type", "code") != "code":
            continue
        i += 1
        for o in c.get("outputs", []):
            if o.get("output_type") == "stream" and o.get("name") == "stderr":
                text = o.get("text", "")
                out.append((i, ("".join(text) if isinstance(text, list) else text).strip()[:500]))
    return out
