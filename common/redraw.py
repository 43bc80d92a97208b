"""Redraw the loss, accuracy and confusion-matrix figures of recorded runs, and the comparison figures
that show them, without training.

    python -m common.redraw                          # every record in results/
    python -m common.redraw --only ex4/keras         # the records under results/ex4/keras/
    python -m common.redraw --only ex4/keras/MyResNet ex1

These figures are functions of their records alone (history, confusion matrix,
settings), so a change to how they are drawn (common/figures.py) reaches every
committed run in seconds instead of days of training. The ten-worst thumbnails
are test images, not drawings, and are left as they are. A record that cannot
be read, or lacks what its figures need, is a warning naming it, and the exit
code is 1; the others are still redrawn. Framework-free: imports neither torch
nor TensorFlow.
"""
from __future__ import annotations

from pathlib import Path

from common import comparisons, report_inputs
from common.entry import exit_process, run_command
from common.errors import UserError
from common.parser import Parser

# What a record's own figures are drawn from (common.outputs.figure_files); report_inputs has left
# each of them out (None) where it was malformed.
FIGURES_NEED = ("history", "confusion_matrix", "class_names", "validation", "test_set")


def missing_for_figures(record: dict) -> list:
    return [name for name in FIGURES_NEED if record.get(name) is None]


def selected(keys, only) -> list:
    """The (ex, framework, model) keys under any of the ``only`` prefixes ('ex4', 'ex4/keras', 'ex4/keras/MyResNet')."""
    if not only:
        return sorted(keys)
    prefixes = [tuple(part for part in prefix.split("/") if part) for prefix in only]
    unmatched = [p for p, parts in zip(only, prefixes) if not any(key[:len(parts)] == parts for key in keys)]
    if unmatched:
        raise UserError(f"--only {' '.join(unmatched)}: no record there (expected <ex>[/<framework>[/<model>]], "
                        f"e.g. ex4/keras/MyResNet)")
    return sorted(key for key in keys if any(key[:len(parts)] == parts for parts in prefixes))


def main(argv=None) -> int:
    parser = Parser(prog="python -m common.redraw", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="PREFIX", default=None,
                        help="records to redraw: ex, ex/framework or ex/framework/model (default: all)")
    parser.add_argument("--results", default=str(report_inputs.REPO_ROOT / "results"),
                        help="folder of <ex>/<framework>/<model>.json records; plots/ beside it is written")
    progress = {"drawn": 0, "of": 0}

    def body() -> int:
        args = parser.parse_args(argv)
        results = Path(args.results)
        if not results.is_dir():
            raise UserError(f"--results {results}: no such folder")
        ctx = report_inputs.context(results, results.parent)  # warns about the records it cannot use
        records = ctx.records
        keys = selected(set(records.found) | set(records.unreadable), args.only)
        progress["of"] = len(keys)

        from common.outputs import write_figures  # numpy and matplotlib: only once the options are good
        failed = [key for key in keys if key in records.unreadable]
        for key in (key for key in keys if key in records.found):
            missing = missing_for_figures(records.found[key])
            if missing:
                report_inputs.warn(f"{results / Path(*key)}.json: cannot draw its figures: no usable "
                                   f"{', '.join(missing)}; left as they were")
                failed.append(key)
                continue
            paths = write_figures(records.found[key], results.parent)
            progress["drawn"] += 1
            print(f"{'/'.join(key)}: {paths['loss'].name}, {paths['accuracy'].name}, "
                  f"{paths['confusion_matrix'].name}")
        # Every comparison figure showing a selected record (all of them without --only; then the figures
        # of comparisons no longer made go too).
        changed = comparisons.update(ctx, redraw=True, keys=set(keys) if args.only else None)
        drawn = [path for path in changed if path.exists()]
        for path in changed:
            print(path.name if path in drawn else f"{path.name}: deleted (no longer compared)")
        print(f"redrew the figures of {progress['drawn']} of {len(keys)} records and {len(drawn)} comparison "
              f"figure{'' if len(drawn) == 1 else 's'}"
              + (f"; {len(failed)} could not be drawn (see the warnings)" if failed else ""))
        return 1 if failed else 0

    # Every figure is written whole (atomic), so stopping loses nothing.
    return run_command(body, lambda exc: f"redrew {progress['drawn']} of {progress['of']} records")


if __name__ == "__main__":
    exit_process(main())
