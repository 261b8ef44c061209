import json
import subprocess
import sys

import pandas as pd
import pytest

from spectral_explorer import cli


def test_serve_binds_localhost_and_serves_every_registered_app():
    from spectral_explorer.explorers import registry

    args = cli.build_parser().parse_args(["serve", "--port", "5123"])
    assert (args.address, args.port, args.num_procs) == ("127.0.0.1", 5123, 1)
    assert cli.websocket_origins(args) == ["localhost:5123", "127.0.0.1:5123"]
    apps = cli.serve_apps()
    assert list(apps) == ["/", "glossary", *registry.names()]
    assert apps["/"] is registry.index_page and apps["glossary"] is registry.glossary_page
    assert all(apps[d.name] is d.factory for d in registry.DASHBOARDS)


def test_serve_num_procs_address_and_origins():
    args = cli.build_parser().parse_args(["serve", "--num-procs", "2", "--address", "0.0.0.0",
                                          "--allow-websocket-origin", "class.example:5006"])
    assert (args.num_procs, args.address) == (2, "0.0.0.0")
    assert cli.websocket_origins(args) == ["class.example:5006"]


def test_serve_help_runs_without_a_checkout(tmp_path):
    out = subprocess.run([sys.executable, "-m", "spectral_explorer.cli", "serve", "--help"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "--port" in out.stdout and "--num-procs" in out.stdout and "SIGTERM" in out.stdout


def test_bench_names_the_missing_script():
    with pytest.raises(SystemExit, match="no benchmark script .*one of"):
        cli.main(["bench", "no-such-benchmark"])


def test_reproduce_quick_writes_json_and_csv(tmp_path, capsys):
    assert cli.main(["reproduce", "heat-geodesics", "--quick", "--out", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / "heat-geodesics.json").read_text())
    df = pd.read_csv(tmp_path / "heat-geodesics.csv")
    assert len(doc["rows"]) == len(df) > 0
    assert {"method", "dataset", "noise", "spearman", "pearson", "p@10", "seconds"} <= set(df.columns)
    assert df["spearman"].between(-1, 1).all()
    # heat geodesics on the lightly noisy swiss roll: the method's home ground
    row = df[(df.method == "heat_geodesic") & (df.dataset == "swiss_roll") & (df.noise == 0.1)]
    assert float(row.spearman.iloc[0]) > 0.95
    # and it keeps the roll's shape: both true axes (arc length, height) map back linearly;
    # the sphere cap has no flat axes to fit
    assert float(row.embedding_axis_r2_min.iloc[0]) > 0.9
    assert df[df.dataset == "sphere"].embedding_axis_r2_min.isna().all()
    assert "heat_geodesic" in capsys.readouterr().out


def test_allowed_hosts_follow_address_and_origins():
    args = cli.build_parser().parse_args(["serve", "--port", "5010"])
    assert cli.allowed_hosts(args) == {"localhost", "127.0.0.1"}
    args = cli.build_parser().parse_args(["serve", "--address", "0.0.0.0", "--allow-websocket-origin",
                                          "class.example.org:5010", "--allow-websocket-origin", "10.0.0.5", "--allow-websocket-origin", "[::1]:5010"])
    assert cli.allowed_hosts(args) == {"localhost", "127.0.0.1", "0.0.0.0", "class.example.org", "10.0.0.5", "::1"}
def test_serve_num_procs_2_serves_every_dashboard_and_spreads_sessions(tmp_path):
    """``serve --num-procs 2``: two worker processes share the port; pages opened at the same time
    are served by both, every dashboard answers, and SIGTERM stops them all."""
    import os
    import signal
    import socket
    import time
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    import psutil

    from spectral_explorer.explorers import registry

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    repo = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(repo))
    log = open(tmp_path / "server.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "spectral_explorer.cli", "serve", "--port", str(port),
                             "--num-procs", "2"], cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)

    def get(path):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=120) as r:
            return r.status, r.read().decode()
    try:
        deadline = time.time() + 90
        while True:
            try:
                assert get("/")[0] == 200
                break
            except OSError:
                assert time.time() < deadline and proc.poll() is None, (tmp_path / "server.log").read_text()
                time.sleep(0.5)
        workers = psutil.Process(proc.pid).children()
        assert len(workers) == 2
        cpu0 = {w.pid: sum(w.cpu_times()[:2]) for w in workers}
        paths = [f"/{name}" for name in registry.names()] * 2
        with ThreadPoolExecutor(len(paths)) as pool:
            pages = list(pool.map(get, paths))
        assert all(status == 200 and "bokeh" in body.lower() for status, body in pages)
        used = [w.pid for w in workers if sum(w.cpu_times()[:2]) - cpu0[w.pid] > 0.3]
        assert len(used) == 2, "the sessions were not spread over both worker processes"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
        log.close()
    out = (tmp_path / "server.log").read_text()
    assert proc.returncode == 0, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
