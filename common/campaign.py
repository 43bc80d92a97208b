"""Run every experiment of the report: each model of each exercise script, one process per model.

    python -m common.campaign --dry-run                 # the plan: what is done, what would run, how long
    python -m common.campaign                           # everything, the report's epochs
    python -m common.campaign --epochs-cap 2            # everything, at most 2 epochs per model
    python -m common.campaign --only ex1 keras/ex2 pytorch/ex3/PraisyNet
    python -m common.campaign --only ex4 --script-args 'ex4: --weights none'   # offline: no ImageNet weights

Models come from the scripts' EXERCISE.models (keras/ and pytorch/, ex1..ex4), run as
``python <framework>/<script> --models <name> --epochs <n> ...`` from the
repository root, each in its own process (TensorFlow and torch never share
one). A model whose record already holds these settings (epochs, batch size,
learning rate, seed, --limit, --val-split, and the exercise's own options the
record lists under "settings") is skipped, so an interrupted
campaign continues where it stopped; a record with more epochs (up to the
report's) also counts, so a capped campaign never replaces a longer run. In
the repository (no --out), a model whose record was made with fuller or other
settings than the campaign's is not run at all (the scripts keep such a
record: common.preflight); --force runs it. A model that fails is reported and
the others still run; the exit code is then 1, as it is when a model of the
report has no script yet or is not run. The README's results are rebuilt after
each model, from the records under --out: the repository's README only when
--out is the repository, else the one --readme names. Ctrl-C or SIGTERM stops
the current model (the scripts leave no partial files; the next campaign
continues it from its last epoch). The scripts keep each model's last
checkpoint, so raising --epochs-cap later trains only the epochs a record
lacks; a checkpoint that cannot be continued (made with other settings or
data, or past the epochs wanted) is started over, and the plan says so.
--force starts every model over.

Framework-free: standard library only.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import fnmatch
import io
import json
import math
import re
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from common import layout, preflight, report
from common.atomic import check_writable, interrupt_exit_code
from common.entry import exit_process, run_command
from common.errors import UserError
from common.parser import BATCH_SIZE, EPOCHS, LIMIT, SEED, VAL_SPLIT, Parser
from common.progress import duration

REPO_ROOT = report.REPO_ROOT
TRAIN_IMAGES = {"mnist": 60_000, "cifar10": 50_000}  # full training sets (common.data checks the files)
# Rough seconds per training image per epoch on a 2-core CPU, used until a record of the
# exercise gives a measured rate; startup (framework import, data loading) per process.
DEFAULT_RATE = {"ex1": 1e-3, "ex2": 2e-3, "ex3": 3e-3, "ex4": 3e-2}
STARTUP_S = 20.0


@dataclass
class Job:
    exercise: str
    framework: str
    model: str
    script: Optional[Path] = None
    epochs: Optional[int] = None
    report_epochs: Optional[int] = None
    argv: list = field(default_factory=list)       # arguments of the script (after its path)
    wanted: dict = field(default_factory=dict)     # the settings a matching record must hold
    options: dict = field(default_factory=dict)    # every option the script will see (for record["settings"])
    resumable: bool = False                        # the script takes --resume (checkpoints per epoch)
    done_epochs: int = 0                           # epochs its checkpoint already holds (--resume trains the rest)
    done_seconds: list = field(default_factory=list)  # what those epochs took: the best guide to the rest
    dataset: str = "cifar10"
    state: str = "run"                             # "done" | "run" | "unavailable"
    reason: str = ""
    estimate_s: float = 0.0
    estimate_kind: str = "rough"

    @property
    def key(self) -> str:
        return f"{self.framework}/{self.exercise}/{self.model}"

    @property
    def command(self) -> list:
        return [sys.executable, str(self.script), *self.argv]

    def shown_command(self, root: Path) -> str:
        script = self.script.relative_to(root) if self.script and self.script.is_relative_to(root) else self.script
        return " ".join(["python", str(script), *self.argv])


def record_path(out: Path, job: Job) -> Path:
    return layout.record(out, job.exercise, job.framework, job.model)


def read_checkpoint(out: Path, job: Job) -> tuple:
    """(the last epoch the model's checkpoint holds, the seconds its epochs took, why it cannot be continued).

    (0, [], None) without a checkpoint; (0, [], why) for one the script will start over (--resume-or-restart):
    unreadable, past the epochs wanted, or made with settings other than the job's. The script checks the rest
    (architecture, data) itself, and starts over if they differ too."""
    meta = layout.checkpoint_dir(out, job.exercise, job.framework, job.model) / "meta.json"
    if not meta.exists():
        return 0, [], None
    try:
        saved = json.loads(meta.read_text(encoding="utf-8"))
        epoch, signature = saved["epoch"], saved["signature"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return 0, [], "is unreadable"
    if not (isinstance(epoch, int) and 0 < epoch <= job.epochs):
        return 0, [], f"is after epoch {epoch}, past the {epochs(job.epochs)} wanted"
    if not isinstance(signature, dict):
        return 0, [], "is unreadable"
    diffs = differences({**signature, "optimizer": {"lr": signature.get("lr")}, "epochs": job.epochs}, job)
    if diffs:
        return 0, [], f"was made with other settings ({', '.join(diffs)})"
    history = saved.get("history")
    seconds = history.get("seconds") if isinstance(history, dict) else None
    if not isinstance(seconds, list):
        return epoch, [], None
    return epoch, [s for s in seconds if isinstance(s, (int, float)) and s > 0], None


def read_record(path: Path):
    """(record, None) or (None, why it cannot be used)."""
    if not path.is_file():
        return None, "no record yet"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"record unreadable ({type(exc).__name__})"
    problem = report.check_record(record)
    return (None, f"record malformed ({problem})") if problem else (record, None)


def record_val_split(record) -> Optional[float]:
    if isinstance(record.get("val_split"), (int, float)):
        return float(record["val_split"])
    validation = record.get("validation")
    if not isinstance(validation, str):
        return None
    if validation.startswith("the test set"):
        return 0.0
    match = re.search(r"\(([0-9.]+) of the training set\)", validation)
    return float(match.group(1)) if match else None


def differences(record: dict, job: Job) -> list:
    """How the record's settings differ from the job's ([] = the job is done)."""
    wanted = job.wanted
    found = {
        "batch_size": record.get("batch_size"),
        "lr": (record.get("optimizer") or {}).get("lr") if isinstance(record.get("optimizer"), dict) else None,
        "seed": record.get("seed"),
        "limit": record.get("limit"),
        "val_split": record_val_split(record),
        "deterministic": bool(record.get("deterministic", False)),
    }
    diffs = []
    epochs = record.get("epochs")
    longer_is_fine = job.report_epochs is not None and job.epochs < epochs <= job.report_epochs
    if epochs != job.epochs and not longer_is_fine:
        diffs.append(f"epochs {epochs} (wanted {job.epochs})")
    for name, value in wanted.items():
        have = found[name]
        same = (have == value if not isinstance(value, float) or have is None
                else isinstance(have, (int, float)) and math.isclose(have, value, rel_tol=1e-9, abs_tol=1e-12))
        if not same:
            diffs.append(f"{name.replace('_', '-')} {have} (wanted {value})")
    # The exercise's own options, as the record lists them (e.g. ex4's weights, freeze_backbone, image_size).
    settings = record.get("settings") if isinstance(record.get("settings"), dict) else {}
    for name, have in sorted(settings.items()):
        if name in job.options and job.options[name] != have:
            diffs.append(f"--{name.replace('_', '-')} {have} (wanted {job.options[name]})")
    return diffs


def matches(pattern: str, key: str) -> bool:
    """'ex1', 'keras/ex2', 'pytorch/ex3/PraisyNet', 'ex2/model1', 'model*': consecutive parts of
    framework/exercise/model, as shell-style patterns."""
    parts, keys = pattern.strip("/").split("/"), key.split("/")
    return any(all(fnmatch.fnmatchcase(k, p) for k, p in zip(keys[i:i + len(parts)], parts))
               for i in range(len(keys) - len(parts) + 1))


def plan(root: Path, out: Path, options) -> list:
    """Every model of every exercise, in the report's order, exercise by exercise."""
    reference = report.load_reference()
    jobs = []
    for ex in report.EXERCISES:
        for fw in report.FRAMEWORKS:
            script = report.load_script(root, ex, fw)
            ref_names = [m for (e, f, m) in reference if (e, f) == (ex, fw)]
            for name in report.model_order(ref_names, list(script.models) if script else None, []):
                job = Job(ex, fw, name, dataset=report.EXERCISES[ex][2])
                path = report.script_path(root, ex, fw)
                if script is None:
                    job.state = "unavailable"
                    job.reason = (f"{fw}/{path.name} cannot be imported" if path.is_file()
                                  else f"{fw}/{path.name} is not written yet")
                elif name not in script.models:
                    job.state, job.reason = "unavailable", f"not among the models of {fw}/{path.name}"
                else:
                    prepare(job, script, out, options)
                jobs.append(job)
    return jobs


def prepare(job: Job, script: report.ScriptInfo, out: Path, options) -> None:
    """The job's command and settings, as the script's own parser reads them."""
    from common.cli import build_parser  # framework-free: argparse only

    job.script = script.path
    job.dataset = script.exercise.dataset
    job.report_epochs = script.report_epochs(job.model)
    job.epochs = min(job.report_epochs, options.epochs_cap) if options.epochs_cap else job.report_epochs
    argv = ["--models", job.model, "--epochs", str(job.epochs)]
    for flag, value in (("--batch-size", options.batch_size), ("--seed", options.seed),
                        ("--limit", options.limit), ("--val-split", options.val_split)):
        if value is not None:
            argv += [flag, str(value)]
    for pattern, extra in options.script_args or ():
        if matches(pattern, job.key):
            argv += extra
    try:
        args = build_parser(script.exercise).parse_args(argv)
    except (UserError, SystemExit) as exc:
        job.state, job.reason = "unavailable", f"the script rejects {' '.join(argv)} ({exc})"
        return
    job.wanted = {"batch_size": args.batch_size, "lr": args.lr, "seed": args.seed, "limit": args.limit,
                  "val_split": float(args.val_split)}
    if hasattr(args, "deterministic"):
        job.wanted["deterministic"] = bool(args.deterministic)
    job.options = vars(args)
    # An interrupted model continues from its last epoch's checkpoint, and a capped one from its capped run's,
    # and one whose checkpoint cannot be continued (other settings or data) starts over instead of failing;
    # --force retrains from scratch (with --resume, a kept checkpoint would only be re-evaluated), and lets
    # the script replace a record made with fuller settings.
    if hasattr(args, "resume_or_restart") and not options.force:
        argv.append("--resume-or-restart")
        job.resumable = True
    if options.force and hasattr(args, "force"):
        argv.append("--force")
    # The scripts' --out default is this repository's root: say --out whenever it is anything else.
    in_repository = out == REPO_ROOT.resolve()
    job.argv = argv + ([] if in_repository else ["--out", str(out)])
    if options.data_dir:
        job.argv += ["--data-dir", str(options.data_dir)]
    if options.device:
        job.argv += ["--device", options.device]
    record, why = read_record(record_path(out, job))
    if record is not None:
        diffs = differences(record, job)
        if not diffs and not options.force:
            job.state, job.reason = "done", f"record: {epochs(record['epochs'])}, {record['test_accuracy']:.2%}"
            return
        why = "--force" if not diffs else "record differs: " + ", ".join(diffs)
        # In the repository the script keeps a record made with fuller or other settings (common.preflight).
        kept = [] if options.force or not in_repository else preflight.shortfall(
            record, {**preflight.run_settings(argparse.Namespace(**job.options), job.epochs), "settings": job.options})
        if kept:
            job.state = "unavailable"
            job.reason = (f"its record is kept, as the script keeps a record made with fuller or other settings "
                          f"({'; '.join(kept)}): --out DIR runs it elsewhere, --force replaces it")
            return
    job.state, job.reason = "run", why
    if job.resumable:
        job.done_epochs, job.done_seconds, restart = read_checkpoint(out, job)
        if job.done_epochs:
            job.reason += f"; continues its checkpoint after epoch {job.done_epochs}"
        elif restart:
            job.reason += f"; starts over: its checkpoint {restart}"


# --- time estimates ----------------------------------------------------------------

def rates(out: Path) -> dict:
    """Measured seconds per training image per epoch, from every readable record."""
    found = collections.defaultdict(list)
    for path in sorted(layout.results_dir(out).glob("*/*/*.json")):
        record, _ = read_record(path)
        if record is None or record["epochs"] < 1 or record["n_train"] < 1 or record["train_time_s"] <= 0:
            continue
        rate = record["train_time_s"] / (record["epochs"] * record["n_train"])
        ex, fw, model = record["exercise"], record["framework"], record["model"]
        for key in ((ex, fw, model), (ex, fw), (ex,)):
            found[key].append(rate)
    return {key: statistics.median(values) for key, values in found.items()}


def estimate(jobs: list, out: Path, options) -> None:
    """Each job's seconds: its checkpoint's epochs, else its own record's rate, else similar runs, else a guess."""
    measured = rates(out)
    for job in jobs:
        if job.state != "run":
            continue
        if job.done_seconds:  # the very run it continues, on this machine; the median skips warm-up epochs
            per_epoch = statistics.median(job.done_seconds)
            job.estimate_kind = f"measured: {per_epoch:.0f} s per epoch in its checkpoint"
            job.estimate_s = STARTUP_S + per_epoch * (job.epochs - job.done_epochs)
            continue
        if (job.exercise, job.framework, job.model) in measured:
            rate, job.estimate_kind = measured[job.exercise, job.framework, job.model], "measured"
        elif (job.exercise, job.framework) in measured:
            rate, job.estimate_kind = measured[job.exercise, job.framework], "from similar runs"
        elif (job.exercise,) in measured:
            rate, job.estimate_kind = measured[job.exercise,], "from similar runs"
        else:
            rate, job.estimate_kind = DEFAULT_RATE[job.exercise], "rough"
        images = options.limit or TRAIN_IMAGES.get(job.dataset, 50_000)
        n_train = images - max(1, round(images * job.wanted["val_split"])) if job.wanted["val_split"] else images
        job.estimate_s = STARTUP_S + rate * n_train * (job.epochs - job.done_epochs)


def epochs(n: int) -> str:
    return f"{n} epoch{'s' if n != 1 else ''}"


def remaining_text(jobs: list) -> str:
    todo = [j for j in jobs if j.state == "run"]
    if not todo:
        return "nothing left"
    rough = any(j.estimate_kind == "rough" for j in todo)
    return f"about {duration(sum(j.estimate_s for j in todo))} left{' (partly a rough guess)' if rough else ''}"


def print_plan(jobs: list, root: Path) -> None:
    width = max(len(j.key) for j in jobs)
    for job in jobs:
        if job.state == "done":
            line = f"  done         {job.key:<{width}}  {job.reason}"
        elif job.state == "run":
            line = (f"  to run       {job.key:<{width}}  {epochs(job.epochs)}, ~{duration(job.estimate_s)} "
                    f"({job.estimate_kind}; {job.reason})\n               $ {job.shown_command(root)}")
        else:
            line = f"  unavailable  {job.key:<{width}}  {job.reason}"
        print(line)
    counts = collections.Counter(j.state for j in jobs)
    print(f"plan: {len(jobs)} model{'s' if len(jobs) != 1 else ''}; {counts['done']} done, {counts['run']} to run, "
          f"{counts['unavailable']} unavailable; {remaining_text(jobs)}", flush=True)


# --- running -------------------------------------------------------------------------

def stop(proc: subprocess.Popen) -> None:
    """Ctrl-C: let the script stop cleanly (it leaves no partial files), then insist."""
    for sig, timeout in ((None, 3), (signal.SIGINT, 30), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            return
        try:
            if sig is not None:  # first: a Ctrl-C at the terminal has reached the script too
                proc.send_signal(sig)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            continue
        except KeyboardInterrupt:  # pressed again: escalate at once
            continue


def run_job(job: Job, root: Path) -> tuple:
    """Run one model; (exit code, last line of its stderr). Its output goes to ours as it comes."""
    tail = collections.deque(maxlen=20)
    proc = subprocess.Popen(job.command, cwd=root, stderr=subprocess.PIPE, text=True, errors="replace")

    def forward():
        for line in proc.stderr:
            sys.stderr.write(line)
            sys.stderr.flush()
            if line.strip():
                tail.append(line.rstrip())

    reader = threading.Thread(target=forward, daemon=True)
    reader.start()
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        stop(proc)
        reader.join(5)
        raise
    reader.join(5)
    return code, (tail[-1] if tail else "")


def rebuild_readme(readme: Path, out: Path, root: Path, quiet: bool) -> None:
    try:
        if quiet:  # the report's warnings are printed once, at the end
            with contextlib.redirect_stderr(io.StringIO()):
                report.rebuild(readme, layout.results_dir(out), root)
        else:
            report.rebuild(readme, layout.results_dir(out), root)
            print(f"campaign: the results in {readme} are up to date", flush=True)
    except UserError as exc:
        print(f"campaign: README not rebuilt: {exc}", file=sys.stderr, flush=True)


def campaign(jobs: list, root: Path, out: Path, readme: Optional[Path], options) -> int:
    todo = [j for j in jobs if j.state == "run"]
    done = sum(j.state == "done" for j in jobs)
    failed, finished = [], []
    current = None
    try:
        for n, job in enumerate(todo, start=1):
            current = job
            print(f"\ncampaign [{n}/{len(todo)}] {job.key}, {epochs(job.epochs)} (~{duration(job.estimate_s)}); "
                  f"done {done + len(finished)}, failed {len(failed)}, remaining {len(todo) - n + 1}; "
                  f"{remaining_text(jobs)}\n$ {job.shown_command(root)}", flush=True)
            path = record_path(out, job)
            before = path.stat().st_mtime_ns if path.is_file() else None
            start = time.monotonic()
            code, last = run_job(job, root)
            elapsed = time.monotonic() - start
            record, why = read_record(path)
            if record is not None and (before is not None and path.stat().st_mtime_ns == before):
                record, why = None, "no new record written"
            elif record is not None and differences(record, job):
                record, why = None, "the new record differs: " + ", ".join(differences(record, job))
            if code == 0 and record is not None:
                job.state = "done"
                finished.append(job)
                print(f"campaign: {job.key} done in {duration(elapsed)}: "
                      f"test accuracy {record['test_accuracy']:.2%}", flush=True)
            else:
                job.state = "failed"
                job.reason = f"exit code {code}" + (f": {last}" if last else "") + ("" if code else f" ({why})")
                failed.append(job)
                print(f"campaign: {job.key} FAILED ({job.reason}); continuing with the others",
                      file=sys.stderr, flush=True)
            estimate(jobs, out, options)  # the new record refines the estimates
            if readme:
                rebuild_readme(readme, out, root, quiet=True)
            current = None
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM: the running script is stopped at its checkpoint
        left = [j for j in todo if j.state == "run" and j is not current]
        print(f"\ncampaign: interrupted; {len(finished)} models finished in this campaign"
              + (f", {current.key} stopped (no record; " + ("its checkpoint resumes on the next run)"
                                                               if current.resumable else "it starts over)")
                 if current else "")
              + f", {len(left)} not run. Run the same command again to continue: finished models are skipped.",
              file=sys.stderr, flush=True)
        if readme:
            rebuild_readme(readme, out, root, quiet=True)
        return interrupt_exit_code(exc)

    unavailable = [j for j in jobs if j.state == "unavailable"]
    print(f"\ncampaign: {done + len(finished)} of {len(jobs)} models done ({len(finished)} in this campaign), "
          f"{len(failed)} failed, {len(unavailable)} unavailable", flush=True)
    for job in failed:
        print(f"  failed       {job.key}: {job.reason}", flush=True)
    for job in unavailable:
        print(f"  unavailable  {job.key}: {job.reason}", flush=True)
    if readme:
        rebuild_readme(readme, out, root, quiet=False)
    else:
        print(f"campaign: no README rebuilt: --out {out} is not the repository (--readme FILE rebuilds one "
              f"from its records)", flush=True)
    return 1 if failed or unavailable else 0


def script_args(text: str) -> tuple:
    """'ex4: --weights none' -> ('ex4', ['--weights', 'none'])."""
    pattern, colon, rest = text.partition(":")
    if not colon or not pattern.strip():
        raise argparse.ArgumentTypeError(f"expected 'PATTERN: ARGS' (e.g. 'ex4: --weights none'), got {text!r}")
    return pattern.strip(), shlex.split(rest)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m common.campaign", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="PATTERN", default=None,
                        help="run only these: ex1, keras/ex2, pytorch/ex3/PraisyNet, ex2/model1, model* ...")
    parser.add_argument("--epochs-cap", type=EPOCHS, default=None, metavar="N",
                        help="train each model min(report's epochs, N) epochs")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and the time estimate; run nothing")
    parser.add_argument("--force", action="store_true",
                        help="run models even if a record with these settings exists, from scratch; in the "
                             "repository, replace records made with fuller or other settings too")
    parser.add_argument("--data-dir", default=None, help="passed to every script")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default=None,
                        help="passed to every script (default: the scripts' own, auto)")
    parser.add_argument("--limit", type=LIMIT, default=None, metavar="N", help="passed to every script (smoke runs)")
    parser.add_argument("--batch-size", type=BATCH_SIZE, default=None,
                        help="passed to every script (default: the script's)")
    parser.add_argument("--seed", type=SEED, default=None, help="passed to every script (default: the script's)")
    parser.add_argument("--val-split", type=VAL_SPLIT, default=None,
                        help="passed to every script (default: the script's)")
    parser.add_argument("--script-args", action="append", type=script_args, default=None,
                        metavar="'PATTERN: ARGS'",
                        help="more options for the scripts matching PATTERN, e.g. 'ex4: --weights none' "
                             "(repeatable)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="where the scripts write plots/, ten_worst/, results/ (default: the repository root)")
    parser.add_argument("--readme", default=None,
                        help="README rebuilt from the records (default: the repository's README.md, "
                             "when --out is the repository; none otherwise)")
    parser.add_argument("--root", default=str(REPO_ROOT), help="repository holding keras/ and pytorch/ (for tests)")
    return parser


def main(argv=None) -> int:
    def body() -> int:
        options = build_parser().parse_args(argv)
        root = Path(options.root).resolve()
        out = Path(options.out).resolve() if options.out else root
        # The repository's README shows the repository's records: a campaign elsewhere rebuilds one only if named.
        readme = Path(options.readme) if options.readme else root / "README.md" if out == root else None
        jobs = plan(root, out, options)
        if options.only:
            unmatched = [p for p in options.only if not any(matches(p, j.key) for j in jobs)]
            if unmatched:
                raise UserError(f"--only {' '.join(unmatched)} matches no model (models are named like "
                                f"keras/ex1/model1; patterns: ex1, keras/ex2, pytorch/ex3/PraisyNet)")
            jobs = [j for j in jobs if any(matches(p, j.key) for p in options.only)]
        estimate(jobs, out, options)
        print_plan(jobs, root)
        if options.dry_run:
            return 0
        check_writable(out, "--out ")  # the scripts check their own folders; fail before the first one starts
        return campaign(jobs, root, out, readme, options)  # it reports an interrupt of its own models itself

    # A killed campaign stops its running script too (run_command makes SIGTERM an interrupt).
    return run_command(body, "campaign: stopped before any model ran")


if __name__ == "__main__":
    exit_process(main())
