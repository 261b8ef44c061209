"""The one explorer pattern: every family explorer subclasses :class:`Explorer`.

A family explorer is *parameters, stages, views, layout* — nothing else.  The base owns,
once, what every explorer needs around that:

- **Stages** (PHATE-style staged invalidation): ``self._stage(name, key, build)`` keeps one
  ``(key, value)`` per stage, ``key`` a tuple of parameter values (never tensors), so a stage is
  recomputed exactly when a parameter it depends on changes.  :meth:`_run_stages` runs a list
  of stages under the explorer's lock, checking for cancellation between them.
- **Errors, per source**: :meth:`set_error` records one message per source (``"compute"``,
  ``"minilm"``, ``"url"``, a view's title …); :attr:`error` shows every current message, and a
  source's message goes away when that source next succeeds.  Views call :meth:`_guard`, which
  returns a placeholder and reports the error instead of raising into the server log.
- **Work off the event loop**: :meth:`run` runs ``compute(job)`` for a *kind* of job.  In a
  served page (and ``threaded``) it runs in a worker thread while the page polls its progress
  (``job.progress(fraction, text)``) into :attr:`progress` / :attr:`status` and streams its
  records (``job.emit(record)``) to ``on_records`` in batches; a newer job of the same kind
  cancels the running one cooperatively and only the newest publishes (a generation counter).
  The Stop button, :meth:`cancel` and the closing of the browser session cancel too.  Outside a
  server (scripts, notebooks, tests) the same call runs synchronously.  Compute functions take
  ``progress=job.progress, cancel=job.cancel`` (the convention of :mod:`spectral_explorer.progress`).
- **Long jobs** (training, sweeps) are the same jobs with :meth:`Job.checkpoint`, which also
  waits while the job is paused (:meth:`pause`).
- **URL state**: an explorer lists its shareable parameters in ``url_params``; in a served page
  :meth:`sync_url` keeps them in the URL, applies the valid ones and reports the invalid ones
  in the page with their allowed values.
- **Widgets and layout**: :meth:`int_input`, the error alert and the status row are built here (the
  two-way links and :func:`log_slider` live in :mod:`._widgets`); :meth:`__panel__` builds the
  layout (``controls()`` beside ``main()``) once.

Everything a page shows from a user (URL values, typed text, error messages echoing them) goes
through :func:`escape_markdown`: it is text, never markup.
"""

from __future__ import annotations

import asyncio
import html
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import holoviews as hv
import panel as pn
import param

from ..progress import Cancelled
from ._a11y import AccessibilityHook, section_heading
from ._common import SHARED_STAGES, shared_cache_enabled
from ._widgets import (EchoGuard, SafeIntInput, frozen_models, guard_echoes,  # noqa: F401 - EchoGuard re-exported
                       link_two_way, log_slider)

__all__ = ["Explorer", "Job", "EchoGuard", "guard_echoes", "link_two_way", "escape_markdown", "message", "log_slider", "placeholder"]

#: worker threads shared by every explorer of the process (compute releases the GIL in
#: torch/BLAS; more threads than this only make sessions compete for the cores)
_EXECUTOR = ThreadPoolExecutor(max_workers=8, thread_name_prefix="explorer")
#: seconds between two polls of a running job's progress and records
POLL_SECONDS = 0.25

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~>])")


def escape_markdown(text) -> str:
    """``text`` made inert for a Markdown pane: HTML escaped, Markdown syntax backslashed.

    >>> escape_markdown("<b>x</b> *y*")
    '&lt;b&gt;x&lt;/b&gt; \\\\*y\\\\*'
    """
    return _MD_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))


def _short(value, limit: int = 40) -> str:
    """``repr(value)``, a long number in scientific notation and a long text cut (for messages)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{float(value):.3g}"
    return text[: limit - 1] + "…"


def message(exc: BaseException) -> str:
    """The message a page shows for ``exc``: the text of a ValueError/TypeError/KeyError (they
    name the parameter and the allowed values), the type and text of anything else."""
    msg = str(exc) or type(exc).__name__
    if isinstance(exc, KeyError) and exc.args:
        msg = str(exc.args[0])
    return msg if isinstance(exc, (ValueError, TypeError, KeyError)) else f"{type(exc).__name__}: {msg}"


def placeholder(title: str, width: int | None = None, height: int | None = None) -> hv.Points:
    """An empty plot with a title (what a view shows when it cannot draw)."""
    opts = dict(title=title, xaxis=None, yaxis=None)
    if width:
        opts.update(width=width, height=height or width)
    return hv.Points([], ["u", "v"]).opts(**opts)


class Job:
    """One piece of work of an explorer, run by :meth:`Explorer.run`.

    The work calls :meth:`progress` (or passes ``job.progress`` and ``job.cancel`` to a compute
    function), :meth:`emit` for records to stream and :meth:`checkpoint` between steps (raises
    :class:`~spectral_explorer.progress.Cancelled` once stopped; waits while paused).
    """

    def __init__(self, kind: str, generation: int):
        self.kind, self.generation = kind, generation
        self.cancel = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._lock = threading.Lock()
        self.fraction, self.text = 0.0, ""
        self._records: list = []
        self.done = threading.Event()
        self.result = None
        self.exception: BaseException | None = None
        self.started = time.perf_counter()
        self.start_text = ""
        self.finished = False        # published or reported (on the event loop / the caller)
        self._finish = None          # a plain background thread's publisher, for Explorer.wait

    def progress(self, fraction: float, text: str = ""):
        """Report progress: ``fraction`` in [0, 1] (clipped) and an optional text."""
        with self._lock:
            self.fraction = float(min(max(fraction, 0.0), 1.0))
            if text:
                self.text = text

    def emit(self, record):
        """Queue a record for the page (streamed to the view in batches)."""
        with self._lock:
            self._records.append(record)

    def take(self):
        """``(fraction, text, records since the last take)``."""
        with self._lock:
            records, self._records = self._records, []
            return self.fraction, self.text, records

    def should_stop(self) -> bool:
        """Wait while paused; then whether the job was stopped (pass it as a compute
        function's ``cancel=`` to make the job pausable too)."""
        while not self._resume.wait(0.05):
            if self.cancel.is_set():
                break
        return self.cancel.is_set()

    def checkpoint(self, fraction: float | None = None, text: str = ""):
        """Report progress, wait while paused, raise ``Cancelled`` once stopped."""
        if fraction is not None:
            self.progress(fraction, text)
        if self.should_stop():
            raise Cancelled(f"{self.kind} cancelled")

    @property
    def paused(self) -> bool:
        """Whether the job is paused (its ``checkpoint()`` waits)."""
        return not self._resume.is_set()

    def pause(self, paused: bool = True):
        """Pause the job at its next ``checkpoint()`` (``paused=False``: resume it)."""
        (self._resume.clear if paused else self._resume.set)()

    def stop(self):
        """Cancel the job (and release it if it is paused)."""
        self.cancel.set()
        self._resume.set()


class _PageWatch:
    """Whether a served page's browser has left: its session had a websocket connection and has
    none now (closed or reloaded: Bokeh destroys the session only seconds later), or the session
    is destroyed.  A page still loading (no connection yet) has not left."""

    def __init__(self, doc):
        self._ctx = getattr(doc, "session_context", None)
        self._seen = False

    def gone(self) -> bool:
        ctx = self._ctx
        if ctx is None:
            return False
        if getattr(ctx, "destroyed", False):
            return True
        count = getattr(getattr(ctx, "_session", None), "connection_count", None)
        if count is None:
            return False
        self._seen = self._seen or count > 0
        return self._seen and count == 0


class Explorer(pn.viewable.Viewer):
    """Base of every family explorer (see the module docstring)."""

    threaded = param.Boolean(default=True, doc="""
        In a served dashboard, compute off the event loop (a worker thread) while the page shows
        progress.""")
    error = param.String(default="", precedence=-1, doc="Current error messages (empty when fine).")
    busy = param.Boolean(default=False, precedence=-1, doc="True while a job runs.")
    status = param.String(default="", precedence=-1, doc="One line on the latest job.")
    progress = param.Number(default=0.0, bounds=(0.0, 1.0), precedence=-1, doc="Progress of the latest job (0–1).")

    #: parameters kept in the URL of a served dashboard (bookmark or share a view)
    url_params: tuple[str, ...] = ()
    #: error sources in the order the page lists them
    _ERROR_ORDER = ("url", "compute")
    #: name of the explorer's guided tour (``explorers/tours/<name>.json``; see :mod:`._tour`);
    #: a family with a tour also declares ``tour = tour_param(tour_name)`` and lists ``"tour"``
    #: in ``url_params``
    tour_name: str | None = None

    def __init__(self, **params):
        super().__init__(**params)
        self._lock = threading.RLock()
        self._cache: dict[str, tuple] = {}
        self.timings: dict[str, float] = {}
        self.stage_counts: dict[str, int] = {}   # stages this explorer built
        self.shared_hits: dict[str, int] = {}    # stages another session had built
        self._errors: dict[str, str] = {}
        self._last_good: dict[str, object] = {}
        self._jobs: dict[str, Job] = {}
        self._generation = 0
        self._page = None
        self._session_hooked = False
        self._private = False   # True once the explorer holds a user's own object (see user_data)

    # ------------------------------------------------------------------ stages
    def _stage(self, name, key, build, shared: bool = False):
        """The value of stage ``name`` for ``key`` (a tuple of parameter values, never tensors):
        this explorer's cached value when its key is unchanged, else ``build()``.

        ``shared=True`` marks a deterministic, read-only result: unless the explorer holds a
        user's own object (:attr:`user_data`: then every stage stays in the session), it comes from the process-wide
        :data:`~._common.SHARED_STAGES` (keyed on the explorer class, ``name`` and ``key``), so
        sessions asking for the same parameters build it once — while one builds, the others
        wait for it.  ``stage_counts`` counts the builds of *this* explorer only; a shared hit
        counts in ``shared_hits`` (its ``timings`` entry is the time it took to get it).
        Users of a shared value must never mutate it (copy first).
        """
        hit = self._cache.get(name)
        if hit is not None and hit[0] == key:
            return hit[1]
        t0 = time.perf_counter()
        if shared and shared_cache_enabled() and not self._private:
            built = []

            def counted():
                built.append(True)
                return build()
            value = SHARED_STAGES.get((type(self).__qualname__, name, key), counted)
            counter = self.stage_counts if built else self.shared_hits
        else:
            value = build()
            counter = self.stage_counts
        self.timings[name] = time.perf_counter() - t0
        counter[name] = counter.get(name, 0) + 1
        self._cache[name] = (key, value)
        return value

    def _run_stages(self, *stages, job: Job | None = None) -> set[str]:
        """Run ``stages`` (callables, cheap when cached) under the lock, checking ``job`` for a
        cancel between them; return the names of the stages whose key changed."""
        with self._lock:
            before = {k: v[0] for k, v in self._cache.items()}
            self.timings = {}
            t0 = time.perf_counter()
            for stage in stages:
                if job is not None:
                    job.checkpoint()
                stage()
            self.timings["total"] = time.perf_counter() - t0
            return {k for k, v in self._cache.items() if before.get(k) != v[0]}

    # ------------------------------------------------------------------ errors
    def set_error(self, source: str, exc: BaseException | str | None = None):
        """Record (or, with ``exc=None``, clear) the error of ``source``; :attr:`error` lists
        every source's message once."""
        msg = message(exc) if isinstance(exc, BaseException) else (exc or "")
        if msg:
            self._errors[source] = msg
        else:
            self._errors.pop(source, None)
        order = {s: i for i, s in enumerate(self._ERROR_ORDER)}
        ordered = sorted(self._errors.items(), key=lambda kv: order.get(kv[0], len(order)))
        text = "\n".join(dict.fromkeys(m for _, m in ordered))
        if text != self.error:
            self.error = text

    def _guard(self, fn, title, *, width=None, height=None):
        """Call the view body ``fn`` under the lock: its plot, or — while its error shows in the
        page — its last good plot retitled (a DynamicMap must keep returning one type of
        object), or a placeholder before any; never an exception into the server."""
        source = f"view:{title}"
        try:
            with self._lock:
                out = fn()
        except Exception as exc:
            if not any(m == message(exc) for m in self._errors.values()):
                self.set_error(source, exc)
            last = self._last_good.get(title)
            if last is not None:
                return last.clone().opts(title=f"{title}: error (see message)")
            return placeholder(f"{title}: error (see message)", width, height)
        self._last_good[title] = out
        if source in self._errors:
            self.set_error(source, None)
        return out

    # ------------------------------------------------------------------ work
    @staticmethod
    def _served() -> bool:
        doc = pn.state.curdoc
        return doc is not None and doc.session_context is not None

    def run(self, kind: str, compute, publish=None, *, text: str = "", on_records=None,
            background: bool | None = None):
        """Run ``compute(job)``; then ``publish(result)`` unless a newer job of ``kind`` began.

        Served and ``threaded`` (or ``background=True``): in a worker thread; returns the
        :class:`Job` at once.  Otherwise synchronously: returns the result (None after an error,
        which goes to :attr:`error` under ``kind``, or after a cancel).  ``on_records(list)``
        receives the job's emitted records, in batches.
        """
        previous = self._jobs.get(kind)
        if previous is not None:
            previous.stop()
        self._generation += 1
        job = Job(kind, self._generation)
        self._jobs[kind] = job
        self._begin(job, text)
        served = self._served()
        if background is None:
            background = served and self.threaded
        if background and served:
            self._hook_session()
            pn.state.execute(partial(self._run_async, job, compute, publish, on_records))
            return job
        if background:   # a script or notebook: a plain thread; :meth:`wait` publishes
            job._finish = partial(self._finish, job, publish, on_records)
            threading.Thread(target=self._work, args=(job, compute), daemon=True,
                             name=f"explorer-{kind}").start()
            return job
        self._work(job, compute, sink=on_records)
        self._finish(job, publish, on_records)
        return job.result

    def _work(self, job: Job, compute, sink=None):
        if sink is not None:   # synchronous: stream each record as it comes
            emit = job.emit

            def direct(record):
                emit(record)
                sink(job.take()[2])
            job.emit = direct
        try:
            job.result = compute(job)
        except BaseException as exc:  # noqa: BLE001 (reported in the page)
            job.exception = exc
        finally:
            job.done.set()

    async def _run_async(self, job: Job, compute, publish, on_records):
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(_EXECUTOR, self._work, job, compute)
        page = _PageWatch(pn.state.curdoc)
        while not fut.done():
            if page.gone():    # the browser left (closed, reloaded): stop the work, push nothing more
                job.stop()
            else:
                self._poll(job, on_records)
            await asyncio.wait([fut], timeout=POLL_SECONDS)
        self._finish(job, publish, on_records)

    def _poll(self, job: Job, on_records):
        fraction, text, records = job.take()
        if records and on_records is not None:
            on_records(records)
        if job is self._latest():
            with param.parameterized.batch_call_watchers(self):
                self.progress = fraction
                if text and text != self.status:
                    self.status = text

    def _latest(self):
        running = [j for j in self._jobs.values() if not j.finished]
        return max(running, key=lambda j: j.generation) if running else None

    def _begin(self, job: Job, text: str):
        job.progress(0.0, text)
        job.start_text = text
        with param.parameterized.batch_call_watchers(self):
            self.busy = True
            self.progress = 0.0
            if text:
                self.status = text

    def _finish(self, job: Job, publish, on_records):
        """On the event loop (or the caller): final records, then publish or report."""
        if job.finished:
            return
        self._poll(job, on_records)
        job.finished = True
        current = self._jobs.get(job.kind) is job
        exc = job.exception
        if current:
            if exc is None:
                self.set_error(job.kind, None)
                try:
                    if publish is not None:
                        with frozen_models():
                            publish(job.result)
                except Exception as publish_exc:   # reported like a failed job, never raised
                    self.set_error(job.kind, publish_exc)
                self.progress = 1.0
                if job.start_text and self.status in (job.start_text, job.text):
                    self.status = ""   # publish said nothing new: no stale "computing …"
            elif isinstance(exc, Cancelled):
                self.status = f"stopped after {time.perf_counter() - job.started:.1f} s"
            elif isinstance(exc, Exception):
                self.set_error(job.kind, exc)
                self.status = "failed (see message)"
            else:  # KeyboardInterrupt, SystemExit: not ours to swallow
                raise exc
        self.busy = self._latest() is not None

    def wait(self, kind: str | None = None, timeout: float = 120.0) -> bool:
        """Outside a server: wait for the background job(s) and publish them (on this thread).
        True when they finished in time."""
        jobs = [self._jobs[kind]] if kind in self._jobs else ([] if kind else list(self._jobs.values()))
        ok = True
        for job in jobs:
            ok &= job.done.wait(timeout)
            if job.done.is_set() and job._finish is not None:
                job._finish()
        return ok

    def job(self, kind: str) -> Job | None:
        """The latest job of ``kind`` (running or finished), or None."""
        return self._jobs.get(kind)

    def running(self, kind: str) -> bool:
        """Whether a job of ``kind`` is running."""
        job = self._jobs.get(kind)
        return job is not None and not job.done.is_set()

    def cancel(self, kind: str | None = None, wait: bool = False, timeout: float = 10.0):
        """Stop the running job of ``kind`` (every job with ``kind=None``), cooperatively."""
        jobs = [self._jobs[kind]] if kind in self._jobs else ([] if kind else list(self._jobs.values()))
        for job in jobs:
            job.stop()
        if wait:
            for job in jobs:
                job.done.wait(timeout)

    def pause(self, kind: str, paused: bool = True):
        """Pause (or, with ``paused=False``, resume) the running job of ``kind``, if any."""
        job = self._jobs.get(kind)
        if job is not None:
            job.pause(paused)

    def _hook_session(self):
        """Cancel this explorer's jobs when its browser session closes."""
        if self._session_hooked:
            return
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None:
            doc.on_session_destroyed(lambda ctx: self.cancel())
            self._session_hooked = True

    # ------------------------------------------------------------------ URL state
    def allowed(self, name: str) -> str:
        """``name`` and its allowed values, for messages."""
        p = self.param[name]
        objects = getattr(p, "objects", None)
        if objects:
            return f"{name} one of {', '.join(map(str, objects))}"
        bounds = getattr(p, "bounds", None)
        if bounds:
            return f"{name} in {bounds[0]}…{bounds[1]}"
        return name

    def apply_url(self, values: dict):
        """Apply URL values one by one; report the ones that are not allowed under ``"url"``
        (the report goes once each rejected parameter has been given a valid value)."""
        bad = {}
        for k, v in values.items():
            if k not in self.url_params:
                continue
            try:
                self.param.update({k: v})
            except Exception:
                bad[k] = v
        self._bad_url = set(bad)
        if bad:
            self.set_error("url", "could not apply the URL parameters "
                           + ", ".join(f"{k}={v!r}" for k, v in bad.items())
                           + "; allowed: " + "; ".join(self.allowed(k) for k in sorted(bad)))
            if not getattr(self, "_url_watcher", None):
                self._url_watcher = self.param.watch(self._url_fixed, list(self.url_params))
        else:
            self.set_error("url", None)

    def _url_fixed(self, *events):
        self._bad_url -= {e.name for e in events}
        if not self._bad_url:
            self.set_error("url", None)

    def sync_url(self):
        """Keep ``url_params`` in the page's URL (a served page only)."""
        loc = pn.state.location
        if loc is not None and self.url_params:
            loc.sync(self, {k: k for k in self.url_params}, on_error=self.apply_url)

    # ------------------------------------------------------------------ guided tour
    def tour_steps(self):
        """The steps of this explorer's guided tour (``()`` when it has none)."""
        from ._tour import load_tour
        return load_tour(self.tour_name) if self.tour_name else ()

    def apply_tour_step(self, n: int):
        """Set the parameters of tour step ``n`` (1-based) and open its tab.  The values are set
        together (one recomputation), then any that a reaction overwrote (e.g. a method change
        resetting its order) are set again, in the step's order."""
        steps = self.tour_steps()
        if not 1 <= int(n) <= len(steps):
            raise ValueError(f"tour step must be in 1…{len(steps)}, got {n!r}")
        step = steps[int(n) - 1]
        self.param.update(step.values)
        for k, v in step.params:
            if getattr(self, k) != v:
                setattr(self, k, v)
        if step.tab and self._page is not None:
            for tabs in self._page.select(pn.Tabs):
                names = list(tabs._names)
                if step.tab in names:
                    tabs.active = names.index(step.tab)
                    break

    # ------------------------------------------------------------------ own data, results out
    @property
    def user_data(self) -> bool:
        """True when the explorer shows a user's own object (``from_points``, ``from_graph``,
        ``from_model``, ``from_generator`` or an upload).  Its stages then stay in this session:
        none enters the cross-session cache, and all are freed with the explorer."""
        return self._private

    def _hold_user_data(self):
        """Mark the explorer as holding a user's object (call before its first stage is built
        from it); drops this explorer's cached stages."""
        self._private = True
        self._cache.clear()
        self._last_good.clear()

    def table(self):
        """The data of the main view as a :class:`pandas.DataFrame` (the page's CSV download):
        a family explorer overrides it."""
        raise NotImplementedError(f"{type(self).__name__} has no table of its main view")

    def as_code(self) -> str:
        """A short, runnable Python script that rebuilds the current view with the library's
        public API and leaves its main result in a variable ``result`` (a family explorer
        overrides it)."""
        raise NotImplementedError(f"{type(self).__name__} cannot write its view as code")

    def export_name(self) -> str:
        """File-name stem of the CSV download."""
        return type(self).__name__.replace("Explorer", "").lower() or "view"

    def code_params(self) -> tuple[str, ...]:
        """Parameters whose change rewrites the shown code (default: the URL parameters)."""
        return tuple(p for p in self.url_params if p != "tour")

    def upload_control(self, kind: str, on_load, label: str = "Your own data", notebook_hint: str = ""):
        """An upload box for ``kind`` (``"points"``, ``"graph"``, ``"weights"``; see
        :mod:`spectral_explorer.uploads`): formats and limits beside it, parsing in a worker, the
        parsed object to ``on_load(obj, filename)``, every rejection in the page.  In a served page
        only; elsewhere (a notebook) it shows ``notebook_hint`` — the ``from_*`` classmethod to use."""
        from ._export import upload_control
        return upload_control(self, kind, on_load, label, notebook_hint)

    def export_row(self):
        """*⬇ data (CSV)* and *Show code* (see :mod:`._export`)."""
        from ._export import export_row
        return export_row(self)

    def _has_export(self) -> bool:
        return type(self).table is not Explorer.table or type(self).as_code is not Explorer.as_code

    # ------------------------------------------------------------------ layout
    def controls(self):
        """The widgets of the side column (a family explorer overrides it)."""
        return pn.Column()

    def main(self):
        """The views (a family explorer overrides it)."""
        raise NotImplementedError

    def bind(self, name: str, widget):
        """Keep ``widget`` and parameter ``name`` in step.  A typed value the parameter does not
        accept (empty, wrong type, out of range) is reported in the page with the allowed
        values, and the widget goes back to the value in effect — nothing reaches the server log.
        A stale value echoed back by the page is dropped (:class:`EchoGuard`)."""
        source = f"input:{name}"

        def apply(value, show):
            try:
                setattr(self, name, value)
            except Exception:
                kept = getattr(self, name)
                self.set_error(source, f"{name}: {_short(value)} is not allowed ({self.allowed(name)}); "
                                       f"keeping {kept!r}")
                doc = pn.state.curdoc
                if doc is not None and doc.session_context is not None:
                    doc.add_next_tick_callback(lambda: show(kept))   # after the browser's own edit
                else:
                    show(kept)
                return
            self.set_error(source, None)
        link_two_way(self, name, widget, apply, on_param=lambda: self.set_error(source, None))
        return widget

    def int_input(self, name: str, label: str | None = None, **kw):
        """An integer box for parameter ``name`` (CSS class ``w-<name>``), checked by :meth:`bind`."""
        return self._input(SafeIntInput, name, label, **kw)

    def number_input(self, name: str, label: str | None = None, **kw):
        """A number box for parameter ``name`` (CSS class ``w-<name>``), checked by :meth:`bind`."""
        return self._input(pn.widgets.FloatInput, name, label, **kw)

    def _input(self, cls, name, label, **kw):
        p = self.param[name]
        kw.setdefault("sizing_mode", "stretch_width")
        widget = cls(label=label or p.label, value=getattr(self, name), css_classes=[f"w-{name}"],
                     description=p.doc.strip() if p.doc else None, **kw)
        return self.bind(name, widget)

    def error_alert(self):
        """A red alert showing :attr:`error` (escaped), hidden when there is none."""
        alert = pn.pane.Alert("", alert_type="danger", visible=False, sizing_mode="stretch_width",
                              css_classes=["explorer-error"], renderer_options={"linkify": False})   # text stays text

        def show(*_):
            lines = [escape_markdown(m) for m in self.error.splitlines() if m]
            alert.object = "<br>".join(lines)
            alert.visible = bool(lines)
        self.param.watch(show, "error")
        show()
        return alert

    def status_row(self):
        """Spinner, progress bar, status line and a Stop button for the running job."""
        spinner = pn.indicators.LoadingSpinner(value=self.busy, size=22, color="primary", margin=(5, 5))
        bar = pn.indicators.Progress(value=int(100 * self.progress), max=100, width=160, bar_color="primary",
                                     visible=self.busy, margin=(12, 5))
        status = pn.pane.Markdown(escape_markdown(self.status), css_classes=["explorer-status"],
                                  renderer_options={"linkify": False},
                                  sizing_mode="stretch_width", margin=(0, 10))
        stop = pn.widgets.Button(label="■ stop", color="danger", width=80,
                                 visible=self.busy, css_classes=["explorer-stop"])
        stop.on_click(lambda *_: self.cancel())

        def update(*_):
            spinner.value = self.busy
            bar.visible = stop.visible = self.busy
            bar.value = int(100 * self.progress)
            status.object = escape_markdown(self.status)
        self.param.watch(update, ["busy", "progress", "status"])
        return pn.Row(spinner, bar, stop, status, sizing_mode="stretch_width")

    def __panel__(self):
        """The explorer's page body, built once: controls on the left, messages and views on
        the right.  In a served page it also syncs the URL and cancels jobs on session close."""
        if self._page is None:
            if hv.Store.current_backend != "bokeh":
                hv.extension("bokeh", logo=False)
            tour = []
            if self.tour_steps():
                from ._tour import tour_panel
                tour = [tour_panel(self)]
            self._page = pn.Row(
                pn.Column(section_heading("Controls"), self.controls(), width=300),
                pn.Column(section_heading("Views"), *tour, self.error_alert(), self.status_row(), self.main(),
                          *([self.export_row()] if self._has_export() else []), sizing_mode="stretch_width"),
                AccessibilityHook(),   # names, plot descriptions, tabs, focus (see ._a11y)
                sizing_mode="stretch_width")
            for widget in self._page.select(pn.widgets.WidgetBase):
                guard_echoes(widget)
            self._hook_session()
        return self._page

    def panel(self):
        """The explorer's page body (same object on every call)."""
        return self.__panel__()
