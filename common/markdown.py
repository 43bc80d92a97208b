"""Markdown for the README's generated blocks: tables, linked images, heading anchors, the contents list,
and replacing a block between its two marker lines. Standard library only."""
from __future__ import annotations

import collections
import re
from typing import Optional

from common.errors import UserError


def cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(header: list, rows: list, align: Optional[list] = None) -> list:
    """A table's lines; a cell starting with "<" is HTML and kept as it is."""
    align = align or [":---:"] * len(header)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(cell(c) if not str(c).startswith("<") else str(c) for c in row) + " |"
              for row in rows]
    return lines


def image(link: Optional[str], height: Optional[int] = None) -> str:
    """An image linked to its full size, or "figure missing"."""
    if link is None:
        return "figure missing"
    size = f' height="{height}"' if height else ""
    return f'<a href="{link}"><img src="{link}"{size} /></a>'


def anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def contents(text: str, levels: range = range(2, 5)) -> list:
    """A nested list of links to the headings of ``text`` at ``levels``, skipping code blocks.

    Anchors follow GitHub's rule, numbering repeated headings (-1, -2, ...) over every level,
    so the links stay right when two sections share a title."""
    seen: collections.Counter = collections.Counter()
    lines, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        match = None if fenced else re.match(r"(#{1,6}) +(.+?) *$", line)
        if not match:
            continue
        heading, level = match.group(2), len(match.group(1))
        slug = anchor(heading)
        link = slug if not seen[slug] else f"{slug}-{seen[slug]}"
        seen[slug] += 1
        if level in levels:
            lines.append("  " * (level - levels.start) + f"- [{heading}](#{link})")
    return lines


def lines_text(lines: list) -> str:
    """Lines joined, trailing blank lines dropped, one final newline."""
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def has_block(text: str, begin: str, end: str, name: str, required: bool = True) -> bool:
    """Whether ``text`` holds one ``begin`` line followed by one ``end`` line; False for a block that is
    absent and not required. Malformed markers are an error that names the file."""
    if not required and begin not in text and end not in text:
        return False
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise UserError(f"{name} needs exactly one '{begin}' line followed by one '{end}' line; "
                        f"nothing was written")
    return True


def splice(text: str, body: str, begin: str, end: str, name: str) -> str:
    """Replace what lies between the markers; everything else is kept byte for byte."""
    has_block(text, begin, end, name)
    start = text.index(begin) + len(begin)
    return text[:start] + "\n" + body + text[text.index(end):]
