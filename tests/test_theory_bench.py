"""Quadrature benchmark (``pytest -m bench -s``): accuracy vs cost of Gauss–Hermite, a plain
trapezoid rule and the spectral grid for A = E_z φ_1(√q_0 z) near the level-2/3 optima."""

from __future__ import annotations

import time

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss
from scipy import integrate

from reluinj.theory.functional import Quadrature, functional_terms
from reluinj.theory.reference import functional_terms_tensor
from reluinj.theory.special import Z, gauss_pdf

pytestmark = pytest.mark.bench

# near the level-2 optimum at its threshold (any admissible point would do)
Q0, C1, CHI = 0.7772, 3.2867, 0.0533


def _timed(f, reps=20):
    t0 = time.perf_counter()
    for _ in range(reps):
        v = f()
    return v, (time.perf_counter() - t0) / reps


def _phi1(h):
    return -np.log(Z(h, 1 - Q0, CHI, C1)) / C1


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
def test_quadrature_table_level2():
    ref = integrate.quad(lambda z: float(_phi1(np.sqrt(Q0) * z)) * gauss_pdf(z), -14, 14,
                         limit=500, epsabs=1e-15, epsrel=1e-14)[0]
    print("\nlevel 2, A = E_z phi_1(sqrt(q0) z); reference: adaptive quad")
    print(f"{'method':28s} {'nodes':>7s} {'|error|':>10s} {'time':>10s}")
    for n in (20, 40, 80, 160, 240):
        x, w = hermegauss(n)
        v, t = _timed(lambda x=x, w=w: np.dot(w, _phi1(np.sqrt(Q0) * x)) / np.sqrt(2 * np.pi))
        print(f"{'Gauss-Hermite':28s} {n:7d} {abs(v - ref):10.1e} {t:10.1e}")
    for du in (0.4, 0.3, 0.2, 0.15):
        v, t = _timed(lambda du=du: functional_terms_tensor([Q0], [C1], CHI, du=du, span=12).A)
        print(f"{'trapezoid on [-12,12]':28s} {int(24 / du) + 1:7d} {abs(v - ref):10.1e} "
              f"{t:10.1e}")
    for d in (0.1, 0.05, 0.02):
        r, t = _timed(lambda d=d: functional_terms([Q0], [C1], CHI, Quadrature(d=d)))
        print(f"{'spectral grid (default d=.02)':28s} {r.grid_points:7d} {abs(r.A - ref):10.1e} "
              f"{t:10.1e}")


def test_quadrature_table_levels_3_4():
    cases = {
        3: ([0.741, 0.9766], [2.667, 5.353], 0.03567),
        4: ([0.7314, 0.9506, 0.99306], [2.4865, 3.8381, 7.295], 0.03077),
    }
    print("\nlevels 3-4: spectral grid vs tensor trapezoid (reference: grid d = 0.0025, L = 20);"
          " the grid spacing is capped at sqrt(1 - q_(k-1))/5")
    print(f"{'level':>5s} {'method':24s} {'points':>9s} {'|error|':>10s} {'time':>10s}")
    for k, (q, c, chi) in cases.items():  # k = level
        ref = functional_terms(q, c, chi, Quadrature(d=0.0025, L=20)).A
        for d in (0.05, 0.035, 0.025, 0.02):
            r, t = _timed(lambda d=d, q=q, c=c, chi=chi: functional_terms(q, c, chi,
                                                                           Quadrature(d=d)))
            print(f"{k:5d} {'spectral grid d=' + str(d):24s} {r.grid_points:9d} "
                  f"{abs(r.A - ref):10.1e} {t:10.1e}")
        for du in (0.3, 0.2, 0.15):
            r, t = _timed(lambda du=du, q=q, c=c, chi=chi: functional_terms_tensor(
                q, c, chi, du=du, span=8), reps=2)
            print(f"{k:5d} {'tensor trapezoid du=' + str(du):24s} {r.grid_points:9d} "
                  f"{abs(r.A - ref):10.1e} {t:10.1e}")
