"""The report's numbers quoted in the exercise scripts' docstrings are the report's (common/reference_results.csv)."""
import ast
import csv
import re

import pytest

from common.scripts import FRAMEWORKS, SCRIPTS, script_path
from tests.helpers import REPO

REFERENCE = {(row["exercise"], row["framework"], row["model"]): row
             for row in csv.DictReader((REPO / "common" / "reference_results.csv").open())}
PATHS = [script_path(ex, fw) for fw in FRAMEWORKS for ex in SCRIPTS]


def report_paragraph(path) -> str:
    """The docstring's paragraph that quotes the report ("Report (RTX 3060, ...): model1 91.74%, ...")."""
    doc = ast.get_docstring(ast.parse(path.read_text()))
    (paragraph,) = [p for p in doc.split("\n\n") if p.startswith("Report (")]
    return " ".join(paragraph.split())


@pytest.mark.parametrize("path", PATHS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_quoted_accuracies_and_times_are_the_reports(path):
    exercise, framework = path.name.split("_")[0], path.parent.name
    text = report_paragraph(path)
    # "model1 91.74%", "best lab3.3 44.50%", "MyResNet 73.63% (1153.49 s)", "against model7's 68.57%"
    quoted = re.findall(r"(\w+?)(?:'s|\.3)? (\d+\.\d+)%(?: \((\d+\.\d+) s\))?", text)
    assert quoted, text
    for model, accuracy, seconds in quoted:
        key = (exercise, framework, model) if (exercise, framework, model) in REFERENCE else ("ex2", framework, model)
        assert REFERENCE[key]["test_accuracy_pct"] == accuracy, (model, accuracy)
        if seconds:
            assert float(REFERENCE[key]["train_time_s"]) == float(seconds), (model, seconds)
