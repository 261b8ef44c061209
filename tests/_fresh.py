"""Scripts run as a fresh interpreter runs them, without paying the heavy imports once per script.

``as_code()`` scripts must work on their own: nothing from the test process (its imports, caches,
Panel, a fixture's state) may help them.  Starting ``python -c SCRIPT`` for each costs seconds of
interpreter start and of importing numpy, scipy, pandas and torch, many times over in a run of the
suite.  The ``fresh_python`` fixture instead starts one interpreter for the whole session that
imports those libraries — and nothing of this project, no Panel, no Bokeh, no transformers — and
forks one child per script: every script runs in a process of its own, in its own folder, with
nothing of the tests' process nor of the scripts before it, exactly as after ``import numpy, scipy,
pandas, torch`` at the top of a fresh interpreter (which every ``as_code`` script does first).
The child pickles ``result`` (arrays, tensors, data frames, dicts: exactly, no text round trip).
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# The server: reads one request per line (a path to a pickled (code, cwd, out, err, res) tuple),
# forks a child per request and answers "<pid> <exit status>".  Its imports are the base
# libraries only (their import has no effect a script could tell from its own).
_SERVER = r"""
import os, pickle, sys, traceback
import numpy, scipy.linalg, scipy.sparse, scipy.sparse.linalg, pandas, torch
assert 'panel' not in sys.modules and 'bokeh' not in sys.modules and 'spectral_explorer' not in sys.modules
reply = sys.stdout
for line in sys.stdin:
    with open(line.strip(), 'rb') as f:
        code, cwd, out, err, res = pickle.load(f)
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            fd_out = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            fd_err = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd_out, 1)
            os.dup2(fd_err, 2)
            sys.stdout = os.fdopen(1, 'w', buffering=1)
            sys.stderr = os.fdopen(2, 'w', buffering=1)
            os.chdir(cwd)
            sys.argv = ['-c']
            ns = {'__name__': '__main__', '__builtins__': __builtins__}
            exec(compile(code, '<as_code>', 'exec'), ns)
            with open(res, 'wb') as f:
                pickle.dump(ns.get('result'), f)
            status = 0
        except BaseException:
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush(); sys.stderr.flush()
            finally:
                os._exit(status)
    _, st = os.waitpid(pid, 0)
    reply.write(f'{pid} {os.waitstatus_to_exitcode(st)}\n')
    reply.flush()
"""


class FreshPython:
    def __init__(self):
        env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", SPECTRAL_EXPLORER_DEVICE="cpu")
        self._dir = tempfile.TemporaryDirectory(prefix="fresh_python_")
        self._err = open(Path(self._dir.name) / "server.err", "w+")
        self._proc = subprocess.Popen([sys.executable, "-c", _SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._err, text=True, bufsize=1, env=env, cwd=self._dir.name,
                                      start_new_session=True)
        self._n = 0

    def run(self, code: str, cwd, timeout: float = 300.0):
        """Run ``code`` in a fresh process (see the module's docstring) in the folder ``cwd``; returns
        ``(result, stdout)``, ``result`` the value the script left in ``result``.  Fails the test, with
        the script's stderr, when the script raises."""
        import select

        self._n += 1
        base = Path(self._dir.name) / f"script{self._n}"
        out, err, res, req = (str(base) + s for s in (".out", ".err", ".pkl", ".req"))
        with open(req, "wb") as f:
            pickle.dump((code, str(Path(cwd).resolve()), out, err, res), f)
        if self._proc.poll() is not None:
            self._err.seek(0)
            pytest.fail(f"the fresh-interpreter server has exited:\n{self._err.read()[-3000:]}")
        self._proc.stdin.write(req + "\n")
        self._proc.stdin.flush()
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        if not ready:
            self.close(kill=True)
            pytest.fail(f"the script did not finish within {timeout} s")
        reply = self._proc.stdout.readline().split()
        stdout = Path(out).read_text() if Path(out).exists() else ""
        if len(reply) != 2 or reply[1] != "0":
            stderr = Path(err).read_text() if Path(err).exists() else ""
            pytest.fail(f"the script failed ({reply}):\n{stderr[-3000:]}")
        with open(res, "rb") as f:
            return pickle.load(f), stdout

    def close(self, kill: bool = False):
        if kill and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)       # the server and the script it runs
        if self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._err.close()
        self._dir.cleanup()


@pytest.fixture(scope="session")
def fresh_python():
    """Runs ``as_code`` scripts as a fresh interpreter would: ``fresh_python.run(code, cwd)``."""
    runner = FreshPython()
    yield runner
    runner.close()
