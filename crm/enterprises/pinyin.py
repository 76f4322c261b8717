"""pypinyin with a memory: the same readings, a fraction of the cost.

pypinyin segments a name into words and converts each word; most of the time
is the conversion, and company names share their words (有限公司, 科技, 四川 ...).
A word's reading depends on the word alone, so remembering each word's result
gives the very same output: importing 50,000 names took half a minute of
pinyin without it and seconds with it.
"""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style
from pypinyin.converter import DefaultConverter
from pypinyin.core import Pinyin


class _RememberingConverter(DefaultConverter):
    def __init__(self):
        super().__init__()
        self._cached = lru_cache(maxsize=200_000)(self._convert)

    def _convert(self, words, style, heteronym, errors, strict):
        return tuple(
            tuple(item) for item in super().convert(words, style, heteronym, errors, strict)
        )

    def convert(self, words, style, heteronym, errors, strict, **kwargs):
        if kwargs or callable(errors):
            return super().convert(words, style, heteronym, errors, strict, **kwargs)
        return [list(item) for item in self._cached(words, style, heteronym, errors, strict)]


class _RememberingPinyin(Pinyin):
    """Also segments a name once for the four readings taken of it in a row."""

    def __init__(self):
        super().__init__(_RememberingConverter())
        self._last: tuple[str, list] | None = None

    def seg(self, hans, **kwargs):
        if kwargs:
            return super().seg(hans, **kwargs)
        last = self._last
        if last is None or last[0] != hans:
            last = self._last = (hans, list(super().seg(hans)))
        return list(last[1])


_PINYIN = _RememberingPinyin()


def lazy_pinyin(hans: str, style: Style = Style.NORMAL) -> list[str]:
    return _PINYIN.lazy_pinyin(hans, style=style)


def pinyin(hans: str, style: Style = Style.TONE, heteronym: bool = False) -> list[list[str]]:
    return _PINYIN.pinyin(hans, style=style, heteronym=heteronym)
