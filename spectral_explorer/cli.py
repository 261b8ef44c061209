"""Command line: ``spectral-explorer serve | reproduce | bench``."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
APPS_DIR = REPO_ROOT / "apps"
BENCH_DIR = REPO_ROOT / "benchmarks"

#: reproduce targets: name -> module under spectral_explorer.reproduce
REPRODUCE_TARGETS = {"heat-geodesics": "heat_geodesics", "positional-encodings": "positional_encodings",
                     "eigenspace": "eigenspace"}


def app_files(apps_dir: Path = APPS_DIR) -> list[Path]:
    """Every dashboard file (one per app, ``index.py`` first when present)."""
    if not apps_dir.is_dir():
        raise SystemExit(f"error: no apps directory at {apps_dir}; run from a source checkout or pass --apps-dir")
    files = sorted(p for p in apps_dir.glob("*.py") if not p.name.startswith("_"))
    return sorted(files, key=lambda p: (p.stem != "index", p.stem))


def serve_command(args: argparse.Namespace) -> list[str]:
    """The ``panel serve`` command line that :func:`main` runs for ``serve``."""
    apps = app_files(Path(args.apps_dir))
    cmd = [sys.executable, "-m", "panel", "serve", *map(str, apps),
           "--port", str(args.port), "--address", args.address, "--num-procs", str(args.num_procs),
           "--index", "index", "--global-loading-spinner"]
    origins = args.allow_websocket_origin or [f"{h}:{args.port}" for h in ("localhost", "127.0.0.1", args.address)]
    for origin in dict.fromkeys(origins):
        cmd += ["--allow-websocket-origin", origin]
    if args.show:
        cmd.append("--show")
    return cmd


def _serve(args):
    cmd = serve_command(args)
    print(f"serving {len(app_files(Path(args.apps_dir)))} dashboards at http://{args.address}:{args.port}/", flush=True)
    env = dict(os.environ)
    env.setdefault("BOKEH_RESOURCES", "server")  # every JS/CSS file from this server: works offline
    return subprocess.call(cmd, env=env)


def _reproduce(args):
    import importlib

    mod = importlib.import_module(f"spectral_explorer.reproduce.{REPRODUCE_TARGETS[args.target]}")
    mod.main(quick=args.quick, out=Path(args.out))
    return 0


def _bench(args):
    script = BENCH_DIR / f"{args.target.replace('-', '_')}.py"
    if not script.exists():
        raise SystemExit(f"error: no benchmark script {script}")
    return subprocess.call([sys.executable, str(script), *args.rest])


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="spectral-explorer", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="serve every dashboard with an index page (panel serve)")
    s.add_argument("--port", type=int, default=5006, help="port (default 5006)")
    s.add_argument("--address", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1, this machine only; 0.0.0.0 to share on a network)")
    s.add_argument("--num-procs", type=int, default=1, help="worker processes (default 1; 0 = one per core)")
    s.add_argument("--allow-websocket-origin", action="append", default=None,
                   help="extra host[:port] allowed to connect (repeatable)")
    s.add_argument("--apps-dir", default=str(APPS_DIR), help="folder of dashboard files")
    s.add_argument("--show", action="store_true", help="open a browser")
    s.set_defaults(func=_serve)

    r = sub.add_parser("reproduce", help="recompute a paper's table, write JSON and CSV")
    r.add_argument("target", choices=sorted(REPRODUCE_TARGETS))
    r.add_argument("--quick", action="store_true", help="small sizes (a minute or so on a CPU)")
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
