"""Generated blocks of the README: the text between a begin and an end marker, rewritten in place.

Used by ``make_model_card.py`` (the models table) and ``quote_explain_report.py`` (the excerpt of
the explain report), so that the README quotes measurements instead of copies typed by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from clearzoom.atomic import write_atomic  # noqa: E402


def replace_block(path: Path, begin: str, end: str, lines: list[str]) -> bool:
    """Replace what lies between ``begin`` and ``end`` in ``path`` by ``lines``; False if a marker
    is missing (the file is then left as it is)."""
    text = path.read_text()
    if begin not in text or end not in text:
        return False
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    write_atomic(path, head + begin + "\n" + "\n".join(lines) + "\n" + end + tail)
    return True
