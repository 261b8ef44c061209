"""Widget helpers of the explorers: two-way links between a widget and a parameter that drop
the stale values a live page echoes back (:class:`EchoGuard`, :func:`guard_echoes`,
:func:`link_two_way`), the log-scale slider (:func:`log_slider`), a player over a grid of values
(:func:`grid_player`), and :func:`frozen_models`,
which lets a batch of plot updates recompute the Bokeh document's model graph once."""

from __future__ import annotations

import contextlib
import math
import time

import numpy as np
import panel as pn

from ._server_quirks import install as _install_server_quirks

#: how long a value Python pushed to a widget counts as a possible stale echo (a loaded
#: notebook server delivers the page's echoes many seconds late; a user's own move clears it)
ECHO_WINDOW_S = 60.0

class SafeIntInput(pn.widgets.IntInput):
    """An integer box that takes whatever the browser sends for it.

    Bokeh's integer input sends a pasted 300-digit number as a float (``2.2e+299``), which
    Panel's ``IntInput`` refuses deep inside its own model sync (a traceback in the server log,
    the box left showing the float, the parameter unchanged and no message).  Here a finite
    whole float becomes the exact ``int`` (so the explorer's :meth:`~._base.Explorer.bind`
    reports it against the parameter's range, with the range, and puts the value in effect back
    in the box); a fractional one is rounded and shown rounded; NaN/inf is dropped and the box
    shows the value in effect again."""

    def _process_property_change(self, msg):
        msg = super()._process_property_change(msg)
        for key in ("value", "value_throttled"):   # the page sends both (Enter in the box)
            value = msg.get(key)
            if isinstance(value, float):
                if not math.isfinite(value):
                    del msg[key]
                    _retrigger(self, "value")
                else:
                    msg[key] = int(round(value))
                    if msg[key] != value:
                        _retrigger(self, "value")
        return msg


def _retrigger(widget, *names):
    """Send ``widget``'s current values to the page again (on the next tick in a server)."""
    doc = pn.state.curdoc
    if doc is not None and doc.session_context is not None:
        doc.add_next_tick_callback(lambda: widget.param.trigger(*names))
    else:
        widget.param.trigger(*names)


def guard_echoes(widget, window: float = None):
    """Drop the stale values a live page echoes back to ``widget`` (any Panel widget, also one
    that ``pn.Param`` or ``from_param`` links to a parameter).

    In a notebook, Panel pushes every change Python makes to the widget's model over the comm;
    the page reports some of them back after Python has moved on (``ex.method = "exact"`` and
    back to ``"euler"`` in one cell: the page sends ``"exact"`` afterwards, and Panel's link sets
    the parameter to it).  This records, per model property, what Python pushed (a wrapper of
    the widget's ``_update_model``) and ignores an incoming event (``_process_events``) that
    carries a pushed value which is no longer the latest (see :class:`EchoGuard`), pushing the
    value in effect again.  The accepted events are applied inside :func:`frozen_models`.
    Idempotent."""
    if getattr(widget, "_echo_guards", None) is not None:
        return widget
    window = ECHO_WINDOW_S if window is None else window
    guards: dict = {}
    widget._echo_guards = guards
    update_model, process_events = widget._update_model, widget._process_events

    def _update_model(events, msg, root, model, doc, comm):
        for key, value in msg.items():
            try:
                hash(value)
            except TypeError:
                continue
            guards.setdefault(key, EchoGuard(window)).pushed(value)
        return update_model(events, msg, root, model, doc, comm)

    def _process_events(events):
        stale = {}
        for key, value in events.items():
            guard = guards.get(key)
            try:
                if guard is not None and guard.stale(value):
                    stale[key] = value
            except TypeError:   # an unhashable/uncomparable value is never a recorded push
                pass
        fresh = {k: v for k, v in events.items() if k not in stale}
        if stale:
            # the page shows an older value: send it the values in effect again
            names = [n for n, prop in widget._property_mapping.items() if prop in stale] or ["value"]
            doc = pn.state.curdoc
            if doc is not None and doc.session_context is not None:
                doc.add_next_tick_callback(lambda: widget.param.trigger(*names))
            else:
                widget.param.trigger(*names)
        if fresh:
            for key, value in fresh.items():   # the page is in step from here on
                if key in guards:
                    guards[key] = EchoGuard(window)
            with frozen_models():   # the plots this change updates: one model-graph recompute
                return process_events(fresh)

    widget._update_model, widget._process_events = _update_model, _process_events
    return widget


class EchoGuard:
    """Recognises a live front-end sending a widget's *older* value back.

    When Python moves a parameter several times in a row (``ex.t = 5``, then back to ``20``, then
    ``2`` — a notebook cell "setting it back"), every move is pushed to the widget in the page.  A
    front-end that reports some of those updates back (a notebook comm does, after the cell has
    finished) delivers them late, and applied they would undo the newer value: the parameter ends
    at ``5`` while the code left it at ``2``.  The two-way links of this module therefore record
    what they push (:meth:`pushed`) and drop an incoming value that is one Python pushed within the
    last ``window`` seconds but no longer the latest (:meth:`stale`), putting the value in effect
    back into the widget.  A user moving the widget sends a value that is new (or the latest), so
    it always applies.
    """

    def __init__(self, window: float = ECHO_WINDOW_S):
        self.window = window
        self._pushed: list = []   # (monotonic time, value), oldest first

    @staticmethod
    def _same(value):
        # a float travels through JavaScript and back: compare to 9 significant digits
        return float(f"{value:.9g}") if isinstance(value, float) else value

    def pushed(self, value) -> None:
        now = time.monotonic()
        value = self._same(value)
        self._pushed = [(t, v) for t, v in self._pushed if now - t < self.window and v != value]
        self._pushed.append((now, value))

    def stale(self, value) -> bool:
        now = time.monotonic()
        value = self._same(value)
        recent = [v for t, v in self._pushed if now - t < self.window]
        return len(recent) > 1 and value != recent[-1] and value in recent[:-1]

    def forget(self) -> None:
        """The page sent a value of its own (a user's move): what was pushed before is history,
        and moving back to one of those values is a move, not an echo."""
        self._pushed.clear()

    @property
    def latest(self):
        return self._pushed[-1][1] if self._pushed else None


@contextlib.contextmanager
def frozen_models(doc=None):
    """Recompute the Bokeh document's model graph once, on exit, however many plots update
    inside (each HoloViews plot update otherwise walks the whole page's ~300 models: over half
    of a slider move's server time).  A no-op outside a document."""
    doc = doc if doc is not None else pn.state.curdoc
    if doc is None:
        yield
        return
    with doc.models.freeze():
        yield


def link_two_way(explorer, name: str, widget, apply, *, to_widget=lambda v: v, event: str = "value",
                 on_param=None):
    """Keep ``widget`` and parameter ``name`` of ``explorer`` in step both ways.

    A value set in Python moves the widget (through ``to_widget``); a value from the widget's
    ``event`` goes to ``apply(value, show)`` — unless it is a stale echo of an older value Python
    already replaced (:class:`EchoGuard`), which puts the value in effect back into the widget.
    ``on_param()`` runs before each move of the widget.  Returns ``show(parameter value)``."""
    syncing = [False]
    echo = EchoGuard()

    def show(value):
        syncing[0] = True
        try:
            position = to_widget(value)
            echo.pushed(position)
            widget.value = position
        finally:
            syncing[0] = False

    def from_widget(ev):
        if syncing[0]:
            return
        if echo.stale(ev.new):   # the page reporting an older value Python already replaced
            show(getattr(explorer, name))
            return
        echo.forget()   # a user's move: the page is in step; older pushes are no echoes any more
        with frozen_models():
            apply(ev.new, show)

    def from_param(ev):
        if on_param is not None:
            on_param()
        show(ev.new)
    widget.param.watch(from_widget, event)
    explorer.param.watch(from_param, name)
    return show


def log_slider(explorer, name: str, label: str, css_class: str, digits: int = 3, step: float = 0.01,
               fmt: str = "toPrecision", **kw):
    """A slider over log10 of the positive parameter ``name``, kept in step with it both ways
    (the parameter gets the slider's value rounded to ``digits`` significant digits; a value set
    in code or the URL moves the slider; a stale position echoed by the page is dropped, see
    :class:`EchoGuard`).  ``fmt``: the JS number format of its ticks
    (``toPrecision`` or ``toExponential``).

    Its label shows the value in effect (t = 50, not the grid point 10^1.70 = 50.1 that the
    handle snaps to: the tick formatter is told the value in effect and its position); while a
    student drags, the label follows the handle."""
    from bokeh.models import CustomJSTickFormatter

    p = explorer.param[name]
    lo, hi = np.log10(p.bounds)
    # the handle sits on start + k·step: anchor that grid at the default, so the value a page
    # opens with is shown as itself (t = 10, not 9.98); start stays within the bounds
    anchor = float(np.log10(p.default)) if p.default else lo
    lo = anchor - np.floor((anchor - lo) / step + 1e-9) * step
    code_default = ("Number((10 ** tick).toPrecision(3)).toString()" if fmt == "toPrecision"
                    else "(10 ** tick).toExponential(1)")
    kw.setdefault("sizing_mode", "stretch_width")
    def to_widget(value):
        # the page snaps the handle to start + k·step and reports that position back: push the
        # snapped position, so the echo is recognised as one (not a move to a rounded t)
        k = round((float(np.log10(value)) - lo) / step)
        return float(min(hi, lo + k * step))

    def shown(value):
        # the position of the value in effect is labelled with that value, every other one (a
        # drag, the ticks) with its own; written as the JavaScript formats write numbers
        if fmt == "toPrecision":
            text = f"{value:g}"
        else:
            mantissa, exponent = f"{value:.2e}".split("e")
            mantissa = mantissa.rstrip("0")
            text = f"{mantissa}{'0' if mantissa.endswith('.') else ''}e{int(exponent):+d}"
        return dict(pos=to_widget(value), text=text)

    def formatter(value):
        return CustomJSTickFormatter(code=f"return Math.abs(tick - pos) < {step / 4!r} ? text : ({code_default})",
                                     args=shown(value))

    slider = pn.widgets.FloatSlider(name=label, start=float(lo), end=float(hi), step=step,
                                    value=float(np.log10(getattr(explorer, name))), css_classes=[css_class],
                                    format=formatter(getattr(explorer, name)), **kw)

    def tell_formatter(event):
        # a new formatter (a change of the widget, sent in order with the value that follows);
        # the page draws the label again when the value or the title changes, not the
        # formatter: alternate an invisible character in the title for a value that stays on
        # the same grid point
        slider.format = formatter(event.new)
        if to_widget(event.new) == to_widget(event.old):
            slider.name = label if slider.name != label else label + "\u200b"
    explorer.param.watch(tell_formatter, name)   # before link_two_way below: the format goes first

    def apply(position, show):
        current = getattr(explorer, name)
        if abs(position - to_widget(current)) < step / 2:
            return   # the slider shows the value in effect (e.g. t = 2 at log10 position 0.29897)
        value = float(f"{10.0 ** position:.{digits}g}")
        if value != current:
            setattr(explorer, name, value)
    slider.value = to_widget(getattr(explorer, name))
    link_two_way(explorer, name, slider, apply, to_widget=to_widget, event="value_throttled")
    return slider


def grid_player(explorer, name: str, grid, label: str):
    """A Player that steps the numeric parameter ``name`` through ``grid`` (log-spaced values)
    and follows it when it is set elsewhere: it shows the grid point nearest the value (in
    log scale), and its echo of that frame is not a move (t = 2 shown as 1.99 stays 2)."""
    def nearest(v):
        return min(range(len(grid)), key=lambda i: abs(np.log(grid[i]) - np.log(v)))
    player = pn.widgets.Player(name=label, start=0, end=len(grid) - 1, value=nearest(getattr(explorer, name)),
                               interval=700, loop_policy="loop", show_loop_controls=False,
                               sizing_mode="stretch_width", show_value=False,
                               visible_buttons=["slower", "previous", "pause", "play", "next", "faster"])

    def apply(frame, show):
        if frame != nearest(getattr(explorer, name)) and grid[frame] != getattr(explorer, name):
            setattr(explorer, name, grid[frame])
    link_two_way(explorer, name, player, apply, to_widget=nearest)

    def title(*_):
        # "animate t: 0.2": the value in effect beside the label (also the range's aria-valuetext,
        # see assets/a11y.js — the frame number alone means nothing)
        player.label = f"{label}: {getattr(explorer, name):.3g}"
    explorer.param.watch(title, name)
    title()
    return player


def train_buttons(explorer, css_prefix: str = "train", running=None):
    """``(start, pause)`` buttons for a long training job: ▶ train calls
    ``explorer.start(block=False)``, the toggle ``explorer.set_paused(value)``; they follow the
    explorer's ``busy`` and ``paused`` (``running()``, default ``explorer.busy``, says whether
    the training itself runs).  CSS classes ``<css_prefix>-start`` and ``<css_prefix>-pause``."""
    running = running or (lambda: explorer.busy)
    start = pn.widgets.Button(label="▶ train", color="success", css_classes=[f"{css_prefix}-start"], width=110)
    pause = pn.widgets.Toggle(label="pause", color="warning", css_classes=[f"{css_prefix}-pause"], width=110,
                              disabled=True)
    start.on_click(lambda *_: explorer.start(block=False))
    pause.param.watch(lambda e: explorer.set_paused(e.new), "value")

    def state(*_):
        pause.disabled = not running()
        start.disabled = running()
        if not explorer.busy and pause.value:
            pause.value = False
        pause.label = "▶ resume" if explorer.paused else "pause"
    explorer.param.watch(state, ["busy", "paused"])
    return start, pause


_install_server_quirks()   # before any page is served
