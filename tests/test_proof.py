"""Checkable proofs: written by the oracle, verified by the independent checker, corruptions caught."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from reluinj.empirical.oracle import solve_oracle
from reluinj.empirical.proof import matrix_sha256, read_proof, write_proof
from reluinj.empirical.proof_check import check_proof, check_proof_file, check_subsystem
from reluinj.empirical.sampling import sample_A


def _proof_dict(A: np.ndarray, **kw) -> dict:
    r = solve_oracle(A, record_proof=True, **kw)
    assert r.proof is not None
    return r.proof.to_json_dict()


@pytest.fixture(scope="module")
def injective_case() -> tuple[np.ndarray, dict]:
    A = sample_A(7, 49, 2)
    r = solve_oracle(A, decision=True, record_proof=True)
    assert r.injective and r.proof is not None
    return A, r.proof.to_json_dict()


def test_checker_independent_of_solver() -> None:
    src = Path(__file__).parents[1] / "empirical" / "proof_check.py"
    text = src.read_text()
    for mod in ("oracle", "mnp", "oracle_core", "oracle_lp", "proof import", ".proof "):
        assert f"from .{mod}" not in text and f"import {mod}" not in text


def test_check_subsystem_exact() -> None:
    # a simplex around 0 in R^2, one not containing 0, and a degenerate one
    A = np.array([[1.0, 0.0], [-0.5, 1.0], [-0.5, -1.0], [1.0, 1.0], [2.0, 0.0], [-1.0, 0.0]])
    assert check_subsystem(A, [0, 1, 2], [1, 1, 1]) is None
    assert check_subsystem(A, [0, 1, 3], [1, 1, 1]) is not None
    assert check_subsystem(A, [0, 4, 5], [1, 1, 1]) is not None  # rank 1
    # 0 = a_0 + a_1 + a_2 exactly: weights on the normalised rows are proportional to ||a_i||
    w = np.linalg.norm(A[[0, 1, 2]], axis=1)
    assert check_subsystem(A, [0, 1, 2], [1, 1, 1], list(w / w.sum())) is None
    assert check_subsystem(A, [0, 1, 2], [1, 1, 1], [1 / 3, 1 / 3, 1 / 3]) is not None
    # with a sign flip: -a_5 = (1, 0) replaces a_0
    assert check_subsystem(A, [5, 1, 2], [-1, 1, 1]) is None
    assert check_subsystem(A, [5, 1, 2], [1, 1, 1]) is not None


@pytest.mark.parametrize("n,m,seed,decision", [(5, 35, 0, True), (6, 42, 1, False),
                                                (8, 56, 2, True), (8, 40, 3, False),
                                                (9, 63, 4, True), (10, 70, 5, True)])
def test_proofs_verify(tmp_path: Path, n: int, m: int, seed: int, decision: bool) -> None:
    A = sample_A(n, m, seed)
    r = solve_oracle(A, decision=decision, record_proof=True)
    assert r.proof is not None
    np.save(tmp_path / "A.npy", A)
    for name in ("p.json", "p.json.gz"):
        write_proof(tmp_path / name, r.proof, A)
        rep = check_proof_file(tmp_path / "A.npy", tmp_path / name)
        assert rep.valid, rep.message
        assert rep.threshold == r.lower_bound
        assert rep.leaves == r.proof.leaves and rep.checked_subsystems > 0
        assert rep.witness_positives == r.upper_bound
    back = read_proof(tmp_path / "p.json")
    assert back.threshold == r.proof.threshold
    np.testing.assert_array_equal(back.sub_weights, r.proof.sub_weights)


def test_proof_with_lp_bounds_verifies() -> None:
    fractional = 0
    for seed in range(4):
        A = sample_A(9, 63, seed)
        d = _proof_dict(A, decision=True, lp=True, repack="after")
        fractional += sum(0 < y < 1 for y in d["items"]["y"])
        rep = check_proof(A, d)
        assert rep.valid, rep.message
    assert fractional > 0, "expected some leaves proven by fractional packing weights"


def test_proof_with_merged_duplicate_rows() -> None:
    B = sample_A(5, 30, 2)
    A = np.vstack([B, B[:10], 4.0 * B[10:15]])  # exact duplicates and exact positive multiples
    r = solve_oracle(A, record_proof=True)
    assert r.info["merged_rows"] == 15
    assert r.proof is not None and r.proof.groups
    rep = check_proof(A, r.proof.to_json_dict())
    assert rep.valid, rep.message
    d = r.proof.to_json_dict()
    d["groups"][0] = [d["groups"][0][0], (d["groups"][0][1] + 1) % A.shape[0]]
    assert not check_proof(A, d).valid
    # x3 is rounded: the rows are parallel only numerically, so no proof is claimed
    r3 = solve_oracle(np.vstack([B, 3.0 * B[10:15]]), record_proof=True)
    assert r3.kstar is not None and r3.proof is None and "rounding" in r3.info["proof"]


def _leaf_indices(d: dict) -> list[int]:
    return [i for i, k in enumerate(d["tree"]["kind"]) if k == 1]


def test_corruptions_fail(injective_case) -> None:
    A, d0 = injective_case
    assert check_proof(A, d0).valid
    bad: dict[str, dict] = {}

    d = copy.deepcopy(d0)  # removed leaf
    i = _leaf_indices(d)[len(_leaf_indices(d)) // 2]
    for key in ("kind", "row", "first", "start", "count"):
        del d["tree"][key][i]
    bad["removed leaf"] = d

    d = copy.deepcopy(d0)  # altered convex-combination weight
    d["subsystems"]["weights"][0][0] *= 1.5
    bad["altered weight"] = d

    d = copy.deepcopy(d0)  # altered row index in a subsystem
    row = d["subsystems"]["rows"][0]
    row[0] = next(j for j in range(A.shape[0]) if j not in row)
    bad["altered row"] = d

    d = copy.deepcopy(d0)  # altered branching row
    k = d["tree"]["kind"].index(0)
    d["tree"]["row"][k] = (d["tree"]["row"][k] + 1) % A.shape[0]
    bad["altered branching row"] = d

    d = copy.deepcopy(d0)  # stronger claim than proven
    d["claim"]["kstar_at_least"] += 1
    bad["claim + 1"] = d

    d = copy.deepcopy(d0)  # packing weight above 1
    j = next(j for j in range(len(d["items"]["y"])) if d["items"]["y"][j] > 0)
    d["items"]["y"][j] = 2.0
    d["items"]["y"] = [2.0] * len(d["items"]["y"])
    bad["packing weight 2"] = d

    for what, d in bad.items():
        rep = check_proof(A, d)
        assert not rep.valid, what

    # altered matrix: caught by the hash, and by the mathematics without it
    A2 = A.copy()
    A2[3, 2] += 1e-3
    assert not check_proof(A2, d0).valid
    assert not check_proof(A2, d0, check_hash=False).valid
    assert matrix_sha256(A) == d0["matrix"]["sha256"]


def test_corrupted_file_reports_instead_of_crashing(tmp_path: Path, injective_case) -> None:
    A, d0 = injective_case
    np.save(tmp_path / "A.npy", A)
    (tmp_path / "p.json").write_text(json.dumps({"format": "reluinj-proof", "version": 1}))
    rep = check_proof_file(tmp_path / "A.npy", tmp_path / "p.json")
    assert not rep.valid and "malformed" in rep.message
    (tmp_path / "q.json").write_text("not json")
    assert not check_proof_file(tmp_path / "A.npy", tmp_path / "q.json").valid


def test_cli_solve_certificate_then_check(tmp_path: Path) -> None:
    """``reluinj solve --certificate`` then ``reluinj check``: valid, and a corrupted file fails."""
    from reluinj.experiments.cli import main

    A = sample_A(7, 49, 2)
    np.save(tmp_path / "A.npy", A)
    cert = tmp_path / "proof.json"
    assert main(["solve", "--matrix", str(tmp_path / "A.npy"), "--method", "oracle",
                 "--decision", "--certificate", str(cert), "--json"]) == 0
    assert cert.is_file()
    assert main(["check", str(tmp_path / "A.npy"), str(cert)]) == 0
    d = json.loads(cert.read_text())
    d["subsystems"]["weights"][0][1] *= 3.0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(d))
    assert main(["check", str(tmp_path / "A.npy"), str(bad)]) != 0
