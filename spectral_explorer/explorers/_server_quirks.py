"""Two races of a live Bokeh page that are harmless but write tracebacks into the server log
(a teacher reading the log cannot tell them from real failures).  :func:`install` handles both;
it runs when the explorers are imported, before any page is served.

- :func:`tolerate_replaced_models`: the page reports on a plot the server has replaced;
- :func:`drop_messages_of_closed_sessions`: the page's last messages arrive after its session
  was closed (a reload or a closed tab while updates are in flight).
"""

from __future__ import annotations

import logging

__all__ = ["install", "tolerate_replaced_models", "drop_messages_of_closed_sessions"]

log = logging.getLogger(__name__)


def tolerate_replaced_models():
    """Let a Bokeh document drop the browser's updates of models it has already replaced.

    A page reports some properties back (``inner_width`` of a plot once drawn).  When the server
    replaces a plot (a compare toggle, a method change, a tab's lazy content) and then replaces it
    again inside one :func:`frozen_models` batch, the middle plot was sent to the page but never
    attached to the server's document, so Bokeh does not count it as "previously seen" and
    answers the page's report with ``UnknownReferenceError`` (a server traceback and a console
    error; nothing is wrong with the page).  Bokeh already drops such reports for models it saw;
    this drops the property changes of models that are no longer in the document the same way
    (at debug level) and applies the rest of the patch.  Idempotent; installed when this module
    is imported (every explorer imports it, through :mod:`._widgets`)."""
    from bokeh.core.serialization import UnknownReferenceError
    from bokeh.document.document import Document

    original = Document.apply_json_patch
    if getattr(original, "_tolerant", False):
        return

    def apply_json_patch(self, patch_json, *args, **kwargs):
        try:
            return original(self, patch_json, *args, **kwargs)
        except UnknownReferenceError as error:
            events = patch_json.get("events", []) if isinstance(patch_json, dict) else []
            known = [e for e in events if not _refers_to_gone_model(self, e)]
            if len(known) == len(events):   # not about a replaced model: a real error
                raise
            log.debug("dropped %d update(s) of replaced models (%s)", len(events) - len(known), error.id)
            if known:
                return original(self, {**patch_json, "events": known}, *args, **kwargs)
            return None

    apply_json_patch._tolerant = True
    Document.apply_json_patch = apply_json_patch



def _bare_refs(value):
    """The ids of the bare references ``{"id": …}`` in a patch event (a model *defined* in the
    patch carries more keys than its id, so it is not one)."""
    if isinstance(value, dict):
        if set(value) == {"id"}:
            yield value["id"]
        elif value.get("type") == "object" and "attributes" in value:
            return   # a model the page defines: what it names must exist (a real error otherwise)
        else:
            for v in value.values():
                yield from _bare_refs(v)
    elif isinstance(value, list):
        for v in value:
            yield from _bare_refs(v)


def _refers_to_gone_model(doc, event) -> bool:
    """True for a patch event (a property change, or a Bokeh UI event such as a range update)
    that names a model no longer in ``doc``."""
    return any(doc.get_model_by_id(ref) is None for ref in _bare_refs(event))


async def _nothing():
    return None


def drop_messages_of_closed_sessions():
    """Drop a message that reaches the server after its connection's session was detached.

    Tornado delivers a closing page's queued messages (slider values, patches) after
    ``on_close`` has detached the session; Bokeh's handlers then fail on
    ``assert self._session is not None`` and log "error handling message" with a traceback for
    each.  The session is gone, so there is nothing to apply them to: they are dropped at debug
    level.  Idempotent."""
    from bokeh.server.session import ServerSession

    for name in ("patch", "pull", "push"):
        original = getattr(ServerSession, name)
        if getattr(original, "_tolerant", False):
            continue

        def handler(cls, message, connection, _original=original, _name=name):
            if getattr(connection, "_session", True) is None:
                log.debug("dropped a %s message of a closed session", _name)
                return _nothing()   # Bokeh awaits what a handler returns
            return _original(message, connection)
        handler._tolerant = True
        setattr(ServerSession, name, classmethod(handler))


def install():
    """Install both (idempotent)."""
    tolerate_replaced_models()
    drop_messages_of_closed_sessions()
