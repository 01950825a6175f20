"""Detectors of PII as written: email, card (Luhn), SSN, IBAN (mod-97), phone (E.164), street
address; each a pattern paired with a validity check or context words."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dispo.redact.checks import _IBAN_LENGTHS, e164_plausible, iban_valid, luhn_valid, ssn_plausible
from dispo.redact.context import _CARD_CONTEXT, _bound_to_id, _Context, _role, _ssn_context, _words_before
from dispo.redact.spans import PIISpan
from dispo.redact.spoken import NUMBER_WORDS, _find_spoken_ibans

# -- email --------------------------------------------------------------------------------------
_EMAIL_RE = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_TLDS = r"(?:com|net|org|edu|gov|io|co|us|uk|ca|de|fr|es|nl|info|biz|me|ai|app)"
_SPOKEN_EMAIL_RE = re.compile(
    r"\b(?P<local>[a-z0-9]+(?:\s+(?:dot|underscore|dash|hyphen)\s+[a-z0-9]+)*"
    r"(?:\s+(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|[a-z]+teen|[a-z]+ty))*)"
    r"\s+at\s+[a-z0-9]+(?:\s+(?:dot|dash)\s+[a-z0-9]+)*\s+dot\s+" + _TLDS + r"\b",
    re.IGNORECASE,
)
#: Single words that end up before "at <site> dot com" in ordinary speech ("I bought it at
#: amazon dot com"); a one-word local part from this list is not an email address.
_NOT_EMAIL_LOCAL = frozenset(
    {
        "it",
        "them",
        "this",
        "that",
        "those",
        "these",
        "online",
        "shop",
        "shopping",
        "bought",
        "ordered",
        "order",
        "purchased",
        "look",
        "looked",
        "looking",
        "check",
        "checked",
        "me",
        "us",
        "is",
        "was",
        "account",
        "site",
        "website",
        "there",
        "here",
        "everything",
        "something",
        "anything",
        "price",
        "up",
        "in",
        "out",
        "on",
        "signed",
        "log",
        "login",
        "logged",
        "register",
        "registered",
        "directly",
    }
)


def _find_emails(text: str, ctx: _Context) -> Iterator[PIISpan]:
    if "@" in text:
        for m in _EMAIL_RE.finditer(text):
            yield PIISpan("email", m.start(), m.end(), m.group())
    if " dot " not in text.lower():
        return
    pos = 0
    while (sm := _SPOKEN_EMAIL_RE.search(text, pos)) is not None:
        local = sm.group("local")
        if " " not in local and local.lower() in _NOT_EMAIL_LOCAL:
            pos = sm.start() + 1
            continue
        yield PIISpan("email", sm.start(), sm.end(), sm.group())
        pos = sm.end()


# -- cards --------------------------------------------------------------------------------------
#: Digit groups joined by one consistent separator: "4111 1111 1111 1111", "3782-822463-10005".
_CHAIN_RE = re.compile(r"(?<![\w.,/$€£#+-])\d+(?:([ -])\d+(?:\1\d+)*)?(?![\w]|[.,/]\d)")
#: What an IBAN's first group looks like: a chain right after it belongs to the IBAN, valid or not.
_IBAN_HEAD_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: [A-Z0-9]{4})* $")


def _after_iban_head(text: str, start: int) -> bool:
    """True if ``start`` follows an IBAN-like first group ("DE89 "): the digits belong to it."""
    return _IBAN_HEAD_RE.search(text, max(0, start - 40), start) is not None


def _find_cards(text: str, ctx: _Context) -> Iterator[PIISpan]:
    """13-19 digit chains that pass Luhn.

    The chain is taken whole, or with one stray group that is not four digits long trimmed off
    either end ("2 4111 1111 1111 1111"). Trimming four-digit groups is not allowed: it would find
    Luhn-valid pieces inside 22-digit tracking numbers ("1234 5678 ... 7890 12") one time in ten.
    Without card context words the number must also start like a real card network (2-6:
    Mastercard 2-series, Amex/Diners/JCB, Visa, Mastercard, Discover/UnionPay). After an
    order/tracking word, or inside an IBAN-shaped string, it is never a card.
    """
    for m in _CHAIN_RE.finditer(text):
        chain = m.group()
        sep = m.group(1)
        groups = chain.split(sep) if sep else [chain]
        found = _card_groups(groups)
        if found is None:
            continue
        first, last = found
        start = m.start() + sum(len(g) + 1 for g in groups[:first])
        end = start + len((sep or "").join(groups[first : last + 1]))
        if _bound_to_id(text, start) or _after_iban_head(text, start):
            continue
        if text[start] not in "23456" and not (set(_words_before(text, start)) & _CARD_CONTEXT):
            continue
        yield PIISpan("card", start, end, text[start:end])


def _card_groups(groups: list[str]) -> tuple[int, int] | None:
    """The (first, last) group indices of a Luhn-valid 13-19 digit card inside a chain, if any."""
    n = len(groups)
    options = [(0, n - 1)]
    if n > 1 and len(groups[0]) != 4:
        options.append((1, n - 1))
    if n > 1 and len(groups[-1]) != 4:
        options.append((0, n - 2))
    for first, last in options:
        digits = "".join(groups[first : last + 1])
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return first, last
    return None


# -- SSN ----------------------------------------------------------------------------------------
_SSN_RE = re.compile(r"(?<![\w.-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w]|-\d)")
_SSN_BARE_RE = re.compile(r"(?<![\w.-])\d{9}(?![\w]|-\d)")


def _find_ssns(text: str, ctx: _Context) -> Iterator[PIISpan]:
    """``123-45-6789`` / ``123 45 6789`` anywhere; a bare 9-digit run only after "social"/"SSN"."""
    for m in _SSN_RE.finditer(text):
        if ssn_plausible(m.group(1) + m.group(3) + m.group(4)) and not _bound_to_id(text, m.start()):
            yield PIISpan("ssn", m.start(), m.end(), m.group())
    for m in _SSN_BARE_RE.finditer(text):
        if ssn_plausible(m.group()) and _ssn_context(text, m.start(), ctx) and not _bound_to_id(text, m.start()):
            yield PIISpan("ssn", m.start(), m.end(), m.group())


# -- IBAN ---------------------------------------------------------------------------------------
#: Also "DE 89 3704 ...": a space after the country code only in upper case, for a registered country.
_IBAN_RE = re.compile(r"\b(?:[A-Za-z]{2}|[A-Z]{2} )\d{2}(?:[ ]?[A-Za-z0-9]){11,40}\b")


def _find_ibans(text: str, ctx: _Context) -> Iterator[PIISpan]:
    """Country code, check digits, then alphanumerics, optionally in space-separated groups.

    The pattern may run on into a following word ("... 3000 OK"), so the longest prefix ending
    at a group boundary that passes the registry length and mod-97 checks is taken. IBANs read
    out character by character on a call are found by :func:`_find_spoken_ibans`.
    """
    for m in _IBAN_RE.finditer(text):
        candidate = m.group()
        if candidate[2] == " " and candidate[:2] not in _IBAN_LENGTHS:
            continue
        ends = [i.start() for i in re.finditer(" ", candidate) if i.start() > 2] + [len(candidate)]
        for end in reversed(ends):
            piece = candidate[:end]
            if iban_valid(piece.replace(" ", "")):
                yield PIISpan("iban", m.start(), m.start() + end, piece)
                break
    yield from _find_spoken_ibans(text)


# -- phone --------------------------------------------------------------------------------------
_US_PHONE_RE = re.compile(r"(?<![\w+])(?:\+?1[\s.-]?)?(?:\(\d{3}\)[\s.-]?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w]|[-.]\d)")
_LOCAL_PHONE_RE = re.compile(r"(?<![\w+.-])\d{3}[.-]\d{4}(?![\w]|[-.]\d)")
_BARE_PHONE_RE = re.compile(r"(?<![\w+#$€£.,/-])1?[2-9]\d{9}(?![\w]|[.,/-]\d)")
#: ``+`` or ``00``, then digit groups split by single spaces, dots or dashes, with an optional
#: trunk "(0)" or a bracketed area code: "+44 (0)20 7946 0958", "+33 1 23 45 67 89", "0049-30-1234567".
_INTL_PHONE_RE = re.compile(r"(?<![\w+])(?:\+|\b00)\s?[1-9]\d{0,14}(?:[ .-]?(?:\(\d{1,5}\)|\d{1,12})){0,8}")


def _intl_prefix(candidate: str) -> str | None:
    """Longest prefix of an international candidate, cut at a group boundary, that is E.164-plausible.

    A trunk "(0)" after the country code ("+44 (0)20 ...") is written but not dialled: it is
    kept in the span and left out of the length check.
    """
    body = candidate[2:] if candidate.startswith("00") else candidate[1:]
    cut = len(body)
    while cut > 0:
        piece = body[:cut].rstrip(" .-(")
        digits = re.sub(r"\D", "", piece.replace("(0)", ""))
        if e164_plausible(digits):
            return candidate[: len(candidate) - len(body) + len(piece)]
        boundary = max(piece.rfind(" "), piece.rfind("."), piece.rfind("-"))
        if boundary <= 0 or len(digits) < 7:
            return None
        cut = boundary
    return None


def _find_phones(text: str, ctx: _Context) -> Iterator[PIISpan]:
    """US numbers with separators, bare 10/11-digit runs, and international numbers.

    A bare 10-digit run is the shape of many order ids, so it is a phone only when the context
    (the turn's own cue words, else the previous turn's question) does not make it an id.
    International numbers must have a known country code and a national number of a length that
    country uses (E.164). With a ``+`` they are phones whatever the context; with ``00`` (which
    ids also start with) the context must not make them an id.
    """
    for m in _US_PHONE_RE.finditer(text):
        yield PIISpan("phone", m.start(), m.end(), m.group())
    for m in _LOCAL_PHONE_RE.finditer(text):
        if _role(text, m.start(), ctx) != "id":
            yield PIISpan("phone", m.start(), m.end(), m.group())
    for m in _BARE_PHONE_RE.finditer(text):
        if _role(text, m.start(), ctx) != "id":
            yield PIISpan("phone", m.start(), m.end(), m.group())
    if "+" in text or "00" in text:
        for m in _INTL_PHONE_RE.finditer(text):
            span = _intl_prefix(m.group())
            if span is None or _after_iban_head(text, m.start()):
                continue
            if span.startswith("00") and _role(text, m.start(), ctx) == "id":
                continue
            yield PIISpan("phone", m.start(), m.start() + len(span), span)


# -- address ------------------------------------------------------------------------------------
_SUFFIXES = (
    r"(?:street|avenue|road|boulevard|lane|drive|court|way|place|terrace|circle|parkway|highway"
    r"|close|crescent|gardens|grove|mews|square|parade|wharf)"  # UK and Irish street types
    r"|(?:st|ave|rd|blvd|ln|dr|ct|pl|ter|cir|pkwy|hwy)\b\.?"
)
_DIRECTION = r"(?:north|south|east|west|northeast|northwest|southeast|southwest|[nsew]|ne|nw|se|sw)\.?"
_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|"
    "NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|GU|VI"
)
_STATE_NAMES = (
    "alabama|alaska|arizona|arkansas|california|colorado|connecticut|delaware|florida|georgia|"
    "hawaii|idaho|illinois|indiana|iowa|kansas|kentucky|louisiana|maine|maryland|massachusetts|"
    "michigan|minnesota|mississippi|missouri|montana|nebraska|nevada|new hampshire|new jersey|"
    "new mexico|new york|north carolina|north dakota|ohio|oklahoma|oregon|pennsylvania|"
    "rhode island|south carolina|south dakota|tennessee|texas|utah|vermont|virginia|washington|"
    "west virginia|wisconsin|wyoming"
)
_NUM_WORD = (
    r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|"
    r"ninety|hundred|thousand|oh)"
)
#: A house or unit number as ASR writes it: "twelve thirty four", "one thousand two hundred".
_SPOKEN_NUMBER = r"(?:" + _NUM_WORD + r"\s+){0,5}" + _NUM_WORD + r"\b"
_DIGIT_WORD = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)"
_SPOKEN_ZIP = r"(?:" + _DIGIT_WORD + r"\s+){4}" + _DIGIT_WORD + r"\b"
_ZIP = r"(?:\d{5}(?:-\d{4})?|" + _SPOKEN_ZIP + r")"
#: Optional unit, then optional "City, ST 12345" / "City ST 12345" / "City, State" / bare ZIP.
_ADDRESS_TAIL = (
    r"(?:,?\s*(?:apt|apartment|unit|suite|ste|no|\#)\.?\s*\#?"
    r"(?:" + _SPOKEN_NUMBER + r"(?:\s+[a-z]\b)?|[a-z0-9]{1,6}(?:-[a-z0-9]{1,4})?\b))?"
    r"(?:,?\s+(?:[a-z][a-z.'-]*\s+){0,2}[a-z][a-z.'-]*,?\s+"
    r"(?:(?-i:" + _STATES + r")|" + _STATE_NAMES + r"|(?-i:[a-z] [a-z]))\b"
    r"(?:,?\s+" + _ZIP + r")?"
    r"|,?\s+" + _ZIP + r")?"
)
_STREET_RE = re.compile(
    r"(?<![\w$€£#.,/-])(?:\d{1,6}[a-z]?(?:-\d{1,4})?|" + _SPOKEN_NUMBER + r")\s+(?:" + _DIRECTION + r"\s+)?"
    r"(?P<name>(?:(?:\d{1,3}(?:st|nd|rd|th)|[a-z][a-z'.-]*)\s+){1,3}?)"
    r"(?:" + _SUFFIXES + r")\b(?:\s+" + _DIRECTION + r"(?![a-z]))?" + _ADDRESS_TAIL,
    re.IGNORECASE,
)
_PO_BOX_RE = re.compile(r"\b(?:p\.?\s?o\.?|post\s+office)\s*box\s+\d{1,6}\b" + _ADDRESS_TAIL, re.IGNORECASE)
#: Words that never form a street name: they mean the number counted something
#: ("waited 2 hours on the way", "3 more days down the road").
_NOT_STREET_WORDS = frozenset(
    {
        "the",
        "a",
        "an",
        "to",
        "of",
        "on",
        "in",
        "at",
        "for",
        "from",
        "by",
        "with",
        "and",
        "or",
        "but",
        "is",
        "was",
        "are",
        "were",
        "be",
        "been",
        "my",
        "your",
        "his",
        "her",
        "our",
        "their",
        "this",
        "that",
        "it",
        "i",
        "you",
        "we",
        "they",
        "me",
        "him",
        "them",
        "us",
        "more",
        "less",
        "about",
        "than",
        "then",
        "all",
        "day",
        "days",
        "hour",
        "hours",
        "minute",
        "minutes",
        "min",
        "mins",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "time",
        "times",
        "item",
        "items",
        "dollar",
        "dollars",
        "bucks",
        "cents",
        "percent",
        "pair",
        "pairs",
        "unit",
        "units",
        "box",
        "boxes",
        "order",
        "orders",
        "package",
        "packages",
        "other",
        "different",
        "separate",
        "calls",
        "emails",
        "whole",
        "only",
        "just",
        "still",
        "way",
        "ways",
        "miles",
        "mile",
        "blocks",
        "people",
        "kids",
        "have",
        "had",
        "has",
        "not",
        "no",
        "so",
        "out",
        "last",
        "first",
        "next",
        "same",
        "right",
        "left",
        "wrong",
        "good",
        "best",
        "another",
        "extra",
        "few",
        "hundred",
        "thousand",
        *NUMBER_WORDS[1:11],
    }
)


def _find_addresses(text: str, ctx: _Context) -> Iterator[PIISpan]:
    """House number, optional direction, one to three name words, a street-type suffix, then tail.

    The name words are checked against common function and counting words, so "2 hours on the
    way" is not an address while "55 north oak avenue" (lower-case ASR) is.
    """
    pos = 0
    while (m := _STREET_RE.search(text, pos)) is not None:
        words = m.group("name").lower().split()
        if any(w in _NOT_STREET_WORDS for w in words):
            pos = m.start() + 1
            continue
        yield PIISpan("address", m.start(), m.end(), m.group())
        pos = m.end()
    if "box" in text.lower():
        for m in _PO_BOX_RE.finditer(text):
            yield PIISpan("address", m.start(), m.end(), m.group())
    for pattern in (_UK_POSTCODE_RE, _CA_POSTAL_RE):
        for m in pattern.finditer(text):
            yield PIISpan("address", m.start(), m.end(), m.group())


# Postcodes outside the US narrow an address down to a street or a few houses: PII on their own.
# UK: outward code (area letters, district digits, optional letter) and inward code (digit, two
# letters of the ones the Royal Mail uses); Canada: letter-digit-letter digit-letter-digit.
_UK_POSTCODE_RE = re.compile(
    r"(?<![\w-])(?:GIR ?0AA|[A-PR-UWYZ](?:\d{1,2}|[A-HK-Y]\d{1,2}|\d[A-HJKPSTUW]|[A-HK-Y]\d[ABEHMNPRV-Y]) ?"
    r"\d[ABD-HJLNP-UW-Z]{2})(?![\w-])",
    re.IGNORECASE,
)
_CA_POSTAL_RE = re.compile(
    r"(?<![\w-])[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d(?![\w-])", re.IGNORECASE
)
