"""spectral_explorer: visualizable spectral algorithms for teaching and research.

The compute layer (this package's top-level modules) is pure torch/scipy/numpy and never
imports a UI library; ``spectral_explorer.viz`` and ``spectral_explorer.explorers`` add
HoloViews views and param-based explorers on top.
"""

from . import data, metrics
from .device import default_device, resolve_device
from .eigenspace import eora_compensation, svd_compensation
from .face_dcgan import face_dcgan
from .householder import HouseholderProjector, householder_frame, rotate_frames
from .heat_geodesic import HeatGeodesicEmbedding, heat_geodesic_distances
from .latent_directions import (eps_h_jacobian, ganspace_directions, hspace_capture, hspace_edit, hspace_pca,
                                jacobian_directions, remove_direction, sefa_directions, streaming_pca,
                                supervised_direction, traversal_strip)
from .positional_encodings import laplacian_pe, random_walk_pe
from .spe import SPE

__version__ = "0.1.0"

__all__ = ["HeatGeodesicEmbedding", "heat_geodesic_distances", "laplacian_pe", "random_walk_pe", "SPE",
           "svd_compensation", "HouseholderProjector", "householder_frame", "rotate_frames", "eora_compensation", "face_dcgan", "sefa_directions", "ganspace_directions",
           "streaming_pca", "jacobian_directions", "traversal_strip", "hspace_capture", "hspace_pca", "hspace_edit",
           "eps_h_jacobian", "supervised_direction", "remove_direction", "data", "metrics", "default_device",
           "resolve_device", "__version__"]
