"""Command line: ``spectral-explorer serve | school | reproduce | bench``."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "benchmarks"

#: reproduce targets: name -> module under spectral_explorer.reproduce
REPRODUCE_TARGETS = {"heat-geodesics": "heat_geodesics", "positional-encodings": "positional_encodings",
                     "eigenspace": "eigenspace", "latent-directions": "latent_directions",
                     "householder": "householder"}

#: how often the server looks for closed sessions (ms), and how long a session without a
#: connection lives (ms; a page's websocket must connect within it): closed sessions, and their
#: explorers, are released within about 20 s
CHECK_UNUSED_SESSIONS_MS = 5_000
UNUSED_SESSION_LIFETIME_MS = 15_000

#: seconds a stopping server may take to finish its sessions' work before the process exits anyway
STOP_GRACE_S = 5.0


def websocket_origins(args: argparse.Namespace) -> list[str]:
    """The hosts allowed to open a session's websocket: ``--allow-websocket-origin`` values, or
    this server's own address and port."""
    origins = args.allow_websocket_origin or [f"{h}:{args.port}" for h in ("localhost", "127.0.0.1", args.address)]
    return list(dict.fromkeys(origins))


def allowed_hosts(args: argparse.Namespace) -> set[str]:
    """Host names a request may address (its ``Host`` header, port left out): this machine's
    names, ``--address`` and the hosts of ``--allow-websocket-origin``."""
    hosts = {"localhost", "127.0.0.1", args.address}
    for origin in websocket_origins(args):
        if origin.startswith("["):                      # [::1]:5006
            hosts.add(origin[1:origin.index("]")])
        else:
            hosts.add(origin.rsplit(":", 1)[0] if origin.count(":") == 1 else origin)
    return {h.strip("[]").lower() for h in hosts}


def reject_foreign_hosts(tornado_app, hosts: set[str]) -> None:
    """Answer 403 to every HTTP or websocket request whose ``Host`` is not in ``hosts``.

    Bokeh checks a websocket's ``Origin`` but not its ``Host``; a page on another name that
    resolves to this machine (DNS rebinding) would send a matching Origin.  The rule goes first
    in the tornado application's router, so it sees every request."""
    from tornado.routing import Matcher, Rule
    from tornado.web import RequestHandler

    class ForeignHost(Matcher):
        def match(self, request):
            return {} if request.host_name.strip("[]").lower() not in hosts else None

    class Forbidden(RequestHandler):
        def prepare(self):
            self.set_status(403)
            self.finish("403: this server does not serve that host name (see --allow-websocket-origin)")

    tornado_app.default_router.rules.insert(0, Rule(ForeignHost(), Forbidden))


def serve_apps() -> dict:
    """URL path -> page factory for every dashboard in the registry, the gallery at ``/`` and
    the glossary at ``/glossary``."""
    from .explorers import registry

    return {"/": registry.index_page, "glossary": registry.glossary_page,
            **{d.name: d.factory for d in registry.DASHBOARDS}}


def _child_pids() -> list[int]:
    """This process's children (Linux /proc; empty elsewhere)."""
    pids = []
    for f in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        try:
            pids += [int(p) for p in f.read_text().split()]
        except OSError:
            pass
    return pids


def _at_fork_in_child():  # pragma: no cover - runs in forked server processes
    # a forked worker (--num-procs > 1) dies with its parent, even when the parent is killed
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def _exit_after(seconds: float):
    """End the process (status 0, output flushed) ``seconds`` from now unless it has ended."""
    def leave():
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - closed stream
                pass
        os._exit(0)
    timer = threading.Timer(seconds, leave)
    timer.daemon = True
    timer.start()


def _fork_workers(n: int) -> bool:
    """Fork ``n`` worker processes.  In a worker: True.  In the parent: wait until every worker
    has exited (SIGTERM/Ctrl-C are passed on to them by ``stop``), then False.

    Each worker opens its own listening socket on the port (SO_REUSEPORT, see
    :func:`_listen_with_reuse_port`), so the kernel spreads new connections evenly over them.
    (Bokeh's own ``num_procs`` forks after binding one socket that all workers share: whichever
    worker wakes first accepts every connection waiting — a class opening its pages at the same
    moment lands on one process while the other idles.)"""
    children = []
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            _at_fork_in_child()
            return True
        children.append(pid)
    while children:
        try:
            pid, _ = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if pid in children:
            children.remove(pid)
    return False


def _listen_with_reuse_port():
    """Make this process's Bokeh server bind its port with SO_REUSEPORT (one socket per worker)."""
    from tornado import netutil

    import bokeh.server.server as bokeh_server

    def bind_sockets(address, port):
        sockets = netutil.bind_sockets(port=port or 0, address=address, reuse_port=True)
        return sockets, sockets[0].getsockname()[1]
    bokeh_server.bind_sockets = bind_sockets


def _serve(args):
    # every script, style and font comes from this server (works offline); set before bokeh is imported
    os.environ.setdefault("BOKEH_RESOURCES", "server")
    import panel as pn

    pn.config.global_loading_spinner = True
    apps = serve_apps()
    titles = {"/": "spectral_explorer", "glossary": "Glossary"}
    from .explorers import registry

    titles.update({d.name: d.title for d in registry.DASHBOARDS})
    parent = os.getpid()
    server = None

    def stop(signum, frame):
        if os.getpid() == parent and args.num_procs != 1:
            # the workers' parent: pass the signal on; it exits once every worker has
            for pid in _child_pids():
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            return
        if server is None:
            raise SystemExit(0)
        # the event loop may be in the middle of building a page (or waiting for a shared
        # stage another thread computes): whatever it is doing, the process ends within
        # STOP_GRACE_S of the signal
        _exit_after(STOP_GRACE_S)
        server.io_loop.asyncio_loop.call_soon_threadsafe(server.io_loop.stop)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"serving {len(apps) - 1} dashboards at http://{args.address}:{args.port}/", flush=True)
    if args.num_procs != 1:
        if args.port == 0:
            raise SystemExit("error: --num-procs needs a fixed --port")
        if not _fork_workers(args.num_procs if args.num_procs > 0 else (os.cpu_count() or 1)):
            return 0   # the parent, once every worker has stopped
        _listen_with_reuse_port()
    try:
        server = pn.serve(apps, port=args.port, address=args.address, websocket_origin=websocket_origins(args),
                          num_procs=1, show=False, start=False, title=titles, verbose=False,
                          check_unused_sessions_milliseconds=CHECK_UNUSED_SESSIONS_MS,
                          unused_session_lifetime_milliseconds=UNUSED_SESSION_LIFETIME_MS)
    except KeyboardInterrupt:  # pragma: no cover - Ctrl-C in a fork_processes parent
        return 0
    reject_foreign_hosts(server._tornado, allowed_hosts(args))   # in every forked worker too
    from .explorers._closed_pages import install
    install(server.io_loop.asyncio_loop)   # a page closed while written to: no traceback in the log
    registry.warm_shared_stages(freeze=True)   # per worker, off the event loop: the defaults' shared stages
    # pn.serve installed its own SIGINT handler; one handler for both signals
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.show:
        server.io_loop.add_callback(server.show, "/")
    server.start()
    try:
        server.io_loop.start()
    except KeyboardInterrupt:  # pragma: no cover
        pass
    # stopped: close the listening sockets and sessions; a session's worker thread that does not
    # finish within STOP_GRACE_S does not keep the process alive
    _exit_after(STOP_GRACE_S)
    try:
        server.stop()
    except Exception:  # pragma: no cover - already stopping
        pass
    print("server stopped", flush=True)
    if os.getpid() != parent:  # pragma: no cover - a forked worker: its sockets and sessions are closed;
        sys.stderr.flush()     # interpreter teardown after fork can hang on torch's thread pools
        os._exit(0)
    return 0


def _school(args):
    from . import school

    return school.main(args)


def _reproduce(args):
    import importlib

    mod = importlib.import_module(f"spectral_explorer.reproduce.{REPRODUCE_TARGETS[args.target]}")
    mod.main(quick=args.quick, out=Path(args.out))
    return 0


def _bench(args):
    if not BENCH_DIR.is_dir():
        raise SystemExit(f"error: `bench` runs the scripts in benchmarks/ of a source checkout; there is none "
                         f"at {BENCH_DIR} (an installed wheel has no benchmarks; clone the repository)")
    script = BENCH_DIR / f"{args.target.replace('-', '_')}.py"
    if not script.exists():
        names = sorted(p.stem.replace("_", "-") for p in BENCH_DIR.glob("*.py") if not p.name.startswith("_"))
        raise SystemExit(f"error: no benchmark script {script}; one of {', '.join(names)}")
    return subprocess.call([sys.executable, str(script), *args.rest])


def build_parser() -> argparse.ArgumentParser:
    """The ``spectral-explorer`` argument parser: ``serve``, ``school``, ``reproduce`` and ``bench``."""
    p = argparse.ArgumentParser(prog="spectral-explorer", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="serve every packaged dashboard with a gallery index page",
                       description="Serve every dashboard of the package, with a gallery index at /, in this "
                                   "process (Panel's server); Ctrl-C or SIGTERM stops it.")
    s.add_argument("--port", type=int, default=5006, help="port (default 5006)")
    s.add_argument("--address", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1, this machine only; 0.0.0.0 to share on a network)")
    s.add_argument("--num-procs", type=int, default=1, help="worker processes (default 1; 0 = one per core)")
    s.add_argument("--allow-websocket-origin", action="append", default=None,
                   help="extra host[:port] allowed to connect (repeatable)")
    s.add_argument("--show", action="store_true", help="open a browser")
    s.set_defaults(func=_serve)

    c = sub.add_parser("school", help="nginx in front of several serve processes (a class or a school)",
                       description="Start --backends N `serve` processes on free local ports (plus any remote "
                                   "--backend HOST:PORT) behind an nginx front on --address:--port: sessions kept on "
                                   "their backend, websockets upgraded, new pages moved off a backend that does not "
                                   "answer. Ctrl-C or SIGTERM stops everything it started.")
    c.add_argument("--backends", type=int, default=2, help="local serve processes to start (default 2)")
    c.add_argument("--port", type=int, default=8080, help="the front's port (default 8080)")
    c.add_argument("--address", default="127.0.0.1",
                   help="the front's address (default 127.0.0.1; 0.0.0.0 to share on a network)")
    c.add_argument("--backend", action="append", default=None, metavar="HOST:PORT",
                   help="a serve process on another machine, started with --allow-websocket-origin FRONT:PORT "
                        "(repeatable)")
    c.add_argument("--allow-websocket-origin", action="append", default=None,
                   help="extra host[:port] students use to reach the front (repeatable)")
    c.add_argument("--nginx", default=None, help="the nginx binary (default: nginx on PATH or /usr/sbin/nginx)")
    c.add_argument("--log-dir", default=None, help="keep the backends' and nginx's logs in this folder")
    c.set_defaults(func=_school)

    r = sub.add_parser("reproduce", help="recompute a paper's table, write JSON and CSV")
    r.add_argument("target", choices=sorted(REPRODUCE_TARGETS))
    r.add_argument("--quick", action="store_true", help="small sizes (minutes on a CPU, not the full run's tens of minutes)")
    r.add_argument("--out", default="results", help="output folder (default ./results)")
    r.set_defaults(func=_reproduce)

    b = sub.add_parser("bench", help="run a benchmark script (prints JSON)")
    b.add_argument("target", help="benchmark name, e.g. heat-geodesics")
    b.add_argument("rest", nargs=argparse.REMAINDER, help="arguments passed to the script")
    b.set_defaults(func=_bench)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
