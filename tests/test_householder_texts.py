"""The Householder family's numbers come from the commands its texts name: the docs' study table (docs/reproduce.md) and
sentences, the notebook's §6 summary, the dashboard's introduction and the tour's last step quote the
recorded full run (``RECORDED_FULL``, what ``spectral-explorer reproduce householder`` printed); the words
they put on a comparison ("the same within the seeds' noise", "lower … on every seed") are what the
record's seed-by-seed test says; the notebook and the page state the paper's idea before the critique
and list the departures. No training here: the record is the contract, the study's tests check the
code that writes it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spectral_explorer import householder_study as hs
from spectral_explorer.reproduce.householder import RECORDED_FULL as R

ROOT = Path(__file__).resolve().parents[1]
BY = {r["variant"]: r for r in R["summary"]}
#: the study table's row label for each recorded variant, and its control's short name
LABELS = {"pretrained linear": "pretrained linear", "rank-4 SVD, no fine-tune": "rank-4 SVD, before fine-tuning",
          "linear (fine-tuned)": "linear, fine-tuned 10 % (the control)",
          "householder equal S": "Householder, equal S (the paper's S)",
          "householder equal S, rotated": "same map, frames rotated",
          "householder equal S, SVD-read (reference code)": "same map, SVD-read (the reference code)",
          "householder fixed S": "Householder, fixed S (the weight's)", "householder learned S": "Householder, learned S",
          "linear, 1 % fine-tune": "linear, fine-tuned 1 %",
          hs.PAPER["variant"]: "the paper's configuration: equal S, 1 %, SVD-read"}
CONTROL = {"pretrained linear": "pretrained linear", "linear (fine-tuned)": "linear, 10 %",
           "householder equal S": "equal S", "linear, 1 % fine-tune": "linear, 1 %"}


def _pm(a, b):
    return f"{a:.3f} ± {b:.3f}"


def _signed(x):
    return ("+" if x >= 0 else "−") + f"{abs(x):.3f}"


def _recorded_pairs() -> set[str]:
    """Every "a ± b" a text may quote: a row's purity (also DCI) ± std, or its paired difference ± std
    (signed, or as a magnitude after "by")."""
    out = set()
    for r in R["summary"]:
        for k in ("purity", "dci_d", "dci_c"):
            out.add(_pm(r[k], r[k + "_std"]))
        if "control" in r:
            out.add(f"{_signed(r['purity_diff'])} ± {r['purity_diff_std']:.3f}")
            out.add(_pm(abs(r["purity_diff"]), r["purity_diff_std"]))
    return out


def _quoted(text: str) -> list[str]:
    return [f"{a.replace('-', '−')} ± {b}" for a, b in re.findall(r"([+−-]?\d\.\d{3}) ± (\d\.\d{3})", text)]


def _flat(text: str) -> str:
    """Markdown (or a jupytext cell's comment lines) as one line: phrases broken across lines still match."""
    return " ".join(line[2:] if line.startswith("# ") else line for line in text.splitlines()).replace("  ", " ")


def _readme_study() -> str:
    text = (ROOT / "docs" / "reproduce.md").read_text()
    return text[text.index("`householder` measures the claim"):text.index("`eigenspace` compresses all 36")]


def _notebook_markdown(heading: str) -> str:
    cells = re.split(r"^# %%", (ROOT / "notebooks" / "householder.py").read_text(), flags=re.M)
    return _flat(next(c for c in cells if heading in c))


def _tour_step(title: str) -> dict:
    import json

    steps = json.loads((ROOT / "spectral_explorer" / "explorers" / "tours" / "householder.json").read_text())
    return next(s for s in steps if s["title"] == title)


def test_readme_table_is_the_recorded_run():
    text = _readme_study()
    rows = re.findall(r"^\| (.+?) \| (.+?) \| (.+?) \| (.+?) \| (.+?) \| (.+?) \|(.*)\|$", text, re.M)
    rows = {r[0]: r[1:] for r in rows if r[0] in LABELS.values()}
    assert set(rows) == set(LABELS.values())
    for variant, label in LABELS.items():
        r = BY[variant]
        diff = f"{_signed(r['purity_diff'])} ± {r['purity_diff_std']:.3f} ({CONTROL[r['control']]})" if "control" in r else ""
        assert rows[label] == (_pm(r["purity"], r["purity_std"]), _pm(r["dci_d"], r["dci_d_std"]),
                               _pm(r["dci_c"], r["dci_c_std"]), f"{r['mse']:.4f}", f"{r['factor_rmse']:.3f}",
                               f" {diff} " if diff else " "), label


@pytest.mark.parametrize("where", ["docs reproduce page", "notebook §6", "tour step 7", "dashboard intro"])
def test_quoted_figures_are_the_recorded_ones(where):
    from spectral_explorer.explorers.householder import intro

    text = {"docs reproduce page": _readme_study, "notebook §6": lambda: _notebook_markdown("**What the full study found**"),
            "tour step 7": lambda: _tour_step("The measurement: the paper's configuration, trained")["answer"],
            "dashboard intro": intro}[where]()
    quoted = _quoted(text)
    assert len(quoted) >= 4, quoted
    stray = sorted(set(quoted) - _recorded_pairs())
    assert not stray, f"{where} quotes figures that are not in the recorded run: {stray}"
    assert R["command"] in text


def test_the_words_match_the_records_seed_by_seed_test():
    same = ("householder equal S", "householder fixed S", "householder learned S", "householder equal S, rotated",
            hs.PAPER["variant"])
    assert all(BY[v]["purity_diff_within_noise"] for v in same)
    svd = BY["householder equal S, SVD-read (reference code)"]
    assert not svd["purity_diff_within_noise"] and svd["purity_diff"] < 0       # "lower … on every seed"
    nb = _notebook_markdown("**What the full study found**")
    readme = _flat(_readme_study())
    for text in (nb, readme):
        assert "same within the seeds' noise" in text and "on every seed" in text
        assert "a little higher" not in text and "scores lower:" not in text
    lo, hi = min(R["cos_rotated"]), max(R["cos_rotated"])
    assert f"{lo:.2f}–{hi:.2f}" in nb and f"{lo:.2f}–{hi:.2f}" in readme
    lo, hi = min(R["cos_svd_read"]), max(R["cos_svd_read"])
    assert f"{lo:.2f}–{hi:.2f}" in readme
    lo, hi = min(R["rel_weight_change"]), max(R["rel_weight_change"])
    assert f"{lo * 1e7:.1f}–{hi * 1e7:.1f} × 10⁻⁷" in readme
    assert f"{R['max_orth_error'] * 1e7:.1f} × 10⁻⁷" in readme
    assert f"full run: {R['seconds']:.0f} s here" in readme


def test_the_paper_comes_first_and_the_departures_are_listed():
    from spectral_explorer.explorers.householder import intro

    nb = _flat((ROOT / "notebooks" / "householder.py").read_text())
    page = _flat(intro())
    for text in (nb, page):
        idea, catch = text.index("The paper's idea"), text.index("catch")
        assert idea < catch
        for word in ("equal singular values", "orthonormal frames", "1 %", "torch.svd", "BatchNorm", "frozen",
                     "reference code"):
            assert word in text, word
    assert nb.index("The paper's idea") < nb.index("## 1. One mirror")
    readme = _flat(_readme_study())
    assert "BatchNorm statistics included" in readme and "1 % of its training steps" in readme
