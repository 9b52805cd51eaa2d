"""Tagging many files on Dask (winner/tag_files.py, `winner predict --output-dir`): on a LocalCluster of
2 worker processes each output is byte for byte what `winner predict --input FILE` prints; outputs that
exist are skipped; a worker killed mid-run loses no output, and its task run again completes the run.
Also the errors, and the one line that says how to install the extra."""

from __future__ import annotations

import errno
import os
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import error_message
from winner import tag_files, tag_record
from winner.errors import WinnerError
from winner.cli import app

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DEV = REPO / "data/sample/dev.txt"
WAIT = 120.0  # seconds: only so that a broken build fails instead of hanging; nothing is timed
FORMATS = ("inline", "conll", "json")


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("tag-files") / "run"
    result = invoke("train", REPO / "configs/default.yaml", f"data.train={REPO / 'data/sample/train.txt'}",
                    f"data.dev={SAMPLE_DEV}", f"output.run_dir={run_dir}", "train.epochs=3", "model.hidden=20",
                    "decode.document_consistency=0.3")
    assert result.exit_code == 0, result.output
    return run_dir / "model-best"


def sentences() -> list[str]:
    """The sample dev set's sentences as raw text lines."""
    lines, tokens = [], []
    for line in SAMPLE_DEV.read_text(encoding="utf-8").splitlines():
        columns = line.split()
        if columns and columns[0] != "-DOCSTART-":
            tokens.append(columns[0])
        elif tokens:
            lines.append(" ".join(tokens))
            tokens = []
    return lines


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Raw text files in nested directories, with the byte-level cases predict handles: a byte-order
    mark, CRLF line ends, a character beyond ASCII, no final line end, an empty file, blank lines."""
    root = tmp_path_factory.mktemp("corpus")
    text = sentences()
    files = {
        "news/a.txt": "\n".join(text[:60]) + "\n",
        "news/b.txt": "\ufeff" + "\r\n".join(text[60:120]) + "\r\n",
        "web/deep/c.txt": "\n\n".join(text[120:200]),
        "web/d.txt": "",
    }
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content.encode("utf-8"))
    (root / "web/e.txt").write_text("café in Paris\n" + "\n".join(text[200:260]) + "\n", encoding="utf-8")
    return root


def single(model: Path, source: Path, *options) -> bytes:
    """What `winner predict --input source` prints."""
    result = CliRunner().invoke(app, ["predict", "--model", str(model), "--input", str(source), *options])
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


@pytest.mark.parametrize("fmt", FORMATS)
def test_outputs_are_byte_identical_to_single_file_predict(dask_client, model, corpus, tmp_path, fmt):
    out = tmp_path / "out"
    done = tag_files.predict_files(model, [str(corpus / "**" / "*.txt")], out, client=dask_client, format=fmt,
                                   progress=False)
    sources = sorted(corpus.rglob("*.txt"))
    assert (done.tagged, done.skipped, done.failures) == (len(sources), 0, [])
    extension = tag_files.EXTENSIONS[fmt]
    written = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file() and p.name != tag_record.RECORD)
    assert written == sorted(p.relative_to(corpus).with_suffix(extension) for p in sources)
    for source in sources:
        assert (out / source.relative_to(corpus).with_suffix(extension)).read_bytes() == \
            single(model, source, "--format", fmt), source
    assert done.tokens == sum(len(line.split("\t")) > 1 for p in sources for line in
                              single(model, p, "--format", "conll").decode().splitlines())
    # each worker loaded the model once and kept it for its later tasks
    cached = dask_client.run(lambda: list(tag_files._MODELS))
    assert {key for keys in cached.values() for key in keys} == {(str(model), (model / "meta.json").stat().st_mtime_ns)}


def test_conll_input_is_byte_identical(dask_client, model, tmp_path):
    """CoNLL in, CoNLL out with document consistency: each file as `winner predict --input-format conll`."""
    lines = SAMPLE_DEV.read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "in").mkdir()
    for i, part in enumerate((lines[:900], lines[900:])):
        (tmp_path / "in" / f"part{i}.conll").write_text("".join(part), encoding="utf-8")
    done = tag_files.predict_files(model, [str(tmp_path / "in" / "*.conll")], tmp_path / "out", client=dask_client,
                                   input_format="conll", progress=False)
    assert (done.tagged, done.failures) == (2, [])
    for i in range(2):
        assert (tmp_path / "out" / f"part{i}.conll").read_bytes() == \
            single(model, tmp_path / "in" / f"part{i}.conll", "--input-format", "conll")


def test_cli_on_a_scheduler_then_again_skips_what_is_done(dask_client, model, corpus, tmp_path):
    out = tmp_path / "out"
    command = ["predict", "--model", model, "--input", corpus / "news" / "*.txt", "--input", corpus / "web/d.txt",
               "--input-root", corpus, "--output-dir", out, "--format", "conll",
               "--scheduler", dask_client.scheduler.address]
    first = invoke(*command)
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("tagged 3 files")
    outputs = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.rglob("*") if p.is_file()
               and p.name != tag_record.RECORD}
    assert sorted(p.relative_to(out).as_posix() for p in outputs) == ["news/a.conll", "news/b.conll", "web/d.conll"]
    (out / "news/b.conll").unlink()  # as if its task had not finished
    again = invoke(*command)
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("tagged 1 file (") and "skipped 2" in again.stdout
    for path, (mtime, content) in outputs.items():
        assert path.read_bytes() == content
        if path.name != "b.conll":
            assert path.stat().st_mtime_ns == mtime  # not written again


@pytest.mark.parametrize("input_format, extension, good, bad", [
    ("conll", ".conll", b"Paris NNP\n\n", b"Paris NNP\ncaf\xe9 NN\n"),
    ("text", ".txt", b"Paris is nice\n", b"Paris is nice\ncaf\xe9 in Paris\n"),
])
def test_a_file_that_fails_is_reported_and_the_others_are_written(dask_client, model, tmp_path, input_format,
                                                                 extension, good, bad):
    """A file that is not UTF-8 fails with the line single-file predict names; the others are written."""
    (tmp_path / "in").mkdir()
    (tmp_path / f"in/good{extension}").write_bytes(good)
    (tmp_path / f"in/bad{extension}").write_bytes(bad)
    result = invoke("predict", "--model", model, "--input", tmp_path / f"in/*{extension}", "--input-format",
                    input_format, "--format", "conll", "--output-dir", tmp_path / "out", "--scheduler",
                    dask_client.scheduler.address)
    assert result.exit_code == 1
    message = f"error: {tmp_path / f'in/bad{extension}'}:2: not valid UTF-8 (byte 0xe9)\n"
    assert message in result.stderr
    assert result.stderr.count(str(tmp_path / f"in/bad{extension}")) == 1  # named once
    assert "1 of 2 files failed; run the same command again" in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [tag_record.RECORD, "good.conll"]
    alone = invoke("predict", "--model", model, "--input", tmp_path / f"in/bad{extension}", "--input-format",
                   input_format, "--format", "conll")
    assert (alone.exit_code, alone.stderr) == (1, message)


def _reader_waits(fifo: Path) -> int | None:
    """A write end of the FIFO once a task has opened it for reading (None before)."""
    try:
        return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno != errno.ENXIO:  # ENXIO: no reader yet
            raise
        return None


def _tasks_known(dask_scheduler) -> list[str]:
    """The keys of the tasks the scheduler knows: those queued, running, or finished with a result
    it still holds on a worker for a client."""
    return sorted(str(key) for key in dask_scheduler.tasks)


def _wait_until_only(dask_client, prefix: str) -> None:
    """Until every task the scheduler knows has a key starting with prefix (within WAIT): the others
    have ended and the client has collected and released their results."""
    guard = threading.Event()
    for _ in range(int(WAIT / 0.05)):
        others = [key for key in dask_client.run_on_scheduler(_tasks_known) if not key.startswith(prefix)]
        if not others:
            return
        guard.wait(0.05)
    pytest.fail(f"tasks still known to the scheduler: {others}")


def test_a_killed_worker_loses_no_output_and_its_task_runs_again(dask_client, model, corpus, tmp_path):
    """One input is a FIFO: its task waits on it, with no time limit, until the test has killed the worker
    running it. Dask runs the task again on a worker (distributed.scheduler.allowed-failures, 3 by
    default); once that task waits on the FIFO in turn, the test writes the input into it. The run ends
    with every output complete and equal to single-file predict's, the outputs written before untouched,
    and no temporary file left: the killed task's is deleted when the task run again has written its
    output. Running again then tags nothing.

    The other inputs are tagged by a first run, and the worker is killed only once the gate's task is
    the only one the scheduler knows: a worker killed while it holds a finished result the run has not
    collected makes Dask compute that task again, which is not what this test is about (and with
    retries off, a run during which that happened was seen not to end: dask/dask#8882; README, "Past
    one machine")."""
    sources = tmp_path / "in"
    sources.mkdir()
    text = sentences()
    for i in range(6):
        (sources / f"f{i}.txt").write_text("\n".join(text[i * 40: (i + 1) * 40]) + "\n", encoding="utf-8")
    gate_text = "\n".join(text[300:340]) + "\n"
    (tmp_path / "gate-copy.txt").write_text(gate_text, encoding="utf-8")
    gate = sources / "gate.txt"
    expected = {f"f{i}.conll": single(model, sources / f"f{i}.txt", "--format", "conll") for i in range(6)}
    expected["gate.conll"] = single(model, tmp_path / "gate-copy.txt", "--format", "conll")
    out = tmp_path / "out"
    first = tag_files.predict_files(model, [str(sources / "f*.txt")], out, client=dask_client, format="conll",
                                    progress=False)
    assert (first.tagged, first.failures) == (6, [])
    stamps = {name: (out / name).stat().st_mtime_ns for name in expected if name != "gate.conll"}
    os.mkfifo(gate)

    finished: list = []
    run = threading.Thread(target=lambda: finished.append(tag_files.predict_files(
        model, [str(sources / "*.txt")], out, client=dask_client, format="conll", progress=False)))
    writer = None
    try:
        run.start()
        writer = _wait_for_reader(gate, run)
        _wait_until_only(dask_client, "tag gate.txt ")
        holding = [address for address, keys in dask_client.processing().items()
                   if any(str(key).startswith("tag gate.txt ") for key in keys)]
        assert len(holding) == 1
        pid = dask_client.run(os.getpid, workers=holding)[holding[0]]
        os.kill(pid, 9)
        # The write end stays open: the task run again opens the FIFO at once and waits for the text (were
        # it closed, that task could open the FIFO first and read its end at once). The text is written
        # once that task holds the FIFO: a FIFO without a reader takes nothing.
        _wait_until_gone(pid)  # until then, the killed task's end of the FIFO may still be open
        _wait_for_readers(gate, run)
        os.set_blocking(writer, True)
        os.write(writer, gate_text.encode("utf-8"))  # a few kB: within a pipe's buffer
        os.close(writer)
        writer = None
        run.join(WAIT)
        assert not run.is_alive()
    finally:
        if writer is not None:
            os.close(writer)
        run.join(WAIT)
    done = finished[0]
    assert (done.tagged, done.skipped, done.failures) == (1, 6, [])
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != tag_record.RECORD} == expected
    assert all((out / name).stat().st_mtime_ns == stamp for name, stamp in stamps.items())

    gate.unlink()
    gate.write_text(gate_text, encoding="utf-8")  # a file again: its output is there, so it is skipped too
    again = tag_files.predict_files(model, [str(sources / "*.txt")], out, client=dask_client, format="conll",
                                    progress=False)
    assert (again.tagged, again.skipped, again.failures) == (0, 7, [])


def _wait_until_gone(pid: int) -> None:
    """Until process pid has ended, its files closed (gone, or a zombie its parent has not reaped yet;
    Linux's /proc), within WAIT: a signal's delivery does not wait for it."""
    guard = threading.Event()
    for _ in range(int(WAIT / 0.05)):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return
        if state in ("Z", "X"):
            return
        guard.wait(0.05)
    pytest.fail(f"process {pid} still running {WAIT} s after SIGKILL")


def _wait_for_readers(fifo: Path, run: threading.Thread) -> None:
    """Until a process other than this one holds the FIFO open (Linux's /proc), within WAIT."""
    inode, guard = os.stat(fifo).st_ino, threading.Event()
    for _ in range(int(WAIT / 0.05)):
        for fd in Path("/proc").glob("[0-9]*/fd/*"):
            try:
                if fd.parts[2] != str(os.getpid()) and fd.stat().st_ino == inode:
                    return
            except OSError:  # a process or descriptor gone since the glob
                continue
        assert run.is_alive(), "the run ended before a task opened the FIFO again"
        guard.wait(0.05)
    pytest.fail(f"no task opened {fifo} again within {WAIT} s")


def _wait_for_reader(fifo: Path, run: threading.Thread) -> int:
    """A write end of the FIFO, once a task has opened it for reading (within WAIT, while the run runs)."""
    guard = threading.Event()
    for _ in range(int(WAIT / 0.05)):
        writer = _reader_waits(fifo)
        if writer is not None:
            return writer
        assert run.is_alive(), "the run ended before a task opened the FIFO"
        guard.wait(0.05)
    pytest.fail(f"no task opened {fifo} within {WAIT} s")


def test_an_output_directory_that_cannot_be_made_is_one_error(model, tmp_path):
    pytest.importorskip("distributed")
    (tmp_path / "in.txt").write_text("Paris\n", encoding="utf-8")
    (tmp_path / "file").write_text("", encoding="utf-8")
    assert error_message(tag_files.predict_files, model, [str(tmp_path / "in.txt")], tmp_path / "file" / "out") == \
        f"{tmp_path / 'file' / 'out'}: cannot create the output directory (Not a directory)"


def test_planning_errors(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a/x.txt").write_text("x\n", encoding="utf-8")
    (tmp_path / "a/x.md").write_text("x\n", encoding="utf-8")
    assert error_message(tag_files.expand, [str(tmp_path / "nothing-*.txt")]) == \
        f"--input '{tmp_path / 'nothing-*.txt'}': no file matches"
    assert error_message(tag_files.expand, [str(tmp_path / "a")]).startswith(f"{tmp_path / 'a'}: is a directory")
    assert error_message(tag_files.expand, [str(tmp_path / "no.txt")]) == f"{tmp_path / 'no.txt'}: input file not found"
    inputs = tag_files.expand([str(tmp_path / "a/*")])
    assert error_message(tag_files.plan, inputs, tmp_path / "out", "conll") == \
        f"{tmp_path / 'a/x.md'} and {tmp_path / 'a/x.txt'}: both would be written to {tmp_path / 'out/x.conll'}"
    assert error_message(tag_files.plan, inputs[:1], tmp_path, "conll").endswith(f"is inside --output-dir {tmp_path}; "
                                                                                "tag it into another directory")
    assert error_message(tag_files.plan, inputs[:1], tmp_path / "out", "conll", tmp_path / "b") == \
        f"{inputs[0]}: not under --input-root {tmp_path / 'b'}"
    assert tag_files.plan(inputs[1:], tmp_path / "out", "json", tmp_path) == \
        [(tmp_path / "a/x.txt", tmp_path / "out/a/x.jsonl")]


def test_cli_usage_errors(tmp_path):
    for args, message in [
        (["--input", "a.txt", "--input", "b.txt"], "error: predict: 2 --input files need --output-dir DIR"),
        (["--workers", "2", "Paris"], "error: predict: --workers goes with --output-dir DIR"),
        (["--output-dir", tmp_path, "Paris"], "error: predict: --output-dir tags the --input files; TEXT 'Paris'"),
        (["--output-dir", tmp_path], "error: predict: --output-dir needs --input FILE or GLOB"),
        (["--output-dir", tmp_path, "--input", "x", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"],
         "error: predict: --workers starts local processes, --scheduler uses a cluster's; give one"),
    ]:
        result = invoke("predict", *args)
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr


def test_without_the_extra_one_line_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed: importing it fails
    result = invoke("predict", "--input", "x.txt", "--output-dir", tmp_path)
    assert result.exit_code == 1
    assert result.stderr == "error: winner predict --output-dir needs the Dask extra: pip install -e '.[dask]' in winner's source checkout\n"
    result = invoke("sweep", "configs/default.yaml")
    assert result.exit_code == 1
    assert result.stderr == "error: winner sweep needs the Dask extra: pip install -e '.[dask]' in winner's source checkout\n"
    assert error_message(tag_files.predict_files, "m", ["x"], tmp_path) == \
        "winner.predict_files needs the Dask extra: pip install -e '.[dask]' in winner's source checkout"
    assert list(tmp_path.iterdir()) == []


def test_tokens_are_counted_by_the_line_rule(model):
    """U+001C (a line break to str.splitlines, not to winner: winner.errors.lines) at the end of a CoNLL
    line is white space, and the count is that of the output's lines; inside a token it is refused, as
    corpus.read_conll refuses it, naming the line."""
    from winner import api, predict_output

    loaded = api.load(model)
    lines = ["Paris\tNNP", "and\tCC", "London\tNNP\x1c", ".\t.", ""]
    out = list(predict_output.outputs(loaded, [lines], "conll", "conll"))
    assert [count for _, count in out] == [4]
    assert out[0][0].count("\n") == 5
    lines[2] = "Lon\x1cdon\tNNP"
    with pytest.raises(WinnerError, match=r"^<stdin>:3: U\+001C inside the line"):
        list(predict_output.outputs(loaded, [lines], "conll", "conll"))


def test_outputs_of_another_model_or_format_are_refused_and_overwrite_replaces_them(dask_client, model, corpus,
                                                                                   tmp_path):
    """An output is skipped only when the output directory's record says the same model (path and files)
    and formats made it; otherwise one line names the directory and what differs, and nothing changes."""
    import shutil

    from helpers import snapshot

    first, second = tmp_path / "m1", tmp_path / "m2"
    shutil.copytree(model, first)
    shutil.copytree(model, second)
    out = tmp_path / "out"

    def tag(model_dir, *options):
        return invoke("predict", "--model", model_dir, "--input", corpus / "news" / "*.txt", "--output-dir", out,
                      "--scheduler", dask_client.scheduler.address, *options)

    done = tag(first, "--format", "conll")
    assert done.exit_code == 0 and done.stdout.startswith("tagged 2 files"), done.output
    before = snapshot(out)
    tail = "; --overwrite tags every input again (or give another --output-dir)\n"
    for model_dir, options, differs in [
        (second, ["--format", "conll"], f"made by the model {first}, not {second}"),
        (first, ["--format", "json"], "made with --format conll, not json"),
        (first, ["--format", "conll"], f"made by {first} before its files changed (trained or saved again)"),
    ]:
        if options == ["--format", "conll"] and model_dir == first:  # as if trained again: its files change
            (first / "meta.json").write_text((first / "meta.json").read_text(encoding="utf-8") + "\n",
                                             encoding="utf-8")
        refused = tag(model_dir, *options)
        assert (refused.exit_code, refused.stdout) == (1, ""), refused.output
        assert refused.stderr == f"error: {out}: its outputs were {differs}{tail}"
        assert snapshot(out) == before
    replaced = tag(second, "--format", "conll", "--overwrite")
    assert replaced.exit_code == 0 and replaced.stdout.startswith("tagged 2 files ("), replaced.output
    again = tag(second, "--format", "conll")
    assert again.exit_code == 0 and again.stdout.startswith("tagged 0 files (0 tokens)") and "skipped 2" in again.stdout
    (out / tag_record.RECORD).unlink()  # outputs that no record explains (e.g. from an older winner)
    unknown = tag(second, "--format", "conll")
    assert unknown.exit_code == 1 and unknown.stderr.startswith(f"error: {out}: holds outputs (e.g. ") and \
        unknown.stderr.endswith("--overwrite tags every input again\n"), unknown.stderr


def test_overwrite_is_refused_while_outputs_of_inputs_not_given_would_stay(dask_client, model, corpus, tmp_path):
    """--overwrite writes the new model's record over the whole directory: outputs of inputs not given
    now would then be skipped by later runs as that model's. It is refused, naming one, and nothing
    changes; given every input again, it replaces them all."""
    import shutil

    from helpers import snapshot

    first, second = tmp_path / "m1", tmp_path / "m2"
    shutil.copytree(model, first)
    shutil.copytree(model, second)
    out = tmp_path / "out"

    def tag(model_dir, pattern, *options):
        return invoke("predict", "--model", model_dir, "--input", corpus / "**" / pattern, "--input-root", corpus,
                      "--output-dir", out, "--format", "conll", "--scheduler", dask_client.scheduler.address,
                      *options)

    done = tag(first, "*.txt")
    assert done.exit_code == 0 and done.stdout.startswith("tagged 5 files"), done.output
    before = snapshot(out)
    refused = tag(second, "[ab].txt", "--overwrite")
    assert (refused.exit_code, refused.stdout) == (1, ""), refused.output
    assert refused.stderr == (f"error: {out}: holds outputs of inputs not given now (e.g. web/d.conll), which "
                              f"--overwrite would leave under the new model's record; give every input again, "
                              f"remove those outputs, or give another --output-dir\n")
    assert snapshot(out) == before
    replaced = tag(second, "*.txt", "--overwrite")
    assert replaced.exit_code == 0 and replaced.stdout.startswith("tagged 5 files ("), replaced.output
    again = tag(second, "*.txt")
    assert again.exit_code == 0 and "skipped 5" in again.stdout, again.output


def test_an_input_gone_since_the_glob_is_one_failed_file(dask_client, model, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in/a.conll").write_text("Paris NNP\n\n", encoding="utf-8")
    (tmp_path / "in/c.conll").write_text("London NNP\n\n", encoding="utf-8")
    (tmp_path / "in/b.conll").symlink_to(tmp_path / "nonexistent")  # globbed, but cannot be read
    result = invoke("predict", "--model", model, "--input", tmp_path / "in/*.conll", "--input-format", "conll",
                    "--output-dir", tmp_path / "out", "--scheduler", dask_client.scheduler.address)
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("tagged 2 files")
    assert f"error: {tmp_path / 'in/b.conll'}: CoNLL file not found\n" in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [tag_record.RECORD, "a.conll", "c.conll"]


def test_a_failed_run_leaves_no_directory_it_made(dask_client, model, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in/bad.conll").write_bytes(b"caf\xe9 NN\n")
    out = tmp_path / "new" / "out"
    message = error_message(tag_files.predict_files, model, [str(tmp_path / "in/bad.conll")], out,
                            scheduler="nonsense://x")  # fails at once, as an unreachable one does after 30 s
    assert message.startswith("--scheduler nonsense://x: cannot connect to a Dask scheduler")
    assert not (tmp_path / "new").exists()
    done = tag_files.predict_files(model, [str(tmp_path / "in/bad.conll")], out, client=dask_client, progress=False,
                                   input_format="conll")
    assert done.tagged == 0 and len(done.failures) == 1
    assert not (tmp_path / "new").exists()  # every file failed: nothing written, nothing left
    (tmp_path / "kept").mkdir()
    tag_files.predict_files(model, [str(tmp_path / "in/bad.conll")], tmp_path / "kept", client=dask_client,
                            progress=False, input_format="conll")
    assert (tmp_path / "kept").is_dir()  # a directory the user had stays


def test_a_written_output_clears_only_the_temporary_files_of_ended_processes(tmp_path):
    """After a task has written its output, a killed task's temporary file for it goes; that of a
    process still running (a copy of the task Dask runs at once) or of another host stays."""
    import socket
    import subprocess

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                           text=True, check=True).stdout.strip()
    output = tmp_path / "a.conll"
    output.write_text("done\n")
    host = socket.gethostname()
    names = {"dead": f".a.conll.tmp-{host}-{ended}", "running": f".a.conll.tmp-{host}-{os.getpid()}",
             "elsewhere": f".a.conll.tmp-other-host-{ended}"}
    for name in names.values():
        (tmp_path / name).write_text("part")
    tag_files._clear_dead_leftovers(output)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["a.conll", names["running"], names["elsewhere"]])
