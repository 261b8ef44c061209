"""A browser page that closes (or reloads) while the server writes to its websocket is not an error.

The explorers stop pushing updates once a page's connection is gone (``_PageWatch`` in
:mod:`._base`), but a write already on its way when the browser leaves fails in Panel's
``dispatch_tornado``: tornado's write task ends with ``WebSocketClosedError`` (or
``StreamClosedError``) that nobody awaits, and asyncio logs it as ``Task exception was never
retrieved`` with a traceback — indistinguishable, for a teacher reading the log, from a real
failure.  :func:`install` gives the server's event loop an exception handler that recognises only
those two exception types (the socket of a page that has gone) and logs one INFO line for them;
every other exception goes to the handler that was there before (asyncio's default: a traceback).
"""

from __future__ import annotations

import asyncio
import logging
import weakref

__all__ = ["install", "is_closed_socket_error"]

log = logging.getLogger("spectral_explorer.serve")
_LOOPS: weakref.WeakSet = weakref.WeakSet()


def is_closed_socket_error(exc) -> bool:
    """True for the exceptions of a write to a websocket whose page has gone."""
    try:
        from tornado.iostream import StreamClosedError
        from tornado.websocket import WebSocketClosedError
    except ImportError:  # pragma: no cover - tornado comes with bokeh
        return False
    return isinstance(exc, (WebSocketClosedError, StreamClosedError))


class _ClosedSocketFilter(logging.Filter):
    """Tornado logs a failed callback future itself ("Exception in callback …"): the same
    closed-socket errors become the INFO line, everything else passes."""

    def filter(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        if is_closed_socket_error(exc) or is_closed_socket_error(getattr(exc, "__context__", None)):
            log.info("a page closed while the server was writing to it (%s); nothing was lost", type(exc).__name__)
            return False
        return True


_FILTER = _ClosedSocketFilter()


def install(loop: asyncio.AbstractEventLoop | None = None) -> bool:
    """Install the handler on ``loop`` (the running loop by default) once; False without a loop."""
    tornado_log = logging.getLogger("tornado.application")
    if _FILTER not in tornado_log.filters:
        tornado_log.addFilter(_FILTER)
    if loop is None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
    if loop in _LOOPS:
        return True
    previous = loop.get_exception_handler()

    def handler(lp, context):
        exc = context.get("exception")
        if is_closed_socket_error(exc):
            log.info("a page closed while the server was writing to it (%s); nothing was lost",
                     type(exc).__name__)
            return
        if previous is not None:
            previous(lp, context)
        else:
            lp.default_exception_handler(context)
    loop.set_exception_handler(handler)
    _LOOPS.add(loop)
    return True
