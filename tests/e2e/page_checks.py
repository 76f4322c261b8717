"""Checks run on every page a browser test passes through: accessibility and translation.

- ``axe_violations(page)``: axe-core (WCAG 2.0/2.1 A and AA rules) on the current page.
- ``untranslated(page, lang, catalog)``: visible words of the other language, found with
  the zh catalog: on a Chinese page, an English msgid whose translation differs; on an
  English page, a Chinese msgstr. Text inside an element whose ``lang`` differs from the
  page's (the language menu's "English") or marked ``translate="no"`` (record data such
  as names) is not checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe

ROOT = Path(__file__).resolve().parents[2]
ZH_CATALOG = ROOT / "crm" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

_axe = Axe()


def axe_violations(page) -> list[str]:
    """One line per violated rule: id, impact, help and the first offending elements."""
    results = _axe.run(
        page,
        options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]},
    )
    lines = []
    for violation in results.response["violations"]:
        nodes = violation["nodes"]
        targets = "; ".join(
            f"{' '.join(map(str, n['target']))} ({n.get('failureSummary', '').splitlines()[-1].strip()})"
            for n in nodes[:3]
        )
        lines.append(
            f"{violation['id']} [{violation['impact']}] {violation['help']} "
            f"x{len(nodes)}: {targets}"
        )
    return lines


# -- translation ----------------------------------------------------------------------

_FORMAT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]")
_ASCII_WORD = re.compile(r"[A-Za-z]{2,}")
_CJK = re.compile(r"[\u3400-\u9fff]")


def _as_pattern(text: str, meaningful: re.Pattern) -> re.Pattern | None:
    """A whole-string regex for a message with %(name)s placeholders, or None.

    Only when the fixed text itself is a clue of the language (two ASCII letters, or
    a Chinese character): "%(a)s · %(b)s" would otherwise match anything.
    """
    fixed = _FORMAT.sub("", text)
    if not meaningful.search(fixed):
        return None
    parts = _FORMAT.split(text)
    return re.compile("^" + "(.+?)".join(re.escape(p.strip()) for p in parts) + "$", re.S)


def _words(text: str) -> str:
    return " ".join(text.split())


def _add(plain: set[str], patterns: list[re.Pattern], text: str, clue: re.Pattern) -> None:
    if _FORMAT.search(text):
        if pattern := _as_pattern(text, clue):
            patterns.append(pattern)
    elif clue.search(text):
        plain.add(text)


@dataclass
class Catalog:
    """The strings that must not appear on a page of the other language."""

    english: set[str] = field(default_factory=set)
    english_patterns: list[re.Pattern] = field(default_factory=list)
    chinese: set[str] = field(default_factory=set)
    chinese_patterns: list[re.Pattern] = field(default_factory=list)
    translations: dict[str, str] = field(default_factory=dict)

    def add(self, msgid: str, msgstr: str) -> None:
        """One catalog entry; ``msgstr`` is empty when untranslated (or fuzzy)."""
        if msgstr:
            self.translations.setdefault(msgid, msgstr)
        if msgstr == msgid:
            return
        # The msgid shows on a Chinese page when its translation differs or is missing.
        _add(self.english, self.english_patterns, _words(msgid), _ASCII_WORD)
        if msgstr:
            _add(self.chinese, self.chinese_patterns, _words(msgstr), _CJK)

    def offenders(self, texts: list[dict], lang: str) -> list[str]:
        """The texts (as collected by COLLECT_JS) that belong to the other language."""
        plain, patterns = (
            (self.english, self.english_patterns)
            if lang == "zh"
            else (self.chinese, self.chinese_patterns)
        )
        found = []
        for item in texts:
            text = _words(item["text"])
            if not text:
                continue
            if text in plain or any(p.match(text) for p in patterns):
                found.append(f"{text!r} in {item['where']}")
        return found


@cache
def zh_catalog(path: Path = ZH_CATALOG) -> Catalog:
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        po = read_po(fh)
    catalog = Catalog()
    for message in po:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        usable = "" if message.fuzzy else (strings[0] or "")
        for msgid in ids:  # singular and plural: Chinese has one form
            catalog.add(msgid, usable)
    return catalog


# Every text node and every text-bearing attribute, with where it was found. Text declared
# (by its nearest lang attribute) in another language than the one asked for, or marked
# translate="no", is left out: the bilingual public pages declare each half.
COLLECT_JS = """
(wanted) => {
  const pageLang = wanted;
  const skipped = (el) => {
    if (!el) return false;
    if (el.closest("script, style, noscript, template")) return true;
    if (el.closest('[translate="no"]')) return true;
    const langEl = el.closest("[lang]");
    return !!langEl && langEl.lang.slice(0, 2) !== pageLang;
  };
  const where = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    else if (el.className && typeof el.className === "string")
      s += "." + el.className.trim().split(/\\s+/).slice(0, 2).join(".");
    return s;
  };
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue.trim();
    if (text && !skipped(node.parentElement)) out.push({text, where: where(node.parentElement)});
  }
  // data-label: a list cell's column name on phones; data-confirm: a confirm dialog's text.
  const attrs = ["placeholder", "aria-label", "title", "alt", "data-label", "data-confirm"];
  for (const el of document.body.querySelectorAll("*")) {
    if (skipped(el)) continue;
    for (const a of attrs) {
      const v = el.getAttribute(a);
      if (v && v.trim()) out.push({text: v.trim(), where: where(el) + "[" + a + "]"});
    }
    if (el.matches('input[type="submit"], input[type="button"], input[type="reset"]') && el.value)
      out.push({text: el.value, where: where(el) + "[value]"});
  }
  for (const part of document.title.split(" · "))
    if (part.trim()) out.push({text: part.trim(), where: "title"});
  return out;
}
"""


def untranslated(page, lang: str, catalog: Catalog | None = None) -> list[str]:
    """The strings on ``page`` that are in the other language than ``lang`` ("zh"/"en")."""
    return (catalog or zh_catalog()).offenders(page.evaluate(COLLECT_JS, lang), lang)


def translate(msgid: str, lang: str, **params) -> str:
    """``msgid`` as the app shows it in ``lang``, with %(name)s parameters filled in."""
    text = msgid if lang == "en" else zh_catalog().translations.get(msgid) or msgid
    return text % params if params else text
