"""highspy prints a banner to C-level stdout at the first Highs() of a process; the package's
LPs must not let it into stdout (it broke the tables of `reluinj bench`)."""

import subprocess
import sys


def test_no_highs_banner_on_stdout():
    code = (
        "from reluinj.empirical.lp import PatternLP\n"
        "from reluinj.empirical.sampling import sample_A\n"
        "r = PatternLP(sample_A(4, 12, 0)).solve_sets([0, 1])\n"
        "print('done')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "done\n", out.stdout


def test_the_banner_is_real_without_the_guard():
    # the guard is needed: a bare first Highs() does print (if a later highspy stops printing,
    # this test says so and the guard can go)
    code = "import highspy\nhighspy.Highs()\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HiGHS" in out.stdout
