# Fits the f32 erf of tensor/cpu/math.h (fast_erff): erf(x) ~ x P(x^2) / Q(x^2) on [0, 3.92], by
# Sanathanan-Koerner iteration (weighted linear least squares, weights 1/Q of the previous round),
# and prints each degree pair's max abs error evaluated in f32 arithmetic (Horner, then one division).
# math.h uses the (6, 6) coefficients: P and Q of degree 5. Needs numpy (the bench venv has it):
#   .venv/bin/python scripts/fit_erf.py
# Leaves out: a true minimax (Remez) fit; least squares already lands at f32 rounding level.
import numpy as np, math
c = 3.92
xs = np.concatenate([np.linspace(0, c, 20000), c * (1 - np.cos(np.linspace(0, np.pi / 2, 5000)))])
xs = np.unique(xs)
y = np.array([math.erf(v) for v in xs])
def fit(np_, nq, iters=30):
    t = xs * xs
    w = np.ones_like(xs)
    for it in range(iters):
        # unknowns p0..p{np_-1}, q1..q{nq-1} (q0 = 1): x*P(t) - y*(Q(t)-1) = y
        A = np.zeros((len(xs), np_ + nq - 1))
        for i in range(np_): A[:, i] = xs * t**i
        for j in range(1, nq): A[:, np_ + j - 1] = -y * t**j
        Aw = A / w[:, None]; bw = y / w
        sol, *_ = np.linalg.lstsq(Aw, bw, rcond=None)
        p = sol[:np_]; q = np.concatenate([[1.0], sol[np_:]])
        w = np.polyval(q[::-1], t)  # Q(t) for the next weights
    return p, q
def f32eval(p, q, x):
    x = np.float32(x); t = np.float32(x * x)
    P = np.float32(p[-1])
    for a in p[-2::-1]: P = np.float32(P * t + np.float32(a))
    Q = np.float32(q[-1])
    for a in q[-2::-1]: Q = np.float32(Q * t + np.float32(a))
    return np.float32(np.float32(x * P) / Q)
for np_, nq in [(5, 5), (6, 5), (6, 6), (7, 6)]:
    p, q = fit(np_, nq)
    grid = np.linspace(0, c, 400001).astype(np.float32)
    ref = np.array([math.erf(float(v)) for v in grid[::10]])
    got = f32eval(p, q, grid[::10])
    print(np_, nq, "max abs err", np.max(np.abs(got - ref)), "at", grid[::10][np.argmax(np.abs(got - ref))])
    print("  p =", ", ".join("%.9e" % v for v in p)); print("  q =", ", ".join("%.9e" % v for v in q))
