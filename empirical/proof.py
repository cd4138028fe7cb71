"""Checkable proofs of lower bounds ``k*(A) >= t`` produced by the exact oracle.

A proof is the oracle's search tree.  Every node of the tree is a region of ``R^n \\ {0}`` given by
closed sign conditions on some rows: ``<a_i,u> <= 0`` ("NEG") or ``<a_i,u> > 0`` ("POS"); the
root is everything.  An *internal* node splits on one free row ``r`` into its NEG and POS children
(a partition).  A *leaf* lists infeasible subsystems with packing weights ``y``:

* a subsystem ``T`` is ``n+1`` rows with signs ``s_i = +1`` (row required ``<= 0``) or ``s_i = -1``
  (row required ``> 0``) such that ``Σ λ_i s_i a_i/||a_i|| = 0`` with all ``λ_i > 0`` and the
  vectors spanning ``R^n``: then no ``u ≠ 0`` has ``s_i <a_i,u> <= 0`` for all ``i ∈ T``;
* at a leaf with path sets ``P`` (POS) and ``N`` (NEG), a subsystem is *consistent* when its
  ``s = -1`` rows are in ``P`` and its ``s = +1`` rows are in ``N`` or free; its *free part* is its
  free rows.  If a consistent subsystem has an empty free part the leaf region is empty.
  Otherwise every ``u`` in the region makes at least one row of each free part positive, so with
  ``Σ_{T ∋ i} y_T <= 1`` for every free row ``i`` the positives number at least
  ``|P| + ceil(Σ_T y_T)`` (fractional packing / hitting-set duality); the leaf needs this ``>= t``.

So the leaves cover all of ``R^n \\ {0}`` and each has at least ``t`` positives: ``k*(A) >= t``.
Rows that are exact positive multiples of one another (``groups``) always share their sign; a
group is branched on and counted through its first row, and a POS group counts all its rows.
The proof may also carry a witness ``u`` (then ``k*(A) <= #{<a_i,u> > 0}``).

File format (JSON, optionally gzip-compressed when the name ends in ``.gz``), version 1::

    {"format": "reluinj-proof", "version": 1,
     "claim": {"kstar_at_least": t},
     "matrix": {"m": m, "n": n, "sha256": sha256 of A as C-contiguous little-endian float64 bytes},
     "subsystems": {"rows": [[i_0..i_n], ...],      # row indices of A (0-based)
                    "signs": [[±1, ...], ...],      # +1: row <= 0, -1: row > 0
                    "weights": [[λ_0..λ_n], ...]},  # barycentric weights of s_i a_i/||a_i||
     "tree": {"kind": [...],    # preorder; 0 internal, 1 leaf
              "row": [...],     # internal: branching row; leaf: -1
              "first": [...],   # internal: +1 if the NEG child's subtree comes first, -1 if POS
              "start": [...], "count": [...]},   # leaf: its items are items[start:start+count]
     "items": {"sub": [...], "y": [...]},        # subsystem index and packing weight per item
     "witness": [u_1..u_n] or null,
     "groups": [[r, j, ...], ...],                # rows j that are exact positive multiples of
                                                  # row r (same sign always); r stands for all
     "solver": {...}}                             # informational only

Floats are written with 17 significant digits (``repr``), so they round-trip exactly.
The verifier is :mod:`reluinj.empirical.proof_check` (independent of the solver).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "reluinj-proof"
VERSION = 1


def matrix_sha256(A: np.ndarray) -> str:
    """SHA-256 of ``A`` as C-contiguous little-endian float64 bytes (shape not included)."""
    a = np.ascontiguousarray(np.asarray(A, dtype="<f8"))
    return hashlib.sha256(a.tobytes()).hexdigest()


@dataclass
class Proof:
    """A proof that ``k*(A) >= threshold`` (see module docstring for the meaning of the fields)."""

    n: int
    m: int
    threshold: int
    matrix_sha256: str
    sub_rows: np.ndarray
    sub_signs: np.ndarray
    sub_weights: np.ndarray
    tree_kind: np.ndarray
    tree_row: np.ndarray
    tree_first: np.ndarray
    tree_start: np.ndarray
    tree_count: np.ndarray
    item_sub: np.ndarray
    item_y: np.ndarray
    witness: np.ndarray | None = None
    groups: list[list[int]] = field(default_factory=list)
    solver: dict[str, Any] = field(default_factory=dict)

    @property
    def leaves(self) -> int:
        return int(np.count_nonzero(self.tree_kind == 1))

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "claim": {"kstar_at_least": int(self.threshold)},
            "matrix": {"m": int(self.m), "n": int(self.n), "sha256": self.matrix_sha256},
            "subsystems": {
                "rows": self.sub_rows.astype(int).tolist(),
                "signs": self.sub_signs.astype(int).tolist(),
                "weights": [[float(x) for x in r] for r in self.sub_weights],
            },
            "tree": {
                "kind": self.tree_kind.astype(int).tolist(),
                "row": self.tree_row.astype(int).tolist(),
                "first": self.tree_first.astype(int).tolist(),
                "start": self.tree_start.astype(int).tolist(),
                "count": self.tree_count.astype(int).tolist(),
            },
            "items": {
                "sub": self.item_sub.astype(int).tolist(),
                "y": [float(x) for x in self.item_y],
            },
            "witness": None if self.witness is None else [float(x) for x in self.witness],
            "groups": [[int(i) for i in g] for g in self.groups],
            "solver": self.solver,
        }


def write_proof(path: str | Path, proof: Proof, A: np.ndarray | None = None) -> None:
    """Write ``proof`` as JSON (gzip if ``path`` ends with ``.gz``).

    ``A`` (optional) is only used to check that the proof belongs to it.
    """
    if proof is None:
        raise ValueError("no proof to write (only exhausted searches with k* >= 1 have one)")
    if A is not None and matrix_sha256(A) != proof.matrix_sha256:
        raise ValueError("write_proof: the proof was made for a different matrix")
    text = json.dumps(proof.to_json_dict(), separators=(",", ":"))
    path = Path(path)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")


def read_proof(path: str | Path) -> Proof:
    """Read a proof file written by :func:`write_proof` (no checking: use proof_check)."""
    path = Path(path)
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as f:
            d = json.load(f)
    else:
        d = json.loads(path.read_text(encoding="utf-8"))
    if d.get("format") != FORMAT or d.get("version") != VERSION:
        raise ValueError(f"not a {FORMAT} v{VERSION} file: {path}")
    n = int(d["matrix"]["n"])
    k = n + 1
    sub = d["subsystems"]
    tr = d["tree"]
    it = d["items"]
    return Proof(
        n=n, m=int(d["matrix"]["m"]), threshold=int(d["claim"]["kstar_at_least"]),
        matrix_sha256=d["matrix"]["sha256"],
        sub_rows=np.asarray(sub["rows"], np.int64).reshape(-1, k),
        sub_signs=np.asarray(sub["signs"], np.int8).reshape(-1, k),
        sub_weights=np.asarray(sub["weights"], np.float64).reshape(-1, k),
        tree_kind=np.asarray(tr["kind"], np.int8), tree_row=np.asarray(tr["row"], np.int64),
        tree_first=np.asarray(tr["first"], np.int8), tree_start=np.asarray(tr["start"], np.int64),
        tree_count=np.asarray(tr["count"], np.int64),
        item_sub=np.asarray(it["sub"], np.int64), item_y=np.asarray(it["y"], np.float64),
        witness=None if d.get("witness") is None else np.asarray(d["witness"], np.float64),
        groups=[list(g) for g in d.get("groups", [])],
        solver=d.get("solver", {}),
    )


def exactly_parallel(a: np.ndarray, b: np.ndarray) -> bool:
    """True iff ``b = c a`` for some exact rational ``c > 0`` (float entries taken exactly)."""
    from fractions import Fraction

    fa = [Fraction(float(x)) for x in a]
    fb = [Fraction(float(x)) for x in b]
    k = next((i for i, x in enumerate(fa) if x != 0), None)
    if k is None or fb[k] == 0 or (fa[k] > 0) != (fb[k] > 0):
        return False
    c = fb[k] / fa[k]
    return all(y == c * x for x, y in zip(fa, fb, strict=True))


def proof_from_search(A: np.ndarray, rows_of: np.ndarray, groups: list[list[int]], S: Any,
                      stt: np.ndarray, threshold: int, res: Any) -> Proof | None:
    """Assemble a :class:`Proof` from the oracle's recorded kernel buffers (internal).

    ``rows_of[k]`` is the row of A of kernel row k; ``groups[k]`` all rows of A merged into it
    (equal directions).  Returns None when a merged group is not exactly parallel (then the
    merge is only numerical and cannot be certified).
    """
    from . import oracle_core as oc

    A = np.asarray(A, dtype=np.float64)
    m, n = A.shape
    multi = [g for g in groups if len(g) > 1]
    for g in multi:
        if not all(exactly_parallel(A[g[0]], A[j]) for j in g[1:]):
            return None
    T = int(stt[oc.S_NTREE])
    I = int(stt[oc.S_NITEMS])
    tr = S.tr[:T]
    kind = tr[:, oc.TR_KIND]
    leaf = kind != oc.K_INTERNAL
    item_pid = S.it_pid[:I]
    used, inv = np.unique(item_pid, return_inverse=True)
    rows = rows_of[S.pool_rows[used]]
    signs = np.where(S.pool_sg[used] == oc.POS, -1, 1).astype(np.int8)
    weights = S.pool_w[used].copy()
    tree_first = np.where(tr[:, oc.TR_FIRST] == oc.POS, -1, 1).astype(np.int8)
    tree_first[leaf] = 0
    tree_row = np.where(leaf, -1, rows_of[np.clip(tr[:, oc.TR_ROW], 0, None)])
    return Proof(
        n=n, m=m, threshold=int(threshold), matrix_sha256=matrix_sha256(A),
        sub_rows=rows.astype(np.int64), sub_signs=signs, sub_weights=weights,
        tree_kind=leaf.astype(np.int8), tree_row=tree_row.astype(np.int64), tree_first=tree_first,
        tree_start=np.where(leaf, tr[:, oc.TR_START], 0).astype(np.int64),
        tree_count=np.where(leaf, tr[:, oc.TR_CNT], 0).astype(np.int64),
        item_sub=inv.astype(np.int64).ravel(), item_y=S.it_y[:I].copy(),
        witness=None if res.witness is None else np.asarray(res.witness, np.float64),
        groups=[list(g) for g in multi],
        solver={"method": "oracle", "nodes": int(res.nodes), "time_s": float(res.time_s),
                "decision": bool(res.decision)},
    )
