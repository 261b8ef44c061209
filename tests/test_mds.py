import numpy as np
import pytest
from scipy.spatial import procrustes

from spectral_explorer.mds import classical_mds, landmark_mds, smacof, stress


def _dist(X):
    return np.linalg.norm(X[:, None] - X[None], axis=-1)


def test_classical_mds_recovers_configuration(rng):
    X = rng.normal(size=(50, 3)) * [3.0, 2.0, 1.0]
    Y = classical_mds(_dist(X), 3)
    np.testing.assert_allclose(_dist(Y), _dist(X), atol=1e-9)
    _, _, disparity = procrustes(X, Y)
    assert disparity < 1e-12


def test_classical_mds_large_uses_lanczos_and_agrees(rng):
    X = rng.normal(size=(800, 2)) * [5.0, 1.0]
    Y = classical_mds(_dist(X), 2)
    np.testing.assert_allclose(_dist(Y), _dist(X), atol=1e-8)


def test_smacof_does_not_increase_stress(rng):
    X = rng.normal(size=(80, 2))
    D = _dist(X) * np.exp(0.2 * rng.normal(size=(80, 80)))
    D = (D + D.T) / 2
    np.fill_diagonal(D, 0)
    Y0 = classical_mds(D, 2)
    Y = smacof(D, 2, init=Y0, max_iter=200)
    assert stress(D, Y) < stress(D, Y0)


def test_weighted_smacof_decreases_its_weighted_stress_monotonically(rng):
    """Majorization never increases the stress it majorizes: with w = D^-2 every iterate's
    weighted stress is at most the previous one's, and it ends below the unweighted fit's."""
    X = rng.normal(size=(80, 2))
    D = _dist(X) * np.exp(0.2 * rng.normal(size=(80, 80)))
    D = (D + D.T) / 2
    np.fill_diagonal(D, 0)
    W = np.where(D > 0, 1.0 / np.where(D > 0, D, 1.0) ** 2, 0.0)

    def wstress(Y):
        return float((W * (D - _dist(Y)) ** 2).sum())

    Y = classical_mds(D, 2)
    values = [wstress(Y)]
    for _ in range(20):
        Y = smacof(D, 2, init=Y, max_iter=1, weight_power=2.0)
        values.append(wstress(Y))
    assert all(b <= a * (1 + 1e-12) for a, b in zip(values, values[1:])) and values[-1] < values[0]
    assert wstress(Y) < wstress(smacof(D, 2, init=classical_mds(D, 2), max_iter=21))


def test_landmark_mds_exact_on_euclidean_data(rng):
    X = rng.normal(size=(300, 2))
    landmarks = rng.choice(300, 20, replace=False)
    D = _dist(X)[:, landmarks]
    Y = landmark_mds(D, landmarks, 2)
    np.testing.assert_allclose(_dist(Y), _dist(X), atol=1e-8)


def test_mds_errors():
    with pytest.raises(ValueError, match="square"):
        classical_mds(np.ones((3, 4)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        classical_mds(np.array([[0, np.inf], [np.inf, 0]]))
    with pytest.raises(ValueError, match=r"landmarks must have shape \(2,\)"):
        landmark_mds(np.ones((5, 2)), [0, 1, 2])
