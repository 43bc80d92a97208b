"""The tables of docs/performance.md, rendered from the benchmark records in results/benchmarks/*.json.

    python -m common.benchmark_table            # docs/performance.md's tables from results/benchmarks/*.json
    python -m common.benchmark_table --print    # print the section, change nothing
    python -m common.benchmark_table --check    # exit 1 if docs/performance.md is out of date

The records are written by ``pytorch/benchmark.py`` and ``keras/benchmark.py``
(common.benchmark). The section lies between ``<!-- performance:begin -->``
and ``<!-- performance:end -->``; missing markers are added in a "## Performance"
section just before "## Other machines". Text outside the markers is never
touched, and a second run changes nothing (the section holds only what the
records hold).

Standard library only: never imports torch, TensorFlow or numpy.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from common.atomic import write_text
from common.benchmark import FRAMEWORKS, RESULTS_DIR
from common.entry import exit_process, run_command
from common.errors import UserError
from common.parser import Parser

REPO_ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- performance:begin -->"
END = "<!-- performance:end -->"
SECTION = "## Performance"
BEFORE = "## Other machines"


# --- the table ------------------------------------------------------------------

def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value, digits=0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _command(record: dict) -> str:
    """The command that measured, without the options naming this machine's folders."""
    words, out, skip = record.get("command", "?").split(), [], False
    for word in words:
        if skip:
            skip = False
        elif word in ("--data-dir", "--out"):
            skip = True
        elif not word.startswith(("--data-dir=", "--out=")):
            out.append(word)
    return "python " + " ".join(out)


def record_peaks(record: dict) -> dict:
    """precision -> best matmul GFLOP/s (records from before --precision hold one fp32 peak)."""
    if "peaks" in record:
        return {p: v["peak_gflops"] for p, v in record["peaks"].items()}
    return {"fp32": record.get("peak_gflops")}


def render(record: dict) -> str:
    """One framework's record as a markdown paragraph, a table and the measured shares, as numbers only."""
    framework = record.get("framework", "?")
    title = FRAMEWORKS.get(framework, framework)
    versions = ", ".join(f"{k} {v}" for k, v in record.get("versions", {}).items())
    load = record.get("load_average_start")
    load_text = f"load average {load[0]:.2f} (1 min) at start" if load else "load average unknown"
    if load and record.get("cpu_count") and load[0] > 0.5 * record["cpu_count"]:
        load_text += f" on {record['cpu_count']} cores: other jobs were running, the numbers are lower bounds"
    device, threads = record.get("device", "?"), record.get("threads", "?")
    if f"{threads} thread" not in device:
        device += f", threads: {threads}"
    peaks = "; ".join(f"{p} {_num(v, 1)} GFLOP/s" for p, v in record_peaks(record).items())
    lines = [
        f"### {title}",
        "",
        f"`{_command(record)}`: {versions}; {device}; {record.get('cpu', '?')}; batch {record.get('batch_size')}; "
        f"{record.get('seconds'):g} s per measurement; {load_text}; {record.get('date', '?')}. "
        f"Matmul peak: {peaks} ({record.get('peak_method', '?')}).",
        "",
        "| Model | Precision | Augmentation | M mult-adds / image | Samples/s | × fp32 | GFLOP/s "
        "| % of its precision's peak | Input pipeline | Augmentation share |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for m in record.get("models", []):
        speedup = m.get("speedup_over_fp32")
        lines.append(f"| {m['id']} | {m.get('precision', 'fp32')} | {m.get('augmentation') or '-'} "
                     f"| {m['multiply_adds'] / 1e6:,.2f} | {_num(m['samples_per_s'])} "
                     f"| {'-' if speedup is None else f'{speedup:.2f}x'} | {_num(m['gflops'], 1)} "
                     f"| {_pct(m['fraction_of_peak'])} | {_pct(m['input_share'])} | {_pct(m.get('augment_share'))} |")
    lines.append("")
    lines += [f"- {fact}" for fact in measured_facts(record)]
    return "\n".join(lines)


def measured_facts(record: dict) -> list:
    """What the extras measured, one line each, as numbers (no verdicts against internal goals)."""
    out = []
    models = record.get("models", [])
    if models:
        worst = max(models, key=lambda m: m["input_share"])
        out.append(f"Input pipeline: at most {_pct(worst['input_share'])} of a training step ({worst['id']}).")
    augmented = [m for m in models if m.get("augment_share") is not None]
    if augmented:
        worst = max(augmented, key=lambda m: m["augment_share"])
        out.append(f"Augmentation: at most {_pct(worst['augment_share'])} of a training step ({worst['id']}).")
    cmp = record.get("dataloader_comparison")
    if cmp:
        per, mem = cmp["per_sample"], cmp["in_memory"]
        how = "extrapolated from " + " and ".join(f"{s['steps']} steps" for s in (per, mem)) \
            if per.get("extrapolated") or mem.get("extrapolated") else "measured"
        out.append(f"One epoch of {cmp['model']} on {cmp['n_train']:,} images: per-sample Dataset + DataLoader "
                   f"(ToTensor + Normalize per image, num_workers {cmp['num_workers']}) {per['epoch_s']:.1f} s, "
                   f"in-memory slicing {mem['epoch_s']:.1f} s ({how}): {cmp['speedup']:.2f}x faster in memory.")
    ev = record.get("evaluation_figures")
    if ev:
        out.append(f"Evaluation plus all figures of {ev['model']} for {ev['n_test']:,} test images: "
                   f"{ev['seconds']:.2f} s (predict {ev['predict_s']:.2f} s, record {ev['record_s']:.2f} s, "
                   f"figures {ev['figures_s']:.2f} s).")
    return out


def render_section(results_dir=RESULTS_DIR) -> str:
    """The README section: one part per framework record found (PyTorch, then Keras)."""
    results_dir = Path(results_dir)
    parts = []
    for framework in FRAMEWORKS:
        path = results_dir / f"{framework}.json"
        if not path.is_file():
            continue
        try:
            record = json.loads(path.read_text())
            parts.append(render(record))
        except (ValueError, KeyError, TypeError) as exc:
            print(f"warning: {path}: unreadable benchmark record ({type(exc).__name__}: {exc}); skipped",
                  file=sys.stderr)
    if not parts:
        return "(not yet measured: run `python pytorch/benchmark.py` and `python keras/benchmark.py`)"
    intro = ("Training throughput from `python pytorch/benchmark.py` and `python keras/benchmark.py` "
             "(records in `results/benchmarks/`). GFLOP/s = 6 x multiply-adds per image x samples/s "
             "(2 FLOPs per multiply-add, forward plus backward = 3 forward passes), counted from the built "
             "models (torch's FlopCounterMode; Keras' Conv2D and Dense layers); input pipeline and augmentation are shares of the training step's time.")
    return intro + "\n\n" + "\n\n".join(parts)


def insert_section(readme: str, section: str) -> str:
    """``readme`` with ``section`` between the markers; markers added before "## Other machines" if missing."""
    block = f"{BEGIN}\n{section.strip()}\n{END}"
    begin, end = readme.find(BEGIN), readme.find(END)
    if begin != -1 and end > begin:
        return readme[:begin] + block + readme[end + len(END):]
    if begin != -1 or end != -1:
        raise UserError(f"README.md holds only one of {BEGIN} and {END}: fix it by hand")
    new = f"{SECTION}\n\n{block}\n\n"
    at = readme.find(f"\n{BEFORE}\n")
    if at != -1:
        return readme[:at + 1] + new + readme[at + 1:]
    if readme.startswith(f"{BEFORE}\n"):
        return new + readme
    return readme.rstrip("\n") + "\n\n" + new.rstrip("\n") + "\n"


def main(argv=None) -> int:
    parser = Parser(prog="python -m common.benchmark_table", description=__doc__.split("\n\n")[0])
    parser.add_argument("--readme", default=str(REPO_ROOT / "docs" / "performance.md"), metavar="PAGE",
                        help="the page that holds the performance section")
    parser.add_argument("--results", default=str(RESULTS_DIR), help="folder of <framework>.json records")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--print", action="store_true", help="print the section and change nothing")
    mode.add_argument("--check", action="store_true", help="exit 1 if the README's section is out of date")
    def body() -> int:
        args = parser.parse_args(argv)
        section = render_section(args.results)
        if args.print:
            print(section)
            return 0
        readme_path = Path(args.readme)
        if not readme_path.is_file():
            raise UserError(f"{readme_path}: no such file")
        readme = readme_path.read_text()
        updated = insert_section(readme, section)
        if args.check:
            if updated != readme:
                print(f"{readme_path}: the performance section is out of date: run python -m common.benchmark_table",
                      file=sys.stderr)
                return 1
            return 0
        if updated != readme:
            write_text(readme_path, updated)
            print(f"{readme_path}: performance section updated")
        else:
            print(f"{readme_path}: performance section already up to date")
        return 0

    return run_command(body, "nothing written")


if __name__ == "__main__":
    exit_process(main())
