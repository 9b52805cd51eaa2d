"""Distillation (winner/distill.py, train.teacher): cross-entropy against a teacher's class probabilities.

The gate and the whole loss against central differences in float64 (with a
negative control), the soft loss with one-hot targets equal to the hard one,
the teacher's probabilities on the training windows, and the refusals.
"""

from __future__ import annotations

import numpy as np
import pytest

from test_gradients import ACTIVATIONS, TOLERANCE, gate_check
from test_softmax import C, check_softmax_loss, softmax_problem
from winner import checkpoint, config as config_module, distill, gates, gazetteer, model, recipe
from winner.run import run_training
from tests.helpers import error_message

pytestmark = pytest.mark.usefixtures("in_repo_root")

CONFIG = "configs/default.yaml"
SOFTMAX = ["train.objective=softmax", "data.types=all", "train.epochs=2", "model.hidden=12"]


def probabilities(rng, n: int) -> np.ndarray:
    p = rng.random((n, C)) + 0.05
    return p / p.sum(axis=1, keepdims=True)


def test_soft_ce_gate():
    rng = np.random.default_rng(0)
    f, q = rng.standard_normal((6, C)) * 3, probabilities(rng, 6)

    def forward(logits):
        J, cache = gates.soft_ce_forward(logits, q)
        return np.array(J), cache

    (error,) = gate_check(forward, lambda dJ, cache: gates.soft_ce_backward(float(dJ), cache), [f])
    assert error < TOLERANCE


def test_soft_ce_with_one_hot_targets_is_the_cross_entropy_of_the_classes():
    rng = np.random.default_rng(1)
    f, y = rng.standard_normal((7, C)) * 2, np.arange(7) % C
    J_hard, hard = gates.softmax_ce_forward(f, y)
    J_soft, soft = gates.soft_ce_forward(f, np.eye(C)[y])
    assert J_soft == pytest.approx(J_hard, abs=1e-14)
    np.testing.assert_allclose(gates.soft_ce_backward(1.0, soft), gates.softmax_ce_backward(1.0, hard), atol=1e-15)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_whole_distillation_loss_gradient_of_every_parameter(activation):
    params, windows, labels = softmax_problem(activation)
    q = probabilities(np.random.default_rng(2), len(labels))
    errors = check_softmax_loss(params, windows, q, activation)
    assert set(errors) == {"E_word", "E_caps", "W", "b", "U"}
    assert max(errors.values()) < TOLERANCE, errors


def test_negative_control_distillation_backward_with_the_gold_class_for_q(monkeypatch):
    """df = p - onehot(argmax q) (the hard labels' gradient) is not the soft loss's and must be caught."""
    def hard_gradient(dJ, cache):
        p, q = cache
        return (p - np.eye(q.shape[1])[q.argmax(axis=1)]) * dJ / len(q)

    monkeypatch.setattr(gates, "soft_ce_backward", hard_gradient)
    params, windows, labels = softmax_problem("tanh")
    errors = check_softmax_loss(params, windows, probabilities(np.random.default_rng(3), len(labels)), "tanh")
    assert errors["U"] > 1e-2 and errors["W"] > 1e-2


@pytest.fixture(scope="module")
def teacher(in_repo_root, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("teacher") / "run"
    return run_training(CONFIG, [*SOFTMAX, f"output.run_dir={run_dir}"], log=lambda _: None).best_dir


def test_the_student_trains_on_the_teachers_probabilities_of_the_training_windows(teacher, tmp_path):
    cfg = config_module.load(CONFIG, [*SOFTMAX, f"train.teacher={teacher}"])
    prepared = recipe.prepare(cfg, np.random.default_rng(0))
    loaded = checkpoint.load(teacher)
    q = prepared.train.soft  # (N, C)
    assert q.shape == (len(prepared.train.labels), C)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-5)
    # the same vocabulary here, so the student's training windows are the teacher's
    f = model.score(loaded.params, prepared.train.ids, loaded.config.model.activation).astype(np.float64)
    expected = np.exp(f - f.max(axis=1, keepdims=True))
    np.testing.assert_allclose(q, expected / expected.sum(axis=1, keepdims=True), atol=1e-5)
    assert any("teacher" in note for note in prepared.notes)
    lines = []
    result = run_training(CONFIG, [*SOFTMAX, f"train.teacher={teacher}", f"output.run_dir={tmp_path / 'student'}"],
                          log=lines.append)
    student = checkpoint.load(result.best_dir)
    assert student.objective_name == "softmax" and student.config.train.teacher == str(teacher)
    plain = run_training(CONFIG, [*SOFTMAX, f"output.run_dir={tmp_path / 'plain'}"], log=lambda _: None)
    assert not np.array_equal(checkpoint.load(plain.best_dir).params["U"], student.params["U"])  # q, not y


def test_a_teacher_is_refused_unless_both_models_are_softmax_models_of_the_same_classes(teacher, tmp_path):
    message = error_message(config_module.load, CONFIG, [f"train.teacher={teacher}"])
    assert message.startswith(f"override 'train.teacher={teacher}': needs train.objective: softmax")
    missing = tmp_path / "missing"
    message = error_message(config_module.check_paths, config_module.load(CONFIG, [*SOFTMAX, f"train.teacher={missing}"]))
    assert f"train.teacher: model directory not found: {missing}" in message
    max_margin = run_training(CONFIG, ["train.epochs=1", "model.hidden=8", f"output.run_dir={tmp_path / 'mm'}"],
                              log=lambda _: None).best_dir
    assert "must be a softmax model" in error_message(distill.load_teacher, max_margin, ("O", "LOC"))
    message = error_message(distill.load_teacher, teacher, ("O", "LOC"))
    assert "has classes O, LOC, MISC, ORG, PER" in message and "the same, in the same order" in message


def test_a_teacher_with_another_vocabulary_and_gazetteers_sees_training_text_as_it_saw_it(teacher, tmp_path):
    """A teacher with a training gazetteer (a student with none) and a vocabulary of words seen twice: its
    probabilities come through its own featurizer, with the held-out names-seen-in-training classes
    it was trained with, not the full training gazetteer's matches (which mark every training name)."""
    other = run_training(CONFIG, [*SOFTMAX, "features.train_gazetteer=true", "features.min_count=2",
                                  f"output.run_dir={tmp_path / 'teacher'}"], log=lambda _: None).best_dir
    cfg = config_module.load(CONFIG, [*SOFTMAX, f"train.teacher={other}"])
    prepared = recipe.prepare(cfg, np.random.default_rng(0))
    loaded = checkpoint.load(other)
    assert "seen" in loaded.featurizer.gazetteers and not prepared.featurizer.gazetteers
    assert len(loaded.featurizer.vocab) != len(prepared.featurizer.vocab)
    sentences = recipe.read_conll(cfg.data.train, cfg.data.scheme, cfg.data.label_map)
    held_out = gazetteer.held_out_classes(sentences, cfg.data.target)
    np.testing.assert_array_equal(prepared.train.soft, distill.soft_targets(loaded, sentences, held_out))
    full_matches = distill.soft_targets(loaded, sentences, None)
    assert np.abs(prepared.train.soft - full_matches).max() > 1e-3  # the held-out classes made a difference
