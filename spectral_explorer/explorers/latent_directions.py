"""Latent-directions explorer: SeFa and GANSpace sliders on a real face GAN, image-specific
Jacobian directions, and the h-space of a small diffusion model of digits.

Staged computation (each stage keyed on parameter values, never on tensors)::

    gan         ()                                  -> the face DCGAN (shared, read-only)
    sefa        (sefa_normalize,)                   -> SeFa directions and eigenvalues, k = MAX_K (shared)
    ganspace    (n_samples, gs_seed)                -> GANSpace directions, σ, explained variance (shared; a job)
    face        directions + (seed, c1..c8, c_random, k) -> the edited face
    strip       directions + (seed, k, strip_alpha) -> the traversal grid (k × 7)
                ("directions" = method + sefa_normalize, or method + n_samples + gs_seed: _directions_key)
    jacobian    (seed,)                             -> top-3 Jacobian directions of G at z, convergence (a job)
    diffusion   ()                                  -> the digits diffusion model (shared)
    capture     (n_h_samples,)                      -> h at every DDIM step of n samples, labels (shared; a job)
    hpca        capture + (h_mode,)                 -> h-space PCA per timestep or over trajectories (shared)
    supervised  capture + (source_digit, target_digit, remove) -> a→b direction, with the attribute removed
    h_random    capture + (h_mode,)                 -> the random control direction of h, its two step lengths
    digit       (digit_seed, h1..h3, h_random, h_random_length, window, h_mode) -> the edited digit

A slider move re-renders only the face (one generator call) or the digit (one DDIM run).

Your own generator: :meth:`LatentDirectionsExplorer.from_generator` probes it
(:class:`~spectral_explorer.generators.UserGenerator`: the first layer that reads z for SeFa, the
first block for GANSpace, the images' value range) and puts it in the ``gan`` stage; every face
view is the same code.  The h-space tab stays on the shipped digits model.  :attr:`directions`,
:meth:`table` and :meth:`as_code` follow the open tab (``view``).

Examples
--------
>>> ex = LatentDirectionsExplorer()
>>> ex.c1 = 2.0
>>> sorted(k for k in ex.timings if k != "total")   # only the face was re-rendered
['face']
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param
import torch

from .. import latent_directions as ld
from ..device import resolve_device
from ..viz import latent as vz
from ._tour import tour_param
from ._base import Explorer, escape_markdown, placeholder
from . import _generator_own as own

__all__ = ["LatentDirectionsExplorer", "MAX_K", "STRIP_COLUMNS"]

#: number of per-component sliders (and of directions computed)
MAX_K = 8
#: columns of the traversal grid (α from −strip_alpha to +strip_alpha)
STRIP_COLUMNS = 7
_SLIDERS = tuple(f"c{i + 1}" for i in range(MAX_K))
_H_SLIDERS = ("h1", "h2", "h3")
#: seed of the h-space random control direction (the first random direction of
#: ``spectral-explorer reproduce latent-directions`` at its seed 0)
H_RANDOM_SEED = 11
_GAN = ("method", "sefa_normalize", "k", "seed", "n_samples", "gs_seed", "strip_alpha", "c_random") + _SLIDERS
_H = ("digit_seed", "h_mode", "n_h_samples", "window_start", "window_end", "source_digit", "target_digit",
      "edit_strength", "remove") + _H_SLIDERS + ("h_random", "h_random_length")


def _sigma_param(label):
    return param.Number(default=0.0, bounds=(-5.0, 5.0), step=0.25, label=label, doc=f"""
        Edit along {label} in σ units. SeFa: z moves by α n (n a unit vector; σ = 1, the standard
        deviation of the isotropic z along any unit direction). GANSpace: z moves by α σ u, where σ is
        the standard deviation of the component's score in feature space (σ₁ ≈ 9.3) and u the latent
        change per unit score (‖u₁‖ ≈ 0.11): a one-σ step has length σ‖u‖ ≤ 1 in z, about 1 for
        components 1, 2 and 4 and 0.65 for 3 (`spectral-explorer reproduce latent-directions`, rows
        ganspace_step_length).""")


class LatentDirectionsExplorer(Explorer):
    """SeFa / GANSpace sliders, Jacobian directions and diffusion h-space, interactively."""

    url_params = _GAN + _H + ("tour",)
    tour_name = "latent_directions"
    tour = tour_param(tour_name)
    _ERROR_ORDER = ("url", "gan", "ganspace", "jacobian", "hspace")

    method = param.ObjectSelector(default="sefa", objects=["sefa", "ganspace"], doc="""
        Directions of the sliders: SeFa (eigenvectors of AᵀA of the first layer, closed form) or
        GANSpace (PCA of the first block's activations over sampled latents, mapped back to z).""")
    sefa_normalize = param.Boolean(default=True, label="SeFa: rows of A normalised", doc="""
        SeFa as its reference code runs it (each row of A scaled to unit norm first: every first-layer
        feature counts equally) or as the paper states it (A as is: the directions that move the
        first layer's output the most). On this generator the two agree on directions 1, 2 and 5
        (|cos| ≥ 0.98) and nearly exchange 3 and 4 (|cos| 0.94 and 0.95; the notebook's section 2
        prints them).""")
    k = param.Integer(default=5, bounds=(1, MAX_K), doc="Number of components with a slider and a grid row.")
    seed = param.Integer(default=0, bounds=(0, 100_000), doc="Seed of the face's latent code z.")
    n_samples = param.Integer(default=20_000, bounds=(1_000, 100_000), doc="""
        Latents sampled for GANSpace's PCA (streamed in batches; about 10 s for 20k on a CPU core).""")
    gs_seed = param.Integer(default=0, bounds=(0, 10_000), doc="Seed of GANSpace's sampled latents.")
    strip_alpha = param.Number(default=3.0, bounds=(0.5, 10.0), step=0.5, doc="""
        The traversal grid spans α from −strip_alpha to +strip_alpha σ in 7 columns.""")
    c_random = param.Number(default=0.0, bounds=(-5.0, 5.0), step=0.25, label="random", doc="""
        Control: edit along a random unit direction (seeded by the face's seed) in σ units (σ = 1 for
        the isotropic latent) — compare how little it changes the face.""")
    c1, c2, c3, c4, c5, c6, c7, c8 = (_sigma_param(f"component {i + 1}") for i in range(MAX_K))

    digit_seed = param.Integer(default=0, bounds=(0, 100_000), doc="Seed of the digit's starting noise x_T.")
    h_mode = param.ObjectSelector(default="per_timestep", objects=["per_timestep", "trajectory"], doc="""
        h-space PCA per DDIM step (one direction per step) or over whole trajectories (one direction
        of all steps' bottlenecks concatenated).""")
    n_h_samples = param.Integer(default=256, bounds=(32, 2048), doc="""
        Digits sampled (25 DDIM steps each) whose bottlenecks the h-space PCA and the supervised
        directions use.""")
    window_start = param.Integer(default=0, bounds=(0, 24), doc="First DDIM step (0 = noisiest) of the h edit.")
    window_end = param.Integer(default=24, bounds=(0, 24), doc="Last DDIM step of the h edit (inclusive).")
    h1, h2, h3 = (param.Number(default=0.0, bounds=(-4.0, 4.0), step=0.25, label=f"h-space PC {i + 1}",
                               doc=f"""Edit of the bottleneck along PC {i + 1} in σ units: Δh_t = α σ_t v_t at
                               each step t of the window, σ_t the standard deviation of the sampled
                               digits' h_t along the component v_t.""") for i in range(3))
    h_random = param.Number(default=0.0, bounds=(-4.0, 4.0), step=0.25, label="h-space random", doc="""
        Control: edit the bottleneck along a random unit direction r of h (fixed seed), Δh_t = α s_t r,
        with the step length of h_random_length.""")
    h_random_length = param.ObjectSelector(default="pc1", objects=["pc1", "own"], doc="""
        Step length of the random control: "pc1" — s_t = PC 1's σ_t, the same ‖Δh_t‖ as PC 1 at the
        same α (a fair comparison); "own" — s_t = the random direction's own σ_t, about a twelfth of
        PC 1's (`spectral-explorer reproduce latent-directions`, rows sigma_over_pc1).""")
    source_digit = param.Integer(default=1, bounds=(0, 9), doc="Supervised edit: samples of this class (a) …")
    target_digit = param.Integer(default=7, bounds=(0, 9), doc="… moved toward this class (b).")
    edit_strength = param.Number(default=1.0, bounds=(0.0, 3.0), step=0.1, doc="""
        Strength λ of the supervised edit Δh_t = λ (mean h_t of b − mean h_t of a).""")
    remove = param.ObjectSelector(default="slant", objects=["slant", "ink"], doc="""
        Attribute whose direction (mean h of the top quarter − bottom quarter) is projected out of
        the supervised direction.""")

    view = param.ObjectSelector(default="sliders", objects=["sliders", "jacobian", "hspace"], precedence=-1, doc="""
        The main view (the open tab): what :attr:`directions`, :meth:`table` and :meth:`as_code` give.""")

    _gan_version = param.Integer(default=0, precedence=-1)
    _jac_version = param.Integer(default=0, precedence=-1)
    _h_version = param.Integer(default=0, precedence=-1)

    def __init__(self, **params):
        user = params.pop("_generator", None)
        super().__init__(**params)
        self._user = user
        if user is not None:
            self._hold_user_data()             # every stage stays in this session
            if not user.has_first_layer:
                self.param.method.objects = ["ganspace"]
            if user.latent_dim < MAX_K:
                self.param.k.bounds = (1, user.latent_dim)
                self.k = min(int(self.k), user.latent_dim)
        self.param.watch(self._on_gan, list(_GAN))
        self.param.watch(self._on_jacobian, ["seed"])
        self.param.watch(self._on_h, list(_H))
        # CUDA when present (SPECTRAL_EXPLORER_DEVICE overrides); a user's generator stays where it is
        self._device = resolve_device(None) if user is None else user.device
        self.latent_dim = 100 if user is None else user.latent_dim
        self._range = (-1.0, 1.0) if user is None else user.value_range
        self.hspace = False        # the dashboard turns these on when their tab opens
        self.jacobian_on = False
        self.run("gan", self._compute_gan, self._publish_gan, background=False)

    @classmethod
    def from_generator(cls, G, latent_dim: int, first_layer=None, *, ganspace_layer=None, value_range=None,
                       **params) -> "LatentDirectionsExplorer":
        """The explorer on your generator ``G`` (an ``nn.Module`` or a callable: latents
        (B, latent_dim) → images (B, C, H, W), C = 1 or 3).

        SeFa reads the first ``nn.Linear``/``nn.ConvTranspose2d`` whose input is z (or the layer
        ``first_layer`` names: a module name or the module); GANSpace the first nonlinearity after
        it (or ``ganspace_layer``); images are shown as values in [-1, 1] when any probe image is
        negative, else [0, 1] (or ``value_range``).  See :class:`~spectral_explorer.generators.UserGenerator`.
        A generator in which no layer reads z works with ``method="ganspace"`` (PCA of the images).
        Raises ``ValueError`` for a G whose output is not (B, C, H, W), NaN images, a wrong
        latent_dim, a first layer of another input size, or no layer reading z when SeFa needs one.
        """
        from ..generators import UserGenerator
        gen = UserGenerator(G, latent_dim, first_layer, ganspace_layer=ganspace_layer, value_range=value_range)
        if not gen.has_first_layer and params.get("method", "sefa") == "sefa":
            raise ValueError(f"no nn.Linear or nn.ConvTranspose2d of G reads z (B, {gen.latent_dim}): SeFa needs "
                             "first_layer= (a module name or the module); or pass method='ganspace'")
        return cls(_generator=gen, **params)

    @property
    def directions(self) -> np.ndarray:
        """The current method's directions (k, latent_dim): SeFa's unit eigenvectors or GANSpace's latent
        change per unit PC score (an edit of α σ is z + α σ u) — or, while the Jacobian tab is the
        view, the top-3 right singular vectors of ∂G/∂z at the face's z."""
        with self._lock:
            if self.view == "jacobian":
                return self._jacobian()["directions"].detach().cpu().numpy()
            return self._directions()["directions"][:int(self.k)].detach().cpu().numpy()

    def table(self):
        return own.latent_table(self)

    def as_code(self) -> str:
        return own.latent_code(self)

    def export_name(self) -> str:
        return own.latent_export_name(self)

    def code_params(self):
        return super().code_params() + ("view",)

    # ------------------------------------------------------------------ GAN stages
    def _gan(self):
        if self._user is not None:
            return self._user
        from ..face_dcgan import face_dcgan
        return self._stage("gan", ("face_dcgan", str(self._device)), lambda: face_dcgan(self._device), shared=True)

    def _sefa(self):
        def build():
            norm = bool(self.sefa_normalize)
            kk = min(MAX_K, self.latent_dim)
            d, ev = ld.sefa_directions(self._gan().sefa_weight, k=kk, normalize=norm)
            return {"directions": d.float(), "sigmas": torch.ones(kk, device=d.device), "spectrum": ev.cpu().numpy(),
                    "spectrum_label": "eigenvalue of ÂᵀÂ (rows normalised)" if norm else "eigenvalue of AᵀA"}
        return self._stage("sefa", ("sefa", MAX_K, bool(self.sefa_normalize), str(self._device)), build,
                           shared=True)

    def _ganspace(self, job=None):
        def build():
            res = ld.ganspace_directions(self._gan().first_block, n_samples=int(self.n_samples),
                                         k=min(MAX_K, self.latent_dim), latent_dim=self.latent_dim,
                                         seed=int(self.gs_seed), device=self._device,
                                         progress=None if job is None else job.progress,
                                         cancel=None if job is None else job.cancel)
            return {"directions": res.directions.float(), "sigmas": res.sigmas.float(),
                    "spectrum": res.explained_ratio.cpu().numpy(), "spectrum_label": "explained variance ratio",
                    "residuals": res.residuals}
        return self._stage("ganspace", (int(self.n_samples), int(self.gs_seed), MAX_K, str(self._device)), build,
                           shared=True)

    def _directions(self, job=None):
        return self._sefa() if self.method == "sefa" else self._ganspace(job)

    def _directions_key(self) -> tuple:
        """The parameters the sliders' directions depend on: every stage that uses
        :meth:`_directions` puts this in its key (a switch of ``sefa_normalize`` must re-render the
        face and the grid, not only the spectrum)."""
        if self.method == "sefa":
            return ("sefa", bool(self.sefa_normalize))
        return ("ganspace", int(self.n_samples), int(self.gs_seed))

    def _z(self):
        from ..face_dcgan import sample_latents
        if self._user is not None:
            return self._user.latents(1, seed=int(self.seed))[0]
        return sample_latents(1, seed=int(self.seed), device=self._device)[0]

    def _random_direction(self):
        return ld.random_directions(1, self.latent_dim, seed=10_000 + int(self.seed), device=self._device,
                                    dtype=self._z().dtype)[0]

    def _face(self):
        key = self._directions_key() + (int(self.k), int(self.seed), float(self.c_random)) + \
            tuple(float(getattr(self, c)) for c in _SLIDERS[:int(self.k)])

        def build():
            d = self._directions()
            z = self._z()
            coefs = torch.tensor([float(getattr(self, c)) for c in _SLIDERS[:int(self.k)]], device=self._device)
            zz = z + (coefs * d["sigmas"][:int(self.k)]) @ d["directions"][:int(self.k)]
            zz = zz + float(self.c_random) * self._random_direction()
            with torch.no_grad():
                imgs = self._gan()(torch.stack([z, zz]))
            return {"original": imgs[0], "edited": imgs[1],
                    "change": float((imgs[1] - imgs[0]).pow(2).mean().sqrt())}
        return self._stage("face", key, build)

    def _strip(self):
        key = self._directions_key() + (int(self.k), int(self.seed), float(self.strip_alpha))

        def build():
            d = self._directions()
            alphas = np.linspace(-float(self.strip_alpha), float(self.strip_alpha), STRIP_COLUMNS)
            dirs = torch.cat([d["directions"][:int(self.k)], self._random_direction()[None]])
            sig = torch.cat([d["sigmas"][:int(self.k)], torch.ones(1, device=self._device)])
            return {"images": ld.traversal_strip(self._gan(), self._z(), dirs, alphas, sig), "alphas": alphas}
        return self._stage("strip", key, build)

    def _compute_gan(self, job=None):
        if self.method == "ganspace":
            self._run_stages(lambda: self._ganspace(job), job=job)
        return self._run_stages(self._directions, self._face, self._strip, job=job)

    def _publish_gan(self, changed=None):
        self.status = (f"{self.method}: face {1e3 * self.timings.get('face', 0):.0f} ms · "
                       f"grid {1e3 * self.timings.get('strip', 0):.0f} ms"
                       + (f" · GANSpace over {self.n_samples} samples" if self.method == "ganspace" else ""))
        self._gan_version += 1

    def _on_gan(self, *events):
        text = ("GANSpace: PCA of the first block over sampled latents …" if self.method == "ganspace"
                else "rendering …")
        self.run("gan", self._compute_gan, self._publish_gan, text=text)

    # ------------------------------------------------------------------ Jacobian
    def _jacobian(self):
        def build():
            gan = self._gan()
            V, S, info = ld.jacobian_directions(lambda v: gan(v[None])[0], self._z(), k=min(3, self.latent_dim),
                                                tol=1e-4, n_iter=60,
                                                return_info=True)
            z = self._z()
            eps = 3.0
            with torch.no_grad():
                plus = gan(z[None] + eps * V)
                minus = gan(z[None] - eps * V)
                base = gan(z[None])
            return {"directions": V, "singular_values": S.cpu().numpy(), "info": info, "plus": plus, "minus": minus,
                    "base": base[0], "eps": eps}
        return self._stage("jacobian", (int(self.seed),), build)

    def _on_jacobian(self, *events):
        if self.jacobian_on:
            self.run("jacobian", lambda job: self._run_stages(self._jacobian, job=job),
                     lambda _c: self._bump("_jac_version"), text="Jacobian directions …")

    def compute_jacobian(self):
        """Turn the Jacobian view on and compute it for the current face."""
        self.jacobian_on = True
        self._on_jacobian()

    def _bump(self, name):
        setattr(self, name, getattr(self, name) + 1)

    # ------------------------------------------------------------------ h-space stages
    def _diffusion(self):
        from ..digits_diffusion import load_digits_diffusion
        return self._stage("diffusion", ("digits", str(self._device)), lambda: load_digits_diffusion(device=self._device),
                           shared=True)

    def _capture(self, job=None):
        def build():
            from ..digits_diffusion import digit_classifier, ink, slant
            cap = ld.hspace_capture(self._diffusion(), n=int(self.n_h_samples), seed=0, n_steps=25,
                                    progress=None if job is None else job.progress,
                                    cancel=None if job is None else job.cancel)
            predict, acc = digit_classifier()
            cap["labels"] = predict(cap["x0"])[0]
            cap["slant"] = slant(cap["x0"]).numpy()
            cap["ink"] = ink(cap["x0"]).numpy()
            cap["classifier_accuracy"] = acc
            return cap
        return self._stage("capture", (int(self.n_h_samples),), build, shared=True)

    def _hpca(self):
        def build():
            return ld.hspace_pca(self._capture()["h"], k=3, mode=self.h_mode)
        return self._stage("hpca", (int(self.n_h_samples), self.h_mode), build, shared=True)

    def _supervised(self):
        def build():
            cap = self._capture()
            H = cap["h"]
            d = ld.supervised_direction(H, cap["labels"], int(self.source_digit), int(self.target_digit))
            attr = cap[self.remove]
            lo, hi = np.quantile(attr, [0.25, 0.75])
            a = ld.supervised_direction(H, np.where(attr >= hi, 1, np.where(attr <= lo, 0, -1)), 0, 1)
            return {"direction": d, "projected": ld.remove_direction(d, a), "attribute": a}
        return self._stage("supervised", (int(self.n_h_samples), int(self.source_digit), int(self.target_digit),
                                          self.remove), build)

    def _window(self):
        lo, hi = int(self.window_start), int(self.window_end)
        if lo > hi:
            raise ValueError(f"window_start ({lo}) must be <= window_end ({hi})")
        return (lo, hi)

    def _digit(self):
        key = (int(self.digit_seed), self.h_mode, int(self.n_h_samples), self._window(),
               tuple(float(getattr(self, h)) for h in _H_SLIDERS), float(self.h_random), self.h_random_length)

        def build():
            pca = self._hpca()
            model = self._diffusion()
            g = torch.Generator().manual_seed(int(self.digit_seed))
            xT = torch.randn((1, 1, 16, 16), generator=g)
            coefs = torch.tensor([float(getattr(self, h)) for h in _H_SLIDERS])
            delta = (coefs[None, :, None] * pca["sigmas"][:, :3, None] * pca["components"][:, :3]).sum(1)  # (S, D), CPU
            if self.h_random:
                r = self._h_random_direction()
                delta = delta + float(self.h_random) * r["length"][self.h_random_length][:, None] * r["direction"][None]
            with torch.no_grad():
                base = ld.hspace_edit(model, xT, torch.zeros_like(delta))
                edited = ld.hspace_edit(model, xT, delta, window=self._window())
            from ..digits_diffusion import digit_classifier
            predict = digit_classifier()[0]
            lo, hi = self._window()
            return {"xT": xT, "base": base[0], "edited": edited[0],
                    "classes": (int(predict(base.cpu())[0][0]), int(predict(edited.cpu())[0][0])),
                    "change": float((edited - base).pow(2).mean().sqrt()),
                    "delta_norm": float(delta[lo:hi + 1].norm(dim=1).mean())}
        return self._stage("digit", key, build)

    def _h_random_direction(self):
        """The random control direction of h (unit) and its two step lengths per step (S,): PC 1's
        σ_t·‖v_t‖ (``"pc1"``, equal ‖Δh_t‖ to PC 1 at the same α) and its own σ_t (``"own"``)."""
        def build():
            H = self._capture()["h"]
            pca = self._hpca()
            r = ld.random_directions(1, H.shape[2], seed=H_RANDOM_SEED)[0]
            own = torch.stack([(H[s] @ r).std() for s in range(H.shape[0])])
            pc1 = pca["sigmas"][:, 0] * pca["components"][:, 0].norm(dim=1)
            return {"direction": r, "length": {"pc1": pc1, "own": own}}
        return self._stage("h_random", (int(self.n_h_samples), self.h_mode), build, shared=True)

    def _supervised_edit(self):
        key = (int(self.n_h_samples), int(self.source_digit), int(self.target_digit), self.remove,
               float(self.edit_strength), self._window())

        def build():
            from ..digits_diffusion import slant, ink
            cap, sup = self._capture(), self._supervised()
            idx = np.flatnonzero(cap["labels"] == int(self.source_digit))[:6]
            if idx.size == 0:
                raise ValueError(f"no sample of the {int(self.n_h_samples)} was classified as "
                                 f"{int(self.source_digit)}; raise n_h_samples")
            xT = cap["x_T"][idx]
            lam = float(self.edit_strength)
            model = self._diffusion()
            with torch.no_grad():
                plain = ld.hspace_edit(model, xT, lam * sup["direction"], window=self._window()).cpu()
                proj = ld.hspace_edit(model, xT, lam * sup["projected"], window=self._window()).cpu()
            from ..digits_diffusion import digit_classifier
            predict = digit_classifier()[0]
            attr = {"slant": slant, "ink": ink}[self.remove]
            base = cap["x0"][idx]
            return {"base": base, "plain": plain, "projected": proj,
                    "hit_plain": float((predict(plain)[0] == int(self.target_digit)).mean()),
                    "hit_proj": float((predict(proj)[0] == int(self.target_digit)).mean()),
                    "attr_plain": float((attr(plain) - attr(base)).abs().mean()),
                    "attr_proj": float((attr(proj) - attr(base)).abs().mean())}
        return self._stage("supervised_edit", key, build)

    def _compute_h(self, job=None):
        self._run_stages(lambda: self._capture(job), job=job)
        return self._run_stages(self._hpca, self._supervised, self._digit, self._supervised_edit, job=job)

    def _on_h(self, *events):
        if self.hspace:
            self.run("hspace", self._compute_h, lambda _c: self._bump("_h_version"), text="h-space …")

    def open_hspace(self):
        """Load the diffusion model and sample the digits whose bottlenecks the h-space views use."""
        self.hspace = True
        self._on_h()

    # ------------------------------------------------------------------ GAN views
    def _ready(self, version_name):
        return getattr(self, version_name) > 0

    @param.depends("_gan_version")
    def face_markdown(self):
        """The face tab's numbers in words."""
        if "gan" in self._errors:
            return ""
        with self._lock:
            try:
                f = self._face()
            except Exception:
                return ""
        active = [f"{c} = {getattr(self, c):+.2f}σ" for c in _SLIDERS[:int(self.k)] if getattr(self, c)]
        if self.c_random:
            active.append(f"random = {self.c_random:+.2f}σ")
        user = "" if self._user is None else escape_markdown(self._user.describe()) + "  \n"
        return (f"{user}**{self.method}** · seed {self.seed} · edits: {', '.join(active) or 'none'} · "
                f"RMS image change {f['change']:.4f}")

    @param.depends("_gan_version")
    def view_face(self):
        """The original face and the edited one."""
        def fn():
            f = self._face()
            return vz.image_grid(torch.stack([f["original"], f["edited"]]), title="original | edited",
                                 width=420, scale=max(1, 128 // f["original"].shape[-1]), lo=self._range[0],
                                 hi=self._range[1])
        return self._guard(fn, "face", width=420, height=220)

    @param.depends("_gan_version")
    def view_strip(self):
        """Traversal strips along each direction and a random one."""
        def fn():
            s = self._strip()
            rows = [f"{self.method} {i + 1}" for i in range(int(self.k))] + ["random"]
            cols = [f"{a:+.1f}σ" for a in s["alphas"]]
            return vz.image_grid(s["images"], title="traversal grid (directions × α)", width=620,
                                 row_labels=rows, col_labels=cols, lo=self._range[0], hi=self._range[1])
        return self._guard(fn, "traversal grid", width=620, height=500)

    @param.depends("_gan_version")
    def view_spectrum(self):
        """The method's spectrum: SeFa's eigenvalues or GANSpace's explained variance."""
        def fn():
            d = self._directions()
            title = ("GANSpace: explained variance" if self.method != "sefa" else
                     "SeFa: eigenvalues of ÂᵀÂ" if self.sefa_normalize else
                     "SeFa: eigenvalues of AᵀA")
            return vz.spectrum_bars(d["spectrum"], title, d["spectrum_label"])
        return self._guard(fn, "spectrum", width=360, height=240)

    # ------------------------------------------------------------------ Jacobian views
    @param.depends("_jac_version")
    def jacobian_markdown(self):
        """The Jacobian directions' numbers in words, or what to press."""
        if not self._ready("_jac_version") or "jacobian" in self._errors:
            return "Press **directions for this image** to compute the top-3 Jacobian directions of G at this z."
        with self._lock:
            j = self._jacobian()
        info = j["info"]
        sv = ", ".join(f"{s:.2f}" for s in j["singular_values"])
        return (f"singular values of ∂G/∂z at seed {self.seed}: **{sv}** · power iteration "
                f"{'converged' if info['converged'] else 'did not converge'} in {info['iterations']} iterations "
                f"(relative change {info['rel_change']:.1e}; residuals "
                + ", ".join(f"{r:.1e}" for r in info["residuals"]) + ")")

    @param.depends("_jac_version")
    def view_jacobian(self):
        """The top Jacobian directions of the generator at this latent."""
        if not self._ready("_jac_version"):
            return placeholder("Jacobian directions (press the button)", 620, 300)

        def fn():
            j = self._jacobian()
            base = j["base"][None].expand(j["plus"].shape[0], -1, -1, -1)
            diff = (j["plus"] - j["minus"])
            scale = float(diff.abs().max()) or 1.0
            lo, hi = self._range
            shown = lo + (diff / scale + 1) / 2 * (hi - lo)      # the difference, 0 at mid-grey
            grid = torch.stack([j["minus"], base, j["plus"], shown], dim=1)
            grid = vz.image_grid(grid, title=f"each row: z − {j['eps']:.0f}v, z, z + {j['eps']:.0f}v, difference",
                                 width=440, row_labels=[f"v{i + 1}" for i in range(grid.shape[0])], lo=lo, hi=hi)
            hist = np.asarray(j["info"]["history"])
            conv = vz.curves({f"s{i + 1}": hist[:, i] for i in range(hist.shape[1])}, title="power iteration",
                             xlabel="power iteration", ylabel="singular value of ∂G/∂z (pixels per unit z)", width=340)
            return (grid + conv).opts(shared_axes=False)
        return self._guard(fn, "Jacobian", width=620, height=300)

    # ------------------------------------------------------------------ h-space views
    def _h_guard(self, fn, title, width=420, height=260):
        if not self._ready("_h_version"):
            return placeholder(f"{title} (open this tab to sample digits)", width, height)
        return self._guard(fn, title, width=width, height=height)

    @param.depends("_h_version")
    def digit_markdown(self):
        """The h-space tab's numbers in words (class changes, step lengths)."""
        if not self._ready("_h_version") or "hspace" in self._errors:
            return ""
        with self._lock:
            try:
                d = self._digit()
            except Exception:
                return ""
        active = [f"{h} = {getattr(self, h):+.2f}σ" for h in _H_SLIDERS if getattr(self, h)]
        if self.h_random:
            active.append(f"random = {self.h_random:+.2f} × " +
                          ("PC 1's σ" if self.h_random_length == "pc1" else "its own σ"))
        return (f"digit seed {self.digit_seed} · edits: {', '.join(active) or 'none'} · classified "
                f"{d['classes'][0]} → {d['classes'][1]} · RMS image change {d['change']:.4f} · "
                f"mean ‖Δh_t‖ {d['delta_norm']:.2f}")

    @param.depends("_h_version")
    def view_digit(self):
        """The digit before and after the h-space edit."""
        def fn():
            d = self._digit()
            return vz.image_grid(torch.stack([d["base"], d["edited"]]), title="digit | h-edited", width=300, scale=4)
        return self._h_guard(fn, "digit", 300, 170)

    @param.depends("_h_version")
    def view_h_variance(self):
        """Share of h's variance along PCs 1–3 at each DDIM step."""
        def fn():
            H = self._capture()["h"]
            pca = ld.hspace_pca(H, k=3, mode="per_timestep")
            r = pca["explained_ratio"].numpy()
            ts = np.arange(r.shape[0])
            return vz.curves({f"PC{i + 1}": r[:, i] for i in range(3)}, x=ts,
                             title="explained variance per DDIM step (0 = noisiest)", xlabel="DDIM step (0 = noisiest)",
                             ylabel="explained variance ratio (of the step's total)", width=440)
        return self._h_guard(fn, "explained variance")

    @param.depends("_h_version")
    def view_class_scores(self):
        """Mean score on PCs 1–3 (in σ) of the samples of each digit class."""
        def fn():
            cap, pca = self._capture(), self._hpca()
            scores = pca["scores"].numpy() / pca["sigmas"][pca["sigmas"].shape[0] // 2].numpy()[None]
            labels = cap["labels"]
            table = np.array([scores[labels == c].mean(0) if (labels == c).any() else np.zeros(3) for c in range(10)])
            return vz.grouped_bars(table, range(10), ["PC1", "PC2", "PC3"], ylabel="mean score (σ)",
                                   title="per-class mean PC scores (PC1 ≈ identity?)", width=560)
        return self._h_guard(fn, "class scores", 560, 260)

    @param.depends("_h_version")
    def supervised_markdown(self):
        """The supervised direction's numbers in words."""
        if not self._ready("_h_version") or "hspace" in self._errors:
            return ""
        with self._lock:
            try:
                e = self._supervised_edit()
                acc = self._capture()["classifier_accuracy"]
            except Exception:
                return ""
        a, b = int(self.source_digit), int(self.target_digit)
        return (f"**{a} → {b}** (λ = {self.edit_strength:.1f}, steps {self.window_start}–{self.window_end}): "
                f"classified as {b}: {100 * e['hit_plain']:.0f} % plain, {100 * e['hit_proj']:.0f} % with "
                f"{self.remove} removed · mean |Δ{self.remove}|: {e['attr_plain']:.3f} plain, "
                f"{e['attr_proj']:.3f} projected · classifier held-out accuracy {100 * acc:.1f} %")

    @param.depends("_h_version")
    def view_supervised(self):
        """Digits moved along the supervised direction, with and without slant projected out."""
        def fn():
            e = self._supervised_edit()
            grid = torch.stack([e["base"], e["plain"], e["projected"]])
            return vz.image_grid(grid, title=f"rows: samples of {self.source_digit} | edited | edited, "
                                             f"{self.remove} projected out", width=420, scale=2,
                                 row_labels=["a", "→b", "→b ⊥"])
        return self._h_guard(fn, "supervised edit", 420, 220)

    # ------------------------------------------------------------------ dashboard
    def controls(self):
        p = self.param
        sw = {"sizing_mode": "stretch_width"}
        sliders = [pn.widgets.FloatSlider.from_param(getattr(p, c), css_classes=[f"{c}-slider"], **sw)
                   for c in _SLIDERS]

        def show(*_):
            for i, s in enumerate(sliders):
                s.visible = i < int(self.k)
        self.param.watch(show, "k")
        show()
        jac = pn.widgets.Button(label="directions for this image", color="primary", css_classes=["ld-jac-button"],
                                **sw)
        jac.on_click(lambda *_: self.compute_jacobian())
        rand = pn.widgets.FloatSlider.from_param(p.c_random, css_classes=["c_random-slider"], **sw)
        h_sliders = [pn.widgets.FloatSlider.from_param(getattr(p, h), css_classes=[f"{h}-slider"], **sw)
                     for h in _H_SLIDERS]
        return pn.Column(
            pn.pane.Markdown("### Face GAN"),
            pn.widgets.RadioButtonGroup.from_param(p.method, css_classes=["w-method"], **sw),
            pn.widgets.Checkbox.from_param(p.sefa_normalize, css_classes=["w-sefa-normalize"], **sw),
            self.int_input("seed", "latent seed"), self.int_input("k", "components k"),
            *sliders, rand,
            pn.widgets.FloatSlider.from_param(p.strip_alpha, name="grid ±α (σ)", **sw),
            self.int_input("n_samples", "GANSpace samples"), jac,
            pn.pane.Markdown("### Digits h-space"),
            self.int_input("digit_seed", "digit seed"),
            pn.widgets.RadioButtonGroup.from_param(p.h_mode, **sw), *h_sliders,
            pn.widgets.FloatSlider.from_param(p.h_random, css_classes=["h_random-slider"], **sw),
            pn.widgets.RadioButtonGroup.from_param(p.h_random_length, css_classes=["w-h-random-length"], **sw),
            self.int_input("window_start", "edit from step"), self.int_input("window_end", "… to step"),
            self.int_input("source_digit", "digit a"), self.int_input("target_digit", "digit b"),
            pn.widgets.FloatSlider.from_param(p.edit_strength, **sw),
            pn.widgets.RadioButtonGroup.from_param(p.remove, **sw),
            self.int_input("n_h_samples", "samples for PCA"), **sw)

    def main(self):
        sw = {"sizing_mode": "stretch_width"}
        face_tab = pn.Column(
            pn.pane.Markdown(self.face_markdown, css_classes=["ld-face-metrics"], **sw),
            pn.Row(pn.pane.HoloViews(self.view_face, linked_axes=False),
                   pn.pane.HoloViews(self.view_spectrum, linked_axes=False)),
            pn.pane.HoloViews(self.view_strip, linked_axes=False), **sw)
        jac_tab = pn.Column(pn.pane.Markdown(self.jacobian_markdown, css_classes=["ld-jac-metrics"], **sw),
                            pn.pane.HoloViews(self.view_jacobian, linked_axes=False), **sw)
        h_tab = pn.Column(
            *([pn.pane.Markdown("**This tab uses the shipped digits diffusion model, not your generator** (h-space "
                                "needs a diffusion model's bottleneck).", css_classes=["ld-h-not-yours"], **sw)]
              if self._user is not None else []),
            pn.pane.Markdown(
                "A small U-Net trained here on scikit-learn's digits; **h** is its bottleneck at each of 25 DDIM "
                "steps. The PC sliders add Δh = α σ v at the steps of the window; the random control adds a "
                "random unit direction at PC 1's step length (equal ‖Δh‖, a fair comparison) or at its own σ "
                "(about a twelfth as long); the supervised edit moves samples of digit a toward b's mean h, "
                "with and without the attribute's direction projected out.",
                **sw),
            pn.pane.Markdown(self.digit_markdown, css_classes=["ld-digit-metrics"], **sw),
            pn.Row(pn.pane.HoloViews(self.view_digit, linked_axes=False),
                   pn.pane.HoloViews(self.view_h_variance, linked_axes=False)),
            pn.pane.HoloViews(self.view_class_scores, linked_axes=False),
            pn.pane.Markdown(self.supervised_markdown, css_classes=["ld-sup-metrics"], **sw),
            pn.pane.HoloViews(self.view_supervised, linked_axes=False), **sw)
        tabs = pn.Tabs(("Face sliders", face_tab), ("Directions for this image", jac_tab), ("Digits h-space", h_tab),
                       dynamic=True, **sw)

        def activate(event):
            self.view = ("sliders", "jacobian", "hspace")[event.new]
            if event.new == 1 and not self.jacobian_on:
                self.compute_jacobian()
            if event.new == 2 and not self.hspace:
                self.open_hspace()
        tabs.param.watch(activate, "active")
        return tabs
