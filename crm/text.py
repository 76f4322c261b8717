"""Text rules every service applies the same way: trimming input, cutting excerpts for the file."""

from __future__ import annotations


def blank_to_none(value: str | None) -> str | None:
    """Form input without surrounding space; an empty answer is no answer."""
    value = (value or "").strip()
    return value or None


def excerpt(text: str | None, limit: int, *, keep_lines: bool = False) -> str:
    """At most ``limit`` characters, ending in "…" when cut.

    Runs of white space are folded to one space, except that a note keeps its
    line breaks (``keep_lines``): people write notes as lists.
    """
    text = (text or "").strip() if keep_lines else " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
