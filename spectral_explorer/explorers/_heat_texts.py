"""Long texts of the heat-geodesics dashboard (the tabs' explanations)."""

from __future__ import annotations

#: the diffusion times of the small multiples (columns)
MULTIPLE_TS = (2.0, 10.0, 50.0, 200.0)

DISTANCES = ("Each point is a pair (an evaluation point, another point): its ground-truth geodesic "
            "against the heat-geodesic distance (red) and the embedding's distance (blue), each "
            "scaled by its maximum. On the diagonal, the method keeps the manifold's distances; a "
            "monotone curve keeps their ranks (Spearman ρ) but not the shape (Pearson r).")

SPECTRUM = ("The heat kernel applies the filter **exp(−tλ)** to each Laplacian eigenvalue λ. "
            "A Chebyshev series of order K is exact only to ~K terms of exp(−tλ); where the true filter "
            "falls below its error it rings around zero and goes negative. Backward Euler's filter "
            "(1 + tλ/K)^−K decays only polynomially and stays positive — but it is a different kernel: "
            "with K = 1 it is the **resolvent** (I + tL)^−1, whose entries fall off *exponentially* "
            "with distance, not like a Gaussian. Read with the heat law √(−4t log H) it gives distances "
            "that grow like √d at best (right ranks, bent embedding; on the default swiss roll at t = 50, "
            "σ = 0 the log-log slope against the geodesics is 0.28); read with its own law, the screened "
            "Varadhan law √(t/K)·(−log H) (formula 'screened', the default), they grow nearly like d "
            "(on the default swiss roll, n = 1000: slope 0.85 at t = 10 on the alpha-decay graph with one "
            "step; 1.00 at t = 0.2 with two steps on the metric graph, the default).")

NUMERICS = ("Varadhan's formula needs **log H_t** where the kernel is tiny between far points. (On a "
            "manifold it is a small-t law; on a graph small t is the wrong limit — a pair k hops apart gets "
            "heat ≈ t^k/k!, so −4t log H → 0 for every pair — and it holds for distances small against t.) "
            "At small t most true entries of exp(−tL) are far below "
            "double-precision resolution (~1e-16 of the largest entry). The exact eigendecomposition "
            "returns rounding noise there, Chebyshev returns ringing (even negative values, which "
            "must be floored); backward Euler keeps every entry positive and resolvable (its solves "
            "add only nonnegative terms). Spearman ρ below: each kernel read with its own law "
            "(Euler: screened, unless formula says otherwise).")

MULTIPLES = ("The same graph embedded at four diffusion times (columns: t = "
            + ", ".join(f"{t:g}" for t in MULTIPLE_TS) + ") with each kernel (rows: backward Euler with the graph's "
            "steps — 2 on the metric graph, 1 on the alpha-decay graph —, Chebyshev K = 30 (far too few for "
            "the metric graph, whose λ_max is in the hundreds), exact eigendecomposition — n ≤ 2000 only), read with the current formula and σ; "
            "ρ: row-mean Spearman of embedding distances against the true geodesics. Computed when this tab "
            "opens (about ten seconds at n = 1000, once per graph for the whole server).")
