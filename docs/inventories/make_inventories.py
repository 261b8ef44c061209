"""Write the intersphinx inventories the docs build reads, without a network.

Sphinx's intersphinx extension links a name such as ``torch.Tensor`` to another project's
documentation by looking it up in that project's ``objects.inv``. The docs build must not
download anything, so the inventories live in this folder:

* ``python.inv`` is Python's own inventory, copied from Debian's ``python3-doc`` package
  (``/usr/share/doc/python3-doc/html/objects.inv``, Python 3.11); ``--python PATH`` copies
  another one.
* ``numpy.inv``, ``scipy.inv``, ``sklearn.inv`` and ``torch.inv`` are written here from the
  *installed* packages: every public function and class of the listed modules, at the URL
  its project's autosummary pages use (``reference/generated/numpy.linalg.eigh.html``,
  ``generated/torch.linalg.eigh.html`` …). None of these projects ships its inventory in a
  package we can install offline, and their page names follow these patterns, so a name
  that exists in the installed version gets the page its project publishes for it.

Run ``python docs/inventories/make_inventories.py`` after upgrading one of these packages;
the docs build (``bash .ci/dev docs``) only reads the files.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import shutil
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

# project -> (import name for the version, modules whose public names get entries, page pattern,
#             pages that do not follow the pattern: name -> uri)
PROJECTS = {
    "numpy": ("numpy", ["numpy", "numpy.linalg", "numpy.fft"], "reference/generated/{name}.html", {
        "numpy.random.Generator": "reference/random/generator.html#numpy.random.Generator",
        "numpy.random.default_rng": "reference/random/generator.html#numpy.random.default_rng",
        "numpy.random.RandomState": "reference/random/legacy.html#numpy.random.RandomState",
        "numpy.typing.ArrayLike": "reference/typing.html#numpy.typing.ArrayLike",
        "array_like": "glossary.html#term-array_like",    # the glossary term numpydoc links "array_like" to
    }),
    "scipy": ("scipy", ["scipy.linalg", "scipy.sparse", "scipy.sparse.linalg", "scipy.sparse.csgraph",
                        "scipy.spatial", "scipy.spatial.distance", "scipy.special", "scipy.stats"],
              "reference/generated/{name}.html", {}),
    "sklearn": ("sklearn", ["sklearn.manifold", "sklearn.neighbors", "sklearn.decomposition", "sklearn.datasets",
                            "sklearn.linear_model", "sklearn.metrics", "sklearn.base", "sklearn.preprocessing"],
                "modules/generated/{name}.html", {}),
    "torch": ("torch", ["torch", "torch.linalg", "torch.nn", "torch.nn.functional", "torch.func", "torch.fft",
                        "torch.sparse"], "generated/{name}.html", {
        "torch.Tensor": "tensors.html#torch.Tensor",
        "torch.device": "tensor_attributes.html#torch.device",
        "torch.dtype": "tensor_attributes.html#torch.dtype",
    }),
}


def _public(module_name: str):
    """(qualified name, role) of every public function and class a module exposes."""
    mod = importlib.import_module(module_name)
    names = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
    for n in names:
        obj = getattr(mod, n, None)
        if inspect.isclass(obj):
            yield f"{module_name}.{n}", "class"
        elif callable(obj) and not inspect.ismodule(obj):
            yield f"{module_name}.{n}", "function"


def inventory(project: str) -> bytes:
    dist, modules, pattern, special = PROJECTS[project]
    version = importlib.import_module(dist).__version__.split("+")[0]
    entries = {}
    for m in modules:                      # module pages are irregular: functions and classes only
        for name, role in _public(m):
            entries.setdefault(name, (f"py:{role}", None))
    for name, uri in special.items():
        if "." not in name:
            role = "std:term"
        else:
            role = "py:function" if name.rsplit(".", 1)[1][:1].islower() else "py:class"
        entries[name] = (role, uri)
    lines = []
    for name in sorted(entries):
        role, uri = entries[name]
        uri = uri or pattern.format(name=name)
        lines.append(f"{name} {role} 1 {uri} -")
    header = (f"# Sphinx inventory version 2\n# Project: {project}\n# Version: {version}\n"
              "# The remainder of this file is compressed using zlib.\n").encode()
    return header + zlib.compress(("\n".join(lines) + "\n").encode())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", default="/usr/share/doc/python3-doc/html/objects.inv",
                    help="Python's objects.inv to copy (Debian: apt-get install python3-doc)")
    args = ap.parse_args(argv)
    src = Path(args.python)
    if src.exists():
        shutil.copyfile(src, HERE / "python.inv")
        print(f"python.inv <- {src}")
    elif not (HERE / "python.inv").exists():
        raise SystemExit(f"{src} not found: apt-get install python3-doc, or pass --python PATH")
    for project in PROJECTS:
        data = inventory(project)
        (HERE / f"{project}.inv").write_bytes(data)
        body = data.split(b"zlib.\n", 1)[1]
        print(f"{project}.inv: {len(zlib.decompress(body).splitlines())} entries")


if __name__ == "__main__":
    main()
