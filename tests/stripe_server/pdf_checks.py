"""Checking a PDF's structure without a PDF library: the cross-reference table."""

from __future__ import annotations

import re


def assert_xref_points_at_objects(pdf: bytes) -> int:
    """Every in-use xref entry's offset starts its `N 0 obj`; returns the number of objects."""
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    startxref = int(re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", pdf).group(1))
    assert pdf[startxref:].startswith(b"xref")
    header = re.match(rb"xref\r?\n(\d+) (\d+)\r?\n", pdf[startxref:])
    first, count = int(header.group(1)), int(header.group(2))
    assert first == 0
    table = pdf[startxref + header.end() :]
    entries = [table[index * 20 : index * 20 + 20] for index in range(count)]
    assert entries[0].startswith(b"0000000000 65535 f")
    for number, entry in enumerate(entries[1:], start=1):
        offset, generation, kind = entry.split()[:3]
        assert kind == b"n", entry
        assert pdf[int(offset) :].startswith(b"%d %d obj" % (number, int(generation))), number
    trailer_size = int(re.search(rb"trailer\s*<<[^>]*/Size (\d+)", pdf).group(1))
    assert trailer_size == count
    return count - 1
