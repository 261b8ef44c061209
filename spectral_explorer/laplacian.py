"""Graph Laplacians: combinatorial, symmetric-normalized and random-walk.

===================  ==============================  =====================================
``kind``             matrix                          spectrum
===================  ==============================  =====================================
``"combinatorial"``  ``L = D − W``                   ``[0, 2·max degree]``
``"normalized"``     ``L = I − D^{-½} W D^{-½}``     ``[0, 2]``, symmetric
``"random_walk"``    ``L = I − D^{-1} W``            same eigenvalues as ``"normalized"``
===================  ==============================  =====================================
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._validation import check_choice, check_square_sparse, check_symmetric

__all__ = ["laplacian", "LAPLACIAN_KINDS", "degrees"]

LAPLACIAN_KINDS = ("combinatorial", "normalized", "random_walk")


def degrees(W) -> np.ndarray:
    """Weighted degrees (row sums) of an affinity matrix."""
    return np.asarray(W.sum(axis=1)).ravel()


def laplacian(W, kind: str = "normalized") -> sp.csr_matrix:
    """The Laplacian of a symmetric, non-negative affinity matrix ``W``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> W = sp.csr_matrix(np.array([[0, 1.0], [1.0, 0]]))
    >>> laplacian(W, "combinatorial").toarray()
    array([[ 1., -1.],
           [-1.,  1.]])
    """
    check_choice(kind, "kind", LAPLACIAN_KINDS)
    W = check_square_sparse(W, "W")
    if W.nnz and W.data.min() < 0:
        raise ValueError("W must have non-negative weights; found negative entries")
    check_symmetric(W, "W", tol=1e-10, why=" (undirected graph)", hint="; symmetrize it first, e.g. (W + W.T) / 2")
    n = W.shape[0]
    d = degrees(W)
    if kind == "combinatorial":
        return (sp.diags(d) - W).tocsr()
    if (d <= 0).any():
        raise ValueError(
            f"the graph has {(d <= 0).sum()} isolated node(s) (zero degree); the {kind} Laplacian is undefined there"
        )
    if kind == "normalized":
        s = sp.diags(1.0 / np.sqrt(d))
        L = sp.eye(n, format="csr") - s @ W @ s
        return ((L + L.T) * 0.5).tocsr()
    return (sp.eye(n, format="csr") - sp.diags(1.0 / d) @ W).tocsr()
