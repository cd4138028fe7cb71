"""Published reference values for the injectivity capacity α_inj (math.md §3), with citations.

These are *cited* numbers, for comparison lines in tables and plots and for acceptance tests.
Values computed by this package (e.g. :func:`reluinj.theory.first_moment_threshold`, the fl RDT
thresholds) are never copied here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("rigorous", "heuristic", "replica", "flrdt")

MAILLARD_2023 = (
    "A. Maillard, A. S. Bandeira, D. Belius, I. Dokmanić, S. Nakajima, "
    "'Injectivity of ReLU networks: perspectives from statistical physics', arXiv:2302.14112 (2023)"
)
PUTHAWALA_2022 = (
    "M. Puthawala, K. Kothari, M. Lassas, I. Dokmanić, M. V. de Hoop, "
    "'Globally injective ReLU networks', J. Mach. Learn. Res. 23:105 (2022)"
)
PALEKA_2021 = (
    "D. Paleka, 'Injectivity of ReLU neural networks at initialization', "
    "MSc thesis, ETH Zurich (2021)"
)
CLUM_2022 = (
    "C. Clum, 'Topics in the Mathematics of Data Science', PhD thesis, Ohio State University (2022)"
)
STOJNIC_SEED = (
    "M. Stojnic, 'Injectivity capacity of ReLU gates' (fl RDT; the seed paper of this project)"
)


@dataclass(frozen=True)
class ReferenceValue:
    """One published value of α_inj.

    ``kind``: ``rigorous`` (proved bound), ``heuristic`` (non-rigorous approximation),
    ``replica`` (statistical-physics replica prediction), ``flrdt`` (fully lifted RDT level).
    ``bound``: ``"lower"``/``"upper"`` for one-sided rigorous statements on α_inj, else None.
    """

    name: str
    value: float
    source: str
    kind: str
    bound: str | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


REFERENCE_THRESHOLDS: dict[str, ReferenceValue] = {
    r.name: r
    for r in (
        ReferenceValue(
            "puthawala_lower", 3.4, PUTHAWALA_2022, "rigorous", bound="lower",
            note="Gaussian weights: not injective w.h.p. for alpha < 3.4",
        ),
        ReferenceValue(
            "puthawala_upper", 10.5, PUTHAWALA_2022, "rigorous", bound="upper",
            note="Gaussian weights: injective w.h.p. for alpha > 10.5",
        ),
        ReferenceValue(
            "first_moment", 9.0886, MAILLARD_2023, "rigorous", bound="upper",
            note="union (first-moment) bound, asymptotic crossing; recomputed by "
            "reluinj.theory.first_moment_threshold()",
        ),
        ReferenceValue(
            "euler", 8.34, f"{PALEKA_2021}; {CLUM_2022}", "heuristic",
            note="expected Euler characteristic approximation (approx. 8.34)",
        ),
        ReferenceValue(
            "gordon", 23.54, MAILLARD_2023, "rigorous", bound="upper",
            note="Gordon escape-through-a-mesh bound (approx. 23.54)",
        ),
        ReferenceValue(
            "rs", 7.6477, MAILLARD_2023, "replica", bound="upper",
            note="replica symmetric = plain RDT = 1-sfl; a rigorous upper bound on alpha_inj",
        ),
        ReferenceValue("1rsb", 6.7157, MAILLARD_2023, "replica", note="one-step RSB"),
        ReferenceValue("frsb", 6.698, MAILLARD_2023, "replica", note="full RSB"),
        ReferenceValue(
            "sfl1", 7.6477, STOJNIC_SEED, "flrdt", bound="upper",
            note="1-sfl RDT, equal to the RS value",
        ),
        ReferenceValue(
            "sfl2", 6.7157, STOJNIC_SEED, "flrdt", note="2-sfl RDT, equal to the 1RSB value"
        ),
    )
}
