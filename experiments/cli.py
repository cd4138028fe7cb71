"""The ``reluinj`` command line.

    reluinj run CONFIG.toml [--jobs N] [--out DIR]        run or resume a Monte Carlo experiment
                [--backend loky|dask [--scheduler ADDRESS | --local-cluster N]]
    reluinj verify DIR [--quarantine] [--json]            check every file of a results directory
    reluinj solve (--n N --m M --seed S | --matrix FILE.npy) [--method NAME] [--decision]
                  [--threshold T] [--time-limit SEC] [--certificate FILE] [--no-progress]
                  --json                                  k*(A) of one matrix (or k* >= T?)
    reluinj analyze DIR [--json]                          P(injective), Wilson CI, mean k*
    reluinj analyze DIR --fits [--json]                   alpha_50(n), alpha_inf, e(alpha) fits
    reluinj report DIR                                    DIR/report.md + fit figures
    reluinj study-grid PILOT --out CONFIG.toml            alpha grid of a study from a pilot
    reluinj plot DIR                                      figures (PNG + PDF) into DIR
    reluinj alg-threshold DIR [DIR ...] [--out OUT]       50 % point of witness searches per (method, n)
    reluinj theory --level L [--alpha A] --json           fl RDT threshold, or e_L(alpha)
    reluinj theory --table [--out DIR]                    CSV + Markdown tables of the levels
    reluinj check A.npy PROOF                             check an injectivity proof file
    reluinj bench oracle [--quick] [--out DIR]            oracle benchmark
    reluinj bench scaling [--quick] [--out DIR]           throughput with 1 vs 2 workers
    reluinj bench bounds [--quick] [--out DIR]            bounding methods vs the exact oracle

Errors in the input are printed as one line ``reluinj: error: ...`` with exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from reluinj.empirical.errors import ReluInjError

if TYPE_CHECKING:
    import pandas as pd

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CLIError(ReluInjError):
    """Bad command-line input (printed as one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line (no usage block) and raise instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise CLIError(f"{self.prog}: {message} (see {self.prog} --help)")


def _json_clean(x: Any) -> Any:
    """Plain JSON values: numpy → Python, NaN/inf → None, tuples → lists."""
    if isinstance(x, dict):
        return {str(k): _json_clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_json_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return _json_clean(x.tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, Path):
        return str(x)
    return x


def _print_json(obj: Any) -> None:
    print(json.dumps(_json_clean(obj), allow_nan=False, indent=None))


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {v}")
    return v


def _int_range(lo: int, hi: int):
    """argparse type: an integer lo <= v <= hi."""
    def parse(s: str) -> int:
        try:
            v = int(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {s!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"got {v}; allowed: {lo} <= value <= {hi}")
        return v
    return parse


def _nonneg_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {s!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {v}")
    return v


def _positive_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {s!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {s}")
    return v


def _time_limit(s: str) -> float:
    from .config import MAX_TIME_LIMIT

    v = _positive_float(s)
    if v > MAX_TIME_LIMIT:
        raise argparse.ArgumentTypeError(f"got {s}; allowed: seconds 0 < t <= {MAX_TIME_LIMIT:.0e}")
    return v


def _finite_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {s!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {s}")
    return v


# ---- run ---------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from .config import load_config
    from .runner import run_experiment

    if args.backend != "dask":
        for flag, val in (("--scheduler", args.scheduler), ("--local-cluster", args.local_cluster)):
            if val is not None:
                raise CLIError(f"{flag}: only with --backend dask")
    cfg = load_config(args.config)
    out = Path(args.out) if args.out else Path("runs") / cfg.name
    summary = run_experiment(
        cfg, out, jobs=args.jobs, backend=args.backend, scheduler=args.scheduler,
        local_cluster=args.local_cluster, max_instances=args.max_instances,
        batch_size=args.batch_size, progress=not args.no_progress,
        flush_seconds=args.flush_seconds,
    )
    return EXIT_INTERRUPTED if summary.interrupted else EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from .store import verify

    p = Path(args.dir)
    if not p.is_dir():
        raise CLIError(f"results directory not found: {p}")
    rep = verify(p, quarantine=args.quarantine)
    if args.json:
        _print_json({
            "dir": rep.root, "ok": rep.ok, "part_files": rep.part_files, "rows": rep.rows,
            "keys": rep.keys, "duplicates": rep.duplicates, "problems": rep.problems,
            "notes": rep.notes, "quarantined": [str(q) for q in rep.quarantined],
            "digest": rep.digest,
        })
    else:
        for msg in rep.problems:
            print(f"PROBLEM: {msg}")
        for q in rep.quarantined:
            print(f"moved to {q}")
        for msg in rep.notes:
            print(f"note: {msg}")
        state = "OK" if rep.ok else ("QUARANTINED" if rep.quarantined else "BAD")
        print(f"{state}: {rep.root}: {rep.part_files} part files, {rep.rows} rows, {rep.keys} "
              f"instances" + (f", digest {rep.digest[:16]}" if rep.digest else ""))
        if not rep.ok and not rep.quarantined:
            print(f"run: reluinj verify {rep.root} --quarantine  (moves the bad files into "
                  f"{rep.root / 'quarantine'}; a re-run then recomputes their rows)")
    return EXIT_OK if rep.ok or rep.quarantined else EXIT_INVALID


# ---- solve -------------------------------------------------------------------------------------


@contextlib.contextmanager
def _stdout_to_stderr():
    """Send everything written to stdout (Python or C level, e.g. a solver library's banner) to
    stderr, so that ``--json`` output on stdout stays exactly one JSON object."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no usable fd 1: only redirect Python-level writes
        with contextlib.redirect_stdout(sys.stderr):
            yield
        return
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def load_matrix_file(path: str | Path) -> np.ndarray:
    """Load an m×n real array saved with numpy.save and validate it with
    :func:`reluinj.empirical.sampling.validate_matrix` (finite, 2-D, non-zero entries of magnitude
    in [MIN_ABS_ENTRY, MAX_ABS_ENTRY])."""
    from reluinj.empirical.sampling import validate_matrix

    p = Path(path)
    if not p.is_file():
        raise CLIError(f"--matrix: file not found: {p}")
    try:
        arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CLIError(f"--matrix {p}: not a .npy array saved with numpy.save ({msg})") from None
    if not isinstance(arr, np.ndarray):  # a .npz archive
        raise CLIError(f"--matrix {p}: expected a single array (.npy), got an archive (.npz)")
    if arr.dtype.kind not in "fiu":
        raise CLIError(
            f"--matrix {p}: dtype {arr.dtype} is not a real number type; allowed: float (or int)"
        )
    try:
        return validate_matrix(arr)
    except ReluInjError as exc:
        raise CLIError(f"--matrix {p}: {exc}") from None


class _SolveBar:
    """Status line of one long oracle solve on stderr (shown after 2 s): nodes, rate and the
    bounds proven so far.  No ETA: the size of a branch-and-bound search is not known ahead."""

    def __init__(self, desc: str) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=None, unit="node", unit_scale=True, file=sys.stderr, delay=2.0,
                        desc=desc, dynamic_ncols=True, leave=False)

    def __call__(self, snap: dict[str, Any]) -> None:
        self.bar.set_postfix_str(f"{snap['lower_bound']} <= k* <= {snap['upper_bound']}, depth "
                                 f"{snap['depth']}", refresh=False)
        self.bar.update(snap["nodes"] - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def _certify_threshold(path: str, res: Any, A: np.ndarray, t: int) -> tuple[bool, str]:
    """Write the proof of ``k* >= t`` (``--threshold`` with ``--certificate``) if there is one;
    returns (written, message)."""
    if res.lower_bound >= t and res.proof is not None:
        from reluinj.empirical.proof import write_proof

        write_proof(path, res.proof, A)
        return True, f"wrote the proof of k* >= {t} to {path}"
    if res.upper_bound < t:
        return False, (f"nothing to certify: k* < {t}; the witness u (#{{<a_i,u> > 0}} = "
                       f"{res.upper_bound}) is the certificate")
    return False, (f"nothing to certify: k* >= {t} was not decided (status {res.status}); no "
                   "proof written")


def cmd_solve(args: argparse.Namespace) -> int:
    from reluinj.empirical.sampling import sample_A
    from reluinj.empirical.solve import ALIASES, get_method, solve

    gen = [args.n is not None, args.m is not None, args.seed is not None]
    if args.matrix is not None:
        if any(gen):
            raise CLIError("solve: give either --matrix FILE.npy or --n N --m M --seed S, not both")
        A = load_matrix_file(args.matrix)
        source: dict[str, Any] = {"matrix": str(args.matrix)}
    else:
        if not all(gen):
            missing = [f for f, g in zip(("--n", "--m", "--seed"), gen, strict=True) if not g]
            raise CLIError(
                f"solve: missing {', '.join(missing)}; give --n N --m M --seed S "
                "(A = numpy.random.default_rng(S).standard_normal((M, N))) or --matrix FILE.npy"
            )
        from .config import MAX_ENTRIES

        if args.m * args.n > MAX_ENTRIES:
            raise CLIError(f"solve: --m {args.m} x --n {args.n} = {args.m * args.n} entries; "
                           f"allowed: m*n <= {MAX_ENTRIES:.0e}")
        A = sample_A(args.n, args.m, args.seed)
        source = {"seed": args.seed}
    m, n = A.shape
    # --threshold without --method: the exact oracle (the only solver that decides k* >= T)
    method = args.method or ("exact" if args.threshold is not None else "auto")
    with _stdout_to_stderr():
        get_method(method)  # unknown method: one-line error before any work
    note = None
    if m < n:
        note = (f"m = {m} < n = {n}: A u = -1 is solvable, so k*(A) = 0 < n and the layer is "
                "trivially not injective")
        print(f"reluinj: note: {note}", file=sys.stderr)
    options: dict[str, Any] = {}
    if args.certificate is not None:
        options["record_proof"] = True
    decision = args.decision
    t = n  # the claim a certificate proves: k* >= t
    if args.threshold is not None:
        if ALIASES.get(method, method) != "oracle":
            raise CLIError(f"--threshold: method {method!r} cannot decide k* >= T; use "
                           "--method exact (the oracle)")
        decision, t = True, args.threshold
        options["threshold"] = t
    bar = None
    if ALIASES.get(method, method) == "oracle":
        # Ctrl-C ends the search with the bounds proven so far (status "interrupted")
        options["interruptible"] = True
        if not args.no_progress and sys.stderr.isatty():
            bar = _SolveBar(f"oracle, k* >= {t}?" if decision else "oracle, k*")
            options["progress"] = bar
    with _stdout_to_stderr():
        try:
            res = solve(A, method, decision=decision, time_limit=args.time_limit,
                        **options)
        except TypeError as exc:
            if "record_proof" not in str(exc):
                raise
            raise CLIError(
                f"--certificate: method {method!r} cannot record proofs of injectivity; "
                "use a method that does (e.g. the exact oracle)"
            ) from None
        finally:
            if bar is not None:
                bar.close()
    out = res.to_dict()
    out.update(source)
    if args.threshold is not None:
        out["threshold"] = t
        out["kstar_at_least_threshold"] = (True if res.lower_bound >= t
                                           else False if res.upper_bound < t else None)
    if note:
        out["note"] = note
    cert_msg = None
    if args.certificate is not None and args.threshold is not None and t != n:
        written, cert_msg = _certify_threshold(args.certificate, res, A, t)
        out["certificate"] = str(args.certificate) if written else None
        print(f"reluinj: {cert_msg}", file=sys.stderr)
    elif args.certificate is not None:
        if res.injective is True:
            if res.proof is None:
                raise CLIError(
                    f"--certificate: method {res.method!r} returned no proof for its injective "
                    "answer; use a method that records proofs"
                )
            from reluinj.empirical.proof import write_proof

            write_proof(args.certificate, res.proof, A)
            out["certificate"] = str(args.certificate)
            cert_msg = f"wrote the injectivity proof to {args.certificate}"
        elif res.injective is False:
            cert_msg = ("nothing to certify: the layer is not injective; the witness u "
                        f"(#{{<a_i,u> > 0}} = {res.upper_bound} < n = {n}) is the certificate")
            out["certificate"] = None
        else:
            cert_msg = ("nothing to certify: injectivity was not decided "
                        f"(status {res.status}); no proof written")
            out["certificate"] = None
        print(f"reluinj: {cert_msg}", file=sys.stderr)
    if args.json:
        _print_json(out)
    else:
        print(repr(res))
        if res.witness is not None:
            print("witness:", np.array2string(np.asarray(res.witness), precision=6))
    if res.status == "interrupted":
        print(f"reluinj: interrupted after {res.nodes} nodes; proven so far: "
              f"{res.lower_bound} <= k* <= {res.upper_bound}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK


# ---- analyze / plot ----------------------------------------------------------------------------


def _results_dir(d: str) -> Path:
    p = Path(d)
    if not p.is_dir():
        raise CLIError(f"results directory not found: {p}")
    if not (p / "parts").is_dir():
        raise CLIError(f"{p} is not a results directory (no parts/ inside); run an experiment "
                       "into it with: reluinj run CONFIG.toml --out DIR")
    return p


def _levels_arg(text: str) -> tuple[str, ...]:
    from reluinj.theory import normalize_level

    return tuple(normalize_level(s.strip()) for s in text.split(",") if s.strip())


def cmd_analyze_fits(args: argparse.Namespace, rows: pd.DataFrame | None = None,
                     points: list[dict] | None = None) -> int:
    """The fits of ``rows`` (default: loaded from ``args.dir``); ``points`` (a study directory's
    pooled per-point table) goes into the JSON object under ``"points"`` (the text form has
    printed it already)."""
    from .fit_summary import fit_summary
    from .sources import load_rows

    if rows is None:
        rows, _ = load_rows(args.dir)
    d, _fits = fit_summary(rows, seed=args.seed, n_boot=args.boot, levels=_levels_arg(args.levels))
    if args.json:
        _print_json(d if points is None else {**d, "points": points})
        return EXIT_OK
    from .report import fmt, fmt_ci

    print(f"bootstrap: {d['bootstrap']['replicates']} replicates, seed {d['bootstrap']['seed']}")
    print("alpha_50 per n (logit GLM; 95 % CI):")
    for a in d["alpha_50"]:
        print(f"  n = {a['n']:3d}  alpha_50 = {fmt(a['estimate'])} {fmt_ci(a['ci'])}  "
              f"w = {fmt(a['width'], 3)} {fmt_ci(a['width_ci'], 3)}  probit {fmt(a['probit_estimate'])}")
    ai = d["alpha_inf"]
    print(f"alpha_inf = {fmt(ai.get('estimate'))} {fmt_ci(ai.get('ci'))}  "
          f"(best {ai.get('best_ansatz')}; excludes levels {ai.get('excludes') or 'none'})")
    for a in ai.get("ansatze", []):
        print(f"  {a['ansatz']:10s} {fmt(a['estimate'])} {fmt_ci(a['ci'])}  aic {fmt(a['aic'], 2)}"
              f"  acceptable {a['acceptable']}")
    if d.get("width_law"):
        print(f"width law: nu = {fmt(d['width_law']['nu'], 3)} {fmt_ci(d['width_law']['ci'], 3)}")
    print("e(alpha) = slope of E[k*] in n (95 % CI):")
    for e in d["e"]:
        th = "  ".join(f"e_{k} = {fmt(v)}" for k, v in e["theory"].items())
        print(f"  alpha = {e['alpha']:g}  e = {fmt(e['estimate'])} {fmt_ci(e['ci'])}  {th}  "
              f"excludes {e['excludes'] or 'none'}")
    ak = d["alpha_k_inf"]
    if ak.get("estimate") is not None:
        print(f"E[k*] = n extrapolates to {fmt(ak['estimate'])} {fmt_ci(ak['ci'])}")
    for k, v in d["skipped"].items():
        print(f"not fitted: {k}: {v}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report
    from .sources import store_dirs

    store_dirs(args.dir)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        paths = write_report(args.dir, seed=args.seed, n_boot=args.boot,
                             levels=_levels_arg(args.levels))
    for p in paths:
        print(p)
    return EXIT_OK


def cmd_study_grid(args: argparse.Namespace) -> int:
    from .sources import load_rows
    from .study_design import design_study, write_design

    rows, _ = load_rows(args.pilot)
    design = design_study(
        rows, target_halfwidth=args.target_halfwidth, budget_hours=args.budget_hours,
        cores=args.cores, n_values=tuple(args.n) if args.n else None, seed=args.seed,
        name=args.name, span=args.span, growth=args.growth,
    )
    write_design(design, args.out)
    print(design.text())
    print(f"wrote {args.out}")
    return EXIT_OK


def cmd_analyze(args: argparse.Namespace) -> int:
    from .analysis import summarize
    from .store import load

    if args.fits:
        return cmd_analyze_fits(args)
    p = Path(args.dir)
    if p.is_dir() and not (p / "parts").is_dir():  # a study: a directory of results directories
        from .analysis import summary_records
        from .sources import load_rows, store_dirs

        try:
            store_dirs(p)
            rows = load_rows(p)[0]
            summary = summarize(rows)
        except ReluInjError:
            pass  # not a study either: the error below names what is wrong
        else:
            # a study's analysis is its fits (the numbers of its report.md), after the pooled
            # per-point table ("points" in the JSON object)
            if args.json:
                return cmd_analyze_fits(args, rows, points=summary_records(summary))
            _print_summary(summary, False)
            print()
            return cmd_analyze_fits(args, rows)
    root = _results_dir(args.dir)
    summary = summarize(load(root))
    return _print_summary(summary, args.json)


def _print_summary(summary, as_json: bool) -> int:
    from .analysis import summary_records

    if as_json:
        _print_json(summary_records(summary))
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", None, "display.width", 160):
            cols = ["n", "m", "alpha", "instances", "injective", "p_injective", "ci_low",
                    "ci_high", "mean_kstar", "unresolved"]
            print(summary[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return EXIT_OK


def cmd_plot(args: argparse.Namespace) -> int:
    from .analysis import summarize
    from .plots import plot_summary
    from .store import load

    root = _results_dir(args.dir)
    df = load(root)
    if df.empty:
        raise CLIError(f"{root} has no stored rows yet: run an experiment into it first")
    from reluinj.theory import normalize_level

    levels = tuple(normalize_level(s.strip()) for s in args.levels.split(",") if s.strip())
    summary = summarize(df)
    summary.to_csv(root / "summary.csv", index=False)
    name = ""
    if (root / "config.toml").is_file():
        import tomllib

        try:
            name = str(tomllib.loads((root / "config.toml").read_text()).get("name", ""))
        except tomllib.TOMLDecodeError:
            name = ""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        paths = plot_summary(summary, root, levels=levels, name=name)
    for p in paths:
        print(p)
    print(root / "summary.csv")
    return EXIT_OK


def cmd_alg_threshold(args: argparse.Namespace) -> int:
    from . import algthreshold

    dirs = [_results_dir(d) for d in args.dirs]
    from reluinj.theory import normalize_level

    levels = tuple(normalize_level(s.strip()) for s in args.levels.split(",") if s.strip())
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        paths = algthreshold.main(dirs, args.out, levels=levels, plot=not args.no_plot)
    import pandas as pd

    est = pd.read_csv(Path(args.out) / "alpha_alg.csv")
    with pd.option_context("display.max_rows", None, "display.width", 160):
        print(est[["method", "n", "instances", "alpha50", "ci_low", "ci_high", "fit"]]
              .to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for p in paths:
        print(p)
    return EXIT_OK


# ---- theory ------------------------------------------------------------------------------------


def cmd_theory(args: argparse.Namespace) -> int:
    from reluinj import theory

    if args.table:
        return _theory_table(args, theory)
    if args.level is None:
        raise CLIError("theory: give --level L (one of "
                       f"{', '.join(theory.LEVELS)}) [--alpha A], or --table")
    level = theory.normalize_level(args.level)
    t0 = time.perf_counter()
    if args.alpha is not None:
        res = theory.energy(args.alpha, level).to_dict()
        out = {"level": level, "alpha": args.alpha, "e": res.get("e"),
               "params": res.get("params", {})}
    else:
        res = theory.threshold(level).to_dict()
        out = {"level": level, "alpha_inj": res.get("alpha_inj"),
               "params": res.get("params", {})}
    for k, v in res.items():
        out.setdefault(k, v)
    out["time_s"] = time.perf_counter() - t0
    if args.json:
        _print_json(out)
    else:
        if args.alpha is not None:
            print(f"level {level}: e({args.alpha}) = {out['e']:.10g}  params {out['params']}")
        else:
            print(f"level {level}: alpha_inj = {out['alpha_inj']:.10g}  params {out['params']}")
    return EXIT_OK


THEORY_TABLE_LEVELS = ("1", "2p", "2", "3", "4")
THEORY_TABLE_ALPHAS = tuple(np.round(np.arange(3.0, 10.0 + 1e-9, 0.5), 10))


def _theory_table(args: argparse.Namespace, theory: Any) -> int:
    if not (hasattr(theory, "threshold_table") and hasattr(theory, "theory_table")):
        raise CLIError("theory --table: this version of reluinj.theory has no threshold_table / "
                       "theory_table")
    levels = tuple(s.strip() for s in args.levels.split(",") if s.strip()) \
        if args.levels else THEORY_TABLE_LEVELS
    levels = tuple(theory.normalize_level(lv) for lv in levels)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    thr = theory.threshold_table(levels)
    tab = theory.theory_table(levels, list(THEORY_TABLE_ALPHAS))
    written = []
    for df, stem in ((thr, "thresholds"), (tab, "energies")):
        df.to_csv(out / f"{stem}.csv", index=False)
        (out / f"{stem}.md").write_text(_markdown(df) + "\n")
        written += [out / f"{stem}.csv", out / f"{stem}.md"]
    for p in written:
        print(p)
    return EXIT_OK


def _markdown(df: Any) -> str:
    """A GitHub Markdown table (no dependency on tabulate); thresholds keep 10 significant digits."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        cells = []
        for col, v in zip(cols, row, strict=True):
            if isinstance(v, float):
                fmt = ".10g" if col.startswith(("alpha_inj", "e")) else ".6g"
                cells.append("" if not math.isfinite(v) else f"{v:{fmt}}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---- check / bench -----------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    for p in (args.matrix, args.proof):
        if not Path(p).is_file():
            raise CLIError(f"check: file not found: {p}")
    from reluinj.empirical.proof_check import check_proof_file

    report = check_proof_file(args.matrix, args.proof)
    text = str(report)
    if not text.startswith(("VALID", "INVALID")):
        text = ("VALID: " if report.valid else "INVALID: ") + text
    print(text)
    return EXIT_OK if report.valid else EXIT_INVALID


def cmd_bench_scaling(args: argparse.Namespace) -> int:
    from . import bench_scaling

    return int(bench_scaling.main(quick=args.quick, out=args.out, dask_apis=args.dask_apis))


def cmd_bench_bounds(args: argparse.Namespace) -> int:
    from . import bench_bounds

    return int(bench_bounds.main(quick=args.quick, out=args.out, progress=not args.no_progress))


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec(f"{__package__}.bench_oracle") is None:
        raise CLIError("bench oracle: reluinj.experiments.bench_oracle is not installed")
    from . import bench_oracle

    rc = bench_oracle.main(quick=args.quick, out=args.out)
    return rc if isinstance(rc, int) else EXIT_OK


# ---- parser ------------------------------------------------------------------------------------


def _fit_options(p: argparse.ArgumentParser) -> None:
    from .fits import DEFAULT_BOOT, DEFAULT_SEED

    p.add_argument("--seed", type=_nonneg_int, default=DEFAULT_SEED,
                   help=f"bootstrap seed (default {DEFAULT_SEED}; recorded in the output)")
    p.add_argument("--boot", type=_int_range(0, 100_000), default=DEFAULT_BOOT,
                   help=f"bootstrap replicates (default {DEFAULT_BOOT})")
    p.add_argument("--levels", default="1,2p,2,3",
                   help="fl RDT levels set beside the estimates (default 1,2p,2,3)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="reluinj", description="Injectivity of random ReLU layers: exact k*(A), "
                "Monte Carlo experiments and fl RDT theory.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    r = sub.add_parser("run", help="run or resume a Monte Carlo experiment from a TOML config")
    r.add_argument("config", help="experiment config (TOML)")
    r.add_argument("--jobs", type=_int_range(1, 1024), default=1,
                   help="worker processes (default 1; with --backend dask: local workers)")
    r.add_argument("--out", help="results directory (default runs/<name>)")
    r.add_argument("--backend", default="loky", choices=["loky", "dask"],
                   help="loky: local process pool (default); dask: a dask.distributed cluster")
    r.add_argument("--scheduler", metavar="ADDRESS",
                   help="with --backend dask: scheduler address (tcp://host:8786) or scheduler "
                        "file of a running cluster")
    r.add_argument("--local-cluster", type=_int_range(1, 1024), metavar="N",
                   help="with --backend dask: start N local single-threaded workers (default: "
                        "--jobs)")
    r.add_argument("--max-instances", type=_nonneg_int, default=None,
                   help="stop after solving this many new instances (re-run to continue)")
    r.add_argument("--batch-size", type=_int_range(1, 100_000), default=None,
                   help="instances per task (default: automatic, about 1 s of work)")
    r.add_argument("--flush-seconds", type=_positive_float, default=5.0, metavar="SEC",
                   help="completed rows wait at most SEC before they are written (default 5; in "
                        "long runs 1%% of the elapsed time, at most 60 s)")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)

    s = sub.add_parser("solve", help="compute k*(A) of one matrix")
    s.add_argument("--n", type=_int_range(1, 1000), help="columns (input dimension)")
    s.add_argument("--m", type=_int_range(1, 100_000), help="rows (number of ReLUs)")
    s.add_argument("--seed", type=_nonneg_int,
                   help="A = numpy.random.default_rng(SEED).standard_normal((M, N))")
    s.add_argument("--matrix", help="m x n float array saved with numpy.save (.npy)")
    s.add_argument("--method", default=None,
                   help="solver (default: auto = the exact oracle where affordable, else "
                        "witness search + packing lower bound; exact = the oracle always; with "
                        "--threshold the default is exact)")
    s.add_argument("--decision", action="store_true", help="only decide k* >= n (injectivity)")
    s.add_argument("--threshold", type=_int_range(1, 10**9), default=None, metavar="T",
                   help="decide k* >= T instead (a Tukey-depth query; implies --decision and, "
                        "by default, --method exact, the one solver that can); with "
                        "--certificate the proof of k* >= T is written")
    s.add_argument("--time-limit", type=_time_limit, default=None, metavar="SEC",
                   help="seconds; beyond it the answer has bounds only")
    s.add_argument("--certificate", metavar="FILE", help="write a proof of injectivity to FILE")
    s.add_argument("--no-progress", action="store_true",
                   help="no status line (the exact oracle shows nodes, rate and the proven bounds "
                        "on a terminal after 2 s; Ctrl-C ends it with those bounds, status "
                        "'interrupted', exit status 130)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(func=cmd_solve)

    a = sub.add_parser("analyze", help="P(injective) with Wilson 95%% CI and mean k* per (n, m)")
    a.add_argument("dir", help="results directory")
    a.add_argument("--json", action="store_true", help="print a JSON array (with --fits, or for "
                   "a directory of results directories: one JSON object with the fits, and the "
                   "per-point table under 'points')")
    a.add_argument("--fits", action="store_true",
                   help="GLM fits alpha_50(n), extrapolation alpha_inf, slopes e(alpha); DIR may "
                        "also be a directory of results directories")
    _fit_options(a)
    a.set_defaults(func=cmd_analyze)

    rp = sub.add_parser("report", help="write DIR/report.md, DIR/fits.json and the fit figures")
    rp.add_argument("dir", help="results directory, or a directory of results directories")
    _fit_options(rp)
    rp.set_defaults(func=cmd_report)

    sg = sub.add_parser("study-grid", help="place the alpha grid and instances of a study from "
                        "a pilot run (writes a config)")
    sg.add_argument("pilot", help="results directory of the pilot run")
    sg.add_argument("--out", required=True, help="config (TOML) to write")
    sg.add_argument("--target-halfwidth", type=_positive_float, default=0.03,
                    help="target half-width of the 95 %% interval of alpha_50 (default 0.03)")
    sg.add_argument("--budget-hours", type=_positive_float, default=None,
                    help="wall-clock budget on --cores cores; instances are scaled down to fit")
    sg.add_argument("--cores", type=_int_range(1, 1024), default=2, help="cores (default 2)")
    sg.add_argument("--n", type=_int_range(1, 1000), nargs="+", default=None,
                    help="dimensions of the study (default: those of the pilot)")
    sg.add_argument("--seed", type=_nonneg_int, default=None,
                    help="seed of the study config (default: pilot seed + 1)")
    sg.add_argument("--name", default="study_pinj", help="config name (default study_pinj)")
    sg.add_argument("--span", type=_positive_float, default=0.75,
                    help="grid covers alpha_50 +- span * width (default 0.75)")
    sg.add_argument("--growth", type=_positive_float, default=None,
                    help="time factor per unit n beyond the pilot's largest n (default: the "
                         "fitted cost model)")
    sg.set_defaults(func=cmd_study_grid)

    pl = sub.add_parser("plot", help="write the figures (PNG and PDF) into DIR")
    pl.add_argument("dir", help="results directory")
    pl.add_argument("--levels", default="1,2p,2,3,4",
                    help="comma-separated fl RDT levels drawn (thresholds and e_r curves; "
                         "default 1,2p,2,3,4)")
    pl.set_defaults(func=cmd_plot)

    at = sub.add_parser("alg-threshold", help="algorithmic threshold: 50%% point in alpha of "
                        "P(witness search certifies k* < n) per (method, n), logit GLM fit")
    at.add_argument("dirs", nargs="+", metavar="DIR", help="results directories (any methods)")
    at.add_argument("--out", required=True, help="directory for success.csv, alpha_alg.csv and "
                    "the figure alpha_alg.{png,pdf}")
    at.add_argument("--levels", default="1,2,3", help="fl RDT levels drawn as horizontal lines "
                    "(default 1,2,3; the Euler heuristic is always drawn)")
    at.add_argument("--no-plot", action="store_true", help="tables only")
    at.set_defaults(func=cmd_alg_threshold)

    t = sub.add_parser("theory", help="fl RDT threshold alpha_inj or e(alpha) of a level")
    t.add_argument("--level", help="1, 2p, 2, 3 or 4")
    t.add_argument("--alpha", type=_finite_float, help="evaluate e_L(alpha) instead")
    t.add_argument("--json", action="store_true", help="print one JSON object")
    t.add_argument("--table", action="store_true",
                   help="write thresholds and e(alpha) tables (CSV + Markdown)")
    t.add_argument("--levels", help="levels for --table (default 1,2p,2,3,4)")
    t.add_argument("--out", default="results/theory", help="directory for --table")
    t.set_defaults(func=cmd_theory)

    v = sub.add_parser("verify", help="check every file of a results directory (and move "
                       "unreadable ones aside with --quarantine)")
    v.add_argument("dir", help="results directory")
    v.add_argument("--quarantine", action="store_true",
                   help="move unreadable part files / manifest / config into DIR/quarantine/")
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.set_defaults(func=cmd_verify)

    c = sub.add_parser("check", help="check an injectivity proof file against its matrix")
    c.add_argument("matrix", help="A as .npy")
    c.add_argument("proof", help="proof file written by solve --certificate")
    c.set_defaults(func=cmd_check)

    b = sub.add_parser("bench", help="benchmarks")
    bsub = b.add_subparsers(dest="bench", metavar="NAME", parser_class=_Parser)
    bo = bsub.add_parser("oracle", help="oracle benchmark (tables vs baselines)")
    bo.add_argument("--quick", action="store_true", help="small sizes only")
    bo.add_argument("--out", default=None, help="directory for the benchmark tables")
    bo.set_defaults(func=cmd_bench)
    bs = bsub.add_parser("scaling", help="instances/s with 1 vs 2 workers, loky and Dask")
    bs.add_argument("--quick", action="store_true", help="a few seconds per configuration")
    bs.add_argument("--out", default="results/scaling", help="directory for the tables "
                    "(default results/scaling)")
    bs.add_argument("--dask-apis", action="store_true",
                    help="instead: compare Client.submit/as_completed with joblib's Dask backend")
    bs.set_defaults(func=cmd_bench_scaling)
    bb = bsub.add_parser("bounds", help="bounding methods per method, n and alpha: success rate, "
                         "gap to the exact k* (n <= 16), median time")
    bb.add_argument("--quick", action="store_true", help="a few small instances (seconds)")
    bb.add_argument("--out", default=None, help="directory for the tables (CSV + Markdown); "
                    "default: print only")
    bb.add_argument("--no-progress", action="store_true", help="no progress bar")
    bb.set_defaults(func=cmd_bench_bounds)
    return p


def _one_line(msg: str) -> str:
    return " ".join(str(msg).split())


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``reluinj`` console script; returns the exit status."""
    def _warn(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        print(f"reluinj: warning: {_one_line(str(message))}", file=sys.stderr)

    old_show = warnings.showwarning
    warnings.showwarning = _warn
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            if args.command == "bench":
                raise CLIError("bench: name a benchmark: oracle, scaling or bounds (see reluinj bench "
                               "--help)")
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return int(args.func(args))
    except KeyboardInterrupt:
        print("reluinj: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ReluInjError, OSError) as exc:
        if os.environ.get("RELUINJ_DEBUG"):
            raise
        print(f"reluinj: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        warnings.showwarning = old_show


if __name__ == "__main__":
    sys.exit(main())
