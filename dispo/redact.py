"""PII redaction: find personal data in transcript text and replace it with typed placeholders.

Redaction runs on ingestion, before a contact is stored, trained on or logged, so it has to be
both thorough (a missed card number is a compliance incident) and precise (order numbers,
amounts and dates carry the meaning a disposition classifier learns from). Every detector pairs
a pattern with a validity check (Luhn for cards, mod-97 for IBANs, SSA rules for SSNs) or with
context words, because patterns alone cannot tell a 10-digit order id from a phone number.

Voice transcripts come from ASR, where digits are often spelled out ("five five five one two
three ..."). Those are normalised to digit strings while keeping, for every digit, the character
span of the word it came from, so a finding maps back to exact offsets in the original text.

Kinds and placeholders: ``email`` -> ``[EMAIL]``, ``phone`` -> ``[PHONE]``, ``card`` -> ``[CARD]``,
``ssn`` -> ``[SSN]``, ``iban`` -> ``[IBAN]``, ``address`` -> ``[ADDRESS]``. Names are out of scope.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from dispo.contact import Contact
from dispo.errors import ConfigError

#: Every kind this module detects, in overlap-resolution priority: when two findings overlap,
#: the one whose kind comes first wins (an IBAN contains digit runs that look like phones, a
#: card number contains runs that look like SSNs, and so on).
PII_KINDS: tuple[str, ...] = ("email", "iban", "card", "ssn", "phone", "address")
DEFAULT_PLACEHOLDER = "[{KIND}]"


@dataclass(frozen=True)
class PIISpan:
    """One finding: ``text == source[start:end]``."""

    kind: str
    start: int
    end: int
    text: str


# -- shared helpers -----------------------------------------------------------------------------
_WORD_RE = re.compile(r"[a-z]+|#")

#: Words that make a following bare number an identifier of the business, not of the person.
_ID_CONTEXT = frozenset(
    {
        "order",
        "orders",
        "tracking",
        "ticket",
        "invoice",
        "reference",
        "ref",
        "case",
        "confirmation",
        "shipment",
        "package",
        "parcel",
        "rma",
        "sku",
        "model",
        "serial",
        "item",
        "receipt",
        "claim",
        "ord",
        "#",
        # ASR mishearings of the words above, as seen in voice transcripts.
        "older",
        "der",
        "border",
        "track",
        "truck",
        "trek",
        "voice",
        "invoices",
        "recipe",
    }
)
_PHONE_CONTEXT = frozenset(
    {"phone", "cell", "mobile", "call", "callback", "reach", "text", "telephone", "landline", "fax", "dial"}
)
_CARD_CONTEXT = frozenset({"card", "visa", "mastercard", "amex", "discover", "credit", "debit"})
_SSN_CONTEXT_RE = re.compile(r"\b(?:social|ssn|s\s?s\s?n|security\s+number)\b")


def _words_before(text: str, start: int, n: int = 10) -> list[str]:
    """The last ``n`` lower-cased words (and ``#`` signs) before ``start``, on the same line.

    A line break ends the context: an email signature's phone number is not an order id
    because the paragraph above it mentioned an order.
    """
    window = text[max(0, start - 90) : start]
    return _WORD_RE.findall(window[window.rfind("\n") + 1 :].lower())[-n:]


def _id_context(text: str, start: int, override: frozenset[str]) -> bool:
    """True if an order/tracking/ticket word precedes ``start`` within a few words.

    A word of ``override`` (e.g. "phone") *after* the id word cancels it, so that
    "the phone number on the order is 5551234567" still redacts: the nearer word decides.
    """
    for word in reversed(_words_before(text, start)):
        if word in override:
            return False
        if word in _ID_CONTEXT:
            return True
    return False


def luhn_valid(digits: str) -> bool:
    """The Luhn mod-10 checksum that every payment card number satisfies."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


#: Registered IBAN lengths per country (ISO 13616 registry); unknown countries fall back to 15-34.
_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BR": 29,
    "BY": 28,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IQ": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LC": 32,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NL": 18,
    "NO": 15,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "SA": 24,
    "SC": 31,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "ST": 25,
    "SV": 28,
    "TL": 23,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VA": 22,
    "VG": 24,
    "XK": 20,
}


def iban_valid(compact: str) -> bool:
    """ISO 13616 check: country letters, check digits, registered length, and mod-97 == 1."""
    s = compact.upper()
    if not (15 <= len(s) <= 34 and s[:2].isalpha() and s[2:4].isdigit() and s.isalnum()):
        return False
    expected = _IBAN_LENGTHS.get(s[:2])
    if expected is not None and len(s) != expected:
        return False
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


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


def _find_emails(text: str) -> Iterator[PIISpan]:
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


def _find_cards(text: str) -> Iterator[PIISpan]:
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
        if _id_context(text, start, _CARD_CONTEXT) or _after_iban_head(text, start):
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


def ssn_plausible(digits: str) -> bool:
    """SSA never issues area 000, 666 or 900-999, group 00 or serial 0000."""
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _ssn_context(text: str, start: int) -> bool:
    return _SSN_CONTEXT_RE.search(text[max(0, start - 60) : start].lower()) is not None


def _find_ssns(text: str) -> Iterator[PIISpan]:
    """``123-45-6789`` / ``123 45 6789`` anywhere; a bare 9-digit run only after "social"/"SSN"."""
    for m in _SSN_RE.finditer(text):
        if ssn_plausible(m.group(1) + m.group(3) + m.group(4)) and not _id_context(text, m.start(), frozenset()):
            yield PIISpan("ssn", m.start(), m.end(), m.group())
    for m in _SSN_BARE_RE.finditer(text):
        if ssn_plausible(m.group()) and _ssn_context(text, m.start()):
            yield PIISpan("ssn", m.start(), m.end(), m.group())


# -- IBAN ---------------------------------------------------------------------------------------
_IBAN_RE = re.compile(r"\b[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]){11,40}\b")


def _find_ibans(text: str) -> Iterator[PIISpan]:
    """Country code, check digits, then alphanumerics, optionally in space-separated groups.

    The pattern may run on into a following word ("... 3000 OK"), so the longest prefix ending
    at a group boundary that passes the registry length and mod-97 checks is taken.
    """
    for m in _IBAN_RE.finditer(text):
        candidate = m.group()
        ends = [i.start() for i in re.finditer(" ", candidate)] + [len(candidate)]
        for end in reversed(ends):
            piece = candidate[:end]
            if iban_valid(piece.replace(" ", "")):
                yield PIISpan("iban", m.start(), m.start() + end, piece)
                break


# -- phone --------------------------------------------------------------------------------------
_US_PHONE_RE = re.compile(r"(?<![\w+])(?:\+?1[\s.-]?)?(?:\(\d{3}\)[\s.-]?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w]|[-.]\d)")
_LOCAL_PHONE_RE = re.compile(r"(?<![\w+.-])\d{3}[.-]\d{4}(?![\w]|[-.]\d)")
_BARE_PHONE_RE = re.compile(r"(?<![\w+#$€£.,/-])1?[2-9]\d{9}(?![\w]|[.,/-]\d)")
_INTL_PHONE_RE = re.compile(r"(?<![\w+])(?:\+|\b00)[1-9]\d{0,3}(?:[ .-]?\(?\d{1,6}\)?){1,6}")


def _find_phones(text: str) -> Iterator[PIISpan]:
    """US numbers with separators, bare 10/11-digit runs, and international numbers.

    A bare 10-digit run is the shape of many order ids, so it is a phone only when no
    order/tracking/invoice word precedes it (a nearer "phone"/"call" word overrides).
    International numbers start with ``+`` or ``00`` and hold 8-15 digits (E.164).
    """
    for m in _US_PHONE_RE.finditer(text):
        yield PIISpan("phone", m.start(), m.end(), m.group())
    for m in _LOCAL_PHONE_RE.finditer(text):
        if not _id_context(text, m.start(), _PHONE_CONTEXT):
            yield PIISpan("phone", m.start(), m.end(), m.group())
    for m in _BARE_PHONE_RE.finditer(text):
        if not _id_context(text, m.start(), _PHONE_CONTEXT):
            yield PIISpan("phone", m.start(), m.end(), m.group())
    if "+" in text or "00" in text:
        for m in _INTL_PHONE_RE.finditer(text):
            span = _intl_prefix(m.group())
            if (
                span is not None
                and not _id_context(text, m.start(), _PHONE_CONTEXT)
                and not _after_iban_head(text, m.start())
            ):
                yield PIISpan("phone", m.start(), m.start() + len(span), span)


def _intl_prefix(candidate: str) -> str | None:
    """Longest prefix of an international candidate, cut at a group boundary, with 8-15 digits."""
    skip = 2 if candidate.startswith("00") else 0
    cut = len(candidate)
    while cut > 0:
        piece = candidate[:cut].rstrip(" .-(")
        n = sum(ch.isdigit() for ch in piece) - skip
        if 8 <= n <= 15:
            return piece
        boundary = max(piece.rfind(" "), piece.rfind("."), piece.rfind("-"))
        if boundary <= 0 or n < 8:
            return None
        cut = boundary
    return None


# -- address ------------------------------------------------------------------------------------
_SUFFIXES = (
    r"(?:street|avenue|road|boulevard|lane|drive|court|way|place|terrace|circle|parkway|highway)"
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
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
    }
)


def _find_addresses(text: str) -> Iterator[PIISpan]:
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


# -- spoken digits (ASR) --------------------------------------------------------------------------
_UNITS = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_TEENS = {
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "seventeen": "17",
    "eighteen": "18",
    "nineteen": "19",
}
_TENS = {
    "twenty": "2",
    "thirty": "3",
    "forty": "4",
    "fifty": "5",
    "sixty": "6",
    "seventy": "7",
    "eighty": "8",
    "ninety": "9",
}
_REPEAT = {"double": 2, "triple": 3}
_FILLERS = frozenset({"uh", "um", "uhm", "umm", "uhh", "er", "erm", "ah", "hmm", "mm"})
_NUMBER_WORDS = sorted([*_UNITS, *_TEENS, *_TENS, *_REPEAT, *_FILLERS, "hundred"], key=len, reverse=True)
_SPOKEN_TOKEN = r"(?:(?:" + "|".join(_NUMBER_WORDS) + r")\b|\d+(?![\w.,/:]\d))"
#: Three or more number words / numerals separated only by spaces, commas, dashes or periods.
_SPOKEN_RUN_RE = re.compile(
    r"(?<![\w$€£#/:])(?:plus[\s,]+)?" + _SPOKEN_TOKEN + r"(?:[\s,.-]+" + _SPOKEN_TOKEN + r"){2,}",
    re.IGNORECASE,
)
_SPOKEN_TOKEN_RE = re.compile(r"[a-z]+|\d+", re.IGNORECASE)
_HAS_NUMBER_WORD_RE = re.compile(
    r"\b(?:" + "|".join(k for k in _NUMBER_WORDS if k not in _FILLERS) + r")\b", re.IGNORECASE
)


@dataclass(frozen=True)
class _Digits:
    """Digits of one spoken token and the character span of that token in the original text."""

    digits: str
    start: int
    end: int


def _spoken_digits(run: str, offset: int) -> tuple[list[_Digits], bool]:
    """Normalise one ASR number run to digit pieces, each tied to its source word's offsets.

    Returns the pieces and whether the run starts with "plus" (an international number).
    A leading "oh" may be an interjection; :func:`_best_window` drops it when the run only
    classifies without it. "double five" is "55"; "twenty five" is "25"; "eight hundred" (as in 1-800) is "800";
    fillers ("uh", "um") are dropped. Because every piece keeps the span of the word that
    produced it, a digit window found in the normalised string maps straight back to a
    character range of the original turn, which is what :class:`PIISpan` needs.
    """
    pieces: list[_Digits] = []
    plus = False
    repeat, repeat_start = 1, -1
    after_tens = False  # the previous word was "twenty".."ninety", so a unit completes it
    for tok in _SPOKEN_TOKEN_RE.finditer(run):
        word = tok.group().lower()
        start, end = offset + tok.start(), offset + tok.end()
        was_tens, after_tens = after_tens, False
        if word == "plus" and not pieces:
            plus = True
        elif word in _FILLERS:
            after_tens = was_tens
        elif word in _REPEAT:
            repeat, repeat_start = _REPEAT[word], start
        elif word == "hundred":
            if pieces and len(pieces[-1].digits) == 1:
                last = pieces.pop()
                pieces.append(_Digits(last.digits + "00", last.start, end))
        elif was_tens and word in _UNITS and word not in ("oh", "o", "zero"):
            last = pieces.pop()
            pieces.append(_Digits(last.digits[0] + _UNITS[word], last.start, end))
        else:
            if word.isdigit():
                digits = word
            elif word in _UNITS:
                digits = _UNITS[word]
            elif word in _TEENS:
                digits = _TEENS[word]
            else:
                digits = _TENS[word] + "0"
                after_tens = True
            if repeat > 1:
                digits, start = digits * repeat, repeat_start
                repeat = 1
            pieces.append(_Digits(digits, start, end))
    return pieces, plus


def _classify_digits(digits: str, plus: bool, text: str, start: int, whole: bool) -> str | None:
    """Which PII kind (if any) a normalised spoken digit string is, given its context.

    A card must be the ``whole`` run: Luhn passes for one window in ten, so trying windows
    of a long run would turn spoken order or tracking numbers into cards.
    """
    n = len(digits)
    if plus:
        return "phone" if 8 <= n <= 15 else None
    if whole and 13 <= n <= 19 and luhn_valid(digits) and not _id_context(text, start, _CARD_CONTEXT):
        return "card"
    if n == 9 and ssn_plausible(digits) and _ssn_context(text, start):
        return "ssn"
    if (n in (7, 10) or (n == 11 and digits[0] == "1")) and not _id_context(text, start, _PHONE_CONTEXT):
        return "phone"
    return None


#: "one hundred sixty two ninety nine" is an amount: identifiers are read digit by digit,
#: and a phone's "eight hundred" is followed by single digits, never by "sixty".
_QUANTITY_RE = re.compile(
    r"\b(?:hundred|thousand)\s+(?:and\s+)?(?:" + "|".join([*_TENS, *_TEENS]) + r")\b", re.IGNORECASE
)


def _find_spoken(text: str) -> Iterator[PIISpan]:
    """Spelled-out digit runs in ASR text: phones, cards (Luhn) and SSNs (with context).

    Only runs with at least one number *word* are considered; runs of numerals alone are the
    written detectors' business and follow their stricter format rules. If the whole run does
    not classify, windows that drop a few words at either end are tried, longest first, so that
    "I have two, five five five ..." still finds the phone after the stray "two".
    """
    if _HAS_NUMBER_WORD_RE.search(text) is None:
        return
    for m in _SPOKEN_RUN_RE.finditer(text):
        if _HAS_NUMBER_WORD_RE.search(m.group()) is None or _QUANTITY_RE.search(m.group()) is not None:
            continue
        pieces, plus = _spoken_digits(m.group(), m.start())
        found = _best_window(pieces, plus, text)
        if found is not None:
            kind, first, last = found
            start, end = pieces[first].start, pieces[last].end
            if plus:
                start = m.start()
            yield PIISpan(kind, start, end, text[start:end])


def _best_window(pieces: list[_Digits], plus: bool, text: str) -> tuple[str, int, int] | None:
    n = len(pieces)
    for drop in range(min(n, 4)):
        for head in range(drop, -1, -1):  # stray words lead more often than they trail
            first, last = head, n - 1 - (drop - head)
            if last < first or (plus and first > 0):
                continue
            digits = "".join(p.digits for p in pieces[first : last + 1])
            kind = _classify_digits(digits, plus, text, pieces[first].start, drop == 0)
            if kind is not None:
                return kind, first, last
    return None


# -- the redactor ---------------------------------------------------------------------------------
_DETECTORS: dict[str, Callable[[str], Iterator[PIISpan]]] = {
    "email": _find_emails,
    "iban": _find_ibans,
    "card": _find_cards,
    "ssn": _find_ssns,
    "phone": _find_phones,
    "address": _find_addresses,
}
_PRIORITY = {kind: i for i, kind in enumerate(PII_KINDS)}
_MAY_HOLD_PII_RE = re.compile(r"[\d@]|\b(?:dot|box|" + "|".join(_UNITS) + r")\b", re.IGNORECASE)


class Redactor:
    """Finds and replaces PII of the enabled ``kinds``.

    ``placeholder`` is a format string with ``{KIND}`` (upper case) and/or ``{kind}`` fields,
    e.g. the default ``"[{KIND}]"`` or ``"<{kind}>"``.
    """

    def __init__(self, kinds: Iterable[str] = PII_KINDS, placeholder: str = DEFAULT_PLACEHOLDER) -> None:
        chosen = tuple(kinds)
        unknown = sorted(set(chosen) - set(PII_KINDS))
        if unknown:
            raise ConfigError(f"unknown PII kinds {unknown}; known: {list(PII_KINDS)}")
        try:
            self._placeholders = {k: placeholder.format(KIND=k.upper(), kind=k) for k in PII_KINDS}
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"placeholder {placeholder!r} must be a format string using only {{KIND}} or {{kind}}: {exc}"
            ) from None
        self.kinds: tuple[str, ...] = tuple(k for k in PII_KINDS if k in chosen)
        self.placeholder = placeholder
        self._spoken = bool({"phone", "card", "ssn"} & set(self.kinds))

    def placeholder_for(self, kind: str) -> str:
        return self._placeholders[kind]

    def find(self, text: str, context: str = "") -> list[PIISpan]:
        """All PII findings in ``text``: sorted by start, never overlapping.

        ``context`` is text said just before (the previous turn): "Can I get the order number?"
        followed by a turn holding only "4829301746" makes that number an order id, not a phone.
        Only its last words are used, and nothing in it is ever reported.
        """
        if not text or _MAY_HOLD_PII_RE.search(text) is None:
            return []
        if context:
            # " | " stops every pattern, so nothing can span the seam between the two texts.
            prefix = context[-90:] + " | "
            shift = len(prefix)
            return [
                PIISpan(s.kind, s.start - shift, s.end - shift, s.text)
                for s in self._find(prefix + text)
                if s.start >= shift
            ]
        return self._find(text)

    def _find(self, text: str) -> list[PIISpan]:
        candidates: list[PIISpan] = []
        for kind in self.kinds:
            candidates.extend(_DETECTORS[kind](text))
        if self._spoken:
            candidates.extend(s for s in _find_spoken(text) if s.kind in self.kinds)
        if not candidates:
            return []
        # Highest-priority kind first, then longest: the first claim on a character wins.
        candidates.sort(key=lambda s: (_PRIORITY[s.kind], -(s.end - s.start), s.start))
        chosen: list[PIISpan] = []
        for span in candidates:
            if all(span.end <= c.start or span.start >= c.end for c in chosen):
                chosen.append(span)
        chosen.sort(key=lambda s: s.start)
        return chosen

    def redact_text(self, text: str, context: str = "") -> str:
        """``text`` with every finding replaced by its kind's placeholder (see :meth:`find`)."""
        spans = self.find(text, context)
        if not spans:
            return text
        parts: list[str] = []
        pos = 0
        for span in spans:
            parts.append(text[pos : span.start])
            parts.append(self._placeholders[span.kind])
            pos = span.end
        parts.append(text[pos:])
        return "".join(parts)

    def redact_value(self, value: Any) -> Any:
        """Redact every string inside nested dicts, lists and tuples; keys and other values stay."""
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, dict):
            return {k: self.redact_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact_value(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.redact_value(v) for v in value)
        return value

    def redact_contact(self, contact: Contact) -> Contact:
        """A new contact with every turn's text and every metadata string redacted.

        Each turn is read with the previous turn as context (an answer to "what's the order
        number?" is an order number). Ids, times, channel, labels and turn speakers/offsets are
        carried over unchanged; the input contact is not modified.
        """
        turns = []
        previous = ""
        for turn in contact.turns:
            turns.append(turn.model_copy(update={"text": self.redact_text(turn.text, previous)}))
            previous = turn.text
        return contact.model_copy(update={"turns": turns, "metadata": self.redact_value(contact.metadata)})


_DEFAULT = Redactor()


def redact_contact(contact: Contact) -> Contact:
    """Redact ``contact`` with the default redactor (all kinds, ``[KIND]`` placeholders)."""
    return _DEFAULT.redact_contact(contact)


def redact_text(text: str) -> str:
    """Redact ``text`` with the default redactor."""
    return _DEFAULT.redact_text(text)
