"""The explorer base: jobs (superseded and cancelled jobs stop within a second and leave the
explorer usable), errors per source, URL values applied or reported, escaping, one layout."""

from __future__ import annotations

import threading
import time

import panel as pn
import param
import pytest

from spectral_explorer.explorers import Explorer
from spectral_explorer.explorers._base import escape_markdown, message
from spectral_explorer.progress import Cancelled


class Counter(Explorer):
    """A toy family explorer: a slow, cooperative job that counts up to ``steps``."""

    steps = param.Integer(default=5, bounds=(1, 1_000_000))
    mode = param.Selector(default="a", objects=["a", "b"])
    url_params = ("steps", "mode")

    def __init__(self, **params):
        super().__init__(**params)
        self.published = []
        self.records = []

    def count(self, job, delay=0.01):
        for i in range(self.steps):
            job.checkpoint(i / self.steps, f"step {i}")
            job.emit(i)
            time.sleep(delay)
        return self.steps

    def main(self):
        return pn.pane.Markdown("counter")


def _publish(ex):
    return lambda result: ex.published.append(result)


def test_synchronous_run_publishes_and_streams():
    ex = Counter(steps=4)
    assert ex.run("count", ex.count, _publish(ex), on_records=ex.records.extend) == 4
    assert ex.published == [4] and ex.records == [0, 1, 2, 3]
    assert ex.progress == 1.0 and not ex.busy and ex.error == ""


def test_superseded_job_stops_within_a_second_and_only_the_newest_publishes():
    ex = Counter(steps=100_000)
    first = ex.run("count", lambda job: ex.count(job, 0.001), _publish(ex), background=True)
    time.sleep(0.3)
    ex.steps = 3
    t0 = time.perf_counter()
    second = ex.run("count", ex.count, _publish(ex), background=True)
    assert first.done.wait(1.0), "the superseded job did not stop within a second"
    assert time.perf_counter() - t0 < 1.0
    assert isinstance(first.exception, Cancelled)
    assert ex.wait("count")
    assert second.result == 3 and ex.published == [3]   # the superseded job never published
    assert not ex.busy and ex.error == ""


def test_cancel_stops_within_a_second_and_the_explorer_stays_usable():
    ex = Counter(steps=100_000)
    job = ex.run("count", lambda job: ex.count(job, 0.001), _publish(ex), background=True)
    time.sleep(0.3)
    t0 = time.perf_counter()
    ex.cancel(wait=True)
    assert time.perf_counter() - t0 < 1.0 and job.done.is_set()
    ex.wait()
    assert "stopped" in ex.status and ex.published == [] and not ex.busy and ex.error == ""
    ex.steps = 2
    assert ex.run("count", ex.count, _publish(ex)) == 2 and ex.published == [2]


def test_paused_job_waits_and_resumes():
    ex = Counter(steps=30)
    job = ex.run("count", ex.count, _publish(ex), background=True)
    ex.pause("count")
    time.sleep(0.2)
    frozen = job.fraction
    time.sleep(0.3)
    assert job.fraction == frozen and not job.done.is_set()
    ex.pause("count", False)
    assert ex.wait("count") and ex.published == [30]


def test_errors_are_kept_per_source():
    ex = Counter()

    def fail(job):
        raise ValueError("steps must be even, got 5")
    assert ex.run("count", fail) is None
    assert ex.error == "steps must be even, got 5" and "failed" in ex.status
    ex.set_error("url", "bad URL")
    assert ex.error.splitlines() == ["bad URL", "steps must be even, got 5"]
    ex.run("count", ex.count)   # the job's source succeeds: only its message goes
    assert ex.error == "bad URL"
    ex.set_error("url", None)
    assert ex.error == ""


def test_job_exceptions_other_than_errors_propagate():
    ex = Counter()

    def interrupt(job):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        ex.run("count", interrupt)


def test_url_values_applied_or_reported_with_the_allowed_range():
    ex = Counter()
    ex.apply_url({"steps": 7, "mode": "zzz", "ignored": 1})
    assert ex.steps == 7                            # the valid value applies
    assert "mode='zzz'" in ex.error and "mode one of a, b" in ex.error and "steps" not in ex.error
    ex.apply_url({"steps": 9_999_999})
    assert "steps in 1…1000000" in ex.error and ex.steps == 7
    ex.apply_url({"steps": 8})
    assert ex.error == "" and ex.steps == 8
    ex.apply_url({"mode": "zzz"})
    ex.steps = 9                  # another parameter: the report stays
    assert "mode='zzz'" in ex.error
    ex.mode = "b"                 # the rejected one gets a valid value: the report goes
    assert ex.error == ""


def test_user_text_is_escaped_in_the_alert():
    ex = Counter()
    alert = ex.error_alert()
    ex.apply_url({"mode": "<img src=x onerror=alert(1)>"})
    assert alert.visible and "<img" not in alert.object and "&lt;img" in alert.object
    assert escape_markdown("**x**") == "\\*\\*x\\*\\*"
    assert message(KeyError("no such layer 'x'")) == "no such layer 'x'"
    assert message(RuntimeError("boom")) == "RuntimeError: boom"


def test_layout_is_built_once():
    ex = Counter()
    assert ex.panel() is ex.panel() is ex.__panel__()


def test_views_report_errors_instead_of_raising():
    import holoviews as hv

    ex = Counter()

    def broken():
        raise ValueError("cannot draw")
    out = ex._guard(broken, "plot")
    assert "error" in out.opts.get().kwargs["title"] and ex.error == "cannot draw"
    good = hv.Curve([1, 2]) * hv.Scatter([1, 2])
    assert ex._guard(lambda: good, "plot") is good and ex.error == ""
    # after a good plot, an error keeps the type a DynamicMap needs (here an Overlay)
    out = ex._guard(broken, "plot")
    assert isinstance(out, hv.Overlay) and "error" in out.opts.get().kwargs["title"]
    assert ex.error == "cannot draw"


def test_jobs_run_in_worker_threads_when_backgrounded():
    ex = Counter(steps=2)
    names = []

    def where(job):
        names.append(threading.current_thread().name)
        return 1
    ex.run("count", where, background=True)
    ex.wait()
    assert names and names[0] != threading.main_thread().name


def test_typed_values_are_applied_or_rejected_with_the_range_and_the_widget_shows_the_value_in_effect():
    ex = Counter(steps=5)
    box = ex.int_input("steps")
    box.value = 7
    assert ex.steps == 7 and ex.error == ""
    for bad in (None, -3, 10**9):
        box.value = bad
        assert ex.steps == 7 and box.value == 7, bad          # the widget shows the value in effect
        assert "steps in 1…1000000" in ex.error and "keeping 7" in ex.error
    box.value = 9                                          # a valid value clears the report
    assert ex.steps == 9 and ex.error == ""
    ex.steps = 4                                           # set in code: the widget follows
    assert box.value == 4


def test_closing_the_browser_session_cancels_the_explorers_jobs():
    """The base registers a session-destroyed hook on the served document; Bokeh calls it when
    the tab has been closed (after its unused-session lifetime): the running job stops."""
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    doc = Document()
    context = object()
    doc._session_context = lambda: context      # this document, as if served (a weakref in Bokeh)
    ex = Counter(steps=100_000)
    job = ex.run("count", lambda job: ex.count(job, 0.001), background=True)   # a worker thread
    with set_curdoc(doc):
        ex._hook_session()
    assert len(doc.session_destroyed_callbacks) == 1
    time.sleep(0.2)
    for callback in doc.session_destroyed_callbacks:   # what Bokeh's lifecycle handler does
        callback(None)
    assert job.done.wait(1.0) and isinstance(job.exception, Cancelled)


class Diffusion(Explorer):
    t = param.Number(default=2.0, bounds=(0.5, 500.0))

    def main(self):
        return pn.pane.Markdown("t")


def test_echo_guard_drops_older_pushes_also_after_a_trip_through_javascript():
    from spectral_explorer.explorers._base import EchoGuard

    g = EchoGuard()
    for v in (0.1 + 0.2, 0.5, 0.7):
        g.pushed(v)
    assert g.stale(0.3)                           # 0.30000000000000004 pushed, 0.3 echoed
    assert not g.stale(0.7) and not g.stale(0.9)  # the latest, or a value the user chose
    single = EchoGuard()
    single.pushed("exact")
    assert not single.stale("euler")              # nothing older was pushed: a user's choice


def test_log_slider_echo_of_its_snapped_position_keeps_the_value_in_effect():
    """The page snaps the handle to start + k·step and reports that position back; it must not
    turn t = 2 into 1.99 (log10 2 = 0.30103 shown at a grid point 0.29897 when the grid is not
    anchored at 2)."""
    import numpy as np

    from spectral_explorer.explorers._base import log_slider

    ex = Diffusion(t=2.0)
    ex.param.t.default = 1.0   # a grid anchored at t = 1, on which t = 2 is not a grid point
    try:
        slider = log_slider(ex, "t", "t", "t-slider")
    finally:
        ex.param.t.default = 2.0
    lo = slider.start
    assert abs(lo - (-0.3)) < 1e-9 and lo >= np.log10(0.5)
    k = (slider.value - lo) / 0.01
    assert abs(k - round(k)) < 1e-9 and abs(slider.value - np.log10(2.0)) <= 0.005
    def page_sends(position):
        with param.edit_constant(slider):
            slider.value_throttled = position

    page_sends(slider.value)                       # the page's echo of the position it shows
    assert ex.t == 2.0
    ex.t = 5.0                                     # a cell moves t, then sets it back
    pushed_5 = slider.value
    ex.t = 2.0
    page_sends(pushed_5)                           # the late echo of the older position
    assert ex.t == 2.0 and abs(slider.value - np.log10(2.0)) <= 0.005
    page_sends(lo + 200 * 0.01)                    # a student drags the handle
    assert ex.t == float(f"{10 ** (lo + 2.0):.3g}") == 50.1


def test_a_student_moving_back_to_an_earlier_value_is_a_move_not_an_echo():
    """A dashboard pushes every value a student picks back to the slider; picking an earlier
    value again (t: 20 → 39.9 → 20) must apply, however soon."""
    from spectral_explorer.explorers._base import log_slider

    ex = Diffusion(t=20.0)
    slider = log_slider(ex, "t", "t", "t-slider")

    def student(position):
        with param.edit_constant(slider):
            slider.value = position
            slider.value_throttled = position

    lo = slider.start
    for _ in range(2):
        student(lo + 190 * 0.01)      # t = 39.9 (the grid is anchored at the default t = 2)
        assert ex.t == 39.9
        student(lo + 160 * 0.01)      # t = 20, exactly: 2 · 10^(100 steps of 0.01)
        assert ex.t == 20.0


def test_log_slider_label_shows_the_value_in_effect_not_the_grid_point():
    """t = 50 is not a grid point (the grid is anchored at the default t = 2, step 0.01: the
    handle sits at 50.2): the slider's formatter is told the value in effect and where the
    handle shows it, so its label reads 50; a value moved to another grid point is told too;
    exponents are written as JavaScript's toExponential writes them."""
    from spectral_explorer.explorers._base import log_slider

    ex = Diffusion(t=2.0)
    slider = log_slider(ex, "t", "t", "t-slider")
    assert slider.format.args == {"pos": slider.value, "text": "2"}
    ex.t = 50.0
    assert abs(10 ** slider.value - 50.0) > 0.1                        # the handle's grid point
    assert slider.format.args == {"pos": slider.value, "text": "50"}   # … labelled with the value in effect
    assert "Math.abs(tick - pos)" in slider.format.code and "? text :" in slider.format.code
    title = slider.name
    ex.t = 50.1                       # the same grid point: the title changes, so the page redraws the label
    assert slider.format.args["text"] == "50.1" and slider.name != title and slider.name.strip("\u200b") == "t"
    with param.edit_constant(slider):
        slider.value_throttled = slider.value + 0.05                   # a student drags and releases
    assert slider.format.args["text"] == f"{ex.t:g}" and slider.format.args["pos"] == slider.value

    class Small(Explorer):
        eps = param.Number(default=1e-6, bounds=(1e-9, 1.0))

        def main(self):
            return pn.pane.Markdown("eps")
    small = Small()
    s2 = log_slider(small, "eps", "eps", "eps-slider", step=0.05, fmt="toExponential")
    assert s2.format.args["text"] == "1.0e-6"
    small.eps = 3.25e-5
    assert s2.format.args["text"] == "3.25e-5"
    small.eps = 2000e-6
    assert s2.format.args["text"] == "2.0e-3"


def test_a_page_reporting_on_a_plot_replaced_twice_in_one_batch_is_not_an_error():
    """Two plot replacements in one frozen batch: the middle plot reached the page but never the
    document's model graph; the page's report on it (``inner_width``) is dropped, the rest of the
    patch applies, and a model defined in the patch that names one never sent is still an error."""
    from bokeh.core.serialization import UnknownReferenceError
    from bokeh.document import Document
    from bokeh.models import Column
    from bokeh.plotting import figure

    from spectral_explorer.explorers._widgets import frozen_models

    doc = Document()
    col = Column(children=[figure()])
    doc.add_root(col)
    with frozen_models(doc):
        middle = figure()
        col.children = [middle]
        last = figure()
        col.children = [last]
    assert doc.get_model_by_id(middle.id) is None and not doc.models.seen(middle.id)
    doc.apply_json_patch({"events": [
        {"kind": "ModelChanged", "model": {"id": middle.id}, "attr": "inner_width", "new": 300},
        {"kind": "MessageSent", "msg_type": "bokeh_event",    # a UI event of the replaced plot
         "msg_data": {"type": "event", "name": "rangesupdate", "values": {"type": "map", "entries": [
             ["model", {"id": middle.id}], ["x0", 0.0], ["x1", 1.0]]}}},
        {"kind": "ModelChanged", "model": {"id": last.id}, "attr": "width", "new": 333}]})
    assert last.width == 333
    with pytest.raises(UnknownReferenceError):   # a model that was never sent is not dropped silently
        doc.apply_json_patch({"events": [
            {"kind": "ModelChanged", "model": {"id": last.id}, "attr": "toolbar",
             "new": {"type": "object", "name": "Toolbar", "id": "x1", "attributes": {"tools": [{"id": "never-sent"}]}}}]})


def test_a_message_arriving_after_its_session_closed_is_dropped_not_a_traceback():
    """Tornado delivers a closing page's queued messages after the session was detached; Bokeh's
    handler would fail on ``assert self._session is not None`` (a traceback per message)."""
    import types

    from bokeh.server.session import ServerSession

    import spectral_explorer.explorers  # noqa: F401 - installs the server quirks

    import asyncio

    closed = types.SimpleNamespace(_session=None)
    for name in ("patch", "pull", "push"):   # Bokeh awaits what a handler returns
        assert asyncio.run(getattr(ServerSession, name)(object(), closed)) is None
    with pytest.raises(AttributeError):   # a live connection still reaches Bokeh's handler
        ServerSession.patch(object(), types.SimpleNamespace(_session=object(), session=object()))


def test_the_figure_format_switch_redraws_every_plot_with_the_svg_backend_also_later_ones():
    """Bokeh's toolbar save writes SVG only from plots drawn with its SVG backend."""
    import holoviews as hv
    from bokeh.document import Document
    from bokeh.models import Plot

    from spectral_explorer.explorers._export import set_figure_format

    hv.extension("bokeh", logo=False)
    doc = Document()
    pane = pn.pane.HoloViews(hv.Curve([1, 2, 3]))
    col = pn.Column(pane)
    doc.add_root(col.get_root(doc))
    set_figure_format("SVG", doc)
    assert {p.output_backend for p in doc.select({"type": Plot})} == {"svg"}
    col.append(pn.pane.HoloViews(hv.Scatter([3, 1, 2])))   # a plot built after the switch
    backends = [p.output_backend for p in doc.select({"type": Plot})]
    assert len(backends) == 2 and set(backends) == {"svg"}
    set_figure_format("PNG", doc)
    assert {p.output_backend for p in doc.select({"type": Plot})} == {"webgl"}
    with pytest.raises(ValueError, match="PNG, SVG"):
        set_figure_format("GIF", doc)
