"""Live training of a GIN that counts 3–6-cycles, with each positional encoding in turn
(Huang et al., ICLR 2024, section 5): a long job of the explorer base, streamed, pausable.

The run is one :class:`~spectral_explorer.explorers._base.Job`: each epoch's record streams
into :attr:`CycleCountTrainer.history` and, in batches, into an ``hv.streams.Buffer`` that the
curves draw from; each finished encoding adds a row to :attr:`CycleCountTrainer.results`.

Examples
--------
>>> tr = CycleCountTrainer(train_encodings=["none"], epochs=1, train_graphs=32, hidden=8)
>>> tr.start(block=True)
>>> [r["encoding"] for r in tr.results], len(tr.history)
(['none'], 1)
"""

from __future__ import annotations

from functools import partial

import holoviews as hv
import pandas as pd
import panel as pn
import param

from .. import spe as spe_mod
from .. import substructures
from .. import viz
from ..progress import subrange
from ._base import Explorer
from ._widgets import train_buttons

__all__ = ["CycleCountTrainer", "TrainingExplorer"]

_COLUMNS = ["epoch", "loss", "test_mae", "ood_mae", "seconds", "encoding"]


class TrainingExplorer(Explorer):
    """Base of an explorer whose :meth:`start` runs one long job of kind ``"train"``: the
    ``paused`` state, :meth:`set_paused`, :meth:`stop` and :attr:`training`."""

    paused = param.Boolean(default=False, precedence=-1, doc="True while the training run is paused.")
    _train_version = param.Integer(default=0, precedence=-1, doc="Bumped when records or results arrive.")

    def __init__(self, **params):
        super().__init__(**params)
        self.param.watch(lambda e: None if e.new else setattr(self, "paused", False), "busy")

    @property
    def training(self) -> bool:
        """True while a run is under way."""
        return self.running("train")

    def set_paused(self, paused: bool = True):
        """Pause (or resume) the running training within a batch."""
        self.pause("train", paused)
        self.paused = bool(paused) and self.training

    def stop(self, wait: bool = False):
        """Cancel the training run (it stops within a batch)."""
        self.cancel("train", wait=wait)
        if wait:
            self.wait("train")


class CycleCountTrainer(TrainingExplorer):
    """Train a GIN on cycle counting with each chosen encoding, live (one job at a time)."""

    train_encodings = param.ListSelector(default=list(spe_mod.ENCODINGS), objects=list(spe_mod.ENCODINGS), doc="""
        Encodings trained, one after the other, on cycle counting (GIN + encoding).""")
    epochs = param.Integer(default=12, bounds=(1, 200), doc="Training epochs per encoding.")
    train_graphs = param.Integer(default=240, bounds=(32, 4000), doc="""
        Training graphs (10–30 nodes); the test and the out-of-distribution (35–50 nodes,
        rewired) sets have a quarter as many.""")
    hidden = param.Integer(default=32, bounds=(8, 256), doc="Width of the GIN and of the encoders.")
    train_seed = param.Integer(default=0, bounds=(0, 10_000), doc="Seed of the data sets and of the training.")

    url_params = ("train_encodings", "epochs", "train_graphs", "hidden", "train_seed")

    def __init__(self, **params):
        super().__init__(**params)
        self.status = "not started"
        self.history: list[dict] = []
        self.results: list[dict] = []
        self._buffer = None

    # ------------------------------------------------------------------ the job
    def _datasets(self):
        n_tr = int(self.train_graphs)
        n_te = max(8, n_tr // 4)
        return substructures.cycle_count_datasets(quick=True, seed=int(self.train_seed), n_train=n_tr,
                                                  n_test=n_te, n_ood=n_te)

    def _train(self, encodings, epochs, hidden, seed, job):
        job.progress(0.0, "building the data sets …")
        train_set, test_set, ood_set = self._datasets()
        for r, enc in enumerate(encodings):
            def record(rec, enc=enc):
                rec = dict(rec, encoding=enc)
                job.emit(("epoch", rec))
                job.progress(job.fraction, f"{enc}: epoch {rec['epoch']}/{epochs}, test MAE {rec['test_mae']:.3f}")
            hist = substructures.train(
                enc, train_set, test_set, ood_set, epochs=epochs, seed=seed, callback=record, device="cpu",
                model_kwargs=dict(hidden=hidden, layers=3, pe_dim=min(16, hidden)), cancel=job.should_stop,
                progress=subrange(lambda f, _t: job.progress(f), r / len(encodings), (r + 1) / len(encodings)))
            job.emit(("result", dict(encoding=enc, test_mae=hist[-1]["test_mae"], ood_mae=hist[-1]["ood_mae"],
                                     best_test_mae=min(h["test_mae"] for h in hist),
                                     seconds=hist[-1]["seconds"])))
        return len(encodings), epochs

    def _on_records(self, items):
        """Apply a batch of streamed items (on the event loop in a served page)."""
        records = [it for kind, it in items if kind == "epoch"]
        self.results.extend(it for kind, it in items if kind == "result")
        if records:
            self.history.extend(records)
            if self._buffer is not None:
                self._buffer.send(pd.DataFrame(records, columns=_COLUMNS))
        self._train_version += 1

    def _done(self, result):
        self.status = f"done: {result[0]} encodings × {result[1]} epochs"
        self._train_version += 1

    def start(self, block: bool | None = None):
        """Train ``train_encodings`` one after the other.  In a served page it runs in a worker
        thread; elsewhere in the caller, unless ``block=False`` (then :meth:`stop` or
        :meth:`wait` collects it)."""
        self.stop(wait=True)
        encodings = [e for e in spe_mod.ENCODINGS if e in self.train_encodings]
        if not encodings:
            self.set_error("train", "train_encodings must contain at least one encoding, got none")
            return
        self.history, self.results = [], []
        if self._buffer is not None:
            self._buffer.clear()
        self.paused = False
        self.run("train", partial(self._train, encodings, int(self.epochs), int(self.hidden), int(self.train_seed)),
                 self._done, text="starting …", on_records=self._on_records,
                 background=None if block is None else not block)

    # ------------------------------------------------------------------ views
    def buffer(self):
        """The ``hv.streams.Buffer`` the curves stream from (created on first use)."""
        if self._buffer is None:
            empty = pd.DataFrame({c: pd.Series(dtype="object" if c == "encoding" else "float") for c in _COLUMNS})
            self._buffer = hv.streams.Buffer(empty, length=100_000, index=False)
            if self.history:
                self._buffer.send(pd.DataFrame(self.history, columns=_COLUMNS))
        return self._buffer

    def view_training(self):
        """Training loss, test and OOD MAE (log scale), streamed through ``hv.streams.Buffer``."""
        buf = self.buffer()

        def curves(column, title):
            return hv.DynamicMap(lambda data: viz.training_curves(data, column, encodings=spe_mod.ENCODINGS,
                                                                  title=title, width=400), streams=[buf])
        return (curves("loss", "training loss") + curves("test_mae", "test MAE (in-distribution)")
                + curves("ood_mae", "OOD MAE (larger, rewired graphs)")).opts(shared_axes=False)

    def results_frame(self) -> pd.DataFrame:
        """The final comparison table (one row per finished encoding)."""
        cols = ["encoding", "test_mae", "ood_mae", "best_test_mae", "seconds"]
        df = pd.DataFrame(self.results, columns=cols)
        return df.round({"test_mae": 4, "ood_mae": 4, "best_test_mae": 4, "seconds": 1})

    def controls(self):
        p = self.param
        choose = pn.widgets.CheckButtonGroup.from_param(p.train_encodings, button_type="primary",
                                                        button_style="outline", name="encodings")
        start, pause = train_buttons(self, "train")
        sizes = pn.Row(*[self.int_input(k, width=170, sizing_mode=None)
                         for k in ("epochs", "train_graphs", "hidden", "train_seed")])
        return pn.Column(choose, sizes, pn.Row(start, pause), sizing_mode="stretch_width")

    def main(self):
        table = pn.pane.DataFrame(self.results_frame(), index=False, sizing_mode="stretch_width",
                                  css_classes=["train-results"])
        self.param.watch(lambda *_: setattr(table, "object", self.results_frame()), "_train_version")
        return pn.Column(self.view_training(), table, sizing_mode="stretch_width")

    def __panel__(self):
        """One column (it sits in a tab): controls, messages and progress (with a Stop button),
        curves and the results table."""
        if self._page is None:
            self._page = pn.Column(self.controls(), self.error_alert(), self.status_row(), self.main(),
                                     sizing_mode="stretch_width")
            self._hook_session()
        return self._page
