"""Interpretable directions in a generator's latent space, found by spectral means.

* **SeFa** (Shen & Zhou, CVPR 2021): the first layer that reads the latent code is an affine
  map ``y = A z + b``; the directions ``n`` that change its output most, ``max ‖A n‖²`` with
  ``‖n‖ = 1``, are the top eigenvectors of ``AᵀA`` (:func:`sefa_directions`).  A closed form, no
  sampling.
* **GANSpace** (Härkönen et al., NeurIPS 2020): PCA of a layer's activations over sampled
  latents; when the layer is not the latent itself, each principal component is mapped back
  to latent space by least squares, and edits are measured in σ units, the standard deviation
  of the component's score (:func:`ganspace_directions`).  The PCA streams: samples are drawn
  batch by batch from a seed and redrawn on every pass of a randomized subspace iteration, so
  N = 100k samples of an 8192-d layer need memory for a batch and a D × (k + p) block only.
* **Jacobian directions** (the image-specific directions of Haas et al., FG 2024): the top
  right singular vectors of ``∂fn/∂x`` at one point, by subspace power iteration on ``JᵀJ``
  with batched ``torch.func`` jvp/vjp, and the exact SVD of the full Jacobian for small sizes
  (:func:`jacobian_directions`).
* **h-space** of a diffusion model (:mod:`spectral_explorer.digits_diffusion`): bottleneck
  capture along DDIM trajectories, PCA per timestep and over whole trajectories, supervised
  directions from labelled samples and the projection that removes a second attribute's
  direction.

SeFa is an eigendecomposition of AᵀA and GANSpace is a PCA, an eigendecomposition of a
covariance: both project onto eigenspaces, the thread through the whole project.
All functions are pure torch and run on the tensors' device.
"""

from __future__ import annotations

import numpy as np
import torch

from ._validation import check_float, check_int
from .eigen import fix_signs
from .progress import checkpoint

__all__ = [
    "sefa_directions",
    "streaming_pca",
    "ganspace_directions",
    "GANSpaceResult",
    "jacobian_directions",
    "traversal_latents",
    "traversal_strip",
    "random_directions",
    "image_change_per_unit",
    "hspace_capture",
    "hspace_pca",
    "hspace_edit",
    "eps_h_jacobian",
    "supervised_direction",
    "remove_direction",
    "align_signs",
]


def _as_float_tensor(x, name: str, ndim: int | None = None) -> torch.Tensor:
    """``x`` as a floating-point tensor of ``ndim`` dimensions (finiteness is the caller's check)."""
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(np.asarray(x, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a numeric array or tensor: {exc}") from exc
    if not x.is_floating_point():
        x = x.double()
    if ndim is not None and x.dim() != ndim:
        raise ValueError(f"{name} must be {ndim}-D; got shape {tuple(x.shape)}")
    return x


# ----------------------------------------------------------------------------- SeFa
def sefa_directions(weight, k: int = 5, normalize: bool = True):
    """Closed-form latent directions of a weight that maps latents to features.

    Parameters
    ----------
    weight : (features, latent_dim) matrix ``A`` (for a ConvTranspose reading a (B, nz, 1, 1)
        latent: ``W.reshape(nz, -1).T``).
    k : number of directions, ``1 <= k <= latent_dim``.
    normalize : divide each row of ``A`` by its norm first, as the reference implementation does.

    Returns
    -------
    directions : (k, latent_dim), orthonormal rows, the eigenvectors of ``AᵀA`` with the largest
        eigenvalues, each with its largest-magnitude entry positive.
    eigenvalues : (k,), descending.

    >>> import torch
    >>> A = torch.tensor([[3.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> d, ev = sefa_directions(A, k=2, normalize=False)
    >>> d.tolist(), ev.tolist()
    ([[1.0, 0.0], [0.0, 1.0]], [9.0, 2.0])
    """
    A = _as_float_tensor(weight, "weight", ndim=2)   # finiteness is checked on AᵀA below (cheaper)
    k = check_int(k, "k", 1, A.shape[1])
    dtype = A.dtype
    A = A.detach().double()
    if normalize:
        sq = (A * A).sum(1)
        if (sq == 0).any():
            raise ValueError(f"weight has {int((sq == 0).sum())} all-zero row(s); cannot normalise them "
                             "(pass normalize=False)")
        A = A * sq.rsqrt()[:, None]
    M = A.T @ A
    if not torch.isfinite(M).all():
        raise ValueError("weight contains NaN or infinite values")
    evals, evecs = torch.linalg.eigh(M)
    order = torch.argsort(evals, descending=True)[:k]
    V = fix_signs(evecs[:, order])
    out_dtype = dtype if dtype in (torch.float32, torch.float64) else torch.float32
    return V.T.contiguous().to(out_dtype), evals[order].to(out_dtype)


# ----------------------------------------------------------------------------- GANSpace
def streaming_pca(batches, n_batches: int, k: int = 10, oversample: int = 10, n_iter: int = 2,
                  seed: int = 0, targets=None, progress=None, cancel=None) -> dict:
    """Top-``k`` principal components of a data stream that can be replayed, in O(D·(k+p)) memory.

    ``batches(i)`` must return the same (b_i, D) tensor every time it is called for batch ``i``
    (draw it from a seed).  Randomized subspace iteration on the covariance ``C`` with a block
    of ``k + oversample`` vectors: each pass computes ``C Q = (1/N) Σ Yᵢᵀ (Yᵢ Q) − μ (μᵀ Q)``
    exactly without centring; after ``n_iter`` passes a final pass does the Rayleigh–Ritz step.
    The mean and total variance are accumulated on the first pass.

    ``targets(i)`` (optional, (b_i, T)) are regressed on the component scores in the final pass
    at no extra cost: ``coef`` (k, T) minimises ``Σ ‖x coef − t‖²`` with ``x = (y − μ) V`` — the
    scores are uncorrelated, so ``coef_j = Σ x_j t / (N λ_j)``.

    Returns a dict with ``components`` (k, D) orthonormal rows (signs fixed), ``variances`` (k,)
    (eigenvalues of C, the squared σ of each component's score), ``mean`` (D,), ``total_variance``
    (trace of C), ``n_samples``, ``residuals`` (‖C v − λ v‖ / λ per component), ``history``
    (top-k Ritz values after each pass) and, with ``targets``, ``coef``.
    """
    n_batches = check_int(n_batches, "n_batches", 1)
    n_iter = check_int(n_iter, "n_iter", 1, 50)
    first = batches(0)
    if first.dim() != 2:
        raise ValueError(f"batches(i) must return a 2-D (batch, features) tensor; got shape {tuple(first.shape)}")
    D = first.shape[1]
    k = check_int(k, "k", 1, D)
    dev = first.device
    work = first.dtype if first.is_floating_point() else torch.float32
    # accumulators and the small (D, k + p) algebra in float64 on every device: they cost O(D·l)
    # next to the O(N·D·l) products (which run in the data's dtype), and the total variance
    # sq/N − ‖μ‖² cancels badly in float32 when the mean is large
    acc = torch.float64
    l = min(D, k + check_int(oversample, "oversample", 0))
    g = torch.Generator().manual_seed(int(seed))
    Q = torch.linalg.qr(torch.randn((D, l), generator=g, dtype=torch.float64).to(dev, acc))[0]
    mean = total = None
    history = []
    passes = n_iter + 1
    for it in range(passes):
        last = it == passes - 1
        Qw = Q.to(work)
        Z = torch.zeros((D, l), device=dev, dtype=acc)
        if mean is None:
            s = torch.zeros(D, device=dev, dtype=acc)
            sq = torch.zeros((), device=dev, dtype=acc)
        if last and targets is not None:
            P = sT = None
            sYQ = torch.zeros(l, device=dev, dtype=acc)
        n = 0
        for i in range(n_batches):
            Y = batches(i).to(work)
            YQ = Y @ Qw
            Z += (Y.T @ YQ).to(acc)
            if mean is None:
                s += Y.sum(0).to(acc)
                sq += (Y * Y).sum().to(acc)
            if last and targets is not None:
                T = targets(i).to(dev, acc)
                YQa = YQ.to(acc)
                P = YQa.T @ T if P is None else P + YQa.T @ T
                sT = T.sum(0) if sT is None else sT + T.sum(0)
                sYQ += YQa.sum(0)
            n += Y.shape[0]
            checkpoint(cancel, progress, (it * n_batches + i + 1) / (passes * n_batches),
                       f"PCA pass {it + 1}/{passes}, batch {i + 1}/{n_batches}")
        if mean is None:
            mean = s / n
            total = float(sq / n - mean @ mean)
        muQ = mean @ Q
        CQ = Z / n - mean[:, None] * muQ[None, :]
        B = Q.T @ CQ
        evals, W = torch.linalg.eigh((B + B.T) / 2)
        order = torch.argsort(evals, descending=True)
        evals, W = evals[order], W[:, order]
        history.append(evals[:k].cpu().tolist())
        if not last:
            Q = torch.linalg.qr(CQ @ W)[0]
    V = Q @ W[:, :k]
    resid = ((CQ @ W[:, :k]) - V * evals[:k]).norm(dim=0) / evals[:k].abs().clamp_min(1e-30)
    Vf = fix_signs(V)
    flip = torch.sign((Vf * V).sum(0))
    out = {"components": Vf.T.contiguous(), "variances": evals[:k].clamp_min(0), "mean": mean,
           "total_variance": total, "n_samples": n, "residuals": resid.cpu().tolist(), "history": history}
    if targets is not None:
        # Σ (YQ − μQ)ᵀ T, rotated into the Ritz basis; each score x_j has Σ x_j² = N λ_j
        XT = W[:, :k].T @ (P - muQ[:, None] * sT[None, :])
        out["coef"] = (XT / (n * evals[:k].clamp_min(1e-30))[:, None]) * flip[:, None]
    return out


class GANSpaceResult(dict):
    """GANSpace components: a dict with ``directions`` (k, latent_dim), ``sigmas`` (k,) — the σ of
    each component's score — ``explained_variance`` (k,), ``explained_ratio`` (k,),
    ``components`` (k, D) in feature space, ``mean`` (D,), ``residuals``, ``history``.
    Attribute access works too (``res.directions``)."""

    __getattr__ = dict.__getitem__


def ganspace_directions(features, n_samples: int = 20000, k: int = 10, latent_dim: int = 100, seed: int = 0,
                        batch_size: int = 500, n_iter: int = 2, oversample: int = 20, device=None,
                        progress=None, cancel=None) -> GANSpaceResult:
    """GANSpace: PCA of ``features(z)`` over ``n_samples`` standard normal latents, mapped back to z.

    Parameters
    ----------
    features : callable taking latents (b, latent_dim) and returning activations (b, D); ``None``
        means the latent itself (then the PCs are latent directions already).
    n_samples, batch_size, seed : the latents are drawn batch by batch from ``seed`` (on the CPU),
        so every pass sees the same samples and the result does not depend on the device.
    k, n_iter, oversample : see :func:`streaming_pca` (``n_iter + 1`` passes over the samples).

    The latent direction ``u_j`` of component ``j`` is the least-squares map from PC scores to
    latents, ``U = argmin Σ ‖x U − z‖²`` with ``x = (f(z) − μ) V`` (accumulated in the last
    pass); an edit of ``α`` σ units is ``z + α σ_j u_j``.  For a linear ``f(z) = A z`` with SVD
    ``A = P S Rᵀ``, ``σ_j u_j = r_j``.

    Returns a :class:`GANSpaceResult`.
    """
    from .device import resolve_device

    n_samples = check_int(n_samples, "n_samples", 2)
    batch_size = check_int(batch_size, "batch_size", 1)
    latent_dim = check_int(latent_dim, "latent_dim", 1)
    dev = resolve_device(device)
    n_batches = -(-n_samples // batch_size)
    sizes = [min(batch_size, n_samples - i * batch_size) for i in range(n_batches)]
    cache: dict[int, torch.Tensor] = {}

    def latents(i):
        if i not in cache:  # one batch of latents kept: features and targets of batch i share it
            cache.clear()
            g = torch.Generator().manual_seed(int(seed) * 100003 + i)
            cache[i] = torch.randn((sizes[i], latent_dim), generator=g).to(dev)
        return cache[i]

    f = (lambda z: z) if features is None else features

    @torch.no_grad()
    def batch(i):
        return f(latents(i)).reshape(sizes[i], -1)

    pca = streaming_pca(batch, n_batches, k=k, oversample=oversample, n_iter=n_iter, seed=seed,
                        targets=None if features is None else latents, progress=progress, cancel=cancel)
    V, lam = pca["components"], pca["variances"]
    U = V.clone() if features is None else pca["coef"]  # rows: latent change per unit PC score
    return GANSpaceResult(directions=U, sigmas=lam.sqrt(), explained_variance=lam,
                          explained_ratio=lam / pca["total_variance"], components=V, mean=pca["mean"],
                          total_variance=pca["total_variance"], residuals=pca["residuals"],
                          history=pca["history"], n_samples=pca["n_samples"])


# ----------------------------------------------------------------------------- Jacobian
def jacobian_directions(fn, x, k: int = 3, n_iter: int = 50, tol: float = 1e-4, method: str = "power",
                        oversample: int = 2, seed: int = 0, return_info: bool = False):
    """Top-``k`` right singular vectors of the Jacobian ``J = ∂fn/∂x`` at ``x``.

    Parameters
    ----------
    fn : a differentiable function of one tensor (shape of ``x``) returning a tensor.
    x : the point (any shape); directions are returned flattened, (k, x.numel()).
    method : ``"power"`` — subspace power iteration on ``JᵀJ`` with a block of ``k + oversample``
        vectors: one batched jvp and one batched vjp (``torch.func.vmap``) per iteration, a QR,
        and a Rayleigh–Ritz step (SVD of the small ``J Q``); stops when each of the top-``k``
        singular values changes by less than ``tol`` (relative) between iterations, or after
        ``n_iter`` iterations.  ``"exact"`` — the full Jacobian (``jacfwd`` or ``jacrev``,
        whichever side is smaller) and its SVD; for small sizes.
    return_info : also return a dict with ``iterations``, ``converged``, ``history`` (singular
        values per iteration), ``rel_change`` (last relative change) and ``residuals``
        (‖JᵀJ v − s² v‖ / s² per direction).

    Returns ``(directions (k, n), singular_values (k,))`` (+ ``info``); each direction has its
    largest-magnitude entry positive.
    """
    from torch.func import jacfwd, jacrev, jvp, vjp, vmap

    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    x = x.detach()
    nx = x.numel()
    k = check_int(k, "k", 1, nx)
    n_iter = check_int(n_iter, "n_iter", 1)
    tol = check_float(tol, "tol", 0.0)
    if method not in ("power", "exact"):
        raise ValueError(f"method must be 'power' or 'exact'; got {method!r}")

    def flat_fn(v):
        return fn(v.reshape(x.shape)).reshape(-1)

    xf = x.reshape(-1)
    if method == "exact":
        m = flat_fn(xf).numel()
        J = (jacfwd if nx <= m else jacrev)(flat_fn)(xf).detach()
        k = min(k, min(J.shape))
        _, S, Vh = torch.linalg.svd(J, full_matrices=False)
        V = fix_signs(Vh[:k].T)
        info = {"iterations": 0, "converged": True, "history": [S[:k].tolist()], "rel_change": 0.0,
                "residuals": [0.0] * k, "method": "exact"}
        return (V.T.contiguous(), S[:k], info) if return_info else (V.T.contiguous(), S[:k])

    out, vjp_fn = vjp(flat_fn, xf)             # the graph is kept: one vjp per iteration reuses it
    k = min(k, out.numel())
    b = min(nx, out.numel(), k + check_int(oversample, "oversample", 0))
    jvp_b = vmap(lambda v: jvp(flat_fn, (xf,), (v,))[1])   # (b, n) -> (b, m)
    vjp_b = vmap(lambda u: vjp_fn(u)[0])                    # (b, m) -> (b, n)
    g = torch.Generator().manual_seed(int(seed))
    Q = torch.linalg.qr(torch.randn((nx, b), generator=g, dtype=torch.float64).to(x.device, x.dtype))[0]
    history, prev, rel, converged, it = [], None, float("inf"), False, 0
    for it in range(1, n_iter + 1):
        JQ = jvp_b(Q.T.contiguous()).detach()  # (b, m): rows J q_i (detached: G's parameters may need grad)
        _, S, Wh = torch.linalg.svd(JQ.T, full_matrices=False)  # Rayleigh–Ritz in span(Q)
        history.append(S[:k].tolist())
        if prev is not None:
            rel = float(((S[:k] - prev).abs() / S[:k].abs().clamp_min(1e-30)).max())
            if rel < tol:
                converged = True
                break
        prev = S[:k]
        if it == n_iter:
            break
        Z = vjp_b(JQ).detach()                # (b, n): rows Jᵀ J q_i
        Q = torch.linalg.qr(Z.T)[0]
    S, Wh = S[:k], Wh[:k]
    V = Q @ Wh.T                              # Ritz vectors, descending singular values
    JV = JQ.T @ Wh.T                          # (m, k) = J V
    JtJV = vjp_b(JV.T.contiguous()).detach().T
    resid = ((JtJV - V * S ** 2).norm(dim=0) / (S ** 2).clamp_min(1e-30)).tolist()
    V = fix_signs(V)
    info = {"iterations": it, "converged": converged, "history": history, "rel_change": rel,
            "residuals": resid, "method": "power"}
    return (V.T.contiguous(), S, info) if return_info else (V.T.contiguous(), S)


# ----------------------------------------------------------------------------- traversals
def traversal_latents(z, directions, alphas, sigmas=None) -> torch.Tensor:
    """Latents ``z + α σ_j d_j`` for every direction j and every α: shape (k, len(alphas), dim).

    ``z`` (dim,); ``directions`` (k, dim); ``sigmas`` (k,) (σ units; ``None`` = 1).
    """
    z = torch.as_tensor(z)
    D = torch.as_tensor(directions).to(z.device, z.dtype)
    if z.dim() != 1 or D.dim() != 2 or D.shape[1] != z.shape[0]:
        raise ValueError(f"z must be (dim,) and directions (k, dim); got {tuple(z.shape)} and {tuple(D.shape)}")
    a = torch.as_tensor(alphas, dtype=z.dtype, device=z.device).reshape(-1)
    s = torch.ones(D.shape[0], dtype=z.dtype, device=z.device) if sigmas is None else \
        torch.as_tensor(sigmas).to(z.device, z.dtype).reshape(-1)
    if s.shape[0] != D.shape[0]:
        raise ValueError(f"sigmas must have one entry per direction ({D.shape[0]}); got {s.shape[0]}")
    return z[None, None] + a[None, :, None] * (s[:, None] * D)[:, None, :]


@torch.no_grad()
def traversal_strip(generator, z, directions, alphas, sigmas=None) -> torch.Tensor:
    """Images of :func:`traversal_latents` rendered in one batch: ``(k, len(alphas), *image_shape)``."""
    L = traversal_latents(z, directions, alphas, sigmas)
    k, a, d = L.shape
    imgs = generator(L.reshape(k * a, d).float())
    return imgs.reshape(k, a, *imgs.shape[1:])


def random_directions(k: int, dim: int, seed: int = 0, device=None, dtype=torch.float32) -> torch.Tensor:
    """``k`` random unit vectors (k, dim) drawn from ``seed`` (isotropic, on the CPU first)."""
    g = torch.Generator().manual_seed(int(seed))
    R = torch.randn((check_int(k, "k", 1), check_int(dim, "dim", 1)), generator=g, dtype=torch.float64)
    R = R / R.norm(dim=1, keepdim=True)
    return R.to(device=device or "cpu", dtype=dtype)


@torch.no_grad()
def image_change_per_unit(generator, Z, directions, alpha: float = 1.0) -> torch.Tensor:
    """Mean RMS image change per unit α, ‖G(z + α d) − G(z − α d)‖_rms / (2α), averaged over latents
    ``Z`` (n, dim), for each direction (k, dim) as given (not renormalised): shape (k,)."""
    Z = torch.as_tensor(Z)
    D = torch.as_tensor(directions).to(Z.device, Z.dtype)
    out = []
    for d in D:
        a = generator(Z + alpha * d)
        b = generator(Z - alpha * d)
        out.append(((a - b).flatten(1).pow(2).mean(1).sqrt() / (2 * alpha)).mean())
    return torch.stack(out)


# ----------------------------------------------------------------------------- h-space
def hspace_capture(model, n: int = 256, seed: int = 0, n_steps: int = 25, batch_size: int = 128,
                   progress=None, cancel=None) -> dict:
    """Sample ``n`` digits with DDIM and keep the bottleneck at every step.

    Returns ``h`` (n_steps, n, D) (flattened bottlenecks, on the CPU), ``x0`` (n, 1, 16, 16),
    ``x_T`` (n, 1, 16, 16) (the starting noise, to re-run edits) and ``timesteps``.
    Batch ``i`` starts from seed ``seed + i``, so results do not depend on the device.
    """
    from .digits_diffusion import ddim_sample

    n = check_int(n, "n", 1)
    batch_size = check_int(batch_size, "batch_size", 1)
    hs, xs, noise = [], [], []
    nb = -(-n // batch_size)
    for i in range(nb):
        b = min(batch_size, n - i * batch_size)
        g = torch.Generator().manual_seed(int(seed) * 7919 + i)
        xT = torch.randn((b, 1, 16, 16), generator=g)
        out = ddim_sample(model, x_T=xT, n_steps=n_steps, capture_h=True)
        hs.append(out["h"].flatten(2).cpu())
        xs.append(out["x0"].cpu())
        noise.append(xT)
        checkpoint(cancel, progress, (i + 1) / nb, f"sampling batch {i + 1}/{nb}")
    return {"h": torch.cat(hs, dim=1), "x0": torch.cat(xs), "x_T": torch.cat(noise), "timesteps": out["timesteps"]}


def align_signs(V: torch.Tensor) -> torch.Tensor:
    """Flip per-timestep directions (S, k, D) so that each agrees in sign with the previous step's."""
    V = V.clone()
    for s in range(1, V.shape[0]):
        dots = (V[s] * V[s - 1]).sum(-1)
        V[s] *= torch.where(dots < 0, -1.0, 1.0).to(V.dtype)[:, None]
    return V


def hspace_pca(H: torch.Tensor, k: int = 5, mode: str = "per_timestep") -> dict:
    """PCA of captured bottlenecks ``H`` (n_steps, n, D).

    ``mode="per_timestep"``: one PCA per step; ``components`` (S, k, D) with signs aligned along
    the trajectory (the first step's fixed by the largest entry), ``sigmas`` (S, k),
    ``explained_ratio`` (S, k).
    ``mode="trajectory"``: one PCA of whole trajectories (n, S·D); ``components`` reshaped to
    (S, k, D) — one Δh per step for each component — ``sigmas`` (k,) broadcast to (S, k) and
    ``explained_ratio`` (k,).  ``scores`` (n, k) are the samples' component scores (per-timestep
    mode: at the middle step).
    """
    if H.dim() != 3:
        raise ValueError(f"H must be (n_steps, n, D); got shape {tuple(H.shape)}")
    S, n, D = H.shape
    if n < 2:
        raise ValueError(f"hspace_pca needs at least 2 samples; got {n}")
    k = check_int(k, "k", 1, min(n - 1, D))
    Hd = H.double()
    if mode == "per_timestep":
        comps, sig, ratio = [], [], []
        for s in range(S):
            X = Hd[s] - Hd[s].mean(0)
            _, sv, Vh = torch.linalg.svd(X, full_matrices=False)
            var = sv ** 2 / (n - 1)
            comps.append(fix_signs(Vh[:k].T).T)
            sig.append(var[:k].sqrt())
            ratio.append(var[:k] / var.sum())
        V = align_signs(torch.stack(comps))
        mid = S // 2
        scores = (Hd[mid] - Hd[mid].mean(0)) @ V[mid].T
        return {"mode": mode, "components": V.float(), "sigmas": torch.stack(sig).float(),
                "explained_ratio": torch.stack(ratio).float(), "scores": scores.float()}
    if mode == "trajectory":
        X = Hd.permute(1, 0, 2).reshape(n, S * D)
        X = X - X.mean(0)
        _, sv, Vh = torch.linalg.svd(X, full_matrices=False)
        var = sv ** 2 / (n - 1)
        V = fix_signs(Vh[:k].T).T
        scores = X @ V.T
        comps = V.reshape(k, S, D).permute(1, 0, 2)
        # a unit-σ edit moves the whole trajectory's score by σ; per step it is σ times the slice
        sig = var[:k].sqrt()
        return {"mode": mode, "components": comps.float(), "sigmas": sig[None].expand(S, k).float(),
                "explained_ratio": (var[:k] / var.sum()).float(), "scores": scores.float()}
    raise ValueError(f"mode must be 'per_timestep' or 'trajectory'; got {mode!r}")


def hspace_edit(model, x_T: torch.Tensor, delta, n_steps: int = 25, window=None,
                asymmetric: bool = True) -> torch.Tensor:
    """Images from ``x_T`` with the bottleneck edit ``delta`` added: ``delta`` (D,) at every step,
    or (n_steps, D) one edit per step (a trajectory direction); ``window=(first, last)`` limits
    the edit to those steps.  ``asymmetric``: the edited ε̂ predicts x0, the unedited one gives the
    DDIM direction term (Asyrp's asymmetric reverse process; see
    :func:`~spectral_explorer.digits_diffusion.ddim_sample`).  Returns x0 (n, 1, 16, 16)."""
    from .digits_diffusion import ddim_sample

    delta = torch.as_tensor(delta)
    dev = next(model.parameters()).device
    if delta.dim() == 2:
        if delta.shape[0] != n_steps:
            raise ValueError(f"a per-step delta must have n_steps={n_steps} rows; got {tuple(delta.shape)}")
        steps = delta.to(dev, torch.float32)
        return ddim_sample(model, x_T=x_T, n_steps=n_steps, delta_h=lambda i: steps[i], window=window,
                           asymmetric=asymmetric)["x0"]
    return ddim_sample(model, x_T=x_T, n_steps=n_steps, delta_h=delta.to(dev, torch.float32), window=window,
                       asymmetric=asymmetric)["x0"]


def eps_h_jacobian(model, x_T: torch.Tensor, step: int, n_steps: int = 25, k: int = 3, method: str = "power",
                   n_iter: int = 50, tol: float = 1e-5):
    """Image-specific h directions: top-``k`` right singular vectors of ∂ε̂/∂h at DDIM step ``step``
    for the single trajectory from ``x_T`` (1, 1, 16, 16), skips and time embedding held fixed.

    Returns ``(directions (k, D), singular_values (k,), info)`` (see :func:`jacobian_directions`).
    """
    from .digits_diffusion import ddim_sample

    n_steps = check_int(n_steps, "n_steps", 1)
    step = check_int(step, "step", 0, n_steps - 1)
    if x_T.shape[0] != 1:
        raise ValueError(f"x_T must hold one image (1, 1, 16, 16); got {tuple(x_T.shape)}")
    dev = next(model.parameters()).device
    out = ddim_sample(model, x_T=x_T.to(dev), n_steps=n_steps, stop_at=step)
    tt = torch.full((1,), out["t"], device=dev, dtype=torch.long)
    with torch.no_grad():
        h, skips, temb = model.encode(out["x_t"], tt)

    def fn(hh):
        return model.decode(hh[None], skips, temb)[0]

    return jacobian_directions(fn, h[0], k=k, n_iter=n_iter, tol=tol, method=method, return_info=True)


def supervised_direction(H: torch.Tensor, labels, a, b) -> torch.Tensor:
    """Per-step mean difference ``mean(h | label == b) − mean(h | label == a)``: (n_steps, D).

    ``H`` (n_steps, n, D); ``labels`` (n,) class labels (or booleans for b when ``a``/``b`` are
    ``False``/``True``).  Adding the result at every step moves a class-a trajectory toward b's mean.
    """
    lab = torch.as_tensor(np.asarray(labels))
    ma, mb = lab == a, lab == b
    if int(ma.sum()) == 0 or int(mb.sum()) == 0:
        raise ValueError(f"need samples of both classes: {int(ma.sum())} labelled {a!r}, {int(mb.sum())} labelled {b!r}")
    return H[:, mb].double().mean(1).float() - H[:, ma].double().mean(1).float()


def remove_direction(d: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """``d`` with its component along ``other`` removed, per row (step): ``d − (d·ô) ô``."""
    d = torch.as_tensor(d)
    o = torch.as_tensor(other).to(d.dtype)
    o = o / o.norm(dim=-1, keepdim=True).clamp_min(1e-30)
    return d - (d * o).sum(-1, keepdim=True) * o
