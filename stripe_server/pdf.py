"""A small PDF writer: pages of Helvetica text lines, nothing else.

Enough for an invoice PDF that any viewer opens and that tests can read: the content streams
are left uncompressed, so the text a page shows appears literally in the file's bytes. Text is
set in the PDF standard fonts (Helvetica, Helvetica-Bold) with WinAnsiEncoding, which every
viewer has built in, so no font is embedded; characters outside Windows-1252 print as "?".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# US Letter, in points (1/72 inch), with a one-inch-ish margin.
PAGE_WIDTH = 612
PAGE_HEIGHT = 792
MARGIN = 56
LINE_SPACING = 1.45

_FONTS = {False: "F1", True: "F2"}
_ESCAPES = {ord("\\"): b"\\\\", ord("("): b"\\(", ord(")"): b"\\)"}


@dataclass(frozen=True)
class Text:
    """A run of text on a line, `x` points from the left margin."""

    text: str
    x: float = 0
    size: float = 10
    bold: bool = False


# One line of a document: its runs, side by side. An empty line is a blank line.
Line = Sequence[Text]


def pdf_string(text: str) -> bytes:
    """`text` as a PDF literal string: `(...)` in Windows-1252, with `\\`, `(` and `)` escaped.

    Bytes outside printable ASCII are written as octal escapes, so the file's text stays ASCII.
    """
    out = bytearray(b"(")
    for byte in text.encode("cp1252", errors="replace"):
        if byte in _ESCAPES:
            out += _ESCAPES[byte]
        elif 32 <= byte < 127:
            out.append(byte)
        else:
            out += b"\\%03o" % byte
    out += b")"
    return bytes(out)


def _line_height(line: Line) -> float:
    return max((run.size for run in line), default=10) * LINE_SPACING


def _paginate(lines: Sequence[Line]) -> list[list[tuple[float, Line]]]:
    """Each page's lines with their baselines, starting a new page when one is full."""
    pages: list[list[tuple[float, Line]]] = [[]]
    y = PAGE_HEIGHT - MARGIN
    for line in lines:
        height = _line_height(line)
        if y - height < MARGIN and pages[-1]:
            pages.append([])
            y = PAGE_HEIGHT - MARGIN
        y -= height
        pages[-1].append((y, line))
    return pages


def _content_stream(placed: list[tuple[float, Line]]) -> bytes:
    parts = []
    for y, line in placed:
        for run in line:
            font = _FONTS[run.bold]
            parts.append(
                b"BT /%s %s Tf %s %s Td %s Tj ET"
                % (
                    font.encode(),
                    _number(run.size),
                    _number(MARGIN + run.x),
                    _number(y),
                    pdf_string(run.text),
                )
            )
    return b"\n".join(parts) + b"\n"


def _number(value: float) -> bytes:
    return (f"{value:.2f}".rstrip("0").rstrip(".") or "0").encode()


def pdf_document(lines: Sequence[Line], *, title: str) -> bytes:
    """A PDF of `lines`, top to bottom, on as many pages as they need.

    Objects: 1 catalog, 2 page tree, 3 and 4 the fonts, 5 document info, then a page and its
    content stream per page. The cross-reference table gives each object's byte offset.
    """
    pages = _paginate(lines)
    first_page = 6
    page_ids = [first_page + 2 * index for index in range(len(pages))]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % page_id for page_id in page_ids), len(pages)),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        4: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold "
        b"/Encoding /WinAnsiEncoding >>",
        5: b"<< /Title %s /Producer (Local Stripe server) >>" % pdf_string(title),
    }
    for page_id, placed in zip(page_ids, pages, strict=True):
        stream = _content_stream(placed)
        objects[page_id] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>"
            % (PAGE_WIDTH, PAGE_HEIGHT, page_id + 1)
        )
        objects[page_id + 1] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)

    # The binary comment after the header tells transfer tools the file is not plain text.
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref_at = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number]
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        xref_at,
    )
    return bytes(out)
