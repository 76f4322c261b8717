"""The unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters from a 31-character alphabet (digits and capitals without
I, O, Z, S, V); the last is a check character computed from the first 17
with weights 3^i mod 31.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
WEIGHTS = [pow(3, i, 31) for i in range(17)]
LENGTH = 18


def normalise(code: str | None) -> str:
    """Upper-case, without spaces or hyphens that people type or paste in."""
    return "".join((code or "").split()).replace("-", "").upper()


def check_character(first17: str) -> str:
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def problem(code: str) -> str | None:
    """Why the (normalised) code is invalid: 'length', 'characters', 'check'; None if valid."""
    if len(code) != LENGTH:
        return "length"
    if any(ch not in _VALUE for ch in code):
        return "characters"
    if check_character(code[:17]) != code[17]:
        return "check"
    return None


def is_valid(code: str) -> bool:
    return problem(normalise(code)) is None


def complete(first17: str) -> str:
    """The full code for 17 leading characters (used to make demo and test codes)."""
    first17 = normalise(first17)
    if len(first17) != 17 or any(ch not in _VALUE for ch in first17):
        raise ValueError("need 17 characters of the code alphabet")
    return first17 + check_character(first17)
