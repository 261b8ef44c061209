"""Householder-projector explorer: mirrors and frames in the plane, a rank-r map as rotate / scale /
rotate, a generator trained live with a Householder projector on the ellipse world, and the face
DCGAN's first layer replaced by a rank-r projector.

Staged computation (keyed on parameter values)::

    mirrors     (m1, m2, n_mirrors)                   -> the frame after each reflection
    rsr         (u_angle, v_angle, s1, s2)            -> circle → Vᵀ → S Vᵀ → U S Vᵀ
    train       a job (pretrain → from_weight → fine-tune), streamed; its result lives in the session
                (the directions scored both ways: the frame's columns and the reference code's SVD)
    rotated     train result + (rotation, directions) -> the equal-S frames rotated: same map, other directions
    gan         ()                                    -> the face DCGAN (shared, read-only)
    face        (face_rank, face_steps, face_sv)      -> fine-tuned projector, fidelity (a job, shared)
    face_strip  face + (face_seed,)                   -> traversals before / after
    sweep       (face_steps, face_sv)                 -> fidelity against rank (a job, shared)

Your own generator: :meth:`HouseholderExplorer.from_generator` puts it (probed by
:class:`~spectral_explorer.generators.UserGenerator`) in the ``gan`` stage; the Faces tab replaces
its first layer (the first Linear/ConvTranspose2d reading z) by the projector and fine-tunes it,
data-free, to match the first block (its GANSpace layer).  :meth:`table` and :meth:`as_code` follow
the open tab (``view``).

Examples
--------
>>> ex = HouseholderExplorer()
>>> ex.m1 = 30.0
>>> sorted(k for k in ex.timings if k != "total")
['mirrors']
"""

from __future__ import annotations

import math

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
import torch

from .. import householder as hh
from .. import householder_study as hs
from ..device import resolve_device
from ..viz import householder as vh
from ..viz import latent as vz
from ._base import escape_markdown, placeholder
from ._tour import tour_param
from ._widgets import train_buttons
from . import _generator_own as own
from .training import TrainingExplorer
from ..viz._toolbar import SAVE_ONLY

__all__ = ["HouseholderExplorer", "FACE_RANKS", "intro"]

FACE_RANKS = (5, 10, 20, 50, 100)
_MIRROR = ("n_mirrors", "m1", "m2")
_RSR = ("u_angle", "v_angle", "s1", "s2")
_TRAIN = ("rank", "singular_values", "pretrain_steps", "finetune_steps", "train_seed")
#: how the live tab reads a projector's directions: the frame's columns (in the order the SVD
#: initialisation gave them) or as the paper's reference code does, ``torch.svd(weight).V``
_READERS = {"frame": hs.latent_directions_of, "svd": hs.svd_directions}
_FACE = ("face_rank", "face_steps", "face_sv", "face_seed")
_TRAVERSE = np.linspace(-2.0, 2.0, 7)


#: where the Train live tab departs from the paper (its introduction lists the study's departures)
TRAIN_DEPARTURES = (
    "Where this tab departs from the paper: a small VAE, not a StyleGAN, fine-tuned whole on its own objective; "
    "60 fine-tuning steps after 400 by default (15 %; the paper fine-tunes 1 % of the training steps: set 4); "
    "equal S is the mean of the weight's top r singular values (the reference code uses ones); **read "
    "directions** *frame* takes the frame's columns in the order the SVD initialisation gave them, *svd* reads "
    "them as the reference code does, torch.svd(weight).V.")


def _pm(row: dict, key: str = "purity") -> str:
    return f"{row[key]:.3f} ± {row[key + '_std']:.3f}"


def _vs(row: dict) -> str:
    """A recorded row against its control, seed by seed, in words (householder_study.within_noise)."""
    if row["purity_diff_within_noise"]:
        return "the same within the seeds' noise"
    d = row["purity_diff"]
    return f"{'higher' if d > 0 else 'lower'} by {abs(d):.3f} ± {row['purity_diff_std']:.3f}, on every seed"


def intro() -> str:
    """The dashboard's introduction: the paper's idea first (why orthonormal frames and equal singular
    values), then the catch and what the full study measured — its numbers from the recorded run of
    ``spectral-explorer reproduce householder`` (:data:`~spectral_explorer.reproduce.householder.RECORDED_FULL`)
    — and where the study departs from the paper."""
    from ..reproduce.householder import RECORDED_FULL as R

    by = {r["variant"]: r for r in R["summary"]}
    eq, lin = by["householder equal S"], by["linear (fine-tuned)"]
    rot, svd = by["householder equal S, rotated"], by["householder equal S, SVD-read (reference code)"]
    paper, lin1 = by[hs.PAPER["variant"]], by["linear, 1 % fine-tune"]
    n = len(R["seeds"])
    return f"""
**The paper's idea** (Song et al., *Householder Projector for Unsupervised Latent Semantics Discovery*, ICCV 2023).
SeFa reads a generator's latent directions off its first projection A (latent → features): A's right singular
vectors, strongest first. The paper argues that A spoils them twice: it is not orthogonal, so its top directions
mix attributes, and it has too many directions, most with meaningless effects. So it writes the projection as
P = U<sub>r</sub> S V<sub>r</sub>ᵀ with **orthonormal frames** U<sub>r</sub>, V<sub>r</sub> — products of Householder
reflections H = I − 2vvᵀ/‖v‖², orthogonal whatever the v's, so the frames stay exactly orthonormal while the
generator is fine-tuned — and **equal singular values** (S = I<sub>r</sub> in the reference code). Then P is
orthogonal on its row space: each of the r directions (columns of V<sub>r</sub>) moves the features by the same
amount, along its own orthogonal feature direction, which the paper expects to make one direction change one
attribute; the low rank keeps only r directions. It fine-tunes for 1 % of the training steps and reads the
directions off P. Tour steps 1–4 build this; steps 5–6 show the catch: with equal S, P = s(U<sub>r</sub>R)(V<sub>r</sub>R)ᵀ
for every rotation R, so the map does not determine its directions; step 7 trains the paper's configuration.

**Measured** on a world with known factors (`{R["command"]}`, {n} seeds; purity of the top 4 directions, mean ±
std; each row compared with its control seed by seed): the equal-S projector {_pm(eq)} against {_pm(lin)} for a
linear layer fine-tuned as long (10 % of the steps): {_vs(eq)}. The paper's configuration (1 % fine-tuning,
directions read by torch.svd as its code does) {_pm(paper)} against {_pm(lin1)}: {_vs(paper)}. The same equal-S
map with rotated frames {_pm(rot)} (against the unrotated: {_vs(rot)}), read by torch.svd {_pm(svd)} (against
the frame's order: {_vs(svd)}): other bases of one subspace, other scores.

**Where the study departs from the paper:** a small VAE on images of ellipses instead of a StyleGAN on faces (the
whole VAE fine-tuned on its own objective; the paper trains the whole GAN adversarially); rank 4 of an 8-d latent
(the reference code's default: 10 directions of 512); 10 % fine-tuning in the main rows (the paper's 1 % is a row of its own); equal S = the mean of the weight's top singular values (the
reference code: ones); directions in the frame's order unless SVD-read; on the face DCGAN only the projector is
trained, data-free, with everything after it — BatchNorm statistics included — frozen.
"""


def _reflection(deg: float) -> np.ndarray:
    v = np.array([math.cos(math.radians(deg)), math.sin(math.radians(deg))])
    return np.eye(2) - 2 * np.outer(v, v)


def _rotation(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s], [s, c]])


class HouseholderExplorer(TrainingExplorer):
    """Householder reflections, low-rank orthogonal projectors, and training with them."""

    url_params = _MIRROR + _RSR + _TRAIN + ("directions", "rotation") + _FACE + ("tour",)
    tour_name = "householder"
    tour = tour_param(tour_name)
    _ERROR_ORDER = ("url", "mirrors", "train", "rotated", "face", "sweep")

    n_mirrors = param.Integer(default=2, bounds=(1, 2), doc="Reflections multiplied: H₁ (a mirror) or H₁H₂.")
    m1 = param.Number(default=20.0, bounds=(-180.0, 180.0), step=1.0, label="mirror 1 normal (°)", doc="""
        Angle of the first mirror's normal v₁ (H₁ = I − 2v₁v₁ᵀ/‖v₁‖²).""")
    m2 = param.Number(default=75.0, bounds=(-180.0, 180.0), step=1.0, label="mirror 2 normal (°)", doc="""
        Angle of the second mirror's normal v₂; two reflections make a rotation by twice the angle between
        the mirrors.""")
    u_angle = param.Number(default=30.0, bounds=(-180.0, 180.0), step=1.0, label="U rotation (°)",
                           doc="Rotation U of the output (the left singular vectors).")
    v_angle = param.Number(default=-40.0, bounds=(-180.0, 180.0), step=1.0, label="V rotation (°)",
                           doc="Rotation V of the input (the right singular vectors, the 'directions').")
    s1 = param.Number(default=1.5, bounds=(0.0, 3.0), step=0.05, doc="First singular value.")
    s2 = param.Number(default=0.5, bounds=(0.0, 3.0), step=0.05, doc="Second singular value (0: rank 1).")

    rank = param.Integer(default=4, bounds=(1, 8), doc="Rank r of the projector replacing the first layer.")
    singular_values = param.ObjectSelector(default="equal", objects=["equal", "fixed", "learned"], doc="""
        The projector's S: all equal (the paper), the pretrained weight's (fixed), or learned.""")
    pretrain_steps = param.Integer(default=400, bounds=(20, 5000), doc="""
        Steps of pretraining the ellipse VAE (batch 64, plain linear first layer).""")
    finetune_steps = param.Integer(default=60, bounds=(0, 2000), doc="Fine-tuning steps after the replacement.")
    train_seed = param.Integer(default=0, bounds=(0, 10_000), doc="Seed of the model and of the data stream.")
    directions = param.ObjectSelector(default="frame", objects=["frame", "svd"], label="read directions", doc="""
        How the projector's directions are read: the frame's columns V_r (in the order the SVD initialisation
        gave them), or as the paper's reference code reads them, torch.svd(weight).V — for exactly equal S,
        whichever basis of the row space LAPACK returns.""")
    rotation = param.Number(default=0.0, bounds=(-180.0, 180.0), step=1.0, label="rotate frames (°)", doc="""
        Rotate U_r and V_r by the same rotation (in the plane of directions 1 and 2): with equal S the map is
        unchanged, the directions are not.""")
    face_rank = param.Selector(default=10, objects=list(FACE_RANKS), doc="Rank of the face DCGAN's projector.")
    face_steps = param.Integer(default=60, bounds=(0, 2000), doc="""
        Data-free fine-tuning steps (batch 128 of z ~ N(0, I), matching the first block's features).""")
    face_sv = param.ObjectSelector(default="equal", objects=["equal", "learned"], doc="The face projector's S.")
    face_seed = param.Integer(default=0, bounds=(0, 100_000), doc="Seed of the face whose traversals are shown.")

    view = param.ObjectSelector(default="mirrors", objects=["mirrors", "train", "faces"], precedence=-1, doc="""
        The main view (the open tab): what :meth:`table` and :meth:`as_code` give.""")

    _mirror_version = param.Integer(default=0, precedence=-1)
    _rot_version = param.Integer(default=0, precedence=-1)
    _face_version = param.Integer(default=0, precedence=-1)

    def __init__(self, **params):
        user = params.pop("_generator", None)
        super().__init__(**params)
        self._user = user
        self._face_ranks = FACE_RANKS
        if user is not None:
            self._hold_user_data()             # every stage stays in this session
            self._face_ranks = own.face_ranks(user)
            self.param.face_rank.objects = list(self._face_ranks)
            if self.face_rank not in self._face_ranks:
                self.face_rank = max([r for r in self._face_ranks if r <= 10] or [self._face_ranks[0]])
        self.history: list[dict] = []
        self.trained: dict | None = None
        self.sweep_rows: list[dict] | None = None
        self.faces_on = False
        self.param.watch(self._on_mirrors, list(_MIRROR + _RSR))
        self.param.watch(self._on_rotation, ["rotation"])
        self.param.watch(self._on_directions, ["directions"])
        self.param.watch(self._on_face, list(_FACE))
        self._on_mirrors(background=False)

    @classmethod
    def from_generator(cls, G, latent_dim: int, first_layer=None, *, value_range=None,
                       **params) -> "HouseholderExplorer":
        """The explorer with your generator ``G`` (an ``nn.Module`` or a callable: latents
        (B, latent_dim) → images (B, C, H, W)) in the Faces tab: its first layer (found, or named by
        ``first_layer``) replaced by a rank-r Householder projector, fine-tuned data-free to match
        its first block.  Ranks offered: 5, 10, 20, 50, 100 up to min(latent_dim, features) (or
        smaller ones for a small latent).  Raises ``ValueError`` for a bad generator (see
        :class:`~spectral_explorer.generators.UserGenerator`) or one in which no layer reads z."""
        from ..generators import UserGenerator
        gen = UserGenerator(G, latent_dim, first_layer, value_range=value_range)
        gen._need_first()
        return cls(_generator=gen, **params)

    def table(self):
        return own.householder_table(self)

    def as_code(self) -> str:
        return own.householder_code(self)

    def export_name(self) -> str:
        return f"householder_{self.view}"

    def code_params(self):
        return super().code_params() + ("view",)

    # ------------------------------------------------------------------ the one idea
    def _mirrors(self):
        def build():
            Hs = [_reflection(self.m1), _reflection(self.m2)][:int(self.n_mirrors)]
            frames, Q = [np.eye(2)], np.eye(2)
            for H in Hs:
                Q = Q @ H
                frames.append(Q.copy())
            normals = [[math.cos(math.radians(a)), math.sin(math.radians(a))]
                       for a in (self.m1, self.m2)[:int(self.n_mirrors)]]
            return {"frames": frames, "normals": normals, "det": float(np.linalg.det(Q)),
                    "orth": hh.orthogonality_error(torch.from_numpy(Q)),     # ‖QᵀQ − I‖₂, as everywhere
                    "angle": math.degrees(math.atan2(Q[1, 0], Q[0, 0]))}
        return self._stage("mirrors", (int(self.n_mirrors), float(self.m1), float(self.m2)), build)

    def _rsr(self):
        def build():
            t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
            X = np.stack([np.cos(t), np.sin(t)], 1)
            U, V = _rotation(self.u_angle), _rotation(self.v_angle)
            S = np.diag([self.s1, self.s2])
            P = U @ S @ V.T
            return {"X": X, "steps": {"Vᵀx (rotate)": X @ V, "S Vᵀx (scale axes)": X @ V @ S,
                                      "U S Vᵀx (rotate)": X @ V @ S @ U.T},
                    "P": P, "rank": int(np.linalg.matrix_rank(P))}
        return self._stage("rsr", tuple(float(getattr(self, k)) for k in _RSR), build)

    def _on_mirrors(self, *events, background=None):
        self.run("mirrors", lambda job: self._run_stages(self._mirrors, self._rsr, job=job),
                 lambda _c: self._bump("_mirror_version"), background=background)

    def _bump(self, name):
        setattr(self, name, getattr(self, name) + 1)

    @param.depends("_mirror_version")
    def mirror_markdown(self):
        """The mirrors tab's numbers in words: reflection or rotation, orthogonality, the map P."""
        with self._lock:
            try:
                m, r = self._mirrors(), self._rsr()
            except Exception:
                return ""
        kind = "a rotation" if m["det"] > 0 else "a reflection"
        return (f"H₁{'H₂' if self.n_mirrors == 2 else ''} is **{kind}** (det {m['det']:+.0f}, angle of q₁ "
                f"{m['angle']:.1f}°, ‖QᵀQ − I‖₂ = {m['orth']:.1e}) · P = U S Vᵀ has **rank {r['rank']}**, "
                f"P = [[{r['P'][0, 0]:.2f}, {r['P'][0, 1]:.2f}], [{r['P'][1, 0]:.2f}, {r['P'][1, 1]:.2f}]]")

    @param.depends("_mirror_version")
    def view_mirrors(self):
        """The frame built reflection by reflection."""
        def fn():
            m = self._mirrors()
            return vh.mirror_plot(m["normals"], m["frames"], "frame built reflection by reflection")
        return self._guard(fn, "mirrors", width=330, height=330)

    @param.depends("_mirror_version")
    def view_rsr(self):
        """Rotate, scale, rotate: the map ``U S Vᵀ`` applied step by step."""
        def fn():
            r = self._rsr()
            return vh.rotate_scale_rotate(r["X"], r["steps"], size=200)
        return self._guard(fn, "rotate, scale, rotate", width=820, height=200)

    # ------------------------------------------------------------------ live training
    def _train(self, rank, sv, pre, fine, seed, job):
        torch.manual_seed(seed)
        model = hs.EllipseVAE(8)
        every = max(1, (pre + fine) // 200)

        def stream(phase, offset, extra=None):
            def on_step(i, loss, rec, kl):
                if i % every == 0:
                    r = {"phase": phase, "step": offset + i + 1, "loss": loss}
                    if extra is not None:
                        r.update(extra())
                    job.emit(r)
            return on_step
        hs.train_vae(model, pre, seed, on_step=stream("pretrain", 0), cancel=job.should_stop,
                     progress=lambda f, t: job.progress(0.8 * f * pre / (pre + fine), "pretraining: " + t))
        new = hs.with_projector(model, rank, sv)
        proj = new.first

        def extra():
            with torch.no_grad():
                return {"orth": max(hh.orthogonality_error(proj.frame_u().double()),
                                    hh.orthogonality_error(proj.frame_v().double())),
                        "s": [round(float(x), 4) for x in proj.singular_values.abs()]}
        hs.train_vae(new, fine, seed + 1000, lr=3e-4, on_step=stream("finetune", pre, extra), cancel=job.should_stop,
                     progress=lambda f, t: job.progress(0.8 * (pre + f * fine) / (pre + fine), "fine-tuning: " + t))
        job.progress(0.85, "scoring the directions …")
        bases = torch.randn((16, 8), generator=torch.Generator().manual_seed(20_000 + seed))
        out = {"model": model, "new": new, "bases": bases, "rank": rank, "sv": sv}
        for name, m, reader in (("before", model, hs.latent_directions_of), ("after", new, hs.latent_directions_of),
                                ("after_svd", new, hs.svd_directions)):
            d = reader(m.first, rank)
            E = hs.effect_matrix(m, d, bases)
            out[name] = {"directions": d, "E": E.numpy(), "scores": hs.disentanglement_scores(E.numpy()),
                         "grid": self._grid(m, d)}
        return out

    def _after(self):
        """The trained projector's directions as the ``directions`` switch reads them."""
        return self.trained["after_svd" if self.directions == "svd" else "after"]

    @staticmethod
    def _grid(model, directions):
        z0 = torch.zeros(model.latent_dim)
        with torch.no_grad():
            L = z0 + torch.as_tensor(_TRAVERSE, dtype=torch.float32)[None, :, None] * directions[:, None, :]
            imgs = model.decode(L.reshape(-1, model.latent_dim))
        return imgs.reshape(directions.shape[0], len(_TRAVERSE), 1, model.size, model.size)

    def _on_records(self, items):
        self.history.extend(items)
        self._train_version += 1

    def _trained_done(self, result):
        self.trained = result
        self.status = (f"trained: rank {result['rank']}, {result['sv']} S · purity "
                       f"{result['before']['scores']['purity']:.3f} → {result['after']['scores']['purity']:.3f} "
                       f"(frame), {result['after_svd']['scores']['purity']:.3f} (SVD-read)")
        self._train_version += 1
        self._on_rotation()

    def start(self, block: bool | None = None):
        """Pretrain, replace the first layer by a Householder projector, fine-tune: one job,
        streamed.  Served: a worker thread; elsewhere the caller, unless ``block=False``."""
        self.stop(wait=True)
        self.history, self.trained = [], None
        self.paused = False
        self._train_version += 1
        args = (int(self.rank), self.singular_values, int(self.pretrain_steps), int(self.finetune_steps),
                int(self.train_seed))
        self.run("train", lambda job: self._train(*args, job), self._trained_done, text="pretraining …",
                 on_records=self._on_records, background=None if block is None else not block)

    def _rotated(self):
        t = self.trained

        def build():
            proj = t["new"].first
            if proj.rank < 2:
                raise ValueError("rotating the frames needs rank >= 2")
            R = hh.rotation_matrix(proj.rank, math.radians(float(self.rotation)), (0, 1))
            import copy
            m = copy.deepcopy(t["new"])
            m.first = hh.rotate_frames(copy.deepcopy(proj).double(), R).float()
            d = _READERS[self.directions](m.first, proj.rank)
            E = hs.effect_matrix(m, d, t["bases"])
            with torch.no_grad():
                dP = float((m.first.weight - proj.weight).abs().max() / proj.weight.abs().max())
            return {"E": E.numpy(), "scores": hs.disentanglement_scores(E.numpy()), "grid": self._grid(m, d),
                    "dP": dP, "cos": float((d[0].double() @ self._after()["directions"][0].double()).abs())}
        return self._stage("rotated", (id(t), float(self.rotation), self.directions), build)

    def _on_directions(self, *events):
        self._train_version += 1          # the views read the other scoring of the same training
        self._on_rotation()

    def _on_rotation(self, *events):
        if self.trained is not None:
            self.run("rotated", lambda job: self._run_stages(self._rotated, job=job),
                     lambda _c: self._bump("_rot_version"), text="rotating the frames …")

    @param.depends("_train_version")
    def view_loss(self):
        """The training loss curve (streamed while training)."""
        h = [r for r in self.history if "loss" in r]
        if not h:
            return placeholder("training loss (press ▶ train)", 420, 260)
        df = pd.DataFrame(h)
        curves = {ph: (df[df.phase == ph].step.values, df[df.phase == ph].loss.values)
                  for ph in ("pretrain", "finetune") if (df.phase == ph).any()}
        layers = [hv.Curve(xy, "step", "loss (BCE + KL)", label=ph) for ph, xy in curves.items()]
        return hv.Overlay(layers).opts(title="training loss", width=420, height=260, logy=True, **SAVE_ONLY,
                                       legend_position="top_right")

    @param.depends("_train_version")
    def view_orth(self):
        """Orthogonality error and singular values during fine-tuning."""
        h = [r for r in self.history if "orth" in r]
        if not h:
            return placeholder("orthogonality error and singular values (fine-tuning)", 420, 260)
        steps = [r["step"] for r in h]
        orth = hv.Curve((steps, np.maximum([r["orth"] for r in h], 1e-17)), "step", "‖QᵀQ − I‖₂").opts(
            logy=True, title="orthogonality error (float32 round-off ≈ 1e-7)", width=420, height=200, **SAVE_ONLY,
            ylim=(1e-17, 1e-3))
        S = np.array([r["s"] for r in h])
        sv = vz.curves({f"s{i + 1}": S[:, i] for i in range(S.shape[1])}, x=steps, title="singular values",
                       xlabel="step", ylabel="s", width=420, height=200)
        return (orth + sv).cols(1).opts(shared_axes=False)

    def _train_guard(self, fn, title, width=420, height=260):
        if self.trained is None:
            return placeholder(f"{title} (after training)", width, height)
        return self._guard(fn, title, width=width, height=height)

    @param.depends("_train_version")
    def view_before_after(self):
        """Traversals and effect shares of each direction: SeFa on the pretrained layer, then the Householder projector."""
        def fn():
            t = self.trained
            rows = [f"d{i + 1}" for i in range(t["rank"])]
            cols = [f"{a:+.1f}" for a in _TRAVERSE]
            panels = []
            read = "SVD-read" if self.directions == "svd" else "frame"
            for name, res, title in (("before", t["before"], "SeFa on the pretrained Linear"),
                                     ("after", self._after(), f"Householder, {t['sv']} S, {read}")):
                s = res["scores"]
                panels.append(vz.image_grid(res["grid"], title=f"{title} · purity {s['purity']:.2f}", lo=0, hi=1,
                                            width=300, row_labels=rows, col_labels=cols))
                panels.append(vh.effect_heatmap(res["E"], hs.FACTORS, f"effect shares ({name})", width=300))
            return hv.Layout(panels).cols(2).opts(shared_axes=False)
        return self._train_guard(fn, "traversals before / after", 640, 560)

    @param.depends("_rot_version", "_train_version")
    def rotation_markdown(self):
        """What rotating both frames changed, in words."""
        if self.trained is None or "rotated" in self._errors:
            return ""
        with self._lock:
            try:
                r = self._rotated()
            except Exception:
                return ""
        a = self._after()["scores"]
        return (f"rotated by {self.rotation:.0f}°: relative ‖ΔP‖ = **{r['dP']:.1e}** "
                f"({'the same map' if r['dP'] < 1e-5 else 'a different map: S is not equal'}) · |cos(d₁, d₁')| = "
                f"{r['cos']:.3f} · purity {a['purity']:.3f} → {r['scores']['purity']:.3f}, DCI-D {a['dci_d']:.3f} → "
                f"{r['scores']['dci_d']:.3f} (directions read: {self.directions})")

    @param.depends("_rot_version", "_train_version")
    def view_rotated(self):
        """Traversals along the rotated frame's directions."""
        def fn():
            r = self._rotated()
            cols = [f"{a:+.1f}" for a in _TRAVERSE]
            return (vz.image_grid(r["grid"], title="rotated frames: traversals", lo=0, hi=1, width=300,
                                  col_labels=cols)
                    + vh.effect_heatmap(r["E"], hs.FACTORS, "effect shares (rotated)", width=300)
                    ).opts(shared_axes=False)
        return self._train_guard(fn, "rotated frames", 640, 280)

    # ------------------------------------------------------------------ faces
    def _gan(self):
        if self._user is not None:
            return self._user
        from ..face_dcgan import face_dcgan
        dev = resolve_device(None)   # CUDA when present (SPECTRAL_EXPLORER_DEVICE overrides)
        return self._stage("gan", ("face_dcgan", str(dev)), lambda: face_dcgan(dev), shared=True)

    def _face(self, job=None):
        key = (int(self.face_rank), int(self.face_steps), self.face_sv)

        def build():
            gan = self._gan()
            proj = hs.face_projector(gan, int(self.face_rank), self.face_sv)
            z = hs.face_latents(gan, 16, 4242)
            before = hs.image_fidelity(gan, proj, z)
            kw = {} if job is None else {"progress": job.progress, "cancel": job.should_stop}
            losses = hs.finetune_face_projector(gan, proj, int(self.face_steps), **kw)
            return {"proj": proj.requires_grad_(False), "before": before, "after": hs.image_fidelity(gan, proj, z),
                    "losses": losses}
        return self._stage("face", key, build, shared=True)

    def _face_strip(self):
        def build():
            gan, f = self._gan(), self._face()
            z = hs.face_latents(gan, 1, int(self.face_seed))[0]
            ref = torch.linalg.svd(gan.sefa_weight.double(), full_matrices=False)[2][:3].float()
            dirs = hs.latent_directions_of(f["proj"], min(3, int(self.face_rank)))
            # the projector's frame carries a sign per column: align with the original for the picture
            sgn = torch.sign((dirs * ref[:dirs.shape[0]]).sum(1, keepdim=True))
            dirs = dirs * torch.where(sgn == 0, torch.ones_like(sgn), sgn)
            alphas = np.linspace(-3, 3, 5)
            from .. import latent_directions as ld
            with torch.no_grad():
                a = ld.traversal_strip(gan, z, ref, alphas)
                b = ld.traversal_strip(lambda x: hs.face_images(gan, f["proj"], x), z, dirs, alphas)
            return {"before": a, "after": b, "alphas": alphas}
        return self._stage("face_strip", (int(self.face_rank), int(self.face_steps), self.face_sv,
                                          int(self.face_seed)), build)

    def _on_face(self, *events):
        if self.faces_on:
            self.run("face", lambda job: self._run_stages(lambda: self._face(job), self._face_strip, job=job),
                     lambda _c: self._bump("_face_version"), text="fine-tuning the face projector …")

    def open_faces(self):
        """Compute the face projector at ``face_rank`` (the dashboard does it when its tab opens)."""
        self.faces_on = True
        self._on_face()

    def _sweep(self, job=None):
        def build():
            kw = {} if job is None else {"progress": job.progress, "cancel": job.should_stop}
            return hs.face_fidelity(self._gan(), self._face_ranks, int(self.face_steps), 16, self.face_sv, **kw)
        return self._stage("sweep", (int(self.face_steps), self.face_sv), build, shared=True)

    def compute_sweep(self):
        """Fidelity against every rank of :data:`FACE_RANKS` (those that fit a user's generator; a job)."""
        self.faces_on = True
        def done(_c):
            self.sweep_rows = self._sweep()
            self._bump("_face_version")
        self.run("sweep", lambda job: self._run_stages(lambda: self._sweep(job), job=job), done,
                 text="fidelity against rank …")

    @param.depends("_face_version")
    def face_markdown(self):
        """The faces tab's numbers in words."""
        if self._face_version == 0 or "face" in self._errors:
            return "Open this tab to fine-tune the face projector."
        with self._lock:
            try:
                f = self._face()
            except Exception:
                return ""
        b, a = f["before"], f["after"]
        user = "" if self._user is None else escape_markdown(self._user.describe()) + "  \n"
        return (f"{user}rank {self.face_rank}, {self.face_sv} S: PSNR against the original generator "
                f"**{b['psnr_db']:.1f} dB** (from_weight) → **{a['psnr_db']:.1f} dB** after {self.face_steps} "
                f"data-free steps (RMSE {b['rmse']:.3f} → {a['rmse']:.3f})")

    @param.depends("_face_version")
    def view_faces(self):
        """Face traversals before and after the projector's fine-tuning."""
        if self._face_version == 0:
            return placeholder("traversals before / after (open this tab)", 640, 300)

        def fn():
            s = self._face_strip()
            cols = [f"{a:+.1f}" for a in s["alphas"]]
            rows = [f"d{i + 1}" for i in range(max(s["after"].shape[0], s["before"].shape[0]))]
            lo, hi = getattr(self._gan(), "value_range", (-1.0, 1.0))
            return (vz.image_grid(s["before"], title="SeFa on the original layer", width=320, col_labels=cols,
                                  row_labels=rows[:s["before"].shape[0]], lo=lo, hi=hi)
                    + vz.image_grid(s["after"], title=f"rank-{self.face_rank} projector (fine-tuned)", width=320,
                                    col_labels=cols, row_labels=rows[:s["after"].shape[0]], lo=lo, hi=hi)).opts(shared_axes=False)
        return self._guard(fn, "faces", width=660, height=300)

    @param.depends("_face_version")
    def view_sweep(self):
        """Fidelity against rank (after the button is pressed)."""
        rows = self.sweep_rows
        if rows is None:
            return placeholder("fidelity against rank (press the button)", 420, 260)

        def fn():
            ranks = [r["rank"] for r in rows]
            return vz.curves({"from_weight": [r["psnr_before"] for r in rows],
                              "fine-tuned": [r["psnr_after"] for r in rows]}, x=ranks,
                             title=f"fidelity against rank ({rows[0]['singular_values']} S)", xlabel="rank r",
                             ylabel="PSNR (dB)", width=420)
        return self._guard(fn, "fidelity against rank", width=420, height=260)

    # ------------------------------------------------------------------ layout
    def controls(self):
        p = self.param
        sw = {"sizing_mode": "stretch_width"}

        def slider(name):
            return pn.widgets.FloatSlider.from_param(getattr(p, name), css_classes=[f"{name}-slider"], **sw)
        start, pause = train_buttons(self, "hh-train", running=lambda: self.training)
        sweep = pn.widgets.Button(label="fidelity against rank", color="primary", css_classes=["hh-sweep"], **sw)
        sweep.on_click(lambda *_: self.compute_sweep())
        return pn.Column(
            pn.pane.Markdown("### Mirrors"), self.int_input("n_mirrors", "reflections"), slider("m1"), slider("m2"),
            pn.pane.Markdown("### Rotate, scale, rotate"), slider("v_angle"), slider("s1"), slider("s2"),
            slider("u_angle"),
            pn.pane.Markdown("### Train (ellipse world)"), self.int_input("rank", "rank r"),
            pn.widgets.RadioButtonGroup.from_param(p.singular_values, css_classes=["w-singular_values"], **sw),
            self.int_input("pretrain_steps", "pretrain steps"), self.int_input("finetune_steps", "fine-tune steps"),
            self.int_input("train_seed", "seed"), pn.Row(start, pause),
            pn.widgets.RadioButtonGroup.from_param(p.directions, css_classes=["w-directions"], **sw), slider("rotation"),
            pn.pane.Markdown("### Faces"),
            pn.widgets.Select.from_param(p.face_rank, css_classes=["w-face_rank"], **sw),
            pn.widgets.RadioButtonGroup.from_param(p.face_sv, **sw), self.int_input("face_steps", "fine-tune steps"),
            self.int_input("face_seed", "face seed"), sweep, **sw)

    def main(self):
        sw = {"sizing_mode": "stretch_width"}
        idea = pn.Column(
            pn.pane.Markdown(self.mirror_markdown, css_classes=["hh-mirror-metrics"], **sw),
            pn.Row(pn.pane.HoloViews(self.view_mirrors, linked_axes=False),
                   pn.pane.Markdown("Each reflection H = I − 2vvᵀ/‖v‖² mirrors the plane in the dashed line "
                                    "(normal v). Products of reflections are orthogonal whatever the v's: "
                                    "a Householder projector keeps its frames exactly orthonormal while an "
                                    "optimiser moves the v's. Below, a rank-r map P = U S Vᵀ: rotate the input, "
                                    "scale r axes (s₂ = 0 flattens the circle), rotate the output.", width=360)),
            pn.pane.HoloViews(self.view_rsr, linked_axes=False), **sw)
        train = pn.Column(
            pn.pane.Markdown("A VAE (isotropic posterior) on anti-aliased ellipses with four known factors (x, y, "
                             "scale, angle, read back from image moments): pretrain with a plain linear first layer, "
                             "replace it by `HouseholderProjector.from_weight`, fine-tune. Each traversal row is one "
                             "direction; each heat-map row shows which factors it moves. One run is one seed: the "
                             "ranking over seeds is in the page's introduction. " + TRAIN_DEPARTURES, **sw),
            pn.Row(pn.pane.HoloViews(self.view_loss, linked_axes=False),
                   pn.pane.HoloViews(self.view_orth, linked_axes=False)),
            pn.pane.HoloViews(self.view_before_after, linked_axes=False),
            pn.pane.Markdown(self.rotation_markdown, css_classes=["hh-rotation-metrics"], **sw),
            pn.pane.HoloViews(self.view_rotated, linked_axes=False), **sw)
        faces = pn.Column(pn.pane.Markdown(self.face_markdown, css_classes=["hh-face-metrics"], **sw),
                          pn.pane.HoloViews(self.view_faces, linked_axes=False),
                          pn.pane.HoloViews(self.view_sweep, linked_axes=False), **sw)
        tabs = pn.Tabs(("Mirrors and frames", idea), ("Train live", train), ("Faces", faces), dynamic=True, **sw)

        def activate(event):
            self.view = ("mirrors", "train", "faces")[event.new]
            if event.new == 2 and not self.faces_on:
                self.open_faces()
        tabs.param.watch(activate, "active")
        return tabs
