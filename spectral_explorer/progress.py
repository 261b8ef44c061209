"""One progress / cancel convention for every long computation.

Every function of the library that can run for more than a moment (collecting Gram
matrices, compensating a model, a fidelity sweep, training, a reproduction target) takes two
optional keyword arguments:

``progress=None``
    A callable ``progress(fraction, text)``: ``fraction`` is a float in ``[0, 1]`` that never
    decreases during one call and reaches ``1.0`` when the work is done; ``text`` is a short
    human-readable line on the current step (may be ``""``).  It is called from the thread
    that runs the computation; a dashboard marshals it to its event loop, a script prints it
    (:func:`text_printer`).  A function that runs sub-steps gives each a slice of the range
    with :func:`subrange`.

``cancel=None``
    A cooperative stop request: a :class:`threading.Event` (anything with ``is_set()``) or a
    zero-argument callable returning ``True`` to stop.  The computation checks it between
    steps (batches, layers, epochs — often enough that a stop lands within about a second),
    and then raises :class:`Cancelled`.  A cancelled computation leaves its inputs as they
    were (models, data sets, caches handed in: no hooks left, no half-written entries).

:func:`checkpoint` does both in one line between steps::

    for i, batch in enumerate(batches):
        ...
        checkpoint(cancel, progress, (i + 1) / len(batches), f"batch {i + 1}/{len(batches)}")

Pure Python: no dependency beyond the standard library.
"""

from __future__ import annotations

import sys

__all__ = ["Cancelled", "is_cancelled", "checkpoint", "subrange", "text_printer"]


class Cancelled(Exception):
    """Raised by a long computation whose ``cancel`` was set (see the module docstring)."""


def is_cancelled(cancel) -> bool:
    """Whether ``cancel`` asks to stop: ``None`` (never), an Event-like object with
    ``is_set()``, or a zero-argument callable returning a bool.

    >>> import threading
    >>> ev = threading.Event()
    >>> is_cancelled(None), is_cancelled(ev), is_cancelled(lambda: True)
    (False, False, True)
    >>> ev.set(); is_cancelled(ev)
    True
    """
    if cancel is None:
        return False
    is_set = getattr(cancel, "is_set", None)
    if is_set is not None:
        return bool(is_set())
    if callable(cancel):
        return bool(cancel())
    raise TypeError(f"cancel must be None, a threading.Event or a callable returning bool, "
                    f"got {type(cancel).__name__}")


def checkpoint(cancel, progress=None, fraction=None, text: str = "") -> None:
    """Report ``progress(fraction, text)`` (when both ``progress`` and ``fraction`` are given),
    then raise :class:`Cancelled` if ``cancel`` is set.

    >>> import threading
    >>> seen = []
    >>> checkpoint(None, lambda f, t: seen.append((f, t)), 0.5, "half way")
    >>> seen
    [(0.5, 'half way')]
    >>> ev = threading.Event(); ev.set()
    >>> checkpoint(ev)
    Traceback (most recent call last):
    ...
    spectral_explorer.progress.Cancelled: cancelled
    """
    if progress is not None and fraction is not None:
        progress(min(max(float(fraction), 0.0), 1.0), text)
    if is_cancelled(cancel):
        raise Cancelled("cancelled")


def subrange(progress, lo: float, hi: float):
    """A progress callable mapping fractions ``[0, 1]`` onto ``[lo, hi]`` of ``progress``
    (``None`` stays ``None``), for a sub-step of a longer computation.

    >>> seen = []
    >>> sub = subrange(lambda f, t: seen.append((round(f, 3), t)), 0.5, 0.75)
    >>> sub(0.0, "a"); sub(1.0, "b")
    >>> seen
    [(0.5, 'a'), (0.75, 'b')]
    >>> subrange(None, 0, 1) is None
    True
    """
    if progress is None:
        return None
    lo, hi = float(lo), float(hi)

    def sub(fraction, text=""):
        f = min(max(float(fraction), 0.0), 1.0)
        progress(lo + (hi - lo) * f, text)

    return sub


def text_printer(file=None):
    """A progress callable that prints each non-empty ``text`` on its own line (the fraction
    is ignored) — the adapter scripts and the command line use.

    >>> p = text_printer(sys.stdout)
    >>> p(0.5, "half way"); p(0.6, "")
    half way
    """
    def printer(fraction, text=""):
        if text:
            print(text, file=file if file is not None else sys.stdout, flush=True)

    return printer
