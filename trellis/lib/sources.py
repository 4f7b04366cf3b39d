"""The references Trellis cites, read from ``docs/sources.md``, and citations made readable.

Code cites a reference by its number in brackets, ``[R16]`` or ``[R16, R19]`` (ranges such as
``[R28–R30]`` too). ``docs/sources.md`` writes every reference out in full under the same
number; its heading gives the short citation the screens show ("Spravato label 2019").

``pieces(text)`` splits a citing text into plain text and ``Cite`` pieces, which a template
renders as links to the Sources page and ``readable(text)`` as plain text that keeps each number
("Spravato label 2019 [R16]; Spravato safety information [R19]") so a machine can still resolve
it. Developers' pointers into the project notes ("DOMAIN.md §2.2") are dropped: they mean
nothing to a clinician. No Django import; the file is read once.
"""

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SOURCES_PATH = Path(__file__).resolve().parents[2] / "docs" / "sources.md"

_HEADING = re.compile(r"^### R(\d+) — (.+)$")
_FIELD = re.compile(r"^- \*\*([^*]+):\*\* (.*)$")
_URL = re.compile(r"<(https://[^>\s]+)>")

_REF = r"R\d+(?:\s*[–-]\s*R?\d+)?"
# One bracketed group of references: [R16], [R16, R22], [R5–R7].
CITATION = re.compile(rf"\[({_REF}(?:\s*,\s*{_REF})*)\]")
_ONE_REF = re.compile(r"R(\d+)(?:\s*[–-]\s*R?(\d+))?")
# A developer's pointer into the project notes, with the comma before it and its sections:
# ", DOMAIN.md §2.2, §2.3", "DESIGN.md §5".
_NOTES_POINTER = re.compile(
    r"(?:,\s*)?\b(?:DOMAIN|DESIGN)\.md\b(?:\s*§[\d.]+(?:\s*item\s*\d+)?(?:,\s*§[\d.]+)*)?"
)


@dataclass(frozen=True)
class Source:
    """One reference of ``docs/sources.md``."""

    number: int
    short: str
    fields: tuple[tuple[str, str], ...]  # (label, text) in the file's order

    @property
    def key(self) -> str:
        return f"R{self.number}"

    @property
    def anchor(self) -> str:
        return f"r{self.number}"

    def field(self, label: str) -> str:
        return next((text for name, text in self.fields if name == label), "")

    @property
    def description(self) -> str:
        """The title, or what the source is about when no title is recorded."""
        return self.field("Title") or self.field("About") or self.short

    @property
    def shown_fields(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """(label, text, addresses) of each field a reader needs; the "Recorded as" line, the
        reference as the project notes list it, is left to the file."""
        return [
            (label, text, tuple(_URL.findall(text)))
            for label, text in self.fields
            if label != "Recorded as"
        ]

    @property
    def links(self) -> tuple[str, ...]:
        """Every address of the entry, the recorded ones first."""
        found: list[str] = []
        for label in ("Link", "Official text", "Search"):
            found.extend(_URL.findall(self.field(label)))
        return tuple(found)


@dataclass(frozen=True)
class Cite:
    """A reference cited in a text; ``source`` is None for a number with no entry."""

    number: int
    source: Source | None

    @property
    def text(self) -> str:
        return self.source.short if self.source else f"[R{self.number}]"


def parse(markdown: str) -> dict[int, Source]:
    """The entries of a sources file, by number. Raises ``ValueError`` on a number given twice."""
    entries: dict[int, Source] = {}
    number, short, fields = None, "", []

    def close() -> None:
        if number is not None:
            if number in entries:
                raise ValueError(f"R{number} appears twice in the sources")
            entries[number] = Source(number, short, tuple(fields))

    for line in markdown.splitlines():
        heading = _HEADING.match(line.strip())
        if heading:
            close()
            number, short, fields = int(heading.group(1)), heading.group(2).strip(), []
            continue
        field = _FIELD.match(line.strip())
        if field and number is not None:
            fields.append((field.group(1), field.group(2).strip()))
    close()
    return entries


@cache
def all_sources() -> dict[int, Source]:
    """Every reference of ``docs/sources.md``, by number (read once)."""
    return parse(SOURCES_PATH.read_text(encoding="utf-8"))


def intro() -> str:
    """The text of ``docs/sources.md`` before its first reference (Markdown)."""
    text = SOURCES_PATH.read_text(encoding="utf-8")
    return text.split("## References", 1)[0]


def numbers(text: str) -> list[int]:
    """Every reference number cited in ``text``, in order, once each; ranges are expanded."""
    found: list[int] = []
    for group in CITATION.finditer(text or ""):
        for ref in _ONE_REF.finditer(group.group(1)):
            first = int(ref.group(1))
            last = int(ref.group(2)) if ref.group(2) else first
            for number in range(first, last + 1):
                if number not in found:
                    found.append(number)
    return found


def _cites(group: str) -> list[Cite]:
    sources = all_sources()
    return [Cite(number, sources.get(number)) for number in numbers(f"[{group}]")]


def pieces(text: str) -> list[str | Cite]:
    """``text`` as plain strings and ``Cite`` pieces, for a clinician.

    A text that is nothing but citations ("[R16, R19]", "DOMAIN.md §2.2 [R16]", or the readable
    form "Spravato label 2019 [R16]; …") becomes the citations separated by "; ". In a sentence
    a bracketed group becomes its citations in parentheses: "guide 140/90 [R16]" reads
    "guide 140/90 (Spravato label 2019)".
    """
    text = _NOTES_POINTER.sub("", text or "").strip()
    result: list[str | Cite] = []
    position = 0
    for group in CITATION.finditer(text):
        before = text[position : group.start()]
        cites = _cites(group.group(1))
        # The readable form names the source right before its number: "Andrade 2017 [R1]".
        if len(cites) == 1 and cites[0].source and before.rstrip().endswith(cites[0].source.short):
            before = before.rstrip()[: -len(cites[0].source.short)]
            result.extend([before, cites[0]] if before else [cites[0]])
        else:
            result.append(before)
            result.append("(" if before.strip() else "")
            for index, cite in enumerate(cites):
                result.extend(["; ", cite] if index else [cite])
            result.append(")" if before.strip() else "")
        position = group.end()
    result.append(text[position:])
    merged = [piece for piece in result if piece != ""]
    # A text of citations alone: drop the parentheses and join the citations with "; ".
    if all(isinstance(piece, Cite) or not piece.strip(" ;,.()") for piece in merged):
        only = [piece for piece in merged if isinstance(piece, Cite)]
        merged = []
        for index, cite in enumerate(only):
            merged.extend(["; ", cite] if index else [cite])
    return merged


def readable(text: str) -> str:
    """``text`` with each citation as its short form and number: "Spravato label 2019 [R16]".

    The form of the API's ``source`` fields: readable, and still resolvable by number.
    """

    def numbered(piece: str | Cite) -> str:
        if isinstance(piece, str):
            return piece
        return f"{piece.text} [R{piece.number}]" if piece.source else piece.text

    return "".join(numbered(piece) for piece in pieces(text))


def short(text: str) -> str:
    """``text`` with each citation as its short form alone: "Spravato label 2019"."""
    return "".join(piece if isinstance(piece, str) else piece.text for piece in pieces(text))
