"""Run every model of the report, each in its own process: one after another on one machine, or as a Slurm
job array over many (slurm/campaign.sbatch; docs/cluster.md).

    python -m common.campaign --list-jobs          # the numbered jobs: done or to run, each with its command
    python -m common.campaign                      # every job not done yet, one after another
    python -m common.campaign --job 7              # job 7 only (--job alone: $SLURM_ARRAY_TASK_ID)
    python -m common.campaign --epochs-cap 2 --limit 1000 --out /tmp/quick
    python -m common.campaign --only ex1 keras/ex2 pytorch/ex3/PraisyNet
    python -m common.campaign --only ex4 --script-args 'ex4: --weights none'   # offline: no ImageNet weights

A job is one model of one exercise script. Jobs are numbered in the order of the scripts' EPOCHS, ex1 to
ex4, Keras then PyTorch; the numbers depend only on the scripts and on --only, never on what is done, so
the tasks of a Slurm array and a list printed on a login node agree. A job runs
``python <framework>/<script> --models NAME --epochs N --precision fp32 --resume-or-restart ...`` from the
repository root: an interrupted, cancelled or requeued job continues from its model's last checkpoint,
and one whose checkpoint cannot be continued (other settings or data) starts over.

A job is done, and skipped, when its record under --out is at least as full as the job asks: at least its
epochs (and at most the report's), all images or at least its --limit, fp32, and the value of every option
--batch-size, --seed, --val-split and --script-args give it, wherever the record states that option.
Options not given are the scripts' defaults, which the campaign does not read: a record made by hand with
another --seed counts as done; --force runs every job again, from scratch. A record that is unreadable or
malformed is a warning, and its job runs. A job that fails is reported and the others still run (exit code
1). Ctrl-C or SIGTERM stops the running script (it leaves no partial files) and says what became of its
model. When --out is the repository, the README's results are rebuilt at the end.

Framework-free: standard library only; the scripts' models are read from their source (common.scripts).
"""
from __future__ import annotations

import argparse
import collections
import fnmatch
import json
import math
import os
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from common import layout
from common.atomic import check_writable
from common.interrupts import interrupt_exit_code
from common.entry import exit_process, run_command
from common.errors import UserError
from common.parser import BATCH_SIZE, EPOCHS, LIMIT, SEED, VAL_SPLIT, Parser, whole
from common.progress import duration
from common.scripts import FRAMEWORKS, SCRIPTS, read_script, script_path

REPO_ROOT = Path(__file__).resolve().parents[1]
ARRAY_TASK = "SLURM_ARRAY_TASK_ID"
# Slurm's time limit per job: the longest training time among the jobs' records, times this margin (the
# cluster's node may be slower than the machine that made the record, and a job also loads its framework,
# its data, and evaluates), rounded up to a whole hour.
TIME_MARGIN = 2


@dataclass
class Job:
    number: int
    exercise: str
    framework: str
    model: str
    script: Path
    epochs: int          # what this campaign trains: the report's, or --epochs-cap
    report_epochs: int
    limit: Optional[int]  # --limit, passed to the script
    argv: list           # the script's arguments
    options: dict        # the options given beyond the job's own, {"--weights": "none", "--freeze-backbone": True}

    @property
    def key(self) -> str:
        return f"{self.framework}/{self.exercise}/{self.model}"

    @property
    def command(self) -> list:
        return [sys.executable, str(self.script), *self.argv]

    def shown_command(self, root: Path) -> str:
        return shlex.join(["python", self.script.relative_to(root).as_posix(), *self.argv])


def matches(pattern: str, key: str) -> bool:
    """'ex1', 'keras/ex2', 'pytorch/ex3/PraisyNet', 'ex2/model1', 'model*': consecutive parts of
    framework/exercise/model, as shell-style patterns."""
    parts, keys = pattern.strip("/").split("/"), key.split("/")
    return any(all(fnmatch.fnmatchcase(k, p) for k, p in zip(keys[i:i + len(parts)], parts))
               for i in range(len(keys) - len(parts) + 1))


def script_options(tokens: list) -> dict:
    """['--weights', 'none', '--freeze-backbone'] -> {'--weights': 'none', '--freeze-backbone': True}."""
    found = {}
    for i, token in enumerate(tokens):
        if token.startswith("--"):
            name, equals, value = token.partition("=")
            following = tokens[i + 1] if i + 1 < len(tokens) else None
            found[name] = value if equals else following if following and not following.startswith("--") else True
    return found


# --- the jobs ---------------------------------------------------------------------------------------------

def list_jobs(root: Path, out: Path, options) -> list:
    """Every model of every exercise script, numbered in a stable order; only those --only names."""
    keys = []
    for exercise in SCRIPTS:
        for framework in FRAMEWORKS:
            # A script that cannot be read stops the campaign: skipping it would renumber every later job.
            info = read_script(script_path(exercise, framework, root))
            keys += [(info, model) for model in info.models]
    if options.only:
        unmatched = [p for p in options.only
                     if not any(matches(p, f"{info.framework}/{info.exercise}/{model}") for info, model in keys)]
        if unmatched:
            raise UserError(f"--only {' '.join(unmatched)} matches no model (models are named like "
                            f"keras/ex1/model1; patterns: ex1, keras/ex2, pytorch/ex3/PraisyNet)")
        keys = [(info, model) for info, model in keys
                if any(matches(p, f"{info.framework}/{info.exercise}/{model}") for p in options.only)]
    return [make_job(number, info, model, out, options) for number, (info, model) in enumerate(keys)]


def make_job(number: int, info, model: str, out: Path, options) -> Job:
    key, report_epochs = f"{info.framework}/{info.exercise}/{model}", info.epochs[model]
    epochs = min(report_epochs, options.epochs_cap) if options.epochs_cap else report_epochs
    # fp32 as the report trained; a checkpoint continues unless --force asks for a run from scratch.
    argv = ["--models", model, "--epochs", str(epochs), "--precision", "fp32",
            "--force" if options.force else "--resume-or-restart"]
    if out != REPO_ROOT:  # the scripts' default --out is this repository
        argv += ["--out", str(out)]
    for flag, value in (("--limit", options.limit), ("--data-dir", options.data_dir), ("--device", options.device)):
        if value is not None:
            argv += [flag, str(value)]
    # Options that change the experiment: a done job's record states the same values.
    extra = [token for flag, value in (("--batch-size", options.batch_size), ("--seed", options.seed),
                                       ("--val-split", options.val_split)) if value is not None
             for token in (flag, str(value))]
    for pattern, more in options.script_args or ():
        if matches(pattern, key):
            extra += more
    return Job(number, info.exercise, info.framework, model, info.path, epochs, report_epochs, options.limit,
               argv + extra, script_options(extra))


# --- records ----------------------------------------------------------------------------------------------

def epochs(n: int) -> str:
    return f"{n} epoch{'s' if n != 1 else ''}"


def kind(value) -> str:
    return {list: "a list", dict: "an object", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def shown(value) -> str:
    """A value read from a record, in a few characters: JSON for a plain value, the kind of a list or an
    object (which may be nested too deep to print)."""
    return kind(value) if isinstance(value, (list, dict)) else json.dumps(value)[:40]


def malformed(record) -> Optional[str]:
    """What makes a parsed record unusable here, or None. Any JSON at all may come in."""
    if not isinstance(record, dict):
        return f"it is {kind(record)}, not a record (a JSON object)"
    for name, low, high, whole_only in (("epochs", 1, math.inf, True), ("train_time_s", 0, math.inf, False),
                                        ("test_accuracy", 0, 1, False)):
        value = record.get(name)
        number = isinstance(value, int if whole_only else (int, float)) and not isinstance(value, bool)
        if not number or not low <= value <= high:
            return f"its {name} is {shown(value)}" if name in record else f"it has no {name}"
    limit = record.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        return f"its limit is {shown(record['limit'])}"
    if not isinstance(record.get("precision", "fp32"), str):
        return f"its precision is {shown(record['precision'])}"
    return None


def read_record(path: Path) -> tuple:
    """(record, None), (None, None) when there is none, or (None, why it is unusable)."""
    if not path.is_file():
        return None, None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:  # deep nesting: RecursionError
        return None, f"it cannot be read ({type(exc).__name__})"
    problem = malformed(record)
    return (None, problem) if problem else (record, None)


def stated(record: dict, option: str):
    """The value the record states for a script option ('--weights' -> settings.weights), or KeyError."""
    name = option.lstrip("-").replace("-", "_")
    for where in (record, record.get("settings"), record.get("optimizer")):
        if isinstance(where, dict) and name in where:
            return where[name]
    raise KeyError(option)


def same(value, given) -> bool:
    """Whether a record's value is what the command line gave ('none' for None, '0.1' for 0.1, a flag for True)."""
    if isinstance(value, bool) or given is True:
        return value is True and given is True
    if value is None:
        return str(given).lower() == "none"
    if isinstance(value, (int, float)):
        try:
            return math.isclose(float(given), value, rel_tol=1e-9)
        except ValueError:
            return False
    return str(value) == str(given)


def shortfall(record: dict, job: Job) -> list:
    """How the record falls short of the job ([]: the job is done)."""
    why = []
    if not job.epochs <= record["epochs"] <= job.report_epochs:
        why.append(f"{epochs(record['epochs'])} (wanted {job.epochs})")
    if record.get("limit") is not None and (job.limit is None or record["limit"] < job.limit):
        why.append(f"--limit {record['limit']} (wanted {job.limit or 'all images'})")
    if record.get("precision", "fp32") != "fp32":
        why.append(f"precision {record['precision']} (wanted fp32)")
    for option, given in job.options.items():
        try:
            value = stated(record, option)
        except KeyError:
            continue  # an option records do not state (--device, --tensorboard ...): nothing to compare
        if not same(value, given):
            why.append(f"{option} {shown(value)} (wanted {given})")
    return why


def status(job: Job, out: Path, force: bool) -> tuple:
    """(done, what the list shows for it); an unusable record is also a warning."""
    path = layout.record(out, job.exercise, job.framework, job.model)
    record, problem = read_record(path)
    if problem:
        print(f"warning: {path}: {problem}; job {job.number} ({job.key}) runs again", file=sys.stderr, flush=True)
        return False, f"its record is unusable ({problem})"
    if record is None:
        return False, "no record yet"
    why = shortfall(record, job)
    if force or why:
        return False, "--force" if not why else "its record has " + ", ".join(why)
    return True, f"record: {epochs(record['epochs'])}, {record['test_accuracy']:.2%}"


def checkpoint_epoch(out: Path, job: Job) -> int:
    """The last epoch the model's checkpoint holds, 0 when none can be read (the script decides the rest)."""
    meta = layout.checkpoint_dir(out, job.exercise, job.framework, job.model) / "meta.json"
    try:
        epoch = json.loads(meta.read_text(encoding="utf-8")).get("epoch")
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, AttributeError):
        return 0
    return epoch if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch > 0 else 0


# --- time -------------------------------------------------------------------------------------------------

def estimate(job: Job, out: Path, root: Path) -> Optional[float]:
    """Seconds the job trains, scaled from its model's record (under --out, else the repository's), made on
    all images; None without one, or for a --limit run (a smoke run needs no estimate)."""
    if job.limit is not None:
        return None
    for folder in dict.fromkeys((out, root)):
        record, _ = read_record(layout.record(folder, job.exercise, job.framework, job.model))
        if record is not None and record.get("limit") is None:
            return record["train_time_s"] / record["epochs"] * job.epochs
    return None


def time_limit(seconds: float) -> str:
    """Slurm's --time for jobs whose longest estimate is ``seconds``: with the margin, whole hours."""
    hours = max(1, math.ceil(seconds * TIME_MARGIN / 3600))
    return f"{hours}:00:00"


# --- the list -----------------------------------------------------------------------------------------------

def print_list(jobs: list, states: dict, estimates: dict, root: Path, sbatch_args: list) -> None:
    width = max(len(job.key) for job in jobs)
    for job in jobs:
        done, text = states[job.number]
        seconds = estimates[job.number]
        if done:
            print(f"{job.number:>4}  done    {job.key:<{width}}  {text}")
            continue
        took = f"~{duration(seconds)} by its record's time" if seconds is not None else "no time estimate"
        print(f"{job.number:>4}  to run  {job.key:<{width}}  {epochs(job.epochs)}, {took}; {text}\n"
              f"{'':>14}$ {job.shown_command(root)}")
    todo = [job for job in jobs if not states[job.number][0]]
    known = [estimates[job.number] for job in todo if estimates[job.number] is not None]
    left = f", about {duration(sum(known))} of training" if known else ""
    unknown = len(todo) - len(known)
    print(f"{len(jobs)} jobs (0-{len(jobs) - 1}): {len(jobs) - len(todo)} done, {len(todo)} to run{left}"
          + (f" ({unknown} without an estimate)" if known and unknown else ""))
    longest = max((s for s in estimates.values() if s is not None), default=None)
    time_option = [f"--time={time_limit(longest)}"] if longest is not None else []
    print("on a Slurm cluster: " + shlex.join(["sbatch", f"--array=0-{len(jobs) - 1}", *time_option,
                                                "slurm/campaign.sbatch", *sbatch_args]), flush=True)


# --- running ------------------------------------------------------------------------------------------------

def stop(proc: subprocess.Popen) -> None:
    """After Ctrl-C or SIGTERM: the script has most likely had the signal too (the terminal sends Ctrl-C to
    both, Slurm signals every process of a job) and stops at once, leaving no partial files; else ask it
    (terminate: SIGTERM, which the scripts take as Ctrl-C), then insist (kill, which Windows has too)."""
    for ask, timeout in ((None, 3), (proc.terminate, 30), (proc.kill, 10)):
        if proc.poll() is not None:
            return
        try:
            if ask is not None:
                ask()
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            continue
        except KeyboardInterrupt:  # pressed again: insist at once
            continue


def run_script(job: Job, root: Path) -> tuple:
    """Run the job's script; (exit code, last line of its stderr). Its output goes to ours as it comes."""
    tail = collections.deque(maxlen=1)
    proc = subprocess.Popen(job.command, cwd=root, stderr=subprocess.PIPE, text=True, errors="replace")

    def forward():
        for line in proc.stderr:
            sys.stderr.write(line)
            sys.stderr.flush()
            if line.strip():
                tail.append(line.strip())

    reader = threading.Thread(target=forward, daemon=True)
    reader.start()
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        stop(proc)
        reader.join(5)
        raise
    reader.join(5)
    return code, (tail[0] if tail else "")


def written(job: Job, out: Path, before: Optional[int]) -> Optional[dict]:
    """The record the job's run has just written, when it is new and as full as the job asks."""
    path = layout.record(out, job.exercise, job.framework, job.model)
    record, _ = read_record(path)
    if record is None or shortfall(record, job):
        return None
    return record if before is None or path.stat().st_mtime_ns != before else None


def run_job(job: Job, root: Path, out: Path) -> bool:
    """Run one job and say how it ended; True if its record was written."""
    path = layout.record(out, job.exercise, job.framework, job.model)
    before = path.stat().st_mtime_ns if path.is_file() else None
    start = time.monotonic()
    try:
        code, last = run_script(job, root)
    except KeyboardInterrupt:
        print(f"\ncampaign: {job.key} {interrupted_outcome(job, out, before)}", file=sys.stderr, flush=True)
        raise
    record = written(job, out, before)
    if record is not None:
        print(f"campaign: {job.key} finished in {duration(time.monotonic() - start)}: "
              f"test accuracy {record['test_accuracy']:.2%}", flush=True)
        return True
    why = (f"exit code {code}" + (f": {last}" if last else "") if code
           else f"it wrote no record with the job's settings at {path}")
    print(f"campaign: {job.key} FAILED ({why})", file=sys.stderr, flush=True)
    return False


def interrupted_outcome(job: Job, out: Path, before: Optional[int]) -> str:
    """What became of a job stopped by Ctrl-C or SIGTERM: its script may have written its record first."""
    if written(job, out, before) is not None:
        return "had finished: its record was written before the stop"
    epoch = checkpoint_epoch(out, job)
    if epoch:
        return f"stopped after epoch {epoch} of {job.epochs}: the next run of this job continues from its checkpoint"
    return "stopped before its first checkpoint: the next run of this job starts it over"


def run_one(jobs: list, number: Optional[int], root: Path, out: Path, force: bool) -> int:
    """--job N: the one job of a Slurm array task."""
    if number is None:
        text = os.environ.get(ARRAY_TASK)
        if text is None:
            raise UserError(f"--job needs a number, or ${ARRAY_TASK} (which sbatch --array sets)")
        try:
            number = whole(0)(text)
        except argparse.ArgumentTypeError as exc:
            raise UserError(f"${ARRAY_TASK}: {exc}") from None
    if number >= len(jobs):
        raise UserError(f"there is no job {number}: these options give {len(jobs)} jobs, 0-{len(jobs) - 1} "
                        f"(sbatch --array=0-{len(jobs) - 1} with the same options; --list-jobs lists them)")
    job = jobs[number]
    done, text = status(job, out, force)
    if done:
        print(f"campaign: job {number}, {job.key}, is done already ({text}); nothing to run", flush=True)
        return 0
    print(f"campaign: job {number}, {job.key}, {epochs(job.epochs)} ({text})\n$ {job.shown_command(root)}",
          flush=True)
    try:
        return 0 if run_job(job, root, out) else 1
    except KeyboardInterrupt as exc:  # scancel, the time limit, a preemption: Slurm sends SIGTERM
        print(f"campaign: job {number} interrupted; it continues when it runs again (Slurm requeues a "
              f"preempted task itself; submit a cancelled or timed-out one again: sbatch --array={number} "
              f"with the same options)", file=sys.stderr, flush=True)
        return interrupt_exit_code(exc)


def run_all(jobs: list, states: dict, root: Path, out: Path) -> int:
    """One machine: every job not done, one after another; a failure does not stop the others."""
    todo = [job for job in jobs if not states[job.number][0]]
    finished, failed = [], []
    print(f"campaign: {len(jobs)} jobs, {len(jobs) - len(todo)} done, {len(todo)} to run "
          f"(--list-jobs lists them)", flush=True)
    for n, job in enumerate(todo, start=1):
        print(f"\ncampaign [{n}/{len(todo)}] job {job.number}, {job.key}, {epochs(job.epochs)}; "
              f"{len(finished)} finished, {len(failed)} failed so far\n$ {job.shown_command(root)}", flush=True)
        try:
            (finished if run_job(job, root, out) else failed).append(job)
        except KeyboardInterrupt as exc:
            print(f"campaign: interrupted; {len(finished)} jobs finished in this campaign, {len(todo) - n} "
                  f"not started. Run the same command again to continue: finished jobs are skipped.",
                  file=sys.stderr, flush=True)
            return interrupt_exit_code(exc)
    print(f"\ncampaign: {len(jobs) - len(todo) + len(finished)} of {len(jobs)} jobs done "
          f"({len(finished)} in this campaign), {len(failed)} failed"
          + "".join(f"\n  failed: job {job.number}, {job.key}" for job in failed), flush=True)
    if out == root:
        rebuild_readme(root)
    else:
        print(f"campaign: the records are in {out / 'results'}; the repository's README shows the "
              f"repository's own", flush=True)
    return 1 if failed else 0


def rebuild_readme(root: Path) -> None:
    from common import report  # only here: the report reads every record and the reference figures

    try:
        report.rebuild(root / "README.md", layout.results_dir(root), root)
        print(f"campaign: the results in {root / 'README.md'} are up to date", flush=True)
    except UserError as exc:
        print(f"campaign: README not rebuilt: {exc}", file=sys.stderr, flush=True)


# --- command line -------------------------------------------------------------------------------------------

def script_args(text: str) -> tuple:
    """'ex4: --weights none' -> ('ex4', ['--weights', 'none'])."""
    pattern, colon, rest = text.partition(":")
    if not colon or not pattern.strip():
        raise argparse.ArgumentTypeError(f"expected 'PATTERN: ARGS' (e.g. 'ex4: --weights none'), got {text!r}")
    try:
        return pattern.strip(), shlex.split(rest)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


FROM_SLURM = -1  # --job without a number; never a number --job accepts


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m common.campaign", description=__doc__.split("\n\n")[0])
    parser.add_argument("--list-jobs", "--dry-run", dest="list_jobs", action="store_true",
                        help="list the numbered jobs, done or to run, with their commands and times; run nothing")
    parser.add_argument("--job", nargs="?", type=whole(0), const=FROM_SLURM, default=None, metavar="N",
                        help="run job N only (a Slurm array task; --job alone reads $SLURM_ARRAY_TASK_ID)")
    parser.add_argument("--only", nargs="+", metavar="PATTERN", default=None,
                        help="only these models: ex1, keras/ex2, pytorch/ex3/PraisyNet, ex2/model1, model* ...")
    parser.add_argument("--epochs-cap", type=EPOCHS, default=None, metavar="N",
                        help="train each model min(report's epochs, N) epochs")
    parser.add_argument("--limit", type=LIMIT, default=None, metavar="N", help="passed to every script (smoke runs)")
    parser.add_argument("--data-dir", default=None, help="passed to every script")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default=None,
                        help="passed to every script (default: the scripts' own, auto)")
    parser.add_argument("--batch-size", type=BATCH_SIZE, default=None, help="passed to every script")
    parser.add_argument("--seed", type=SEED, default=None, help="passed to every script")
    parser.add_argument("--val-split", type=VAL_SPLIT, default=None, help="passed to every script")
    parser.add_argument("--script-args", action="append", type=script_args, default=None,
                        metavar="'PATTERN: ARGS'",
                        help="more options for the scripts matching PATTERN, e.g. 'ex4: --weights none' (repeatable)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="where the scripts write results/, plots/, ten_worst/, checkpoints/: on a cluster, "
                             "a folder every node sees (default: the repository)")
    parser.add_argument("--force", action="store_true",
                        help="run every job, done or not, from scratch; in the repository, replace records made "
                             "with fuller or other settings")
    parser.add_argument("--root", default=str(REPO_ROOT), help="repository holding keras/ and pytorch/ (for tests)")
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)

    def body() -> int:
        options = build_parser().parse_args(argv)
        root = Path(options.root).resolve()
        out = Path(options.out).resolve() if options.out else root
        jobs = list_jobs(root, out, options)
        if options.job is not None:
            check_writable(out, "--out ")
            return run_one(jobs, None if options.job == FROM_SLURM else options.job, root, out, options.force)
        states = {job.number: status(job, out, options.force) for job in jobs}
        if options.list_jobs:
            estimates = {job.number: estimate(job, out, root) for job in jobs}
            print_list(jobs, states, estimates, root, [a for a in argv if a not in ("--list-jobs", "--dry-run")])
            return 0
        check_writable(out, "--out ")  # the scripts check their own folders; fail before the first one starts
        return run_all(jobs, states, root, out)

    # SIGTERM is an interrupt here too (run_command), so a killed campaign stops its running script; once
    # jobs run, they say themselves what an interrupt left.
    return run_command(body, "the campaign stopped before any job ran")


if __name__ == "__main__":
    exit_process(main())
