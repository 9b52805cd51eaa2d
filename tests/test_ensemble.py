"""Ensembles (winner/ensemble.py, winner/members.py): n members merged into one network n times wider.

The merged network's scores must be the mean of the members' (to float32
rounding) through the plain graph and the fast path, for both objectives;
its thresholds those picked on dev for that mean; and it must be an ordinary
model directory for eval, predict, explain, gradcheck and the Python API.
`winner train CONFIG --seeds` trains the members and keeps what exists.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import winner
from winner import checkpoint, decode, ensemble, members, model, recipe
from winner.cli import app
from winner.ensemble_scoring import EnsembleScorer
from winner.fastscore import FastScorer
from winner.selfcheck import run_gradcheck
from tests.helpers import error_message, snapshot

pytestmark = pytest.mark.usefixtures("in_repo_root")

CONFIG = "configs/default.yaml"
SMALL = ["train.epochs=2", "model.hidden=12", "features.suffix_dim=4", "features.train_gazetteer=true",
         "features.other_gazetteer=true"]
OBJECTIVES = {"max_margin": [], "softmax": ["train.objective=softmax", "data.types=all"]}
SENTENCE = "Not all museums in Paris are amazing."
TOLERANCE = 1e-5  # float32 sums in another order


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def quiet(_line: str) -> None:
    pass


@pytest.fixture(scope="module", params=list(OBJECTIVES))
def run(request, in_repo_root, tmp_path_factory):
    """A run directory trained with --seeds 0,1,2: (run_dir, objective name)."""
    run_dir = tmp_path_factory.mktemp("ensemble") / "run"
    members.train_members(CONFIG, [*SMALL, *OBJECTIVES[request.param], f"output.run_dir={run_dir}"], [0, 1, 2],
                          log=quiet)
    return run_dir, request.param


def loaded_members(run_dir: Path) -> list[checkpoint.LoadedModel]:
    return [checkpoint.load(members.member_dir(run_dir, seed) / "model-best") for seed in (0, 1, 2)]


def dev_windows(loaded: checkpoint.LoadedModel):
    cfg = loaded.config
    sentences = recipe.read_conll(cfg.data.dev, cfg.data.scheme, cfg.data.label_map)
    return recipe.make_dev(loaded.featurizer, sentences, loaded.target, cfg.decode.document_consistency,
                           loaded.objective.label_types)


def assert_close(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.shape == expected.shape
    np.testing.assert_array_less(np.abs(got - expected), TOLERANCE * np.maximum(1.0, np.abs(expected)))


# --------------------------------------------------------------------------- the merged network


@pytest.mark.parametrize("classes", [None, 4])
def test_merged_parameters_score_the_mean_of_the_members_exactly_in_float64(classes):
    """Random members in float64 (every table, W, b, u or U): the merged network's output is the
    mean of theirs to 1e-12, window ids drawn over every row."""
    rng = np.random.default_rng(7)
    sizes, width = {"word": 30, "caps": 6, "suffix": 9, "places": 4}, 5
    dims = {"word": 6, "caps": 3, "suffix": 2, "places": 2}

    def member():
        tables = {name: rng.normal(size=(sizes[name], dims[name])) for name in sizes}
        params = model.init_params(tables, width, 7, rng, classes)
        params.update(W=rng.normal(size=params["W"].shape), b=rng.normal(size=7))
        out = model.output_key(params)
        params[out] = rng.normal(size=params[out].shape)
        return params

    parts = [member() for _ in range(3)]
    windows = {name: rng.integers(0, size, (50, width)) for name, size in sizes.items()}
    merged = ensemble.merge_params(parts)
    expected = np.mean([model.score(p, windows, "tanh") for p in parts], axis=0)
    np.testing.assert_allclose(model.score(merged, windows, "tanh"), expected, rtol=0, atol=1e-12)
    assert merged["W"].shape == (21, width * 3 * sum(dims.values()))


def test_merged_model_scores_the_mean_through_the_plain_graph_and_the_fast_path(run):
    run_dir, _ = run
    parts = loaded_members(run_dir)
    merged = checkpoint.load(run_dir / "model-best")
    windows = dev_windows(merged).windows.ids
    activation = merged.config.model.activation
    expected = np.mean([model.score(p.params, windows, activation) for p in parts], axis=0)  # (N,) or (N, C)
    assert_close(model.score(merged.params, windows, activation), expected)
    assert_close(merged.scorer.score(windows), expected)  # the fast path tagging uses
    assert merged.params["W"].shape[0] == 3 * parts[0].params["W"].shape[0]


def test_thresholds_are_picked_on_dev_for_the_averaged_scores(run):
    """Each type's threshold: the dev F1-maximising one of the mean of the members' scores (after
    document consistency), found here from the members' own scores."""
    run_dir, _ = run
    parts = loaded_members(run_dir)
    merged = checkpoint.load(run_dir / "model-best")
    dev = dev_windows(merged)
    activation = merged.config.model.activation
    mean = np.mean([model.score(p.params, dev.windows.ids, activation) for p in parts], axis=0)
    scores = decode.smooth(merged.objective.types_from_outputs(mean), dev.groups, dev.consistency)
    labels_at = decode.decide(scores, decode.pick_thresholds(scores, dev.scorers))
    ours = decode.decide(scores, merged.thresholds)
    assert [s.f1 for s in decode.score_types(ours, dev.scorers)] == \
           [s.f1 for s in decode.score_types(labels_at, dev.scorers)]
    assert merged.meta["ensemble"]["seeds"] == [0, 1, 2]
    assert merged.thresholds.tolist() != parts[0].thresholds.tolist()  # re-picked, not copied from a member


def test_eval_predict_explain_and_the_api_read_the_ensemble(run):
    run_dir, _ = run
    best = run_dir / "model-best"
    result = invoke("eval", best, "data/sample/dev.txt", "--format", "json", "--breakdown")
    assert result.exit_code == 0, result.stderr
    scores = json.loads(result.stdout)
    meta = checkpoint.load(best).meta
    assert scores["types"][meta["target"]]["f1"] == pytest.approx(meta["dev"]["f1"])  # eval agrees with the pick
    assert scores["breakdown"]["seen_in_training"] is not None  # the training names came along
    predicted = invoke("predict", "-m", best, "--format", "json", SENTENCE)
    assert predicted.exit_code == 0, predicted.stderr
    assert json.loads(predicted.stdout)["text"] == SENTENCE
    explained = invoke("explain", "--model", best, "--all", "--format", "json", SENTENCE)
    assert explained.exit_code == 0, explained.stderr
    for part in json.loads(explained.stdout)["explanations"]:
        assert sum(c["contribution"] for c in part["window"]) + part["bias"] == pytest.approx(part["score"], abs=1e-3)
    nlp = winner.load(best)
    doc = nlp(SENTENCE)
    assert len(doc.tokens) == 8 and nlp.labels == tuple(meta["types"])


def test_gradients_of_the_merged_network_pass_the_numerical_check(run):
    run_dir, _ = run
    check = run_gradcheck(model_dir=run_dir / "model-best", log=quiet)
    assert check.passed, check.errors
    assert set(check.errors) >= {"W", "b", "E_word", "E_suffix", "E_seen"}


def test_gradcheck_passes_on_a_fully_trained_ensemble(tmp_path):
    """configs/default.yaml trained to its end (hidden 10 keeps the check cheap): the mean of three
    members separates every pair of a batch drawn as training draws it by more than the margin, so
    the check must find the hard pairs where the hinge's gradients are not 0."""
    run_dir = tmp_path / "run"
    members.train_members(CONFIG, ["model.hidden=10", f"output.run_dir={run_dir}"], [0, 1, 2], log=quiet)
    check = run_gradcheck(model_dir=run_dir / "model-best", log=quiet)
    assert check.passed, check.errors
    assert set(check.errors) == {"E_word", "E_caps", "W", "b", "u"}
    inside = int(check.batch.split("; ")[-1].split(" of ")[0])
    assert inside >= 1  # at least one hinge pair active: the gradients checked are not all 0


# --------------------------------------------------------------------------- one command: winner train --seeds


def test_train_seeds_lays_out_members_and_the_ensemble(run):
    run_dir, objective = run
    for seed in (0, 1, 2):
        member = checkpoint.load(members.member_dir(run_dir, seed) / "model-best")
        assert member.config.train.seed == seed and member.objective_name == objective
        assert (members.member_dir(run_dir, seed) / "metrics.jsonl").is_file()
    assert sorted(p.name for p in run_dir.iterdir()) == ["members", "model-best"]


def run_copy(run, tmp_path):
    """A copy of the trained ensemble's run directory to act on, and the train overrides that point at it."""
    run_dir, objective = run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return copy, [*SMALL, *OBJECTIVES[objective], f"output.run_dir={copy}"]


def test_a_run_directory_holding_an_ensemble_is_refused_then_resumed_keeping_every_file(run, tmp_path):
    copy, overrides = run_copy(run, tmp_path)
    before = snapshot(copy)
    refused = invoke("train", CONFIG, *overrides, "--seeds", "0,1,2")
    assert refused.exit_code == 1 and "--resume" in refused.stderr.splitlines()[-1]
    assert snapshot(copy) == before
    resumed = invoke("train", CONFIG, *overrides, "--seeds", "0,1,2", "--resume")
    assert resumed.exit_code == 0, resumed.stderr
    assert resumed.stderr.count("has finished; kept as it is") == 3
    assert "mean of the members" in resumed.stderr and resumed.stdout.startswith("ensemble of 3 (seeds 0, 1, 2)")
    after = snapshot(copy)
    meta_before, meta_after = (json.loads(files.pop("model-best/meta.json")) for files in (before, after))
    assert after == before  # the same members give the same ensemble, bit for bit
    for meta in (meta_before, meta_after):
        del meta["ensemble"]["members"]  # their absolute paths: the copy's now
    assert meta_after == meta_before


@pytest.mark.parametrize("change, saved", [("model.hidden=20", "model.hidden is 20, but {last} has 12"),
                                           ("train.lr=0.5", "train.lr is 0.5, but {last} has 0.05")])
def test_resume_refuses_members_trained_with_other_settings_as_a_single_run_does(run, tmp_path, change, saved):
    """Finished members are kept only if they were trained with the settings given now; otherwise the
    single run's error, naming the first member's model-last, before anything is trained or rebuilt."""
    copy, overrides = run_copy(run, tmp_path)
    before = snapshot(copy)
    result = invoke("train", CONFIG, *overrides, change, "--seeds", "0,1,2", "--resume")
    assert result.exit_code == 1 and result.stdout == ""
    last = members.member_dir(copy, 0) / "model-last" / "config.yaml"
    assert result.stderr.splitlines()[-1] == (f"error: {CONFIG}: {saved.format(last=last)}; a resumed run keeps its "
                                              f"settings (only train.epochs and train.patience may change)")
    assert "kept as it is" not in result.stderr and snapshot(copy) == before


def test_resume_refuses_members_trained_on_other_data_as_a_single_run_does(in_repo_root, tmp_path):
    """Finished members are kept only if the training file, changed in place, still gives the vocabulary
    they were trained with; otherwise the single run's error, naming the first member's file that
    differs, before anything is trained or rebuilt."""
    data = tmp_path / "train.txt"
    data.write_text(Path("data/sample/train.txt").read_text(encoding="utf-8"), encoding="utf-8")
    overrides = [*SMALL, f"data.train={data}", f"output.run_dir={tmp_path / 'run'}"]
    members.train_members(CONFIG, overrides, [0, 1], log=quiet)
    with data.open("a", encoding="utf-8") as more:
        more.write("\nZanzibarine B-LOC\n")
    before = snapshot(tmp_path / "run")
    result = invoke("train", CONFIG, *overrides, "--seeds", "0,1", "--resume")
    assert result.exit_code == 1 and result.stdout == ""
    vocab = members.member_dir(tmp_path / "run", 0) / "model-last" / "vocab.txt"
    assert result.stderr.splitlines()[-1] == (f"error: {vocab}: differs from what {data} gives now: the training "
                                              f"data changed since the run started, so its members cannot be "
                                              f"resumed or kept")
    assert "kept as it is" not in result.stderr and snapshot(tmp_path / "run") == before


def test_a_single_run_into_an_ensembles_run_directory_points_to_seeds(run, tmp_path):
    """Without --seeds the command cannot continue an ensemble's run: the hint says what can."""
    copy, overrides = run_copy(run, tmp_path)
    before = snapshot(copy)
    refused = invoke("train", CONFIG, *overrides)
    assert refused.exit_code == 1 and refused.stderr.count("\n") == 1
    assert refused.stderr.startswith(f"error: {copy}: holds an ensemble's training run (members, model-best); add "
                                     f"--seeds 0,1,2 --resume to continue it, --overwrite to replace it")
    resumed = invoke("train", CONFIG, *overrides, "--resume")
    assert resumed.exit_code == 1 and resumed.stderr.count("\n") == 1
    assert resumed.stderr.startswith(f"error: {copy}: holds an ensemble's training run") and \
        resumed.stderr.rstrip().endswith("add --seeds 0,1,2 to the command")
    assert snapshot(copy) == before


def test_resume_trains_a_missing_member_and_continues_an_unfinished_one(tmp_path):
    run_dir = tmp_path / "run"
    overrides = [*SMALL, f"output.run_dir={run_dir}"]
    members.train_members(CONFIG, overrides, [0, 1], log=quiet)
    first = snapshot(members.member_dir(run_dir, 0))
    lines = []
    built = members.train_members(CONFIG, [*overrides[1:], "train.epochs=3"], [0, 1, 2], resume=True, log=lines.append)
    assert any("seed 0: resuming" in line for line in lines) and any("seed 2: training" in line for line in lines)
    assert snapshot(members.member_dir(run_dir, 0)) != first  # epoch 3 trained on top of the finished two
    assert built.seeds == [0, 1, 2] and checkpoint.load(run_dir / "model-best").meta["ensemble"]["size"] == 3


def test_seeds_are_read_as_winner_sweep_reads_them():
    assert members.parse_seeds("0,1,2") == members.parse_seeds("0-2") == [0, 1, 2]
    assert members.parse_seeds("4, 7") == [4, 7]


@pytest.mark.parametrize("seeds, wanted", [("0,0,1", "each seed once"), ("0", "at least 2 seeds"),
                                           ("0,one", "expected seeds such as 0,1,2 or 0-4"),
                                           ("2-0", "the range 2-0 goes down; write it 0-2")])
def test_bad_seeds_are_one_line_and_exit_1(tmp_path, seeds, wanted):
    result = invoke("train", CONFIG, f"output.run_dir={tmp_path / 'run'}", "--seeds", seeds)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: --seeds") and wanted in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("seeds", [[], ["--seeds", "0,1"]])
def test_a_run_dir_under_a_file_is_one_line_naming_the_file_before_training(tmp_path, seeds):
    """A single run and --seeds alike: refused before any training, not a traceback at the first save."""
    afile = tmp_path / "afile"
    afile.write_text("kept\n")
    result = invoke("train", CONFIG, f"output.run_dir={afile / 'run'}", *seeds)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == (f"error: override 'output.run_dir={afile / 'run'}': cannot write to {afile / 'run'}: "
                             f"{afile} is a file, not a directory\n")
    assert afile.read_text() == "kept\n"


# directories that cannot be made, whoever runs the tests (root included): (path, the reason's start)
UNCREATABLE = {
    "in-proc": (lambda tmp: Path("/proc/winner-run"), ""),  # the reason depends on the user
    "name-too-long": (lambda tmp: tmp / ("a" * 300), "File name too long"),
    "name-too-long-in-a-new-directory": (lambda tmp: tmp / "new" / ("a" * 300), "File name too long"),
}


@pytest.mark.parametrize("seeds", [[], ["--seeds", "0,1"]], ids=["single", "seeds"])
@pytest.mark.parametrize("where", list(UNCREATABLE))
def test_a_run_dir_that_cannot_be_made_is_one_line_before_the_data_loads(tmp_path, where, seeds):
    """Not the data's log line and then a traceback at the first mkdir; nothing left behind in tmp_path."""
    path, reason = UNCREATABLE[where][0](tmp_path), UNCREATABLE[where][1]
    result = invoke("train", CONFIG, f"output.run_dir={path}", *seeds)
    assert result.exit_code == 1 and result.stdout == "", result.output
    assert result.stderr.startswith(f"error: {path}: cannot create the run directory ({reason}"), result.stderr
    assert result.stderr.endswith(")\n") and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_a_seed_override_beside_seeds_is_refused(tmp_path):
    message = error_message(members.train_members, CONFIG, ["train.seed=4", f"output.run_dir={tmp_path}"], [0, 1])
    assert "train.seed" in message and "--seeds" in message


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                            "ignore:invalid value encountered:RuntimeWarning")
def test_a_diverging_member_stops_the_command_and_keeps_the_ensemble_there(run, tmp_path):
    run_dir, objective = run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    best = snapshot(copy / "model-best")
    later = {seed: snapshot(members.member_dir(copy, seed)) for seed in (1, 2)}
    result = invoke("train", CONFIG, *SMALL, *OBJECTIVES[objective], f"output.run_dir={copy}", "train.lr=1.0e+30",
                    "--seeds", "0,1,2", "--overwrite")
    assert result.exit_code == 1 and result.stdout == ""
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error: ") and "diverged" in last and "train.lr" in last
    assert snapshot(copy / "model-best") == best  # the ensemble there is not replaced by a half-trained one
    assert "seed 0: training" in result.stderr and "seed 1" not in result.stderr  # stopped at the first member
    for seed, files in later.items():  # the members not reached are not replaced by --overwrite
        assert snapshot(members.member_dir(copy, seed)) == files


# --------------------------------------------------------------------------- winner ensemble: merging models


def test_ensemble_command_merges_models_as_train_seeds_does(run, tmp_path):
    run_dir, _ = run
    dirs = [members.member_dir(run_dir, seed) / "model-best" for seed in (0, 1, 2)]
    result = invoke("ensemble", *dirs, "--out", tmp_path / "ens")
    assert result.exit_code == 0, result.stderr
    assert "ensemble of 3" in result.stderr and result.stdout.startswith("ensemble of 3 (seeds 0, 1, 2)")
    ours, theirs = checkpoint.load(tmp_path / "ens"), checkpoint.load(run_dir / "model-best")
    assert all(np.array_equal(ours.params[k], theirs.params[k]) for k in theirs.params)
    assert ours.thresholds.tolist() == theirs.thresholds.tolist()
    again = invoke("ensemble", *dirs, "--out", tmp_path / "ens")  # refused: it exists
    assert again.exit_code == 1 and "--overwrite" in again.stderr
    built = winner.build_ensemble(dirs[:2], tmp_path / "ens", overwrite=True, log=quiet)
    assert built.seeds == [0, 1] and checkpoint.load(tmp_path / "ens").meta["ensemble"]["size"] == 2
    other = winner.build_ensemble(dirs[:2], tmp_path / "ens", dev="data/sample/train.txt", overwrite=True, log=quiet)
    meta = checkpoint.load(tmp_path / "ens").meta
    assert meta["dev_file"].endswith("train.txt") and meta["dev"]["gold"] == other.dev.scores.gold != built.dev.scores.gold
    missing = invoke("ensemble", *dirs, "--out", tmp_path / "ens2", "--dev", tmp_path / "nope.txt")
    assert missing.exit_code == 1 and "nope.txt: dev file not found" in missing.stderr
    assert not (tmp_path / "ens2").exists()


def test_models_that_are_not_seeds_of_one_config_are_refused(run, tmp_path):
    run_dir, _ = run
    dirs = [members.member_dir(run_dir, seed) / "model-best" for seed in (0, 1)]
    out = tmp_path / "out"
    assert "the same model twice" in error_message(ensemble.build, [dirs[0], dirs[0]], out)
    assert "at least 2 models" in error_message(ensemble.build, dirs[:1], out)
    assert "is the member" in error_message(ensemble.build, dirs, dirs[1], overwrite=True)
    assert "is an ensemble already" in error_message(ensemble.build, [run_dir / "model-best", dirs[0]], out)
    other = tmp_path / "other"
    shutil.copytree(dirs[1], other)
    text = (other / "config.yaml").read_text().replace("lr: 0.05", "lr: 0.1")
    (other / "config.yaml").write_text(text)
    message = error_message(ensemble.build, [dirs[0], other], out)
    assert "train.lr is 0.1" in message and "train.seed only" in message
    shutil.copytree(dirs[1], other, dirs_exist_ok=True)
    words = (other / "vocab.txt").read_text().splitlines()
    words[3], words[4] = words[4], words[3]  # same size, another id map
    (other / "vocab.txt").write_text("\n".join(words) + "\n")
    message = error_message(ensemble.build, [dirs[0], other], out)
    assert "vocab.txt: differs" in message
    assert not out.exists()


def test_models_of_other_settings_with_one_seed_are_told_apart_by_the_setting_not_the_seed(tmp_path):
    """A max-margin model and a softmax one, both train.seed 0 (the README's runs/default and
    runs/default-types): the error names the first setting that differs, not 'the same model twice'."""
    tiny = ["train.epochs=1", "model.hidden=8"]
    for name, extra in OBJECTIVES.items():
        trained = invoke("train", CONFIG, *tiny, *extra, f"output.run_dir={tmp_path / name}")
        assert trained.exit_code == 0, trained.stderr
    dirs = [tmp_path / name / "model-best" for name in OBJECTIVES]
    result = invoke("ensemble", *dirs, "--out", tmp_path / "ens")
    assert result.exit_code == 1 and result.stdout == "" and result.stderr.count("\n") == 1, result.output
    assert result.stderr.startswith(f"error: {dirs[1] / 'config.yaml'}: data.types is 'all', but "
                                    f"{dirs[0] / 'config.yaml'} has None; members differ in train.seed only")
    assert not (tmp_path / "ens").exists()


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_an_out_that_overwrite_would_not_replace_is_refused_at_once_without_suggesting_overwrite(run, tmp_path, kind):
    """--out an existing file, or a directory holding the user's files: the first error already says
    why (the one --overwrite would then give), and both leave the file or directory as it was."""
    run_dir, _ = run
    dirs = [members.member_dir(run_dir, seed) / "model-best" for seed in (0, 1)]
    out = tmp_path / "mine"
    if kind == "file":
        out.write_text("kept\n")
        wanted = f"error: --out: cannot write to {out}: {out} is a file, not a directory\n"
    else:
        out.mkdir()
        (out / "notes.txt").write_text("kept\n")
        wanted = (f"error: --out {out}: is a directory but not a model directory (it holds notes.txt); --overwrite "
                  f"replaces a model directory only; choose another --out\n")
    before = snapshot(tmp_path)
    for flags in ([], ["--overwrite"]):
        result = invoke("ensemble", *dirs, "--out", out, *flags)
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", wanted), flags
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("where, relation", [(".", "holds the member"), ("members/seed-2", "holds the member"),
                                             ("members/seed-1/model-best", "is the member"),
                                             ("members/seed-1/model-best/../model-best", "is the member"),
                                             ("members/seed-1/model-best/inner", "is inside the member")])
def test_an_out_that_is_holds_or_lies_inside_a_member_is_refused_even_with_overwrite(run, tmp_path, where, relation):
    """--out one level above the members (the run directory) or a member's run would be replaced by the
    ensemble with --overwrite, deleting the very models it is built from. (--out runs/x/members/seed-2
    is refused by the member check before the model-directory check.)"""
    run_dir, _ = run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    before = snapshot(copy)
    dirs = [members.member_dir(copy, seed) / "model-best" for seed in (1, 2)]
    result = invoke("ensemble", *dirs, "--out", copy / where, "--overwrite")
    assert result.exit_code == 1 and result.stdout == "" and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: --out {copy / where}: {relation} ") and "members/seed-" in result.stderr
    assert snapshot(copy) == before


def test_overwrite_replaces_a_model_directory_only_never_a_run_directory(run, tmp_path):
    """--out a member's run directory (not one of the models merged) with --overwrite: refused, the run kept."""
    run_dir, _ = run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    before = snapshot(copy)
    dirs = [members.member_dir(copy, seed) / "model-best" for seed in (1, 2)]
    result = invoke("ensemble", *dirs, "--out", members.member_dir(copy, 0), "--overwrite")
    assert result.exit_code == 1 and result.stdout == "" and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: --out {members.member_dir(copy, 0)}: is a directory but not a model "
                                    f"directory (it holds metrics.jsonl, model-best, model-last)")
    assert snapshot(copy) == before
    replaced = invoke("ensemble", *dirs, "--out", tmp_path / "ens")
    assert replaced.exit_code == 0, replaced.stderr
    again = invoke("ensemble", *dirs, "--out", tmp_path / "ens", "--overwrite")  # a model directory: replaced
    assert again.exit_code == 0, again.stderr


def test_an_out_under_a_file_is_one_line_naming_the_file(run, tmp_path):
    run_dir, _ = run
    afile = tmp_path / "afile"
    afile.write_text("kept\n")
    dirs = [members.member_dir(run_dir, seed) / "model-best" for seed in (0, 1)]
    result = invoke("ensemble", *dirs, "--out", afile / "ens")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == f"error: --out: cannot write to {afile / 'ens'}: {afile} is a file, not a directory\n"
    assert afile.read_text() == "kept\n"


@pytest.mark.parametrize("where", [*UNCREATABLE, "name-too-long-for-the-staging-copy"])
def test_an_out_that_cannot_be_made_is_one_line_before_the_members_load(run, tmp_path, where):
    """A name of 250 characters can be made, but not save()'s '.NAME.tmp-PID' beside it: refused before the
    work too. Nothing is left behind."""
    run_dir, _ = run
    dirs = [members.member_dir(run_dir, seed) / "model-best" for seed in (0, 1)]
    path, reason = UNCREATABLE[where] if where in UNCREATABLE else (lambda tmp: tmp / ("b" * 250), "File name too long")
    out = path(tmp_path)
    result = invoke("ensemble", *dirs, "--out", out)
    assert result.exit_code == 1 and result.stdout == "", result.output
    assert result.stderr.startswith(f"error: {out}: cannot create the ensemble's model directory ({reason}"), \
        result.stderr
    assert result.stderr.endswith(")\n") and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- the fast path of a merged network


def test_the_ensemble_fast_path_works_out_the_rows_the_whole_w_gives(run):
    """EnsembleScorer multiplies each member's block alone; FastScorer the whole block-diagonal W."""
    run_dir, _ = run
    merged = checkpoint.load(run_dir / "model-best")
    windows = dev_windows(merged).windows.ids
    ours = EnsembleScorer(merged.params, "tanh", 5, 3)
    whole = FastScorer(merged.params, "tanh", 5)
    assert ours.members  # W is block-diagonal: the members' blocks are used
    keys = np.unique(whole.keys(windows))
    rows = [np.full((len(keys), 5, whole.hidden_size), np.nan, np.float32) for _ in range(2)]
    ours.work_out(keys, rows[0])
    whole.work_out(keys, rows[1])
    assert_close(*rows)
    member = loaded_members(run_dir)[0]
    alone = FastScorer(member.params, "tanh", 5)
    assert ours.limit == alone.limit  # as many keys as a member's scorer keeps
    assert ours.chunk * ours.hidden_size <= alone.chunk * alone.hidden_size  # z no larger than a member's


def test_a_w_with_entries_off_the_members_blocks_is_scored_through_the_whole_w(run):
    run_dir, _ = run
    merged = checkpoint.load(run_dir / "model-best")
    params = {**merged.params, "W": merged.params["W"].copy()}
    params["W"][0, -1] = 0.5  # hidden unit 0 (member 0) reads a column of the last member
    windows = dev_windows(merged).windows.ids
    ours = EnsembleScorer(params, merged.config.model.activation, 5, 3)
    assert not ours.members
    assert_close(ours.score(windows), model.score(params, windows, merged.config.model.activation))


@pytest.mark.parametrize("value", [1, 5, "3", None])
def test_an_ensemble_size_that_does_not_fit_the_model_is_refused_on_load(run, tmp_path, value):
    run_dir, _ = run
    copy = tmp_path / "model"
    shutil.copytree(run_dir / "model-best", copy)
    meta = json.loads((copy / "meta.json").read_text())
    meta["ensemble"]["size"] = value
    (copy / "meta.json").write_text(json.dumps(meta))
    message = error_message(checkpoint.load, copy)
    assert "meta.json: 'ensemble' must hold 'size'" in message


def test_report_on_an_ensembles_run_names_a_member_to_report(run):
    run_dir, _ = run
    result = invoke("report", run_dir)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and f"winner report {run_dir / 'members' / 'seed-0'}" in result.stderr
    assert invoke("report", members.member_dir(run_dir, 0), "--out", run_dir.parent / "r.png").exit_code == 0
