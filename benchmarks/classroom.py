"""A classroom opening the same dashboard at once (prints JSON).

Starts ``python -m spectral_explorer.cli serve`` on 127.0.0.1 and drives ``--n`` Bokeh server
sessions against it with a lightweight client (:class:`LightSession` in threads — the Bokeh
protocol over websockets, no browser, and no client-side copy of the document: the students'
browsers would run on their own machines, not on the server's cores).  Each session

- opens the dashboard (time to first render: the document pulled with its plots),
- then every ``--interval`` seconds (jittered) moves the dashboard's slider (heat: t; PE: the
  eigenvector index; eigenspace: the toy's anisotropy) by sending the widget model's new value
  through its document, and measures the time until a plot's data source changes in its copy of
  the document (slider → update),
- for ``--seconds`` after its page rendered, then closes.

Printed: N, time to first render median/max, slider → update median/p95/max, server RSS (psutil,
the server and its worker processes) at start, after a warm-up session, peak during the class
and after every session closed, the tracebacks/errors of the server log, and where the render
phase's CPU went (``render_phase``: wall time until the last page arrived, the server's CPU
seconds and per page, and this client's CPU seconds — the pages' lower bound on a machine is
``server_cpu_s / cores``).

    python benchmarks/classroom.py --dashboard heat_geodesics --n 30 --seconds 45
    python benchmarks/classroom.py --dashboard heat_geodesics --n 30 --no-shared-cache   # baseline

Only 127.0.0.1 is ever contacted; sessions, seconds and waits are bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]

#: per dashboard: the slider's CSS class, the Bokeh property Panel listens to, the values offered
SLIDERS = {
    "heat_geodesics": ("t-slider", ("value", "value_throttled"),
                       [0.30103, 0.69897, 1.0, 1.30103, 1.69897, 2.0, 2.30103]),   # log10 t: 2 … 200
    "positional_encodings": ("index-slider", ("value",), [1, 2, 3, 4, 5, 6, 7, 8]),
    "eigenspace": ("anisotropy-slider", ("value",), [2.0, 4.0, 6.0, 12.0, 16.0, 24.0, 32.0]),
}
MAX_SESSIONS = 60
MAX_SECONDS = 300
UPDATE_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_rss(proc: psutil.Process) -> int:
    """RSS of the server and its worker processes (``--num-procs``), bytes."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def server_cpu(proc: psutil.Process) -> float:
    """CPU seconds (user + system) of the server and its worker processes so far."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def start_server(port: int, shared: bool, num_procs: int, log) -> subprocess.Popen:
    env = dict(os.environ, SPECTRAL_EXPLORER_SHARED_CACHE="1" if shared else "0",
               SPECTRAL_EXPLORER_DEVICE=os.environ.get("SPECTRAL_EXPLORER_DEVICE", "cpu"),
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    cmd = [sys.executable, "-m", "spectral_explorer.cli", "serve", "--port", str(port),
           "--num-procs", str(num_procs)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit("the server did not start")


class LightSession:
    """One browser tab as the server sees it, without a browser: a Bokeh protocol connection
    (``bokeh.client``'s websocket connection) that pulls the page's document as JSON and sends
    widget changes as document patches — but, unlike ``pull_session``, never rebuilds the
    document's ~300 models on the client (0.2–0.4 s of CPU each, which on this one machine
    would be taken from the server).  Counts the server's patches that change a plot."""

    def __init__(self, url: str):
        from bokeh.client.connection import ClientConnection
        from bokeh.client.util import websocket_url_for_server_url
        from bokeh.util.token import generate_jwt_token, generate_session_id

        session = self

        class Connection(ClientConnection):
            async def _pop_message(self):
                # every message passes here, also the patches a connection waiting for a reply
                # (a round trip) drops unread
                message = await super()._pop_message()
                if message is not None and message.msgtype == "PATCH-DOC":
                    text = str(message.content)
                    if any(k in text for k in _PLOT_UPDATE):
                        session.plot_updates += 1
                return message

        self.id = generate_session_id()
        self.token = generate_jwt_token(self.id)
        self.plot_updates = 0
        self.document = None
        self._conn = Connection(self, websocket_url_for_server_url(url))

    # what ClientConnection calls on its session
    def _handle_patch(self, message):
        pass   # counted in Connection._pop_message

    def _notify_disconnected(self):
        pass

    def pull(self) -> dict:
        """Open the session; return its document (JSON)."""
        self._conn.connect()
        if not self._conn.connected:
            raise RuntimeError(f"could not connect: {self._conn.error_detail}")
        reply = self._conn._send_message_wait_for_reply(self._conn._protocol.create("PULL-DOC-REQ"))
        if reply is None or reply.header["msgtype"] == "ERROR":
            raise RuntimeError(f"pull failed: {reply and reply.content}")
        return reply.content["doc"]

    def send(self, *events: dict):
        """Send document events (JSON, as a browser does)."""
        from bokeh.protocol.messages.patch_doc import patch_doc

        msg = patch_doc(patch_doc.create_header(), {}, {"events": list(events)})
        self._conn._loop.add_callback(self._conn.send_message, msg)

    def drain(self):
        """Take in (and count) every message the server sent so far: one round trip."""
        self._conn.force_roundtrip()

    def wait_for_update(self, before: int, timeout: float) -> bool:
        """Run the connection until a plot update beyond ``before`` arrives (True) or
        ``timeout`` seconds pass (False) — listening only: no requests while it waits (polling
        with round trips would itself load the server 30 sessions × 50 times a second)."""
        conn = self._conn
        deadline = time.perf_counter() + timeout

        def done():
            return self.plot_updates != before or time.perf_counter() >= deadline

        def poke():   # at the deadline, one round trip so the loop wakes up and sees it
            conn._loop.add_callback(conn.send_message, conn._protocol.create("SERVER-INFO-REQ"))
        handle = conn._loop.call_later(timeout, poke)
        try:
            conn._loop_until(done)
        finally:
            conn._loop.remove_timeout(handle)
        return self.plot_updates != before

    def close(self):
        self._conn.close()


def _objects(node):
    """Every model object in a document's JSON."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "id" in node:
            yield node
        for v in node.values():
            yield from _objects(v)
    elif isinstance(node, list):
        for v in node:
            yield from _objects(v)


_PLOTS = {"Figure", "figure", "Plot", "GridPlot"}


class Student(threading.Thread):
    """One session: open, move the slider now and then, close."""

    def __init__(self, url, dashboard, seconds, interval, seed, barrier, sweep=False):
        super().__init__(daemon=True)
        self.sweep = sweep   # move once through every slider value, without pauses (a warm-up)
        self.url, self.dashboard, self.seconds, self.interval = url, dashboard, seconds, interval
        self.rng = random.Random(seed)
        self.barrier = barrier
        self.render_s = None
        self.latencies: list[float] = []
        self.timeouts = 0
        self.error = None

    def run(self):
        try:
            self.barrier.wait(60)
            t0 = time.perf_counter()
            session = LightSession(self.url)
            doc = session.pull()
            objects = list(_objects(doc["roots"]))
            if not any(o.get("name") in _PLOTS for o in objects):
                raise RuntimeError("the pulled document has no plot")
            self.render_s = time.perf_counter() - t0
            css, props, values = SLIDERS[self.dashboard]
            slider = next(o for o in objects if css in (o.get("attributes", {}).get("css_classes") or []))
            current = slider.get("attributes", {}).get("value")
            end = time.perf_counter() + self.seconds   # the slider moves start once the page is there
            # what a browser sends once the page is drawn
            session.send({"kind": "MessageSent", "msg_type": "bokeh_event",
                          "msg_data": {"type": "event", "name": "document_ready", "values": {"type": "map"}}})
            # a value the slider already shows (t = 10 at position 1.0) is no
            # move: the server rightly sends nothing back
            def differs(v):
                return current is None or abs(v - current) > 0.006
            sweep = [v for v in values if differs(v)] if self.sweep else None
            while (sweep if sweep is not None else time.perf_counter() + self.interval < end):
                if sweep is not None:
                    value = sweep.pop(0)
                else:
                    time.sleep(self.interval * self.rng.uniform(0.6, 1.4))
                    value = self.rng.choice([v for v in values if differs(v)])
                current = value
                session.drain()   # count what arrived since (late updates of the last move)
                before = session.plot_updates
                ts = time.perf_counter()
                # what the browser sends when the slider is released
                session.send(*[{"kind": "ModelChanged", "model": {"id": slider["id"]}, "attr": prop, "new": value}
                               for prop in props])
                if session.wait_for_update(before, UPDATE_TIMEOUT):
                    self.latencies.append(time.perf_counter() - ts)
                else:
                    self.timeouts += 1
            session.close()
        except Exception as exc:  # noqa: BLE001 - reported in the JSON
            self.error = f"{type(exc).__name__}: {exc}"


_PLOT_UPDATE = ("ColumnDataChanged", "ColumnsStreamed", "ColumnsPatched", "'attr': 'data'", "'name': 'Figure'",
                "'name': 'GridPlot'", "'name': 'ColumnDataSource'")


def pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))], 3)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dashboard", choices=sorted(SLIDERS), default="heat_geodesics")
    p.add_argument("--n", type=int, default=30, help=f"sessions (at most {MAX_SESSIONS})")
    p.add_argument("--seconds", type=float, default=45.0, help=f"each session's slider-moving time after its page rendered (at most {MAX_SECONDS})")
    p.add_argument("--interval", type=float, default=4.0, help="seconds between two slider moves (jittered ±40 %%)")
    p.add_argument("--settle", type=float, default=40.0, help="seconds to wait for RSS after the sessions closed")
    p.add_argument("--num-procs", type=int, default=1, help="serve --num-procs")
    p.add_argument("--no-shared-cache", action="store_true", help="SPECTRAL_EXPLORER_SHARED_CACHE=0 (baseline)")
    p.add_argument("--no-warmup", action="store_true", help="no warm-up session before the class")
    args = p.parse_args(argv)
    n = max(1, min(args.n, MAX_SESSIONS))
    seconds = max(5.0, min(args.seconds, MAX_SECONDS))

    port = free_port()
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    proc = start_server(port, not args.no_shared_cache, args.num_procs, log)
    ps = psutil.Process(proc.pid)
    url = f"http://127.0.0.1:{port}/{args.dashboard}"
    out = {"dashboard": args.dashboard, "n": n, "seconds": seconds, "num_procs": args.num_procs,
           "shared_cache": not args.no_shared_cache, "cpus": os.cpu_count()}
    try:
        time.sleep(1.0)
        out["rss_start_mb"] = round(server_rss(ps) / 2**20, 1)
        if not args.no_warmup:
            # one session that opens the page and moves the slider once through every value the
            # class will use: imports, first page, and (shared) every stage the class will ask
            # for — so "RSS before" includes the shared results, and "after" shows what closed
            # sessions left behind
            # (with several processes, a few such sessions: the kernel picks the process)
            out["warmup_render_s"], out["warmup_sweep_s"] = [], []
            for i in range(1 if args.num_procs == 1 else 2 * max(2, args.num_procs)):
                w = Student(url, args.dashboard, 0.0, 1.0, -1 - i, threading.Barrier(1), sweep=True)
                w.run()
                out["warmup_render_s"].append(round(w.render_s, 3) if w.render_s else w.error)
                out["warmup_sweep_s"].append([round(x, 3) for x in w.latencies])
            time.sleep(2.0)
        out["rss_before_mb"] = round(server_rss(ps) / 2**20, 1)

        barrier = threading.Barrier(n)
        students = [Student(url, args.dashboard, seconds, args.interval, i, barrier) for i in range(n)]
        peak = [0]
        done = threading.Event()

        def sample():
            while not done.wait(0.5):
                peak[0] = max(peak[0], server_rss(ps))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # where the render phase's CPU went: the server's processes and this client process
        # (all on the same cores here; in a class the browsers run on the students' machines)
        cpu0, client0, wall0 = server_cpu(ps), time.process_time(), time.perf_counter()
        for s in students:
            s.start()
        while time.perf_counter() - wall0 < 180 and any(s.is_alive() and s.render_s is None and s.error is None
                                                         for s in students):
            time.sleep(0.05)
        render_phase = dict(wall_s=round(time.perf_counter() - wall0, 2),
                            server_cpu_s=round(server_cpu(ps) - cpu0, 2),
                            client_cpu_s=round(time.process_time() - client0, 2))
        render_phase["server_cpu_per_page_s"] = round(render_phase["server_cpu_s"] / n, 3)
        out["render_phase"] = render_phase
        for s in students:
            s.join(seconds + 120)
        done.set()
        renders = [s.render_s for s in students if s.render_s is not None]
        lat = [x for s in students for x in s.latencies]
        out.update(
            rendered=len(renders),
            render_s_median=round(statistics.median(renders), 3) if renders else None,
            render_s_max=round(max(renders), 3) if renders else None,
            updates=len(lat), update_timeouts=sum(s.timeouts for s in students),
            update_s_median=round(statistics.median(lat), 3) if lat else None,
            update_s_p95=pct(lat, 0.95), update_s_max=round(max(lat), 3) if lat else None,
            client_errors=sorted({s.error for s in students if s.error}),
            rss_peak_mb=round(peak[0] / 2**20, 1),
        )
        # the server destroys closed sessions on its unused-session check; wait for the memory
        t_end = time.time() + args.settle
        samples = []
        while time.time() < t_end:
            time.sleep(2.0)
            samples.append(server_rss(ps))
        out["rss_after_mb"] = round(samples[-1] / 2**20, 1) if samples else None
        if samples and out["rss_before_mb"]:
            out["rss_after_vs_before"] = round(samples[-1] / 2**20 / out["rss_before_mb"] - 1, 3)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.seek(0)
        text = log.read()
        log.close()
        os.unlink(log.name)
    blocks = [b for b in text.split("Traceback (most recent call last)")[1:]]
    errors = [ln for ln in text.splitlines() if " ERROR" in ln or ln.startswith("ERROR")]
    out["server_tracebacks"] = len(blocks)
    out["server_errors"] = (errors + [b.strip().splitlines()[-1] for b in blocks])[:10]
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
