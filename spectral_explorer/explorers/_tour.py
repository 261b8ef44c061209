"""Guided tours: numbered steps (data, not code) that a dashboard walks a class through.

A tour is a packaged JSON file ``explorers/tours/<name>.json`` holding a list of steps; each
step is an object with

``title``     a few words (the gallery's step link shows it),
``claim``     what the step shows, in one or two sentences,
``question``  a *prediction question* the class answers before pressing the button,
``params``    the explorer parameters the button sets (names from the explorer's ``url_params``,
              applied in the listed order),
``answer``    the explanation revealed by the button (one paragraph, numbers measured with
              this code),
``tab``       optional: the title of the dashboard tab the button opens.

Text is Markdown with HTML escaped (``**bold**`` works, tags show as text).  An explorer takes a
tour by naming it (``tour_name``), declaring ``tour = tour_param(tour_name)`` and listing
``"tour"`` in its ``url_params``: ``?tour=N`` opens step N (0: the tour's start), an out-of-range
or non-integer value is reported with the allowed range like any URL value.  The base
:class:`~._base.Explorer` builds the tour panel (:func:`tour_panel`) above the views.

The index page reads the same files (:func:`load_tour`) without importing any explorer.

>>> steps = load_tour("heat_geodesics")
>>> 4 <= len(steps) <= 8 and all(s.title and s.question and s.answer for s in steps)
True
>>> parse_steps([{"title": "x"}], "demo")
Traceback (most recent call last):
...
ValueError: demo, step 1: missing claim, question, params, answer
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import param

__all__ = ["Step", "TOURS", "load_tour", "parse_steps", "tour_param", "check_steps", "tour_panel",
           "MIN_STEPS", "MAX_STEPS"]

#: the packaged folder of tour files (one ``<dashboard name>.json`` each)
TOURS = Path(__file__).resolve().parent / "tours"
MIN_STEPS, MAX_STEPS = 4, 8
_REQUIRED = ("title", "claim", "question", "params", "answer")
_OPTIONAL = ("tab",)


@dataclass(frozen=True)
class Step:
    """One step of a guided tour (see the module docstring)."""

    title: str
    claim: str
    question: str
    params: tuple = field(default=())      # ((name, value), ...) in the order they are applied
    answer: str = ""
    tab: str | None = None

    @property
    def values(self) -> dict:
        return dict(self.params)


def parse_steps(raw, source: str = "tour") -> tuple[Step, ...]:
    """The steps of ``raw`` (a list of dicts, e.g. a tour file's JSON); a ``ValueError`` naming
    ``source`` and the step for anything malformed."""
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{source}: a tour is a non-empty list of steps, got {type(raw).__name__}")
    if len(raw) > MAX_STEPS:
        raise ValueError(f"{source}: at most {MAX_STEPS} steps, got {len(raw)}")
    steps = []
    for i, item in enumerate(raw, 1):
        where = f"{source}, step {i}"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: a step is an object, got {type(item).__name__}")
        missing = [k for k in _REQUIRED if k not in item]
        if missing:
            raise ValueError(f"{where}: missing {', '.join(missing)}")
        unknown = sorted(set(item) - set(_REQUIRED) - set(_OPTIONAL))
        if unknown:
            raise ValueError(f"{where}: unknown keys {', '.join(unknown)}")
        for k in ("title", "claim", "question", "answer"):
            if not isinstance(item[k], str) or not item[k].strip():
                raise ValueError(f"{where}: {k} must be non-empty text")
        if not isinstance(item["params"], dict) or not item["params"]:
            raise ValueError(f"{where}: params must be a non-empty object of parameter values")
        tab = item.get("tab")
        if tab is not None and not isinstance(tab, str):
            raise ValueError(f"{where}: tab must be a tab title")
        steps.append(Step(item["title"].strip(), item["claim"].strip(), item["question"].strip(),
                          tuple(item["params"].items()), item["answer"].strip(), tab))
    return tuple(steps)


@lru_cache(maxsize=None)
def load_tour(name: str) -> tuple[Step, ...]:
    """The steps of dashboard ``name``'s tour (``()`` when it has none)."""
    path = TOURS / f"{name}.json"
    if Path(name).name != name or not path.is_file():
        return ()
    return parse_steps(json.loads(path.read_text(encoding="utf-8")), path.name)


def tour_param(name: str) -> param.Integer:
    """The ``tour`` parameter of an explorer whose tour is ``name``: the open step (0 = start)."""
    n = len(load_tour(name))
    return param.Integer(default=0, bounds=(0, n), doc=f"""
        Guided tour: the step shown (1…{n}; 0 = the tour's start). ?tour=N opens step N.""")


def check_steps(explorer_cls, steps) -> list[str]:
    """Problems of ``steps`` for ``explorer_cls`` (empty when every step is valid): each
    parameter must be one of its ``url_params`` (so the URL reproduces the step) and its value
    allowed by the parameter (type, bounds, choices)."""
    problems = []
    for i, s in enumerate(steps, 1):
        for k, v in s.params:
            if k not in explorer_cls.url_params or k == "tour":
                problems.append(f"step {i}: {k} is not a URL parameter of {explorer_cls.__name__}")
                continue
            try:
                explorer_cls.param[k]._validate(v)
            except Exception as exc:  # noqa: BLE001 - reported
                problems.append(f"step {i}: {k}={v!r}: {exc}")
    return problems


def _md(text: str) -> str:
    """Step text for a Markdown pane: Markdown kept, HTML shown as text."""
    return html.escape(text, quote=False)


def _format_value(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v)) or "none"
    return str(v)


def _settings(step: Step) -> str:
    return ", ".join(f"{k} = {_format_value(v)}" for k, v in step.params)


def tour_panel(explorer):
    """The tour panel of ``explorer``: "Step N of M", the claim and prediction question, a button
    that sets the step's parameters and reveals the answer, previous / next.  A handful of
    widgets (no plot), built once per page."""
    import panel as pn

    steps = explorer.tour_steps()
    m = len(steps)
    header = pn.pane.Markdown("", css_classes=["tour-header"], margin=(0, 10), sizing_mode="stretch_width")
    body = pn.pane.Markdown("", css_classes=["tour-body"], margin=(0, 10), sizing_mode="stretch_width")
    answer = pn.pane.Markdown("", css_classes=["tour-answer"], margin=(0, 10), sizing_mode="stretch_width",
                              visible=False)
    reveal = pn.widgets.Button(label="show me the answer", color="primary", css_classes=["tour-reveal"], width=180,
                               margin=(5, 10))
    prev = pn.widgets.Button(label="◀ previous", css_classes=["tour-prev"], width=110, margin=(5, 5))
    nxt = pn.widgets.Button(label="next ▶", css_classes=["tour-next"], width=110, margin=(5, 5))

    def show(*_):
        n = int(explorer.tour)
        answer.visible = False
        prev.disabled = n <= 0
        nxt.disabled = n >= m
        body.visible = prev.visible = n > 0      # the start is two short lines (narrow screens, page height)
        if n == 0:
            header.object = (f"**Guided tour** · {m} steps: a claim, your prediction, then the answer — "
                             + " · ".join(f"{i}. {_md(s.title)}" for i, s in enumerate(steps, 1)))
            nxt.label = "start the tour ▶"
            reveal.visible = False
            return
        s = steps[n - 1]
        nxt.label = "next ▶"
        header.object = f"**Step {n} of {m}** — {_md(s.title)}"
        body.object = f"{_md(s.claim)}\n\n**Predict:** {_md(s.question)}"
        reveal.description = f"sets {_settings(s)}"
        reveal.visible = True

    def do_reveal(*_):
        n = int(explorer.tour)
        if n < 1:
            return
        s = steps[n - 1]
        try:
            explorer.apply_tour_step(n)
        except Exception as exc:  # noqa: BLE001 - shown in the page, never raised into the server
            explorer.set_error("tour", exc)
            return
        explorer.set_error("tour", None)
        answer.object = f"**Answer.** {_md(s.answer)}\n\n*Set by the button: {_md(_settings(s))}.*"
        answer.visible = True

    def move(delta):
        explorer.tour = min(max(int(explorer.tour) + delta, 0), m)

    reveal.on_click(do_reveal)
    prev.on_click(lambda *_: move(-1))
    nxt.on_click(lambda *_: move(1))
    explorer.param.watch(show, "tour")
    show()
    buttons = pn.FlexBox(prev, nxt, reveal, flex_wrap="wrap", sizing_mode="stretch_width")   # wraps on a phone
    return pn.Column(header, body, buttons, answer,
                     css_classes=["explorer-tour"], sizing_mode="stretch_width",
                     styles={"border": "1px solid #c9d7e3", "border-radius": "6px", "background": "#f6f9fc"},
                     margin=(5, 10))
