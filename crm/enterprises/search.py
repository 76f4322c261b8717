"""Finding enterprises by any piece of their name, its pinyin, English name or code.

Chinese names have no spaces, so people search for any fragment: 蒙牛 in
内蒙古蒙牛乳业（集团）股份有限公司, 长盈 in 宜宾长盈精密技术有限公司. ``LIKE '%..%'``
cannot use a B-tree index, so every name is also cut into its one- and
two-character pieces (``enterprise_gram``): a fragment is then found through
the posting lists of its pieces, on SQLite and PostgreSQL alike.

Latin-script queries (pinyin, initials, English name, code) match one
lower-case haystack column, ``search_text``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pypinyin import Style
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    and_,
    any_,
    bindparam,
    delete,
    exists,
    false,
    func,
    insert,
    intersect,
    select,
    true,
)

from crm.enterprises.pinyin import lazy_pinyin, pinyin
from crm.extensions import db
from crm.models import Enterprise, EnterpriseGram

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_NOT_LATIN = re.compile(r"[^0-9a-z]+")

# When the gram index narrows a search to at most this many enterprises, their
# ids drive the query and the page sorts and counts them all. With more,
# matches are dense and the cheapest plan walks enterprises in display order,
# probing the gram index, until the page is full.
FEW_CANDIDATES = 3000
# Bigrams looked at to pick the most selective one; the exact LIKE on the
# name makes the result right whichever pieces narrowed it down.
MAX_QUERY_GRAMS = 6
# Posting lists up to this length are intersected (index-only) to find the
# candidates; longer ones (有限, 公司) narrow nothing and are left out.
POSTINGS_CAP = 20000


def cjk_chars(text: str | None) -> str:
    return "".join(_CJK.findall(text or ""))


def has_cjk(text: str | None) -> bool:
    return bool(_CJK.search(text or ""))


def grams(name: str | None) -> set[str]:
    """Every distinct 1- and 2-character piece of the Chinese characters of a name.

    Non-Chinese characters are dropped before cutting, and queries are cut the
    same way, so any fragment of a name yields only pieces the index holds.
    """
    chars = cjk_chars(name)
    pieces = set(chars)
    pieces.update(chars[i : i + 2] for i in range(len(chars) - 1))
    return pieces


def bigrams(text: str) -> list[str]:
    chars = cjk_chars(text)
    seen: dict[str, None] = {}
    for i in range(len(chars) - 1):
        seen.setdefault(chars[i : i + 2], None)
    return list(seen)


def _latin(text: str) -> str:
    return _NOT_LATIN.sub("", text.lower())


def name_pinyin(name: str) -> str:
    return _latin("".join(lazy_pinyin(name)))


def name_initials(name: str) -> str:
    return _latin("".join(lazy_pinyin(name, style=Style.FIRST_LETTER)))


def _alternative_readings(name: str) -> tuple[str, str]:
    """The name read with each polyphonic character's second reading (长 zhang/chang).

    pypinyin guesses 宜宾长盈 as "zhangying"; people type "changying". Keeping
    one alternative reading in the haystack finds both without a combinatorial
    list of variants.
    """

    def second(style: Style) -> str:
        readings = pinyin(name, style=style, heteronym=True)
        return _latin("".join(r[1] if len(r) > 1 else r[0] for r in readings))

    return second(Style.NORMAL), second(Style.FIRST_LETTER)


def haystack(enterprise: Enterprise) -> str:
    primary = name_pinyin(enterprise.name)
    initials = name_initials(enterprise.name)
    parts = [primary, initials]
    alt_full, alt_initials = _alternative_readings(enterprise.name)
    if alt_full != primary:
        parts.append(alt_full)
    if alt_initials != initials:
        parts.append(alt_initials)
    parts.append((enterprise.name_en or "").lower())
    parts.append((enterprise.credit_code or "").lower())
    return "|".join(parts)


def refresh_columns(enterprise: Enterprise) -> None:
    """Set the pinyin, initials and haystack columns (before the flush that saves the record)."""
    enterprise.name_pinyin = name_pinyin(enterprise.name)
    enterprise.name_initials = name_initials(enterprise.name)
    enterprise.search_text = haystack(enterprise)


def write_grams(enterprise: Enterprise) -> None:
    """Bring the gram rows in step with the name; the enterprise must have an id.

    Only the pieces that differ are written, so a rename touches a few rows.
    """
    wanted = grams(enterprise.name)
    current = set(
        db.session.execute(
            select(EnterpriseGram.gram).where(EnterpriseGram.enterprise_id == enterprise.id)
        ).scalars()
    )
    stale = current - wanted
    missing = wanted - current
    if stale:
        db.session.execute(
            delete(EnterpriseGram).where(
                EnterpriseGram.enterprise_id == enterprise.id, EnterpriseGram.gram.in_(stale)
            )
        )
    if missing:
        db.session.execute(
            insert(EnterpriseGram),
            [{"gram": g, "enterprise_id": enterprise.id} for g in sorted(missing)],
        )


def reindex(enterprise: Enterprise) -> None:
    """Everything at once, for imports and repairs (the services call the two halves)."""
    refresh_columns(enterprise)
    db.session.flush()
    write_grams(enterprise)


# -- queries -------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How to find a query's matches.

    ``few`` means the gram index alone narrowed the candidates to fewer than
    FEW_CANDIDATES enterprises (``condition`` then holds them in an id list), so
    the caller may fetch every match's sort key and count them exactly.
    """

    condition: ColumnElement[bool]
    few: bool = False
    # What must hold when the candidates come from elsewhere (a user's scope).
    residual: tuple[ColumnElement[bool], ...] = ()
    # Dense Chinese matches: the rarest piece. A list in id order can walk its
    # posting list (gram, enterprise_id) instead of every enterprise: at a
    # million enterprises a county's page of "长盈" took 300 ms the one way
    # and 10 ms the other.
    driver: str | None = None


def _posting_sizes(pieces: list[str]) -> dict[str, int]:
    """How many enterprises hold each piece, counted only up to POSTINGS_CAP.

    One statement of index-only counts; each stops at the cap, so a piece every
    name holds (公, 有限) costs no more than a rare one.
    """
    columns = []
    for piece in pieces:
        capped = (
            select(EnterpriseGram.enterprise_id)
            .where(EnterpriseGram.gram == piece)
            .limit(POSTINGS_CAP)
            .subquery()
        )
        columns.append(select(func.count()).select_from(capped).scalar_subquery())
    row = db.session.execute(select(*columns)).one()
    return dict(zip(pieces, row, strict=True))


def _postings(piece: str):
    return select(EnterpriseGram.enterprise_id).where(EnterpriseGram.gram == piece)


def _has_gram(piece: str) -> ColumnElement[bool]:
    """Correlated probe of the (gram, enterprise_id) primary key for the current row."""
    return exists().where(
        EnterpriseGram.gram == piece, EnterpriseGram.enterprise_id == Enterprise.id
    )


def id_in(ids: list[int], column=None) -> ColumnElement[bool]:
    """``Enterprise.id`` among a bounded list of ids, as each database plans best.

    PostgreSQL gets one array parameter (``= ANY``), planned as an index scan
    on the primary key whatever the list's length; SQLite gets the integers
    inlined (no limit on bound variables), which it looks up by rowid.
    """
    column = Enterprise.id if column is None else column
    if not ids:
        return false()
    if db.engine.dialect.name == "postgresql":
        return column == any_(bindparam("candidate_ids", ids, type_=ARRAY(Integer), unique=True))
    return column.in_(
        bindparam("candidate_ids", ids, expanding=True, literal_execute=True, unique=True)
    )


def _chinese_plan(query: str) -> Plan:
    chars = cjk_chars(query)
    pieces = [chars] if len(chars) == 1 else bigrams(query)[:MAX_QUERY_GRAMS]
    sizes = _posting_sizes(pieces)
    if min(sizes.values()) == 0:
        return Plan(false(), few=True)  # a piece no name holds: nothing can match
    exact = (
        [Enterprise.name.contains(query, autoescape=True)]
        if len(chars) > 1 or chars != query
        else []
    )
    short = sorted((p for p in pieces if sizes[p] < POSTINGS_CAP), key=sizes.__getitem__)
    if short:
        # Intersect the shorter posting lists inside the gram index (index-only
        # scans). Few survivors are handed over as a list of ids: both databases
        # then look them up by primary key instead of guessing a join order.
        legs = [_postings(p) for p in short]
        stmt = legs[0] if len(legs) == 1 else intersect(*legs)
        candidates = list(db.session.execute(stmt.limit(FEW_CANDIDATES + 1)).scalars())
        if len(candidates) <= FEW_CANDIDATES:
            return Plan(and_(id_in(candidates), *exact), few=True)
    # Matches are dense: walk enterprises in display order and probe the
    # index; a page fills after a few rows. Over another short candidate list
    # (a user's scope), the exact text test alone is cheaper than the probes.
    contains = Enterprise.name.contains(query, autoescape=True)
    return Plan(
        and_(*(_has_gram(p) for p in pieces), *exact),
        residual=(contains,),
        driver=min(pieces, key=sizes.__getitem__),
    )


def _latin_condition(query: str) -> ColumnElement[bool]:
    needle = query.lower()
    condition = Enterprise.search_text.contains(needle, autoescape=True)
    squeezed = "".join(needle.split())
    if squeezed != needle:
        # Pinyin is stored without spaces: "meng niu" should find mengniu too.
        condition = condition | Enterprise.search_text.contains(squeezed, autoescape=True)
    return condition


def normalise_query(query: str | None) -> str:
    return " ".join((query or "").split())[:100]


def plan(query: str | None) -> Plan:
    """The plan for the search box text (one small, bounded query for Chinese text)."""
    query = normalise_query(query)
    if not query:
        return Plan(true())
    if has_cjk(query):
        # Chinese names carry no spaces; "蒙 牛" means 蒙牛.
        return _chinese_plan("".join(query.split()))
    latin = _latin_condition(query)
    return Plan(latin, residual=(latin,))


def search_condition(query: str | None) -> ColumnElement[bool]:
    """SQL condition for enterprises matching the search box text.

    May run one small, bounded query (posting-list sizes) to pick the form
    that suits how common the searched characters are.
    """
    return plan(query).condition


__all__ = [
    "bigrams",
    "grams",
    "has_cjk",
    "haystack",
    "id_in",
    "name_initials",
    "name_pinyin",
    "normalise_query",
    "plan",
    "refresh_columns",
    "reindex",
    "search_condition",
    "write_grams",
]
