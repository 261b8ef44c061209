"""Static checks of the notebooks' classroom material (no kernel): glossary links, checked
exercises with solutions, computed (not typed) numbers where the issue asked for them.
Executing the notebooks — and so every solution's ``assert check_exercise(...)`` — is
tests/test_notebooks.py's job."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from spectral_explorer.exercises import EXERCISES

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks"
NOTEBOOKS = ("heat_geodesics", "positional_encodings", "eigenspace_projections", "latent_directions", "householder")


def _cells(name):
    """(kind, text) of each jupytext percent cell; markdown comment markers stripped."""
    out = []
    for chunk in re.split(r"^# %%", (NB / f"{name}.py").read_text(), flags=re.M)[1:]:
        head, _, body = chunk.partition("\n")
        if "[markdown]" in head:
            out.append(("md", "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#")
                                        for line in body.splitlines())))
        else:
            out.append(("code", body))
    return out


def _section(cells, title):
    idx = [i for i, (k, t) in enumerate(cells) if k == "md" and re.search(rf"^## {title}\s*$", t, re.M)]
    assert len(idx) == 1, f"one '## {title}' section expected"
    return idx[0]


def test_glossary_and_lesson_plans_exist_and_are_linked():
    gloss = (NB / "GLOSSARY.md").read_text()
    for term in ("eigenspace", "Gram", "resolvent", "Varadhan", "RTN", "2:4", "SeFa", "GANSpace", "h-space",
                 "SPE", "RWPE", "top1_nn_agreement"):
        assert term in gloss, term
    readme = (NB / "README.md").read_text()
    assert "(GLOSSARY.md)" in readme and "(lesson_plans.md)" in readme
    plans = (NB / "lesson_plans.md").read_text()
    for family in ("Heat geodesics", "Positional encodings", "Eigenspace projections", "Latent directions"):
        assert re.search(rf"^## \d\. {family}", plans, re.M), family
    assert len(re.findall(r"^\| \d+–\d+ \|", plans, re.M)) >= 16   # timed blocks of 50-minute plans


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_intro_links_glossary(name):
    kind, intro = _cells(name)[0]
    assert kind == "md" and "(GLOSSARY.md)" in intro


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_exercise_is_checked_and_solved(name):
    cells = _cells(name)
    ex, sol = _section(cells, r"Exercises( \(with checks\))?"), _section(cells, "Solutions")
    assert ex < sol
    numbered = [int(n) for n in re.findall(r"^(\d+)\. \*\*", cells[ex][1], re.M)]
    registered = sorted(n for nb, n in EXERCISES if nb == name)
    assert numbered == registered, f"exercises {numbered} in the text, checks for {registered}"
    solutions = "\n".join(t for k, t in cells[sol:] if k == "code")
    for n in registered:
        assert re.search(rf'assert check_exercise\("{name}", {n},', solutions), f"no checked solution for {n}"


def test_pe_splitting_numbers_are_computed_not_typed():
    cells = _cells("positional_encodings")
    i = next(i for i, (k, t) in enumerate(cells) if k == "md" and "## 3. Instability" in t)
    text = cells[i][1]
    assert "splits by about" not in text and not re.search(r"splits[^.]*10\^\{-6\}", text)
    code = cells[i + 1][1]
    assert "def pair_splits" in code and "splits.min()" in code and "splits.max()" in code
    # what the cell prints, recomputed here: ε·O(1/n), between 1e-8 and 2e-7 at ε = 1e-6
    import networkx as nx

    A = nx.to_numpy_array(nx.cycle_graph(16))
    A[0, 1] = A[1, 0] = 1 + 1e-6
    d = A.sum(1)
    w = np.linalg.eigvalsh(np.eye(16) - A / np.sqrt(np.outer(d, d)))
    splits = np.array([w[2 * i] - w[2 * i - 1] for i in range(1, 8)])
    assert 1e-8 < splits.min() < splits.max() < 2e-7


def test_eigenspace_one_idea_comes_first():
    cells = _cells("eigenspace_projections")
    titles = [re.search(r"^## (\d+)\.", t, re.M) for k, t in cells if k == "md"]
    numbers = [int(m.group(1)) for m in titles if m]
    assert numbers[0] == 0 and "toy_data_plot" in next(t for k, t in cells if k == "code" and "toy_compensation" in t)
