"""Independent verifier of oracle proofs (``reluinj check A.npy PROOF``).

This module shares no code with the solver: it reads the JSON file itself (format documented in
:mod:`reluinj.empirical.proof`) and verifies the claim ``k*(A) >= t`` with exact arithmetic:

1. the file is bound to ``A``: shape and SHA-256 of its float64 bytes;
2. every subsystem used by a leaf is *exactly* certified: its ``n+1`` sign-adjusted rows
   ``v_i = s_i a_i`` (floats are dyadic rationals, scaled per row by a power of two to integers)
   are brought to echelon form by fraction-free Bareiss elimination over the integers; the rank
   must be ``n`` and the 1-dimensional kernel ``κ`` of ``[v_0 … v_n]`` (exact rationals) must have
   all entries non-zero of one sign.  Then ``Σ κ_i v_i = 0`` with ``κ > 0`` and rank ``n``, so no
   ``u ≠ 0`` has ``<v_i,u> <= 0`` for all ``i``.  The file's weights ``λ`` (for the normalised
   rows) must be positive and agree with ``κ`` to a relative ``1e-6`` after normalisation (they are
   the solver's claim; the exact kernel is the proof);
3. the tree is a complete binary tree in preorder whose internal nodes split on a row free on
   their path (so the leaves partition ``R^n \\ {0}``), with no records left over;
4. at each leaf every listed subsystem is consistent with the path; either one of them has no free
   row (empty region) or, with exact rational packing weights ``y >= 0``,
   ``Σ_{T ∋ i} y_T <= 1`` for every free row ``i`` and ``|P| + ceil(Σ y_T) >= t``;
5. an optional witness ``u`` is counted exactly (integer dot products): ``k*(A) <= #{<a_i,u> > 0}``.

Declared ``groups`` (rows that are exact positive multiples of the group's first row) are checked
exactly; a group always has one sign, so the tree branches on its first row and a POS group
counts all its rows.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class ProofCheckReport:
    """Outcome of a proof check.  ``valid`` only if every check passed."""

    valid: bool
    message: str
    leaves: int = 0
    checked_subsystems: int = 0
    time_s: float = 0.0
    threshold: int | None = None
    nodes: int = 0
    witness_positives: int | None = None

    def __str__(self) -> str:
        head = "VALID" if self.valid else "INVALID"
        s = (f"{head}: {self.message} (leaves={self.leaves}, nodes={self.nodes}, "
             f"subsystems={self.checked_subsystems}, {self.time_s:.2f} s)")
        return s


class _Invalid(Exception):
    pass


def _sha256(A: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(np.asarray(A, dtype="<f8")).tobytes()).hexdigest()


def _int_vector(vals: list[float]) -> tuple[list[int], int]:
    """Dyadic floats -> integers times 2^-e (one common power of two); returns (ints, e)."""
    ratios = [float(x).as_integer_ratio() for x in vals]
    e = max(d.bit_length() - 1 for _, d in ratios)
    return [num << (e - (d.bit_length() - 1)) for num, d in ratios], e


def _exact_kernel(cols: list[list[int]]) -> list[Fraction] | None:
    """Kernel of the n x (n+1) integer matrix with the given columns if it has rank n, else None."""
    k = len(cols)
    n = len(cols[0])
    M = [[cols[j][i] for j in range(k)] for i in range(n)]
    prev = 1
    r = 0
    pivots: list[int] = []
    for c in range(k):
        if r == n:
            break
        p = next((i for i in range(r, n) if M[i][c] != 0), None)
        if p is None:
            continue
        M[r], M[p] = M[p], M[r]
        rowr = M[r]
        piv = rowr[c]
        for i in range(r + 1, n):
            rowi = M[i]
            mi = rowi[c]
            for j in range(c + 1, k):
                rowi[j] = (rowi[j] * piv - mi * rowr[j]) // prev
            rowi[c] = 0
        prev = piv
        pivots.append(c)
        r += 1
    if r != n:
        return None
    free = [c for c in range(k) if c not in pivots]
    if len(free) != 1:
        return None
    x: list[Fraction] = [Fraction(0)] * k
    x[free[0]] = Fraction(1)
    for row in range(n - 1, -1, -1):
        c = pivots[row]
        acc = Fraction(0)
        for j in range(c + 1, k):
            if M[row][j]:
                acc += M[row][j] * x[j]
        x[c] = -acc / M[row][c]
    return x


def check_subsystem(A: np.ndarray, rows: list[int], signs: list[int],
                    weights: list[float] | None = None, wtol: float = 1e-6) -> str | None:
    """Exact check that the signed rows form a closed-sense infeasible system; None if valid.

    Valid means: n+1 distinct rows, signs ±1, and ``Σ κ_i s_i a_i = 0`` for some ``κ > 0`` with the
    ``s_i a_i`` spanning ``R^n``.  If ``weights`` are given they must be positive and match ``κ``
    (converted to the normalised rows) within ``wtol`` relative.
    """
    m, n = A.shape
    if len(rows) != n + 1 or len(signs) != n + 1:
        return f"subsystem has {len(rows)} rows, need n+1 = {n + 1}"
    if len(set(rows)) != len(rows):
        return "subsystem repeats a row"
    if any(not (0 <= i < m) for i in rows):
        return "subsystem row index out of range"
    if any(s not in (1, -1) for s in signs):
        return "subsystem sign not +1/-1"
    cols = []
    scales = []
    for i, s in zip(rows, signs, strict=True):
        ints, e = _int_vector([s * float(x) for x in A[i]])
        cols.append(ints)
        scales.append(e)
    ker = _exact_kernel(cols)
    if ker is None:
        return "subsystem rows do not have rank n with a one-dimensional kernel"
    if not (all(x > 0 for x in ker) or all(x < 0 for x in ker)):
        return "origin is not in the interior of the subsystem's convex hull (kernel signs differ)"
    if weights is not None:
        lam = np.asarray(weights, dtype=np.float64)
        if lam.shape != (n + 1,) or not np.all(np.isfinite(lam)) or np.any(lam <= 0):
            return "subsystem weights must be n+1 positive numbers"
        # column j is 2^e_j s_j a_j, so the exact coefficient on s_j a_j is κ_j 2^e_j;
        # the file's is λ_j / ||a_j||
        sgn = 1 if ker[0] > 0 else -1
        c_exact = np.array([float(sgn * ker[j] * (1 << scales[j])) for j in range(n + 1)])
        nrm = np.linalg.norm(A[rows], axis=1)
        c_file = lam / nrm
        c_exact /= c_exact.sum()
        c_file /= c_file.sum()
        if np.max(np.abs(c_exact - c_file)) > wtol * np.max(c_exact):
            return "subsystem weights do not match the exact convex combination"
    return None


def _exactly_parallel(a: np.ndarray, b: np.ndarray) -> bool:
    fa = [Fraction(float(x)) for x in a]
    fb = [Fraction(float(x)) for x in b]
    k = next((i for i, x in enumerate(fa) if x != 0), None)
    if k is None or fb[k] == 0 or (fa[k] > 0) != (fb[k] > 0):
        return False
    c = fb[k] / fa[k]
    return all(y == c * x for x, y in zip(fa, fb, strict=True))


def _exact_positives(A: np.ndarray, u: np.ndarray) -> int:
    ui, _ = _int_vector([float(x) for x in u])
    cnt = 0
    for row in A:
        ri, _ = _int_vector([float(x) for x in row])
        if sum(a * b for a, b in zip(ri, ui, strict=True)) > 0:
            cnt += 1
    return cnt


def _load(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return json.load(f)
    return json.loads(path.read_text(encoding="utf-8"))


def check_proof(A: np.ndarray, d: dict[str, Any], *, check_hash: bool = True) -> ProofCheckReport:
    """Verify a proof given as the parsed JSON dict against the matrix ``A``."""
    t0 = time.perf_counter()
    rep = ProofCheckReport(valid=False, message="")
    try:
        _check(np.asarray(A, dtype=np.float64), d, rep, check_hash)
        rep.valid = True
        msg = f"k*(A) >= {rep.threshold} proven"
        if rep.witness_positives is not None:
            msg += f"; witness gives k*(A) <= {rep.witness_positives}"
        rep.message = msg
    except _Invalid as exc:
        rep.valid = False
        rep.message = str(exc)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        rep.valid = False
        rep.message = f"malformed proof file: {type(exc).__name__}: {exc}"
    rep.time_s = time.perf_counter() - t0
    return rep


def _check(A: np.ndarray, d: dict[str, Any], rep: ProofCheckReport, check_hash: bool) -> None:
    if d.get("format") != "reluinj-proof" or d.get("version") != 1:
        raise _Invalid("not a reluinj-proof version 1 file")
    if A.ndim != 2 or not np.all(np.isfinite(A)):
        raise _Invalid("matrix must be a finite 2-D array")
    m, n = A.shape
    mat = d["matrix"]
    if int(mat["m"]) != m or int(mat["n"]) != n:
        raise _Invalid(f"proof is for a {mat['m']}x{mat['n']} matrix, A is {m}x{n}")
    if check_hash and mat["sha256"] != _sha256(A):
        raise _Invalid("matrix SHA-256 differs from the one the proof was made for")
    t = int(d["claim"]["kstar_at_least"])
    rep.threshold = t
    sub = d["subsystems"]
    srows, ssigns, sw = sub["rows"], sub["signs"], sub["weights"]
    if not (len(srows) == len(ssigns) == len(sw)):
        raise _Invalid("subsystem tables have different lengths")
    tr = d["tree"]
    kind, row, first, start, count = tr["kind"], tr["row"], tr["first"], tr["start"], tr["count"]
    T = len(kind)
    if not (len(row) == len(first) == len(start) == len(count) == T):
        raise _Invalid("tree tables have different lengths")
    items_sub, items_y = d["items"]["sub"], d["items"]["y"]
    if len(items_sub) != len(items_y):
        raise _Invalid("item tables have different lengths")
    verified: dict[int, None] = {}

    def verify_sub(k: int) -> None:
        if k in verified:
            return
        if not (0 <= k < len(srows)):
            raise _Invalid(f"leaf refers to subsystem {k}, which does not exist")
        err = check_subsystem(A, [int(i) for i in srows[k]], [int(s) for s in ssigns[k]],
                              [float(x) for x in sw[k]])
        if err is not None:
            raise _Invalid(f"subsystem {k}: {err}")
        verified[k] = None

    mult = [1] * m  # rows counted through each row (its group size; 0 for non-first members)
    for g in d.get("groups", []):
        g = [int(i) for i in g]
        if len(g) < 2 or len(set(g)) != len(g) or any(not (0 <= i < m) for i in g):
            raise _Invalid("malformed group of parallel rows")
        for j in g[1:]:
            if not _exactly_parallel(A[g[0]], A[j]):
                raise _Invalid(f"row {j} is not an exact positive multiple of row {g[0]}")
            if mult[j] != 1:
                raise _Invalid(f"row {j} appears in two groups")
            mult[j] = 0
        if mult[g[0]] != 1:
            raise _Invalid(f"row {g[0]} appears in two groups")
        mult[g[0]] = len(g)
    state = [0] * m  # 0 free, +1 NEG (<= 0), -1 POS (> 0)
    npos = 0
    leaves = 0
    # explicit stack of (row, second sign) for internal nodes whose second child is pending
    stack: list[tuple[int, int]] = []
    idx = 0
    while True:
        if idx >= T:
            raise _Invalid("tree ends before every branch is closed (missing leaf)")
        k = idx
        idx += 1
        if int(kind[k]) == 0:
            r = int(row[k])
            f = int(first[k])
            if not (0 <= r < m) or f not in (1, -1):
                raise _Invalid(f"tree record {k}: bad branching row or child order")
            if state[r] != 0 or mult[r] == 0:
                raise _Invalid(f"tree record {k}: branches on row {r}, already fixed on its path"
                               " or not the first row of its group")
            state[r] = f
            npos += mult[r] * (f == -1)
            stack.append((r, -f))
            continue
        if int(kind[k]) != 1:
            raise _Invalid(f"tree record {k}: unknown kind {kind[k]}")
        leaves += 1
        _check_leaf(k, int(start[k]), int(count[k]), items_sub, items_y, srows, ssigns, state,
                    npos, t, verify_sub, mult)
        # climb to the next pending second child
        while stack and stack[-1][1] == 0:
            r, _ = stack.pop()
            npos -= mult[r] * (state[r] == -1)
            state[r] = 0
        if not stack:
            break
        r, s2 = stack[-1]
        npos -= mult[r] * (state[r] == -1)
        state[r] = s2
        npos += mult[r] * (s2 == -1)
        stack[-1] = (r, 0)
    if idx != T:
        raise _Invalid(f"{T - idx} tree records after the tree is complete")
    rep.leaves = leaves
    rep.nodes = T
    rep.checked_subsystems = len(verified)
    w = d.get("witness")
    if w is not None:
        u = np.asarray(w, dtype=np.float64)
        if u.shape != (n,) or not np.all(np.isfinite(u)) or not np.any(u != 0):
            raise _Invalid("witness must be a finite non-zero vector of length n")
        rep.witness_positives = _exact_positives(A, u)
        if rep.witness_positives < t:
            raise _Invalid(f"witness has {rep.witness_positives} < {t} positives: "
                           "contradicts the claimed lower bound")


def _check_leaf(k, start, count, items_sub, items_y, srows, ssigns, state, npos, t, verify_sub,
                mult):
    if count < 0 or start < 0 or start + count > len(items_sub):
        raise _Invalid(f"leaf {k}: item range out of bounds")
    load: dict[int, Fraction] = {}
    total = Fraction(0)
    for j in range(start, start + count):
        s = int(items_sub[j])
        verify_sub(s)
        free = []
        for i, sg in zip(srows[s], ssigns[s], strict=True):
            i, sg = int(i), int(sg)
            if mult[i] == 0:
                raise _Invalid(f"leaf {k}: subsystem {s} uses row {i}, a non-first group member")
            st = state[i]
            if sg == -1 and st != -1:
                raise _Invalid(f"leaf {k}: subsystem {s} needs row {i} > 0, not so on the path")
            if sg == 1 and st == -1:
                raise _Invalid(f"leaf {k}: subsystem {s} needs row {i} <= 0, but it is > 0")
            if st == 0:
                free.append(i)
        if not free:
            return  # region empty: the subsystem lies entirely within the path's conditions
        y = Fraction(float(items_y[j]))
        if y < 0:
            raise _Invalid(f"leaf {k}: negative packing weight")
        total += y
        for i in free:
            load[i] = load.get(i, Fraction(0)) + y
    if any(v > 1 for v in load.values()):
        raise _Invalid(f"leaf {k}: packing weights exceed 1 on a free row")
    bound = npos + math.ceil(total)
    if bound < t:
        raise _Invalid(f"leaf {k}: bound {npos} + ceil({float(total):.6g}) = {bound} < {t}")


def check_proof_file(A_path: str | Path, proof_path: str | Path) -> ProofCheckReport:
    """Load ``A`` (``.npy``) and a proof file and verify the proof (see module docstring)."""
    t0 = time.perf_counter()
    try:
        A = np.load(A_path, allow_pickle=False)
        d = _load(proof_path)
    except (OSError, ValueError) as exc:
        return ProofCheckReport(valid=False, message=f"cannot read input: {exc}",
                                time_s=time.perf_counter() - t0)
    return check_proof(A, d)
