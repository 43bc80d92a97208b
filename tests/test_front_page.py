"""The committed README.md is a front page: short, the Quick start on its first screen, every recorded model
linked to its analysis in REPORT.md, and the comparison figures it shows drawn and committed."""
import json
import re

from common import markdown
from common.report_inputs import FRAMEWORKS
from tests.helpers import REPO

MAX_LINES = 400
FIRST_SCREEN = 15  # lines: what a browser shows above the fold, under the title


def readme() -> str:
    return (REPO / "README.md").read_text()


def test_the_front_page_stays_short():
    lines = readme().count("\n")
    assert lines < MAX_LINES, f"README.md has {lines} lines: move detail to REPORT.md or docs/"


def test_the_quick_start_comes_right_after_the_first_paragraph():
    lines = readme().splitlines()
    headings = [i for i, line in enumerate(lines) if line.startswith("## ")]
    assert lines[headings[0]].startswith("## Quick start"), lines[headings[0]]
    assert headings[0] < FIRST_SCREEN
    assert lines[0].startswith("# ") and sum(1 for line in lines[1:headings[0]] if line == "") == 2  # one paragraph


def report_anchors() -> set:
    """Every heading's anchor in REPORT.md, as GitHub makes them."""
    return {link.split("](#", 1)[1].rstrip(")")
            for link in markdown.contents((REPO / "REPORT.md").read_text(), levels=range(1, 7))}


def test_every_recorded_model_is_linked_to_its_analysis():
    links = re.findall(r"\]\(REPORT\.md#([^)]+)\)", readme())
    anchors = report_anchors()
    assert set(links) <= anchors, set(links) - anchors
    for path in sorted((REPO / "results").glob("ex*/*/*.json")):
        record = json.loads(path.read_text())
        title = f"{FRAMEWORKS[record['framework']]} {record['exercise']} {record['model']}"
        assert markdown.anchor(title) in links, f"{title} is not linked from README.md"


def test_the_front_pages_figures_are_committed_comparisons():
    images = re.findall(r'<img src="([^"]+)"', readme())
    assert images, "no comparison figure on the front page"
    for image in images:
        assert "comparison" in image and (REPO / image).is_file(), image
