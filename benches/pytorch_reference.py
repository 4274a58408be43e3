"""One training step of the PyTorch reference model of HAGCN, timed like `train_step` in
train_step.rs, so the two can be measured side by side on one machine.

    python benches/pytorch_reference.py [--sizes 128 1024] [--threads 2] [--repeats 10]

The model follows shared/spec/HAGCN.md §2-§3 as the reference implementation has it
(including its costs: f32 `torch.linalg.eigh`, the cheby filter's unused eigendecomposition
and its n×n matrix recurrence, the B-spline basis built with Python loops, Lanczos
without reorthogonalisation), d = h = 768, b = 64, k = 18, on the same synthetic batch shape.
Prints `filter n median_ms` lines; a filter that fails (eigh not converging) prints `fails`.
"""

import argparse
import statistics
import time

import torch
import torch.nn as nn


def bspline_basis(x, n_basis, degree=3):
    """Cox-de Boor with Python loops over basis functions, as the reference builds it."""
    lo, hi = x.min(), x.max()
    inner = torch.linspace(0, 1, n_basis - degree + 1, dtype=x.dtype) * (hi - lo) + lo
    knots = torch.cat([lo.repeat(degree), inner, hi.repeat(degree)])
    basis = ((x[:, None] >= knots[None, :-1]) & (x[:, None] < knots[None, 1:])).to(x.dtype)
    for d in range(1, degree + 1):
        columns = []
        for i in range(basis.shape[1] - 1):
            term = torch.zeros_like(x)
            left_den, right_den = knots[i + d] - knots[i], knots[i + d + 1] - knots[i + 1]
            if abs(left_den) > 1e-10:
                term = term + (x - knots[i]) / (left_den + 1e-10) * basis[:, i]
            if abs(right_den) > 1e-10:
                term = term + (knots[i + d + 1] - x) / (right_den + 1e-10) * basis[:, i + 1]
            columns.append(term)
        basis = torch.stack(columns, dim=1)
    basis = basis.clone()
    basis[-1, -1] = 1.0
    return basis


class Machine(nn.Module):
    def __init__(self, task, d=768, h=768, bits=64, k=18):
        super().__init__()
        self.task, self.k = task, k
        self.w1 = nn.Linear(d, h)
        self.w2 = nn.Linear(d, bits)
        if task == "gcn":
            self.w = nn.Linear(h, h)
        elif task in ("fourier", "spline"):
            self.w = nn.Linear(k, k)
        else:
            self.unused = nn.Parameter(torch.zeros(k, h, h))  # the reference's unused weight
        self.layer_norm = nn.LayerNorm(h)
        self.w4 = nn.Linear(h, h)
        self.w5 = nn.Sequential(nn.Linear(h, h), nn.GELU(), nn.Linear(h, d))
        self.gelu = nn.GELU()

    def forward(self, x):
        n = x.shape[0]
        z = self.gelu(self.w1(x))
        s = z @ z.T / n
        hcode = torch.sigmoid(self.w2(x))
        a = s + 1
        dinv = a.sum(1).pow(-0.5)
        a_hat = dinv[:, None] * a * dinv[None, :]
        if self.task == "gcn":
            f = self.layer_norm(self.w(a_hat @ z))
        elif self.task in ("fourier", "spline"):
            lam, u = torch.linalg.eigh(a_hat)
            lam, u = lam[: self.k], u[:, : self.k]
            feats = u @ bspline_basis(lam, self.k) if self.task == "spline" else u
            f = (self.w(feats) @ u.T) @ z
        elif self.task == "cheby":
            torch.linalg.eigh(a_hat)  # computed and unused, as in the reference
            eye = torch.eye(n)
            t_prev, t_cur = eye, a_hat
            total = t_prev + t_cur
            for _ in range(2, self.k + 1):
                t_prev, t_cur = t_cur, 2 * a_hat @ t_cur - t_prev
                total = total + t_cur
            f = total @ z
        else:  # lanczos, as the reference: no reorthogonalisation, detached alpha/beta
            v = torch.randn(n)
            v = v / v.norm()
            vs, alphas, betas = [v], [], []
            w_prev, beta = torch.zeros(n), torch.zeros(())
            for i in range(self.k):
                w = a_hat @ vs[-1]
                alpha = torch.dot(w, vs[-1])
                w = w - alpha * vs[-1] - beta * w_prev
                beta = w.norm()
                alphas.append(alpha.detach())
                betas.append(beta.detach())
                w_prev = vs[-1]
                vs.append(w / beta)
            v_mat = torch.stack(vs[: self.k], dim=1)
            t = torch.diag(torch.stack(alphas)) + torch.diag(torch.stack(betas[1:]), 1) + torch.diag(torch.stack(betas[1:]), -1)
            f = (v_mat @ t @ v_mat.T) @ z
        y = self.gelu(self.w4(f))
        r = self.w5(y)
        c = 2 * hcode - 1
        bits = c.shape[1]
        return ((r - x) ** 2).mean() + 1e-4 * ((c @ c.T - bits * s) ** 2).mean()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 1024])
    parser.add_argument("--filters", nargs="+", default=["gcn", "fourier", "spline", "cheby", "lanczos"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {torch.backends.mkl.is_available() and 'MKL' or 'no MKL'}")
    for n in args.sizes:
        x = torch.rand(n, 768)
        for task in args.filters:
            model = Machine(task)
            opt = torch.optim.Adam(model.parameters(), lr=1e-4)
            times = []
            try:
                for i in range(args.repeats + 2):
                    start = time.perf_counter()
                    opt.zero_grad()
                    model(x).backward()
                    opt.step()
                    if i >= 2:
                        times.append((time.perf_counter() - start) * 1e3)
                print(f"{task} {n} {statistics.median(times):.1f}", flush=True)
            except Exception as err:  # eigh failing to converge is a result, not a crash
                print(f"{task} {n} fails ({type(err).__name__})", flush=True)


if __name__ == "__main__":
    main()
