import json

import pandas as pd

from spectral_explorer import cli


def test_serve_binds_localhost_and_serves_every_app():
    args = cli.build_parser().parse_args(["serve", "--port", "5123"])
    cmd = cli.serve_command(args)
    assert cmd[cmd.index("--address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--port") + 1] == "5123"
    apps = [c for c in cmd if c.endswith(".py")]
    assert {p.rsplit("/", 1)[-1] for p in apps} >= {"index.py", "heat_geodesics.py"}
    assert "--index" in cmd


def test_serve_num_procs_and_address():
    args = cli.build_parser().parse_args(["serve", "--num-procs", "2", "--address", "0.0.0.0"])
    cmd = cli.serve_command(args)
    assert cmd[cmd.index("--num-procs") + 1] == "2"
    assert cmd[cmd.index("--address") + 1] == "0.0.0.0"


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
    assert "heat_geodesic" in capsys.readouterr().out
