"""The small Markdown of education pages: parsed, rendered safely, and read as plain text.

A page is a file (or a clinic's edited copy) with a front matter and a body::

    ---
    slug: preparing-for-tms
    title: Getting ready for TMS
    treatments: tms
    summary: What to tell us and what to bring.
    ---
    ## A heading
    A paragraph, with **bold** words and a citation [R46].

    - A list item.
    1. A numbered item.

Only that subset exists: ``##`` and ``###`` headings, paragraphs, ``-`` and ``1.`` lists and
``**bold**``. Everything else is text: every character is escaped, so a page can never carry
markup or script of its own. Citations (``[R46]``) are handed to a function the caller gives,
which turns each group into a link. No Django import.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

from trellis.lib.sources import CITATION

ALL = "all"
# The treatments a page may be assigned to: the modality codes, or every patient.
TREATMENTS = ("iv_ketamine", "esketamine", "oral_ketamine", "tms", ALL)

_HEADING = re.compile(r"^(#{2,3})\s+(.+)$")
_BULLET = re.compile(r"^[-*]\s+(.+)$")
_NUMBERED = re.compile(r"^\d+[.)]\s+(.+)$")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class PageFormatError(ValueError):
    """A page file that cannot be read: ``field`` names the part that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class PageText:
    slug: str
    title: str
    treatments: tuple[str, ...]
    summary: str
    body: str


def parse_treatments(text: str) -> tuple[str, ...]:
    """``"tms"``, ``"iv_ketamine, esketamine"`` or ``"all"`` as a tuple of known codes."""
    found = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not found:
        raise PageFormatError("treatments", "name at least one treatment, or all")
    unknown = [code for code in found if code not in TREATMENTS]
    if unknown:
        raise PageFormatError(
            "treatments", f"unknown {', '.join(unknown)}; use {', '.join(TREATMENTS)}"
        )
    if ALL in found and len(found) > 1:
        raise PageFormatError("treatments", "all cannot be combined with a treatment")
    return found


def parse(text: str) -> PageText:
    """A page file: its front matter (slug, title, treatments, summary) and its body."""
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "---" or "---" not in [s.strip() for s in lines[1:]]:
        raise PageFormatError("front matter", "a page starts with lines between two ---")
    end = 1 + [s.strip() for s in lines[1:]].index("---")
    meta: dict[str, str] = {}
    for line in lines[1:end]:
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise PageFormatError("front matter", f"'{line}' is not 'name: value'")
        meta[key.strip()] = value.strip()
    for key in ("slug", "title", "treatments", "summary"):
        if not meta.get(key):
            raise PageFormatError(key, "is missing from the front matter")
    if not _SLUG.match(meta["slug"]):
        raise PageFormatError("slug", "lower-case words joined by hyphens")
    body = "\n".join(lines[end + 1 :]).strip()
    if not body:
        raise PageFormatError("body", "a page needs some text")
    return PageText(
        slug=meta["slug"],
        title=meta["title"],
        treatments=parse_treatments(meta["treatments"]),
        summary=meta["summary"],
        body=body,
    )


@dataclass(frozen=True)
class Block:
    kind: str  # "h2", "h3", "p", "ul", "ol"
    lines: tuple[str, ...]  # a paragraph's text as one line; a list's items


def blocks(body: str) -> list[Block]:
    """The body's headings, paragraphs and lists, in order."""
    found: list[Block] = []
    kind, lines = "", []

    def close() -> None:
        nonlocal kind, lines
        if lines:
            text = (" ".join(lines),) if kind == "p" else tuple(lines)
            found.append(Block(kind, text))
        kind, lines = "", []

    for raw in body.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line:
            close()
            continue
        heading = _HEADING.match(line)
        bullet = _BULLET.match(line)
        numbered = _NUMBERED.match(line)
        if heading:
            close()
            found.append(Block(f"h{len(heading.group(1))}", (heading.group(2).strip(),)))
        elif bullet or numbered:
            item_kind = "ul" if bullet else "ol"
            if kind != item_kind:
                close()
                kind = item_kind
            lines.append((bullet or numbered).group(1).strip())
        elif kind in ("ul", "ol") and raw[:1] in (" ", "\t") and lines:
            lines[-1] = f"{lines[-1]} {line}"  # an item's continued line
        else:
            if kind != "p":
                close()
                kind = "p"
            lines.append(line)
    close()
    return found


def _inline(text: str, cite: Callable[[str], str] | None) -> str:
    out = []
    position = 0
    for group in CITATION.finditer(text):
        # "small [R46]." reads "small¹." : the mark sits against the word it supports.
        out.append(_bold(html.escape(text[position : group.start()].rstrip())))
        out.append(cite(group.group(0)) if cite else html.escape(group.group(0)))
        position = group.end()
    out.append(_bold(html.escape(text[position:])))
    return "".join(out)


def _bold(escaped: str) -> str:
    return _BOLD.sub(r"<strong>\1</strong>", escaped)


def render(body: str, cite: Callable[[str], str] | None = None) -> str:
    """The body as HTML. All text is escaped; ``cite`` turns one citation group ("[R16, R19]")
    into HTML and must escape what it returns itself."""
    parts = []
    for block in blocks(body):
        if block.kind in ("h2", "h3"):
            parts.append(f"<{block.kind}>{_inline(block.lines[0], cite)}</{block.kind}>")
        elif block.kind == "p":
            parts.append(f"<p>{_inline(block.lines[0], cite)}</p>")
        else:
            items = "".join(f"<li>{_inline(item, cite)}</li>" for item in block.lines)
            parts.append(f"<{block.kind}>{items}</{block.kind}>")
    return "\n".join(parts)


def _sentence(text: str) -> str:
    text = CITATION.sub("", _BOLD.sub(r"\1", text))
    text = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()
    return text if not text or text[-1] in ".!?:" else f"{text}."


def plain_paragraphs(body: str) -> list[str]:
    """The reader's text without headings, citations or markup: each paragraph, and each list
    as one paragraph whose items end as sentences (an item is read as a unit of its own)."""
    return [
        " ".join(_sentence(line) for line in block.lines)
        for block in blocks(body)
        if block.kind in ("p", "ul", "ol")
    ]


def plain_text(body: str) -> str:
    return "\n\n".join(plain_paragraphs(body))


# --- Reading level -------------------------------------------------------------------------
# Pages for patients are written for a 6th–8th-grade reader or easier. The measure is the
# Flesch–Kincaid grade of the reader's text (``plain_text``: no headings, citations or markup),
# computed by the caller (``textstat.flesch_kincaid_grade`` in the suite). A page passes when
# its grade is at most GRADE_MAX and no paragraph long enough to measure (PARAGRAPH_WORDS words
# or more) is above PARAGRAPH_MAX: one hard paragraph cannot hide among easy ones.
GRADE_MAX = 8.0
PARAGRAPH_MAX = 10.0
PARAGRAPH_WORDS = 30


def reading_problems(body: str, grade: Callable[[str], float]) -> list[str]:
    """What keeps ``body`` from the reading level, in words; empty when it reads well."""
    problems = []
    whole = grade(plain_text(body))
    if whole > GRADE_MAX:
        problems.append(f"the page reads at grade {whole:.1f}, over {GRADE_MAX}")
    for paragraph in plain_paragraphs(body):
        if len(paragraph.split()) < PARAGRAPH_WORDS:
            continue
        level = grade(paragraph)
        if level > PARAGRAPH_MAX:
            problems.append(f"a paragraph reads at grade {level:.1f}: {paragraph[:60]}…")
    return problems
