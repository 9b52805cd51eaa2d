"""`winner report --out` (winner/picture.py): the file named is the file written, in the format of its
extension, or one error line on stderr before the summary, with nothing written and nothing lost.

Every test draws a picture, so the module is skipped without matplotlib (the plot extra)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import snapshot
from winner import picture
from winner.cli import app

pytest.importorskip("matplotlib")
pytestmark = pytest.mark.usefixtures("in_repo_root")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def run_dir(in_repo_root, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("run") / "run"
    result = invoke("train", "configs/default.yaml", "train.epochs=1", "model.hidden=8", f"output.run_dir={run_dir}")
    assert result.exit_code == 0, result.output
    return run_dir


def refused(run_dir: Path, out, tmp_path: Path) -> str:
    """The one error line of `winner report RUN_DIR --out OUT`, checked to come alone (no summary on
    stdout) and to leave tmp_path as it was: the same files and directories, the same bytes."""
    def state():
        return sorted(tmp_path.rglob("*")), snapshot(tmp_path)

    before = state()
    result = invoke("report", run_dir, "--out", out)
    assert (result.exit_code, result.stdout) == (1, ""), result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert state() == before
    return result.stderr[len("error: "):-1]


def test_a_file_in_the_path_is_one_line_naming_it(run_dir, tmp_path):
    afile = tmp_path / "file.txt"
    afile.write_text("kept\n")
    assert refused(run_dir, afile / "x.png", tmp_path) == \
        f"--out {afile / 'x.png'}: cannot write to {afile}: {afile} is a file, not a directory"


def test_an_extension_matplotlib_cannot_write_names_the_formats_it_can(run_dir, tmp_path):
    message = refused(run_dir, tmp_path / "r.xyz", tmp_path)
    formats = picture.formats()  # matplotlib's own list, whatever its version writes
    assert "png" in formats and "pdf" in formats
    assert message == (f"--out {tmp_path / 'r.xyz'}: matplotlib cannot write .xyz files; end the name in one of "
                       + ", ".join("." + f for f in formats))


def test_a_directory_is_refused_naming_a_file_to_give_instead(run_dir, tmp_path):
    adir = tmp_path / "adir"
    adir.mkdir()
    assert refused(run_dir, adir, tmp_path) == \
        f"--out {adir}: is a directory; name the picture's file, e.g. --out {adir / 'report.png'}"
    new = tmp_path / "new"
    assert refused(run_dir, f"{new}/", tmp_path) == \
        f"--out {new}/: names a directory; name the picture's file, e.g. --out {new / 'report.png'}"
    (tmp_path / "pics.png").mkdir()
    assert refused(run_dir, tmp_path / "pics", tmp_path).startswith(f"--out {tmp_path / 'pics'}: with .png added, ")


def test_a_name_without_an_extension_gets_png_and_the_path_printed_is_the_file_written(run_dir, tmp_path):
    result = invoke("report", run_dir, "--out", tmp_path / "noext")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(f"plot: {tmp_path / 'noext.png'}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["noext.png"]
    assert (tmp_path / "noext.png").read_bytes()[:8] == PNG_SIGNATURE


def test_the_extension_gives_the_format_in_any_case(run_dir, tmp_path):
    out = tmp_path / "deeper" / "r.PDF"
    result = invoke("report", run_dir, "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(f"plot: {out}\n") and out.read_bytes()[:5] == b"%PDF-"


def test_a_write_that_fails_keeps_the_picture_that_was_there(run_dir, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    out = tmp_path / "report.png"
    out.write_bytes(b"the picture of before")

    def full_disk(self, path, **kwargs):
        Path(path).write_bytes(b"half a pic")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full_disk)
    result = invoke("report", run_dir, "--out", out)
    assert (result.exit_code, result.stdout) == (1, ""), result.output
    assert result.stderr == f"error: --out {out}: cannot write the picture (No space left on device)\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.png"] and out.read_bytes() == b"the picture of before"


def test_a_path_that_is_no_run_directory_is_named_before_the_default_picture(tmp_path):
    """Without --out the picture would go to RUN_DIR/report.png: a file given as RUN_DIR is named as the
    run directory it is not, not as an --out the user never wrote."""
    afile = tmp_path / "notes.txt"
    afile.write_text("kept\n")
    result = invoke("report", afile)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.output
    assert result.stderr.startswith(f"error: {afile / 'metrics.jsonl'}: ") and "--out" not in result.stderr
