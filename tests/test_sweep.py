"""Many trainings on Dask (winner/sweeps.py, `winner sweep`): on a LocalCluster of 2 worker processes a
sweep of 2 configs x 2 seeds gives the four single trainings (same dev F1, same weights bit for bit, one
BLAS thread each); a finished run is kept on a second sweep; a failed training is listed with its
error while the others finish."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from helpers import error_message, snapshot
from winner import sweeps as sweeping
from winner.api import train_model
from winner.cli import app

REPO = Path(__file__).resolve().parents[1]
TINY = ["train.epochs=2", "model.hidden=10"]  # seconds per training


def config(tmp_path: Path, name: str, **sections) -> Path:
    """A config of the sample corpus with absolute data paths (the workers' directory does not matter)."""
    import yaml

    raw = yaml.safe_load((REPO / "configs/default.yaml").read_text())
    raw["data"].update(train=str(REPO / "data/sample/train.txt"), dev=str(REPO / "data/sample/dev.txt"))
    for section, values in sections.items():
        raw[section].update(values)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def weights(run_dir: Path) -> dict:
    with np.load(run_dir / "model-best" / "weights.npz", allow_pickle=False) as arrays:
        return {key: arrays[key] for key in arrays.files}


def test_a_sweep_equals_the_single_trainings(dask_client, tmp_path):
    from threadpoolctl import threadpool_limits

    configs = [config(tmp_path, "tanh"), config(tmp_path, "relu", model={"activation": "relu"})]
    done = sweeping.sweep([str(c) for c in configs], [0, 1], tmp_path / "sweep", TINY, client=dask_client,
                          progress=False)
    assert done.failures == [] and done.skipped == 0
    assert [(r["name"], r["seed"]) for r in done.rows] == [("tanh", 0), ("tanh", 1), ("relu", 0), ("relu", 1)]
    for row, (path, seed) in zip(done.rows, [(c, s) for c in configs for s in (0, 1)]):
        with threadpool_limits(limits=1, user_api="blas"):  # as each sweep task trains
            single = train_model(path, [*TINY, f"train.seed={seed}", f"output.run_dir={tmp_path / 'single'}"],
                                 overwrite=True, log=lambda line: None)
        assert row["dev_f1"] == single.best["dev_f1"]
        assert row["epoch"] == single.best["epoch"]
        ours, theirs = weights(Path(row["run_dir"])), weights(single.run_dir)
        assert ours.keys() == theirs.keys()
        assert all(np.array_equal(ours[k], theirs[k]) for k in ours), (row["name"], seed)
    assert Path(done.rows[0]["run_dir"]) == tmp_path / "sweep" / "tanh" / "seed-0"
    tsv = (tmp_path / "sweep" / "sweep.tsv").read_text().splitlines()
    assert tsv[0].split("\t") == list(sweeping.COLUMNS) and len(tsv) == 5
    assert json.loads((tmp_path / "sweep" / "sweep.json").read_text())["runs"] == done.rows


def test_cli_keeps_finished_runs_and_reports_a_failed_training(dask_client, tmp_path):
    good = config(tmp_path, "good")
    broken_train = tmp_path / "broken.txt"
    broken_train.write_text("Paris B-LOC\nLondon\n", encoding="utf-8")  # exists, so it passes the early checks
    broken = config(tmp_path, "broken", data={"train": str(broken_train)})
    command = ["sweep", good, broken, "--seeds", "0-1", "--out", tmp_path / "sweep",
               "--scheduler", dask_client.scheduler.address, *[x for o in TINY for x in ("--set", o)]]
    first = CliRunner().invoke(app, [str(a) for a in command])
    assert first.exit_code == 1, first.output
    assert "good" in first.stdout and f"failed: broken seed 0: {broken_train}:2: " in first.stdout
    assert "failed: broken seed 1: " in first.stdout
    assert first.stderr.startswith("error: 2 of 4 trainings failed")
    kept = tmp_path / "sweep/good/seed-1/model-best/weights.npz"
    stamp = kept.stat().st_mtime_ns
    broken_train.write_text("Paris B-LOC\nLondon O\n", encoding="utf-8")  # fixed: the rerun trains only these
    second = CliRunner().invoke(app, [str(a) for a in command])
    assert second.exit_code == 0, second.output
    assert "(2 runs kept from before)" in second.stdout
    assert kept.stat().st_mtime_ns == stamp
    rows = json.loads((tmp_path / "sweep/sweep.json").read_text())
    assert [(r["name"], r["seed"]) for r in rows["runs"]] == [("good", 0), ("good", 1), ("broken", 0), ("broken", 1)]
    assert rows["failures"] == []
    broken_train.write_text("Paris B-LOC\nLondon\n", encoding="utf-8")
    def broken_runs_now():  # models, metrics and rows; train.log is the latest training's log
        return {k: v for k, v in snapshot(tmp_path / "sweep/broken").items() if not k.endswith("train.log")}

    broken_runs = broken_runs_now()
    third = CliRunner().invoke(app, [str(a) for a in [*command, "--overwrite"]])  # every run trained anew
    assert third.exit_code == 1, third.output
    assert kept.stat().st_mtime_ns != stamp
    # the broken trainings stop at their data, before they touch their runs: the runs, and their rows, stay
    assert broken_runs_now() == broken_runs
    assert json.loads((tmp_path / "sweep/sweep.json").read_text())["runs"][2:] == rows["runs"][2:]


def test_readme_dask_example_runs(tmp_path, monkeypatch):
    """The README's second Python block ('From Python'), as doctest runs it, in a directory holding the
    repository's configs and data."""
    import doctest
    import re

    pytest.importorskip("distributed")
    text = (REPO / "README.md").read_text(encoding="utf-8")
    example = re.findall(r"```python\n(.*?)```", text[text.index("## From Python"):], re.S)[1]
    assert "winner.sweep(" in example and "winner.predict_files(" in example
    for name in ("configs", "data"):
        (tmp_path / name).symlink_to(REPO / name)
    monkeypatch.chdir(tmp_path)
    test = doctest.DocTestParser().get_doctest(example, {}, "README.md", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failures = []
    runner.run(test, out=failures.append)
    assert runner.summarize(verbose=False).failed == 0, "".join(failures)


def test_errors_before_any_training(tmp_path):
    good = config(tmp_path, "good")
    assert sweeping.parse_seeds("0,2,5-7") == [0, 2, 5, 6, 7]
    for text in ("", "a", "1,1", "3-"):
        assert error_message(sweeping.parse_seeds, text) == f"--seeds '{text}': " + \
            ("each seed once" if text == "1,1" else "expected seeds such as 0,1,2 or 0-4")
    assert error_message(sweeping.trainings, [str(good)], ["train.seed=3"]) == \
        "override 'train.seed=3': a sweep sets train.seed and output.run_dir itself (--seeds, --out)"
    other = tmp_path / "other"
    other.mkdir()
    assert error_message(sweeping.trainings, [str(good), str(config(other, "good"))]) == \
        "sweep: two configs named 'good' (their runs would share good/); rename one"
    pytest.importorskip("distributed")
    assert error_message(sweeping.sweep, [str(good)], [0], tmp_path / "out", ["train.nope=1"]).startswith(
        "override 'train.nope=1': unknown key 'train.nope'")
    result = CliRunner().invoke(app, ["sweep", str(good), "--out", str(tmp_path / "out"), "--set", "train.lr=abc"])
    assert (result.exit_code, result.stderr) == (1, "error: override 'train.lr=abc': expected a number, got 'abc'\n")
    assert not (tmp_path / "out").exists()


def test_a_finished_run_is_kept_only_with_its_own_settings(dask_client, tmp_path):
    """A sweep again with other settings (--set, or the config file edited) names the first setting that
    differs and both values for each finished run, trains nothing and keeps the runs, and their rows in
    the table (sweep.tsv, sweep.json); --overwrite trains them again."""

    path = config(tmp_path, "base")
    out = tmp_path / "sweep"
    command = ["sweep", path, "--seeds", "0,1", "--out", out, "--scheduler", dask_client.scheduler.address,
               "--set", "model.hidden=10"]
    first = CliRunner().invoke(app, [str(a) for a in [*command, "--set", "train.epochs=2"]])
    assert first.exit_code == 0, first.output
    runs = snapshot(out / "base")
    tsv, rows = (out / "sweep.tsv").read_text(), json.loads((out / "sweep.json").read_text())["runs"]
    assert len(rows) == 2
    changed = CliRunner().invoke(app, [str(a) for a in [*command, "--set", "train.epochs=3"]])
    assert changed.exit_code == 1 and "kept from before" not in changed.stdout, changed.output
    # the table still lists the finished runs, which are still there, and sweep.json says why they failed now
    assert (out / "sweep.tsv").read_text() == tsv
    table = json.loads((out / "sweep.json").read_text())
    assert table["runs"] == rows and [(f["name"], f["seed"]) for f in table["failures"]] == [("base", 0), ("base", 1)]
    assert f"table: {out / 'sweep.tsv'} (it keeps the rows of 2 runs that failed now: " in changed.stdout
    for seed in (0, 1):
        saved = out / "base" / f"seed-{seed}" / "model-best" / "config.yaml"
        assert (f"failed: base seed {seed}: {path}: train.epochs is 3, but {saved} has 2; a sweep keeps a finished "
                f"run only with the settings it was trained with (--overwrite trains it again)\n") in changed.stdout
    assert changed.stderr.startswith("error: 2 of 2 trainings failed")
    assert snapshot(out / "base") == runs
    config(tmp_path, "base", train={"lr": 0.5})  # the config file edited
    edited = sweeping.sweep([str(path)], [0], out, ["model.hidden=10", "train.epochs=2"], client=dask_client,
                            progress=False)
    assert edited.rows == [] and len(edited.failures) == 1 and "train.lr is 0.5, but " in edited.failures[0][2]
    assert edited.table == rows[:1] and json.loads((out / "sweep.json").read_text())["runs"] == rows[:1]
    again = sweeping.sweep([str(path)], [0], out, ["model.hidden=10", "train.epochs=2"], client=dask_client,
                           progress=False, overwrite=True)
    assert again.failures == [] and len(again.rows) == 1 and again.skipped == 0 and again.table == again.rows
    kept = sweeping.sweep([str(path)], [0], out, ["model.hidden=10", "train.epochs=2"], client=dask_client,
                          progress=False)
    assert kept.rows == again.rows and kept.skipped == 1
    # --overwrite with a training that saves no model: the run is put back, its row with it, and kept after
    diverged = sweeping.sweep([str(path)], [0], out, ["model.hidden=10", "train.epochs=2", "train.lr=1e12"],
                              client=dask_client, progress=False, overwrite=True)
    assert diverged.rows == [] and "training diverged" in diverged.failures[0][2]
    assert diverged.table == again.rows
    after = sweeping.sweep([str(path)], [0], out, ["model.hidden=10", "train.epochs=2"], client=dask_client,
                           progress=False)
    assert after.rows == again.rows and after.skipped == 1


def test_an_out_that_cannot_be_made_is_one_line_and_a_failed_sweep_leaves_no_directory(tmp_path):
    pytest.importorskip("distributed")
    path = config(tmp_path, "base")
    (tmp_path / "afile").write_text("", encoding="utf-8")
    result = CliRunner().invoke(app, [str(a) for a in ["sweep", path, "--out", tmp_path / "afile",
                                                       "--scheduler", "nonsense://x"]])
    assert (result.exit_code, result.stdout) == (1, ""), result.output
    assert result.stderr == f"error: {tmp_path / 'afile'}: cannot create the sweep's output directory (File exists)\n"
    assert error_message(sweeping.sweep, [str(path)], [0], tmp_path / "new" / "out", scheduler="nonsense://x") \
        .startswith("--scheduler nonsense://x: cannot connect to a Dask scheduler")
    assert not (tmp_path / "new").exists()
    long = tmp_path / "new" / ("a" * 300)  # made before anything under it is read, not a traceback reading it
    assert error_message(sweeping.sweep, [str(path)], [0], long, scheduler="nonsense://x") == \
        f"{long}: cannot create the sweep's output directory (File name too long)"
    assert not (tmp_path / "new").exists()
