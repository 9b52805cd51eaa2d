"""winner: a window-based named-entity tagger with hand-written backpropagation.

Every token is the centre of a window of 2h+1 words; the window is embedded,
scored by a one-hidden-layer network, h = f(W x + b), and the token is inside
an entity when its score exceeds a threshold chosen on dev. Two objectives
(train.objective): max-margin SGD on (true, corrupted) pairs with one score
s = u . h, or a softmax over O and the entity types, f = U h, trained with
cross-entropy over every window (the score is a type's log-odds).

From Python:

    import winner
    nlp = winner.load("runs/default/model-best")    # a model directory written by `winner train`
    doc = nlp("Not all museums in Paris are amazing.")        # raw text, tokenized as `winner predict` does
    doc = nlp(["Not", "all", "museums", "in", "Paris", "."])   # tokens, kept as they are
    for e in doc.entities:                                     # Entity(text, start, end, label, score, ...)
        print(e.text, e.start, e.end, e.label, e.score)
    docs = list(nlp.pipe(many_texts))                          # batched, one Doc per text
    scores = winner.evaluate("runs/default/model-best", "data/sample/dev.txt")  # Evaluation: .f1, .gold, ...
    run = winner.train_model("configs/default.yaml", {"train.epochs": 5})  # TrainResult: .best_dir, .best, .rows
    ens = winner.train_ensemble("configs/default.yaml", seeds=[0, 1, 2])  # Ensemble: .out, .dev, .table()

With the dask extra, many files and many trainings on a dask.distributed.Client (None: local processes):

    winner.predict_files("runs/default/model-best", ["corpus/**/*.txt"], "tagged/", client=client)
    winner.sweep(["configs/default.yaml"], seeds=[0, 1, 2], out="runs/sweep", client=client)

Every problem with the user's input raises WinnerError with a one-line message.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "WinnerError", "load", "evaluate", "train_model", "train_ensemble", "build_ensemble", "Model",
           "Doc", "Entity", "Evaluation", "TrainResult", "predict_files", "sweep"]

from winner.errors import WinnerError  # noqa: E402

# The API lives in winner.api, which imports numpy; it is imported on first use so that
# `import winner` (and with it every `winner` command's start-up) stays cheap.
_API = {"load", "evaluate", "train_model", "train_ensemble", "build_ensemble", "Model"}
_RESULTS = {"Doc", "Entity", "Evaluation"}


def __getattr__(name: str):
    if name in _API:
        from winner import api

        return getattr(api, name)
    if name in _RESULTS:
        from winner import results

        return getattr(results, name)
    if name == "predict_files":  # many files on Dask (the dask extra)
        from winner.tag_files import predict_files

        return predict_files
    if name == "sweep":
        from winner.sweeps import sweep

        return sweep
    if name == "TrainResult":
        from winner.run import TrainResult

        return TrainResult
    raise AttributeError(f"module 'winner' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(__all__))
