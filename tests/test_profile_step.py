"""tests/profile_step.py times training's own step: it runs on the sample corpus, its clocks see
every step and change nothing training computes, and every function it clocks still exists."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from winner import config, recipe, threads, train

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tests" / "profile_step.py"
CONFIG = str(REPO / "configs" / "default.yaml")
OVERRIDES = ("train.epochs=2", "model.hidden=20")


@pytest.fixture
def profile_step(monkeypatch):
    """The script as a module; its import runs threads.configure() (as the CLI does), whose variables and
    record of the user's count are put back afterwards."""
    for name in threads.VARIABLES:
        monkeypatch.setenv(name, os.environ.get(name, "1"))
    monkeypatch.setattr(threads, "_configured", list(threads._configured))
    spec = importlib.util.spec_from_file_location("profile_step", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plain_training(overrides) -> dict:
    cfg = config.load(CONFIG, overrides)
    rng = np.random.default_rng(cfg.train.seed)
    prepared = recipe.prepare(cfg, rng)
    list(train.train_epochs(prepared.params, prepared.train, prepared.dev, cfg.train, cfg.model.activation, rng,
                            prepared.frozen, objective=prepared.objective))
    return prepared.params


@pytest.mark.parametrize("objective", ["max_margin", "softmax"])
def test_the_clocked_training_is_training(profile_step, objective):
    """Same parameters, bit for bit, as training without the clocks; one optimizer step per batch;
    the clocks are taken off again."""
    overrides = (*OVERRIDES, f"train.objective={objective}")
    from winner import gates, model

    before = (gates.affine_forward, model.OUTPUT_GATES["u"], gates.ACTIVATIONS["tanh"], train.evaluate)
    params, results, clocks = profile_step.profile(CONFIG, overrides)
    assert (gates.affine_forward, model.OUTPUT_GATES["u"], gates.ACTIVATIONS["tanh"], train.evaluate) == before
    expected = plain_training(overrides)
    assert all(np.array_equal(params[key], expected[key]) for key in expected)
    cfg = config.load(CONFIG, overrides)
    prepared = recipe.prepare(cfg, np.random.default_rng(0))
    per_epoch = -(-prepared.objective.epoch_size(prepared.train) // cfg.train.batch_size)
    assert clocks.calls[profile_step.UPDATE] == per_epoch * len(results) == per_epoch * 2
    timed = {phase for phase, seconds in clocks.spent.items() if seconds > 0}
    assert {"forward: affine Wx+b", "forward: activation", "backward: affine", profile_step.UPDATE} <= timed
    assert clocks.stack == []  # every clocked call ended


def test_every_clocked_function_exists(profile_step):
    for functions in profile_step.PHASES.values():
        for owner, name in functions:
            assert callable(getattr(owner, name)), f"{owner.__name__}.{name}"


@pytest.mark.parametrize("cpu", [False, True], ids=["wall-time", "cpu-time"])
def test_the_script_runs_on_the_sample_corpus(cpu):
    option = ["--cpu"] if cpu else []
    proc = subprocess.run([sys.executable, str(SCRIPT), CONFIG, *OVERRIDES, *option], cwd=REPO, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "2 epochs" in lines[0] and ("CPU time" if cpu else "wall time") in lines[0]
    assert any("forward: affine Wx+b" in line for line in lines)
    assert lines[-1].split()[0] == "total"
    # wall time has the loop's own time outside every phase; CPU time counts the phases alone
    assert any(line.split()[0] == "other" for line in lines[1:]) != cpu
