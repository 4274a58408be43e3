"""How far f32 rounding turns the eigenvectors the fourier/spline filters use.

    python benches/f32_eigen_rounding.py datasets/mnist/features.npy

For three random MNIST batches of 128 rows and a PyTorch-initialised first layer
(h = 768), builds Z = GELU(X W1ᵀ + b1) in f32, then Â = D^-1/2 (Z Zᵀ/n + 1) D^-1/2 three ways:
all in f64 from an f64 Z (the reference), in f64 from the f32 Z (what hagcn computes), and
all in f32 (what an f32 model would compute). It prints the worst angle between the k = 18
smallest eigenvectors of each and the reference's. The measurement behind the f64 eigen path
(docs/ARCHITECTURE.md, hagcn-autodiff `gram_eigen.rs`): 3e-6 to 5e-6 rad for the f32 Z against
2e-3 to 4e-3 rad for an f32 Â.
"""

import sys

import numpy as np
from scipy.special import erf


def gelu(x):
    return 0.5 * x * (1 + erf(x / np.sqrt(2)))


def normalized(a):
    d = 1 / np.sqrt(a.sum(1))
    return d[:, None] * a * d[None, :]


def smallest(a, k):
    values, vectors = np.linalg.eigh((a + a.T) / 2)
    return values[:k], vectors[:, :k]


def worst_angle(u, v):
    return float(np.arccos(min(1.0, np.abs(np.sum(u * v, 0)).min())))


def main():
    x_all = np.load(sys.argv[1]).astype(np.float64)
    rng = np.random.default_rng(0)
    n, d, h, k = 128, x_all.shape[1], 768, 18
    bound = 1 / np.sqrt(d)
    w1, b1 = rng.uniform(-bound, bound, (h, d)), rng.uniform(-bound, bound, h)
    for trial in range(3):
        x = x_all[rng.choice(len(x_all), n, replace=False)]
        z64 = gelu(x @ w1.T + b1)
        z32 = gelu((x.astype(np.float32) @ w1.T.astype(np.float32) + b1.astype(np.float32)).astype(np.float64)).astype(np.float32)
        lam, u_ref = smallest(normalized(z64 @ z64.T / n + 1), k)
        z = z32.astype(np.float64)
        _, u_f32_z = smallest(normalized(z @ z.T / n + 1), k)
        s32 = (z32 @ z32.T) / np.float32(n)
        _, u_f32_all = smallest(normalized(s32 + np.float32(1)).astype(np.float64), k)
        gaps = np.diff(lam).min()
        print(
            f"batch {trial}: λ_1..λ_{k} = {lam[0]:.2e}..{lam[-1]:.2e}, min gap {gaps:.2e}; "
            f"worst angle: f32 Z, f64 Â {worst_angle(u_ref, u_f32_z):.1e} rad; "
            f"f32 Â {worst_angle(u_ref, u_f32_all):.1e} rad"
        )


if __name__ == "__main__":
    main()
