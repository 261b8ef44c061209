"""axe-core in a Playwright page: the accessibility audit the browser tests and
``benchmarks/accessibility_audit.py`` share.

axe-core is the npm package pinned in ``.ci/axe/package.json``, installed by ``bash .ci/dev test``
into ``.ci/axe/node_modules`` (or named by ``SPECTRAL_EXPLORER_AXE=/path/to/axe.min.js``).  It is
injected from that file (``page.add_script_tag(path=...)``: no request leaves the machine) and run
on the whole document, shadow roots included, with the WCAG 2.0/2.1 A and AA rules and axe's best
practices (landmarks, one ``h1``).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AXE_JS = Path(os.environ.get("SPECTRAL_EXPLORER_AXE")
              or ROOT / ".ci" / "axe" / "node_modules" / "axe-core" / "axe.min.js")
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
#: what fails a test: every violation of these impacts ...
FAILING_IMPACTS = ("critical", "serious")
#: ... and these page-structure rules (one main landmark, one h1, content in landmarks, headings
#: in order)
STRUCTURE_RULES = ("landmark-one-main", "page-has-heading-one", "landmark-no-duplicate-main", "region",
                   "heading-order")


def axe_available() -> bool:
    return AXE_JS.is_file()


def run_axe(page, include=None) -> list[dict]:
    """The axe violations of ``page`` (``include``: a CSS selector to limit the audit to): a list
    of ``{id, impact, help, helpUrl, nodes: [{target, html, summary}]}``."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate(
        """async ([include, tags]) => {
             const ctx = include ? {include: [include]} : document;
             const r = await axe.run(ctx, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
             return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
               nodes: v.nodes.map(n => ({target: n.target.map(t => Array.isArray(t) ? t.join(' >> ') : t),
                                        html: n.html.slice(0, 200), summary: n.failureSummary}))}));
           }""", [include, TAGS])
    return result


def merge(into: dict, violations: list[dict], where: str = "") -> dict:
    """Collect ``violations`` into ``into`` (rule id → violation), nodes de-duplicated by target;
    each new node remembers ``where`` (e.g. the tab) it was found."""
    for v in violations:
        have = into.setdefault(v["id"], {**v, "nodes": []})
        seen = {tuple(n["target"]) for n in have["nodes"]}
        for n in v["nodes"]:
            if tuple(n["target"]) not in seen:
                have["nodes"].append({**n, "where": where})
                seen.add(tuple(n["target"]))
    return into


def counts(violations) -> dict:
    """``{impact: {"rules": r, "nodes": n}}`` of a list (or rule-id dict) of violations."""
    vs = violations.values() if isinstance(violations, dict) else violations
    out: dict = {}
    for v in vs:
        c = out.setdefault(v["impact"] or "none", {"rules": 0, "nodes": 0})
        c["rules"] += 1
        c["nodes"] += len(v["nodes"])
    return out


def failing(violations) -> list[dict]:
    vs = violations.values() if isinstance(violations, dict) else violations
    return [v for v in vs if v["impact"] in FAILING_IMPACTS or v["id"] in STRUCTURE_RULES]


def report(violations) -> str:
    """Rule, impact, help text and the node targets (with where they were found), one block per rule."""
    vs = violations.values() if isinstance(violations, dict) else violations
    lines = []
    for v in vs:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} — {v['helpUrl']}")
        for n in v["nodes"][:12]:
            where = f" [{n['where']}]" if n.get("where") else ""
            lines.append(f"    {' '.join(n['target'])}{where}: {n['html'][:120]}")
        if len(v["nodes"]) > 12:
            lines.append(f"    … and {len(v['nodes']) - 12} more")
    return "\n".join(lines)


def tab_labels(page) -> list[str]:
    """The labels of every tab header on the page (Bokeh's ``.bk-tab``, inside shadow roots)."""
    return [t.strip() for t in page.locator(".bk-tab").all_inner_texts()]


def settle(page, seconds: float = 1.5, canvases_timeout: float = 30.0):
    """Wait until the page's Bokeh canvases stop appearing (a tab's plots drawn), then ``seconds``."""
    deadline = time.time() + canvases_timeout
    last, stable_since = -1, time.time()
    while time.time() < deadline:
        n = page.locator("canvas").count()
        if n != last:
            last, stable_since = n, time.time()
        elif time.time() - stable_since > 1.0:
            break
        page.wait_for_timeout(250)
    page.wait_for_timeout(int(seconds * 1000))


def audit_with_tabs(page, on_tab=None) -> dict:
    """Audit ``page`` as it is, then open every tab (also tabs a tab reveals) and audit again;
    returns the merged violations (rule id → violation, nodes tagged with the tab).
    ``on_tab(label)`` runs after a tab opened (e.g. to start what the tab computes)."""
    found = merge({}, run_axe(page), "first view")
    done: set[str] = set()
    while True:
        todo = [t for t in tab_labels(page) if t not in done]
        if not todo:
            return found
        label = todo[0]
        done.add(label)
        tab = page.locator(".bk-tab").filter(has_text=re.compile(f"^\\s*{re.escape(label)}\\s*$")).first
        if not tab.is_visible():
            continue
        tab.click()
        settle(page)
        if on_tab is not None:
            on_tab(label)
        merge(found, run_axe(page), label)
