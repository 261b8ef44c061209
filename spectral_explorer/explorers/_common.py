"""What the dashboards share: results shared across sessions, and the page template the
dashboards wrap explorers in."""

from __future__ import annotations

import threading
from collections import OrderedDict

import panel as pn

#: header colour of every dashboard
HEADER = "#234a6b"


class SharedResults:
    """A small process-wide LRU for read-only results that every session may share (e.g. the
    Gram matrices of one text split): ``get(key, build)`` builds once, also when several
    sessions ask at the same time (the others wait for the first), and keeps the ``maxsize``
    most recently used values.  Values must never be mutated by their users.
    """

    def __init__(self, maxsize: int = 2):
        self.maxsize = maxsize
        self._values: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict = {}

    def get(self, key, build):
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            key_lock = self._building.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._values:
                    self._values.move_to_end(key)
                    return self._values[key]
            try:
                value = build()
            except BaseException:
                with self._lock:
                    self._building.pop(key, None)
                raise
            with self._lock:   # one step: a caller never finds the key neither built nor building
                self._values[key] = value
                self._building.pop(key, None)
                while len(self._values) > self.maxsize:
                    self._values.popitem(last=False)
            return value


def dashboard_page(title: str, intro: str, body, max_width: str = "1700px"):
    """The page every dashboard is served in: a title bar, an introduction and the body.

    Bootstrap is bundled with Panel and served locally; unlike the Fast, Material and
    Vanilla designs it requests no Google web fonts, so the page works offline.
    """
    return pn.template.BootstrapTemplate(
        title=title,
        sidebar=[],
        main=[pn.pane.Markdown(intro, sizing_mode="stretch_width"), body],
        header_background=HEADER,
        main_max_width=max_width,
    )
