"""What the dashboards share: results shared across sessions, and the page template the
dashboards wrap explorers in."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

import numpy as np
import panel as pn
import scipy.sparse as sp

#: header colour of every dashboard
HEADER = "#234a6b"


def nbytes(value, _depth: int = 0) -> int:
    """Approximate memory of ``value``: the buffers of numpy arrays, torch tensors and scipy
    sparse matrices, found through dicts, lists, tuples, dataclasses and objects' ``__dict__``
    (a few levels deep; a torch module counts its parameters and buffers)."""
    if _depth > 6 or value is None or isinstance(value, (bool, int, float, str, bytes)):
        return len(value) if isinstance(value, (str, bytes)) else 0
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
    if torch is not None:
        if isinstance(value, torch.Tensor):
            return int(value.element_size() * value.nelement())
        if isinstance(value, torch.nn.Module):
            return sum(int(t.element_size() * t.nelement())
                       for t in list(value.parameters()) + list(value.buffers()))
    if sp.issparse(value):
        return sum(int(getattr(value, a).nbytes) for a in ("data", "indices", "indptr", "row", "col")
                   if isinstance(getattr(value, a, None), np.ndarray))
    if isinstance(value, dict):
        return sum(nbytes(v, _depth + 1) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return sum(nbytes(v, _depth + 1) for v in value)
    inner = getattr(value, "__dict__", None)
    if isinstance(inner, dict):
        return sum(nbytes(v, _depth + 1) for v in inner.values())
    return 0


class SharedResults:
    """A process-wide LRU for read-only results that every session may share (e.g. the
    Gram matrices of one text split): ``get(key, build)`` builds once, also when several
    sessions ask at the same time (the others wait for the first), and keeps the ``maxsize``
    most recently used values — per *group* when ``group(key)`` is given (e.g. per stage) —
    and at most ``max_bytes`` in all (estimated with :func:`nbytes`; a value larger than that
    is returned but not kept).  Values must never be mutated by their users.

    It holds only keys and values, never the builder (nor the session that built), so a closed
    session is not kept alive by it.

    >>> cache = SharedResults(maxsize=2)
    >>> cache.get("a", lambda: 1), cache.get("a", lambda: 2)
    (1, 1)
    >>> cache.hits, cache.misses
    (1, 1)
    """

    def __init__(self, maxsize: int = 2, max_bytes: int | None = None, group=None):
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self._group = group
        self._values: OrderedDict = OrderedDict()
        self._sizes: dict = {}
        self._lock = threading.Lock()
        self._building: dict = {}
        self.hits = 0
        self.misses = 0

    def __len__(self):
        return len(self._values)

    def __contains__(self, key):
        return key in self._values

    @property
    def bytes(self) -> int:
        """Estimated memory held (see :func:`nbytes`)."""
        return sum(self._sizes.values())

    def clear(self):
        with self._lock:
            self._values.clear()
            self._sizes.clear()

    def _hit(self, key):
        self._values.move_to_end(key)
        self.hits += 1
        return self._values[key]

    def get(self, key, build):
        with self._lock:
            if key in self._values:
                return self._hit(key)
            key_lock = self._building.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._values:
                    return self._hit(key)
            try:
                value = build()
            except BaseException:
                with self._lock:
                    self._building.pop(key, None)
                raise
            size = nbytes(value) if self.max_bytes is not None else 0
            with self._lock:   # one step: a caller never finds the key neither built nor building
                self.misses += 1
                if self.max_bytes is None or size <= self.max_bytes:
                    self._values[key] = value
                    self._sizes[key] = size
                self._building.pop(key, None)
                self._evict(key)
            return value

    def _evict(self, newest):
        if self._group is None:
            while len(self._values) > self.maxsize:
                self._drop(next(iter(self._values)))
        else:
            g = self._group(newest)
            same = [k for k in self._values if self._group(k) == g]
            for k in same[: max(len(same) - self.maxsize, 0)]:
                self._drop(k)
        if self.max_bytes is not None:
            total = sum(self._sizes.values())
            for k in list(self._values):
                if total <= self.max_bytes or k == newest:
                    break
                total -= self._sizes.get(k, 0)
                self._drop(k)

    def _drop(self, key):
        self._values.pop(key, None)
        self._sizes.pop(key, None)


#: results of every explorer's stages marked ``shared=True`` (see ``Explorer._stage``), keyed on
#: ``(explorer class, stage name, parameter key)``: at most ``SHARED_STAGE_ENTRIES`` keys per stage
#: and ``SPECTRAL_EXPLORER_SHARED_CACHE_MB`` (default 512) megabytes in all
SHARED_STAGE_ENTRIES = 8
SHARED_STAGES = SharedResults(
    maxsize=SHARED_STAGE_ENTRIES,
    max_bytes=int(float(os.environ.get("SPECTRAL_EXPLORER_SHARED_CACHE_MB", "512")) * 2**20),
    group=lambda key: key[:2])


def shared_cache_enabled() -> bool:
    """Whether stages marked shared use :data:`SHARED_STAGES` (``SPECTRAL_EXPLORER_SHARED_CACHE=0``
    turns it off, e.g. to measure the baseline in ``benchmarks/classroom.py``)."""
    return os.environ.get("SPECTRAL_EXPLORER_SHARED_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")


_release_timer: threading.Timer | None = None
_release_lock = threading.Lock()
#: seconds after the last closed session before memory is collected and handed back
RELEASE_DELAY_S = 3.0


def _release_memory():
    import gc

    gc.collect()
    try:   # glibc keeps freed arenas; hand them back so RSS falls once a class has left
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def release_memory_soon(*_):
    """Collect garbage and return freed memory to the OS a moment after the last of a burst
    of closed sessions (a session-destroyed hook; debounced, off the event loop)."""
    global _release_timer
    with _release_lock:
        if _release_timer is not None:
            _release_timer.cancel()
        _release_timer = threading.Timer(RELEASE_DELAY_S, _release_memory)
        _release_timer.daemon = True
        _release_timer.start()


def serve_styles_locally(doc=None) -> str | None:
    """Make every stylesheet a served session's components ask for come from this server.

    Panel points component stylesheets (the design's ``theme/*.css``, ``css/*.css``) at its
    CDN until the session's HTML page is rendered, and rewrites them to the local copies only
    then.  A session whose document is built *without* that page — its websocket reached
    another ``--num-procs`` worker than its page did, or the page's session expired before the
    browser connected, or a websocket client — kept the CDN URLs (unstyled widgets offline).
    Setting the local ``dist_url`` before anything is built closes that path.  Returns the
    URL prefix set, or ``None`` outside a server session."""
    from panel.io.resources import LOCAL_DIST, use_cdn

    doc = doc if doc is not None else pn.state.curdoc
    if doc is None or doc.session_context is None or use_cdn():
        return None
    rel = pn.state.rel_path
    dist_url = f"{rel}/{LOCAL_DIST}" if rel else LOCAL_DIST
    doc._template_variables.setdefault("dist_url", dist_url)
    return doc._template_variables["dist_url"]


def _frozen_build(server_doc):
    """``template.server_doc`` with the document's model graph recomputed once at the end
    instead of once per root added (a quarter of a page's build time on the event loop)."""
    from ._widgets import frozen_models

    def build(doc=None, *args, **kwargs):
        doc = doc if doc is not None else pn.state.curdoc
        with frozen_models(doc):
            return server_doc(doc, *args, **kwargs)
    return build


#: appended to every dashboard's introduction: the served glossary page (``/glossary``)
GLOSSARY_LINK = "Terms and notation: [glossary](./glossary)."


def dashboard_page(title: str, intro: str, body, max_width: str = "1700px", glossary: bool = True):
    """The page every dashboard is served in: a title bar, an introduction (ending with a link
    to the glossary page unless ``glossary=False``) and the body.

    Bootstrap is bundled with Panel and served locally; unlike the Fast, Material and
    Vanilla designs it requests no Google web fonts, so the page works offline.  The template is
    Panel's Bootstrap one with landmarks (one ``main``, the title the page's ``h1``; see ``._a11y``).
    """
    serve_styles_locally()
    if glossary:
        intro = f"{intro.rstrip()} {GLOSSARY_LINK}"
    from ._a11y import AccessibleTemplate

    page = AccessibleTemplate(
        title=title,
        sidebar=[],
        main=[pn.pane.Markdown(intro, sizing_mode="stretch_width"), body],
        header_background=HEADER,
        main_max_width=max_width,
    )
    page.server_doc = _frozen_build(page.server_doc)
    return page
