"""Seed contract and input validation of empirical/sampling.py."""

import numpy as np
import pytest

from reluinj.empirical.errors import InvalidMatrixError
from reluinj.empirical.sampling import (
    instance_seed_sequence,
    sample_A,
    sample_instance,
    validate_matrix,
)
from reluinj.empirical.solve import solve


def test_seed_contract_is_default_rng_standard_normal():
    A = sample_A(5, 17, 123)
    assert np.array_equal(A, np.random.default_rng(123).standard_normal((17, 5)))


def test_instance_seeds_are_spawn_keys_of_the_config_seed():
    ss = instance_seed_sequence(7, 4, 20, 3)
    assert ss.entropy == 7 and ss.spawn_key == (4, 20, 3)
    a = sample_instance(7, 4, 20, 3)
    assert np.array_equal(a, np.random.default_rng(np.random.SeedSequence(7, spawn_key=(4, 20, 3)))
                          .standard_normal((20, 4)))
    # different keys give different matrices
    assert not np.array_equal(a, sample_instance(7, 4, 20, 4))


@pytest.mark.parametrize(
    "bad, fragment",
    [
        (np.ones(5), "2-D"),
        (np.ones((0, 3)), "m >= 1"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), "non-finite"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), "non-finite"),
        (np.array([["a", "b"]]), "not numeric"),
        (np.full((6, 2), 1e200), "out of range"),
        (np.full((6, 2), 1e-200), "out of range"),
    ],
)
def test_validate_matrix_rejects_with_a_specific_message(bad, fragment):
    with pytest.raises(InvalidMatrixError, match=fragment):
        validate_matrix(bad)
    with pytest.raises(InvalidMatrixError, match=fragment):
        solve(bad)


def test_scaled_matrix_inside_range_gives_the_same_kstar():
    A = sample_A(4, 20, 5)
    k = solve(A, "enum").kstar
    assert solve(A * 1e140, "exact").kstar == k
    assert solve(A * 1e-140, "exact").kstar == k
