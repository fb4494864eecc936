"""The PDF writer: text appears literally, strings are escaped, long documents get more pages."""

from __future__ import annotations

import re

from stripe_server.pdf import Text, pdf_document, pdf_string
from tests.stripe_server.pdf_checks import assert_xref_points_at_objects


def test_parentheses_and_backslashes_are_escaped_in_pdf_strings() -> None:
    assert pdf_string("a (b) c\\d") == b"(a \\(b\\) c\\\\d)"


def test_characters_outside_ascii_are_octal_escapes_in_windows_1252() -> None:
    # € is 0x80 and é 0xE9 in Windows-1252; a character it lacks prints as "?".
    assert pdf_string("€é→") == b"(\\200\\351?)"


def test_a_one_page_document_shows_its_text_and_its_xref_points_at_its_objects() -> None:
    pdf = pdf_document(
        [[Text("Invoice", size=20, bold=True)], [], [Text("INV-0001"), Text("$5.00", x=300)]],
        title="Invoice (INV-0001)",
    )

    assert pdf.startswith(b"%PDF-1.4\n")
    assert b"(INV-0001) Tj" in pdf
    assert b"($5.00) Tj" in pdf
    assert b"/Title (Invoice \\(INV-0001\\))" in pdf
    assert b"/Count 1" in pdf
    # Catalog, pages, two fonts, info, one page and its content stream.
    assert assert_xref_points_at_objects(pdf) == 7


def test_stream_lengths_match_their_content() -> None:
    pdf = pdf_document([[Text(f"line {n}")] for n in range(5)], title="t")

    for match in re.finditer(rb"<< /Length (\d+) >>\nstream\n", pdf):
        length = int(match.group(1))
        assert pdf[match.end() + length :].startswith(b"\nendstream")


def test_a_long_document_continues_on_more_pages() -> None:
    pdf = pdf_document([[Text(f"line {n}")] for n in range(120)], title="Long")

    assert b"/Count 3" in pdf
    assert b"(line 0) Tj" in pdf
    assert b"(line 119) Tj" in pdf
    assert assert_xref_points_at_objects(pdf) == 5 + 2 * 3
