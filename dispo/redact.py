"""PII redaction: find personal data in transcript text and replace it with typed placeholders.

Redaction runs on ingestion, before a contact is stored, trained on or logged, so it has to be
both thorough (a missed card number is a compliance incident) and precise (order numbers,
amounts and dates carry the meaning a disposition classifier learns from). Every detector pairs
a pattern with a validity check (Luhn for cards, mod-97 for IBANs, SSA rules for SSNs) or with
context words, because patterns alone cannot tell a 10-digit order id from a phone number.
Context is read in the turn itself (the cue words bound to the number) and, when those say
nothing, in the question of the previous turn ("what's the order number?" vs "a callback number?").
International phones follow E.164 (a real country code, a national number of that country's length).

Voice transcripts come from ASR, where digits are often spelled out ("five five five one two
three ..."). Those are normalised to digit strings while keeping, for every digit, the character
span of the word it came from, so a finding maps back to exact offsets in the original text.
IBANs read out letter by letter ("d e eight nine three seven oh four ...", or in the NATO
alphabet) are normalised the same way and checked against the registry length and mod-97.

Kinds and placeholders: ``email`` -> ``[EMAIL]``, ``phone`` -> ``[PHONE]``, ``card`` -> ``[CARD]``,
``ssn`` -> ``[SSN]``, ``iban`` -> ``[IBAN]``, ``address`` -> ``[ADDRESS]``. Names are out of scope.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from dispo.contact import Contact, Turn
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


# -- context: whose number is this? ---------------------------------------------------------------
# A bare digit run (a 10-digit number, a spoken digit string) may be the caller's phone number or
# an identifier of the business (order, ticket, invoice). Cue words decide, read in two places:
# the words just before the number in the same turn and, when those say nothing, the question
# asked in the previous turn ("what's the order number?" vs "a callback number?").
#
# A cue is ranked by how tightly it is bound to the number:
#   3 - it heads a "number" noun phrase in the same sentence: "order number is", "callback number";
#   2 - only linking words stand between it and the number: "order 4829301746", "ticket: ...";
#   1 - it is merely nearby (or in an earlier sentence): "my order never came, 4829301746",
#       or another number already follows it: "order #B7A-576173, the card I paid with was ...".
# The highest rank wins, then the nearest. Ambiguous id words ("case", "item", "model", ASR
# mishearings like "older") only count at ranks 2-3: "just in case we get disconnected" is not
# about a case number.

_CUE_TOKEN_RE = re.compile(r"[a-z]+(?:'[a-z]+)?|#|[.?!;](?=\s|$)|\d[\w-]*")

#: Words that make a following number an identifier of the business, wherever they stand.
_ID_WORDS = frozenset(
    {
        "order",
        "orders",
        "tracking",
        "invoice",
        "invoices",
        "ticket",
        "tickets",
        "shipment",
        "parcel",
        "rma",
        "sku",
        "serial",
        "receipt",
        "transaction",
        "booking",
        "reservation",
        # Chat abbreviations.
        "ord",
        "ordr",
        "inv",
        "tkt",
        "trk",
        "txn",
    }
)
#: Id words that are also everyday words (or ASR mishearings of id words): they count only when
#: bound to the number, never merely nearby.
_WEAK_ID_WORDS = frozenset(
    {
        "case",
        "reference",
        "ref",
        "claim",
        "item",
        "model",
        "package",
        "confirmation",
        "conf",
        "track",
        "older",
        "border",
        "der",
        "truck",
        "trek",
        "voice",
        "recipe",
        "#",
    }
)


def _typo_variants(word: str) -> set[str]:
    """The one-keystroke typos that chat users make most, past the first letter.

    A letter dropped, doubled or replaced, or two neighbours swapped: "ordr", "orddr", "ordet", "odrer".
    """
    out = {word[:i] + word[i + 1 :] for i in range(1, len(word))}
    out |= {word[:i] + word[i] + word[i:] for i in range(1, len(word))}
    out |= {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(1, len(word) - 1)}
    out |= {word[:i] + c + word[i + 1 :] for i in range(1, len(word)) for c in "abcdefghijklmnopqrstuvwxyz"}
    return out - {word}


#: Misspelt id words ("ordr", "invocie", "trackng") count like the weak ones: bound to the number.
_TYPO_ID_WORDS = (
    frozenset(
        v for w in ("order", "ordr", "tracking", "invoice", "ticket", "receipt", "shipment") for v in _typo_variants(w)
    )
    - _ID_WORDS
)
_PHONE_WORDS = frozenset(
    {
        "phone",
        "phones",
        "cell",
        "cellphone",
        "mobile",
        "call",
        "callback",
        "reach",
        "text",
        "telephone",
        "landline",
        "fax",
        "dial",
        "contact",
        "whatsapp",
        "tel",
    }
)
_CARD_CONTEXT = frozenset({"card", "visa", "mastercard", "amex", "discover", "credit", "debit"})
_SSN_WORDS = frozenset({"social", "ssn"})
#: Nouns that a cue word heads: "order number", "ticket #", "case id".
_NUMBER_NOUNS = frozenset({"number", "numbers", "num", "no", "nr", "#", "id", "ids"})
#: Words that may stand between a cue and its number without loosening the bond.
_LINKING_WORDS = _NUMBER_NOUNS | frozenset(
    {"is", "was", "it's", "its", "it", "s", "my", "the", "a", "that's", "be", "should", "will", "would", "of"}
)
_POSSESSIVES = frozenset({"my", "your", "our", "his", "her", "their", "best", "good"})
_SSN_CONTEXT_RE = re.compile(r"\b(?:social|ssn|s\s?s\s?n|security\s+number)\b")
#: Hesitations and discourse fillers ("i mean", "you know", "uh huh", "okay so"): skipped when reading cues.
_CUE_FILLERS = frozenset(
    {"uh", "um", "uhm", "umm", "uhh", "er", "erm", "ah", "hmm", "mm", "like", "so", "i", "mean", "you", "know", "huh"}
    | {"okay", "ok"}
)
#: How far back in the turn cues are read, and how far into a turn the previous turn's question
#: still applies (an answer comes first; a number deep into a long turn is about something else).
_CUE_CHARS = 120
_CUE_WORDS = 14
_ANSWER_CHARS = 160


def _cue_class(word: str) -> tuple[str | None, bool]:
    """The role a cue word points to (``id``, ``phone``, ``card``, ``ssn``) and whether it is weak."""
    if word in _ID_WORDS:
        return "id", False
    if word in _WEAK_ID_WORDS or word in _TYPO_ID_WORDS:
        return "id", True
    if word in _PHONE_WORDS:
        return "phone", False
    if word in _CARD_CONTEXT:
        return "card", False
    if word in _SSN_WORDS:
        return "ssn", False
    return None, False


def _scan_cues(tokens: list[str], bound: bool) -> tuple[str | None, int]:
    """The winning (role, rank) among ``tokens``, read backwards from the number.

    ``bound`` says the tokens end right where the number starts (same turn); for a previous
    turn it is False: rank 2 (adjacency) cannot happen and sentence ends do not matter (the
    question is the whole turn). A cue that another number follows is spent on that number
    ("cancel order #B7A-576173 The card I paid with was 5315 ..."): it ranks 1 at most.
    """
    best_role: str | None = None
    best_rank = 0
    roles_at_best: set[str] = set()
    adjacent = bound
    same_sentence = True
    after: str | None = None  # the next non-filler word (towards the number)
    words = 0
    spent = False  # a number stands between the cue and ours
    for i in range(len(tokens) - 1, -1, -1):
        tok = tokens[i]
        if tok in ".?!;":
            adjacent = False
            same_sentence = not bound
            continue
        if tok[0].isdigit():
            spent, adjacent, after = True, False, None
            continue
        if tok in _CUE_FILLERS:
            continue
        words += 1
        if words > _CUE_WORDS and bound:
            break
        role, weak = _cue_class(tok)
        if weak and tok == "case" and i > 0 and tokens[i - 1] in ("in", "any"):
            role = None  # "just in case", "in any case": not a case number
        if role is None and tok in _NUMBER_NOUNS and tok != "#":
            # "my number", "your best number": a possessive before a bare "number" asks for a phone.
            prev = next((t for t in reversed(tokens[:i]) if t not in _CUE_FILLERS), None)
            if prev in _POSSESSIVES:
                role, weak = "phone", False
        head = after in _NUMBER_NOUNS or (tok in _NUMBER_NOUNS and role == "phone")
        if role is not None:
            if head and same_sentence:
                rank = 3
            elif adjacent:
                rank = 2
            elif not weak:
                rank = 1
            else:
                rank = 0
            if spent:
                rank = min(rank, 1 if not weak else 0)
            if rank > best_rank:
                best_role, best_rank, roles_at_best = role, rank, {role}
            elif rank == best_rank and rank > 0:
                roles_at_best.add(role)
        if tok not in _LINKING_WORDS:
            adjacent = False
        after = tok
    if not bound and {"id", "phone"} <= roles_at_best:
        return None, 0  # "your phone number and the order number?": the question decides nothing
    return best_role, best_rank


class _Context:
    """What the previous turn says about numbers in this one; worked out lazily, once per turn."""

    __slots__ = ("_previous", "_role", "_ssn")

    def __init__(self, previous: str = "") -> None:
        self._previous = previous
        self._role: tuple[str | None, int] | None = None
        self._ssn: bool | None = None

    def previous_role(self) -> str | None:
        if self._role is None:
            tail = self._previous[-240:].lower()
            self._role = _scan_cues(_CUE_TOKEN_RE.findall(tail), bound=False) if tail else (None, 0)
        return self._role[0]

    def previous_asks_ssn(self) -> bool:
        if self._ssn is None:
            self._ssn = _SSN_CONTEXT_RE.search(self._previous[-120:].lower()) is not None
        return self._ssn


_NO_CONTEXT = _Context()


def _words_before(text: str, start: int, n: int = 10) -> list[str]:
    """The last ``n`` lower-cased words (and ``#`` signs) before ``start``, on the same line.

    A line break ends the context: an email signature's phone number is not an order id
    because the paragraph above it mentioned an order.
    """
    window = text[max(0, start - 90) : start]
    return _WORD_RE.findall(window[window.rfind("\n") + 1 :].lower())[-n:]


def _turn_cue(text: str, start: int) -> tuple[str | None, int]:
    """(role, rank) of the cue words before ``start`` in the same turn and line."""
    window = text[max(0, start - _CUE_CHARS) : start]
    window = window[window.rfind("\n") + 1 :].lower()
    if not window:
        return None, 0
    return _scan_cues(_CUE_TOKEN_RE.findall(window), bound=True)


def _role(text: str, start: int, ctx: _Context) -> str | None:
    """Who a bare number at ``start`` belongs to: the turn's own cues first, else the question before it."""
    role, _ = _turn_cue(text, start)
    if role is not None:
        return role
    if start <= _ANSWER_CHARS:
        return ctx.previous_role()
    return None


def _bound_to_id(text: str, start: int) -> bool:
    """True if an id word is bound to the number at ``start`` ("order 4111...", "ticket number ...")."""
    role, rank = _turn_cue(text, start)
    return role == "id" and rank >= 2


def _ssn_context(text: str, start: int, ctx: _Context) -> bool:
    if _SSN_CONTEXT_RE.search(text[max(0, start - 60) : start].lower()) is not None:
        return True
    return start <= _ANSWER_CHARS and ctx.previous_asks_ssn()


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


def ssn_plausible(digits: str) -> bool:
    """SSA never issues area 000, 666 or 900-999, group 00 or serial 0000."""
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


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

#: ITU-T E.164 country calling codes that are one or two digits long; every other code is three
#: digits long and starts with a two-digit prefix that is not in this set (codes are prefix-free).
_CC_SHORT = frozenset(
    (
        *("1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45"),
        *("46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63"),
        *("64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98"),
    ),
)
#: National significant number lengths (digits after the country code, no trunk 0) for the
#: countries whose numbers a contact center sees most; any other code takes 6 to 15 - len(code).
_NSN_LENGTHS: dict[str, tuple[int, int]] = {
    "1": (10, 10),
    "7": (10, 10),
    "20": (8, 10),
    "27": (9, 9),
    "30": (10, 10),
    "31": (9, 9),
    "32": (8, 9),
    "33": (9, 9),
    "34": (9, 9),
    "36": (8, 9),
    "39": (6, 11),
    "40": (9, 9),
    "41": (9, 9),
    "43": (4, 13),
    "44": (9, 10),
    "45": (8, 8),
    "46": (7, 13),
    "47": (8, 8),
    "48": (9, 9),
    "49": (6, 13),
    "52": (10, 10),
    "55": (10, 11),
    "61": (9, 9),
    "64": (8, 10),
    "65": (8, 8),
    "81": (9, 10),
    "82": (8, 10),
    "86": (10, 11),
    "90": (10, 10),
    "91": (10, 10),
    "351": (9, 9),
    "353": (7, 9),
    "358": (6, 12),
    "420": (9, 9),
    "972": (8, 9),
    "971": (8, 9),
}


def _country_code(digits: str) -> str | None:
    """The E.164 country code that ``digits`` (everything after + or 00) starts with, if any."""
    for n in (1, 2):
        if digits[:n] in _CC_SHORT:
            return digits[:n]
    if len(digits) >= 3 and digits[0] not in "017" and digits[:2] not in _CC_SHORT:
        return digits[:3]
    return None


def e164_plausible(digits: str) -> bool:
    """True if ``digits`` (without + or 00) is a country code plus a national number of a valid length."""
    cc = _country_code(digits)
    if cc is None:
        return False
    low, high = _NSN_LENGTHS.get(cc, (6, 15 - len(cc)))
    return low <= len(digits) - len(cc) <= min(high, 15 - len(cc))


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


@dataclass(frozen=True)
class _RunContext:
    """What the words around one spoken run say about it."""

    role: str | None  # "id", "phone", "card", "ssn" or None (see :func:`_role`)
    bound_to_id: bool  # an id word is bound to the run ("order number is ...")
    ssn: bool  # "social"/"SSN" just before, or asked for in the previous turn


def _nanp_plausible(digits: str) -> bool:
    """North American numbering: an area code never starts with 0 or 1 (nor does a 7-digit local number)."""
    if len(digits) == 11:
        digits = digits[1:]
    if len(digits) == 10:
        return digits[0] not in "01"
    return len(digits) == 7 and digits[0] not in "01"


def _classify_digits(digits: str, plus: bool, rc: _RunContext, whole: bool, spelled: bool) -> str | None:
    """Which PII kind (if any) a normalised spoken digit string is, given its context.

    A card must be the ``whole`` run: Luhn passes for one window in ten, so trying windows
    of a long run would turn spoken order or tracking numbers into cards.

    Nine digits are an SSN after "social"/"SSN" (in the turn or the question before it) and,
    when the run is ``spelled`` out in words only and said as a whole, also when no cue at all
    says what it is: speech loses the 3-2-4 dashes that tell an SSN from an id in writing, ASR
    drops or garbles the word "social" now and then, and an unredacted SSN is an incident while
    a redacted id only costs the classifier a token. Any id cue (in the turn or the question
    before it) or a phone cue vetoes the default.
    """
    n = len(digits)
    if plus:
        return "phone" if e164_plausible(digits) else None
    if whole and 13 <= n <= 19 and luhn_valid(digits) and not rc.bound_to_id:
        return "card"
    if n == 9 and ssn_plausible(digits) and not rc.bound_to_id and (rc.ssn or (rc.role is None and whole and spelled)):
        return "ssn"
    if (n in (7, 10) or (n == 11 and digits[0] == "1")) and _nanp_plausible(digits) and rc.role != "id":
        return "phone"
    return None


#: "one hundred sixty two ninety nine" is an amount: identifiers are read digit by digit,
#: and a phone's "eight hundred" is followed by single digits, never by "sixty".
_QUANTITY_RE = re.compile(
    r"\b(?:hundred|thousand)\s+(?:and\s+)?(?:" + "|".join([*_TENS, *_TEENS]) + r")\b", re.IGNORECASE
)
#: Two or more letters spelled out right next to a digit run ("o r d two oh two four ...") make it
#: one alphanumeric code (an order id, a postcode, an IBAN), not a phone or a card with a prefix.
_SPELLED_BEFORE_RE = re.compile(r"(?:\b([a-z])[\s-]+){2,}$", re.IGNORECASE)
_SPELLED_AFTER_RE = re.compile(r"^(?:[\s-]+([a-z])\b){2,}", re.IGNORECASE)
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_ORDINALS = (
    "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|"
    "fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth|\\d{1,2}(?:st|nd|rd|th)"
)
#: A run right after a month or a day ("march twenty fourth twenty twenty six", "the 5th of may
#: nineteen eighty") is the year of a date, whatever its digit count.
_DATE_BEFORE_RE = re.compile(r"\b(?:" + _MONTHS + "|" + _ORDINALS + r")[\s,.]+(?:of\s+)?$", re.IGNORECASE)
#: Punctuation between two spoken tokens: the only place a run may be split into a number and strays.
_SEAM_RE = re.compile(r"[,.;]")


def _next_to_spelled_letters(text: str, start: int, end: int) -> bool:
    before = _SPELLED_BEFORE_RE.search(text[max(0, start - 24) : start])
    if before is not None and len(re.findall(r"\b[b-hj-z]\b", before.group(), re.IGNORECASE)) >= 2:
        return True
    after = _SPELLED_AFTER_RE.match(text[end : end + 24])
    return after is not None and len(re.findall(r"\b[b-hj-z]\b", after.group(), re.IGNORECASE)) >= 2


def _find_spoken(text: str, ctx: _Context) -> Iterator[PIISpan]:
    """Spelled-out digit runs in ASR text: phones, cards (Luhn) and SSNs (with context).

    Only runs with at least one number *word* are considered; runs of numerals alone are the
    written detectors' business and follow their stricter format rules. If the whole run does
    not classify, windows that drop a few words at either end are tried, longest first, but only
    where punctuation splits the run ("I have two, five five five ...") or the dropped word is a
    leading "oh": a run said in one breath is one number, and the phone-length piece of a spoken
    12-digit order id is not a phone.
    """
    if _HAS_NUMBER_WORD_RE.search(text) is None:
        return
    for m in _SPOKEN_RUN_RE.finditer(text):
        if _HAS_NUMBER_WORD_RE.search(m.group()) is None or _QUANTITY_RE.search(m.group()) is not None:
            continue
        if _next_to_spelled_letters(text, m.start(), m.end()) or _DATE_BEFORE_RE.search(
            text[max(0, m.start() - 30) : m.start()]
        ):
            continue
        pieces, plus = _spoken_digits(m.group(), m.start())
        pieces = _strip_interjections(text, pieces)
        if not pieces or all(text[p.start].isdigit() for p in pieces):
            continue
        cue_role, cue_rank = _turn_cue(text, m.start())
        role = cue_role if cue_role is not None else (ctx.previous_role() if m.start() <= _ANSWER_CHARS else None)
        rc = _RunContext(role, cue_role == "id" and cue_rank >= 2, _ssn_context(text, m.start(), ctx))
        found = _best_window(pieces, plus, text, rc)
        if found is not None:
            kind, first, last = found
            start, end = pieces[first].start, pieces[last].end
            if plus:
                start = m.start()
            yield PIISpan(kind, start, end, text[start:end])


#: Words that ASR writes as a digit in front of a number: the interjection "oh", and the homophones
#: of "to" and "for" ("charge it two four one one one ..."). The homophones are only dropped to
#: complete a card, which Luhn checks: dropping them to make a phone would turn 11-digit spoken
#: order ids that start with a two or a four into phones.
_LEADING_STRAYS = frozenset({"oh", "o", "two", "four"})
_HOMOPHONE_STRAYS = frozenset({"two", "four"})


def _word(text: str, piece: _Digits) -> str:
    return text[piece.start : piece.end].lower()


def _strip_interjections(text: str, pieces: list[_Digits]) -> list[_Digits]:
    """Drop an "oh" that punctuation sets apart at either end of a run ("2026-07-22. Oh, also ...")."""
    if (
        len(pieces) > 1
        and _word(text, pieces[0]) in ("oh", "o")
        and _SEAM_RE.search(text, pieces[0].end, pieces[1].start) is not None
    ):
        pieces = pieces[1:]
    if (
        len(pieces) > 1
        and _word(text, pieces[-1]) in ("oh", "o")
        and _SEAM_RE.search(text, pieces[-2].end, pieces[-1].start) is not None
    ):
        pieces = pieces[:-1]
    return pieces


def _lone_leading_stray(text: str, pieces: list[_Digits], first: int, last: int) -> bool:
    """True if the window leaves out exactly one leading word, and that word is a likely stray."""
    return first == 1 and last == len(pieces) - 1 and _word(text, pieces[0]) in _LEADING_STRAYS


def _may_drop(text: str, pieces: list[_Digits], first: int, last: int) -> bool:
    """True if pieces outside ``first..last`` may be strays: cut off by punctuation, or one leading stray word."""
    if _lone_leading_stray(text, pieces, first, last):
        return True
    if first > 0 and _SEAM_RE.search(text, pieces[first - 1].end, pieces[first].start) is None:
        return False
    return last == len(pieces) - 1 or _SEAM_RE.search(text, pieces[last].end, pieces[last + 1].start) is not None


def _best_window(pieces: list[_Digits], plus: bool, text: str, rc: _RunContext) -> tuple[str, int, int] | None:
    n = len(pieces)
    for drop in range(min(n, 4)):
        for head in range(drop, -1, -1):  # stray words lead more often than they trail
            first, last = head, n - 1 - (drop - head)
            if last < first or (plus and first > 0):
                continue
            if drop and not _may_drop(text, pieces, first, last):
                continue
            digits = "".join(p.digits for p in pieces[first : last + 1])
            spelled = not any(text[p.start].isdigit() for p in pieces[first : last + 1])
            stray = drop > 0 and _lone_leading_stray(text, pieces, first, last)
            kind = _classify_digits(digits, plus, rc, drop == 0 or stray, spelled)
            if (
                kind is not None
                and stray
                and kind != "card"
                and _word(text, pieces[0]) in _HOMOPHONE_STRAYS
                and _SEAM_RE.search(text, pieces[0].end, pieces[1].start) is None
            ):
                kind = None
            if kind is not None:
                return kind, first, last
    return None


# -- spoken IBAN -------------------------------------------------------------------------------------
_NATO_ALPHABET = (
    *("alpha", "alfa", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"),
    *("juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango"),
    *("uniform", "victor", "whiskey", "whisky", "xray", "yankee", "zulu"),
)
#: Letters as a caller spells them: single letters, the ICAO/NATO alphabet, and letter names that
#: are not everyday words.
_LETTER_WORDS: dict[str, str] = {
    **{w: w[0].upper() for w in _NATO_ALPHABET},
    "aitch": "H",
    "cee": "C",
    "dee": "D",
    "gee": "G",
    "vee": "V",
    "ess": "S",
    "wye": "Y",
    "zed": "Z",
    "zee": "Z",
}
_DIGIT_WORDS = "|".join(sorted([*_UNITS, *_TEENS, *_TENS, *_REPEAT], key=len, reverse=True))
#: Two spelled letters (a country code) followed by a spoken digit or a numeral: where a read-out IBAN starts.
_SPOKEN_IBAN_HEAD_RE = re.compile(
    r"(?<![\w'])([a-z]+)[\s,.-]+([a-z]+)[\s,.-]+(?=(?:" + _DIGIT_WORDS + r")\b|\d)", re.IGNORECASE
)
#: Cheap test that a text may hold a spelled-out code at all: two one-letter words in a row.
_LETTER_PAIR_RE = re.compile(r"(?<![^\s,.-])[a-z][\s,.-]+[a-z](?![^\s,.-])", re.IGNORECASE)
_NATO_SET = frozenset(_NATO_ALPHABET)
_PUNCT_TO_SPACE_RE = re.compile(r"[,.;:!?-]")
_SPELL_TOKEN_RE = re.compile(r"[a-z]+|\d+", re.IGNORECASE)
_SPELL_GAP_RE = re.compile(r"[\s,.-]*")


def _letter(word: str) -> str | None:
    w = word.lower()
    if len(w) == 1 and w.isalpha():
        return w.upper()
    return _LETTER_WORDS.get(w)


def _spelled_chars(text: str, start: int, limit: int) -> list[tuple[str, str, int, int]]:
    """Read spelled characters from ``start``: (chars, alternative, start, end) per spoken token.

    Digits are read like :func:`_spoken_digits` does ("double five", "eighty nine"); letters as
    single letters or alphabet words. "o" and "oh" are both the digit 0 and the letter O: the
    alternative is kept so that validation can try both. Reading stops at the first word that
    is neither, at anything but spaces, commas, dots or dashes between tokens, or at ``limit``
    characters.
    """
    out: list[tuple[str, str, int, int]] = []
    pos = start
    repeat = 1
    after_tens = False
    total = 0
    for tok in _SPELL_TOKEN_RE.finditer(text, start):
        gap = text[pos : tok.start()]
        if _SPELL_GAP_RE.fullmatch(gap) is None:
            break
        pos = tok.end()
        word = tok.group().lower()
        was_tens, after_tens = after_tens, False
        if word in _FILLERS:
            after_tens = was_tens
            continue
        if word in _REPEAT:
            repeat = _REPEAT[word]
            continue
        alt = ""
        if was_tens and word in _UNITS and word not in ("oh", "o", "zero"):
            chars, _, first, _ = out.pop()
            total -= len(chars)
            out.append((chars[0] + _UNITS[word], "", first, tok.end()))
            total += 2
            continue
        if word.isdigit():
            chars = word
        elif word in ("o", "oh"):
            chars, alt = "0", "O"
        elif word in _UNITS:
            chars = _UNITS[word]
        elif word in _TEENS:
            chars = _TEENS[word]
        elif word in _TENS:
            chars, after_tens = _TENS[word] + "0", True
        elif (letter := _letter(word)) is not None:
            chars = letter
        else:
            break
        if repeat > 1:
            chars, alt, repeat = chars * repeat, alt * repeat if alt else "", 1
        out.append((chars, alt, tok.start(), tok.end()))
        total += len(chars)
        if total >= limit:
            break
    return out


def _find_spoken_ibans(text: str) -> Iterator[PIISpan]:
    """IBANs read out on a call: "d e eight nine three seven oh four ..." or "golf bravo eight two ...".

    After a spelled country code with a registered IBAN length, exactly that many characters must
    follow at token boundaries and pass mod-97; every reading of an ambiguous "o"/"oh" (digit or
    letter) is tried, at most 2**6 of them.
    """
    if _LETTER_PAIR_RE.search(text) is None and _NATO_SET.isdisjoint(_PUNCT_TO_SPACE_RE.sub(" ", text.lower()).split()):
        return
    pos = 0
    while (head := _SPOKEN_IBAN_HEAD_RE.search(text, pos)) is not None:
        pos = head.start() + 1
        first, second = _letter(head.group(1)), _letter(head.group(2))
        if first is None or second is None:
            pos = head.end(1) + 1
            continue
        length = _IBAN_LENGTHS.get(first + second)
        if length is None:
            continue
        pieces = _spelled_chars(text, head.start(), length)
        taken = 0
        n = 0
        while n < len(pieces) and taken < length:
            taken += len(pieces[n][0])
            n += 1
        if taken != length:
            continue
        pieces = pieces[:n]
        found = _valid_reading(pieces)
        if found is not None:
            start, end = pieces[0][2], pieces[-1][3]
            yield PIISpan("iban", start, end, text[start:end])
            pos = end


def _valid_reading(pieces: list[tuple[str, str, int, int]]) -> str | None:
    """The first reading of ``pieces`` (trying both sides of each ambiguous o/oh) that is a valid IBAN."""
    ambiguous = [i for i, p in enumerate(pieces) if p[1]][:6]
    for mask in range(1 << len(ambiguous)):
        chosen = [p[0] for p in pieces]
        for bit, i in enumerate(ambiguous):
            if mask >> bit & 1:
                chosen[i] = pieces[i][1]
        compact = "".join(chosen)
        if iban_valid(compact):
            return compact
    return None


# -- the redactor ---------------------------------------------------------------------------------
_DETECTORS: dict[str, Callable[[str, _Context], Iterator[PIISpan]]] = {
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
        return self._find(text, _Context(context) if context else _NO_CONTEXT)

    def _find(self, text: str, ctx: _Context) -> list[PIISpan]:
        candidates: list[PIISpan] = []
        for kind in self.kinds:
            candidates.extend(_DETECTORS[kind](text, ctx))
        if self._spoken:
            candidates.extend(s for s in _find_spoken(text, ctx) if s.kind in self.kinds)
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

    def redact_turn(self, turn: Turn, previous: Turn | None) -> Turn:
        """``turn`` redacted, read in the context of the ``previous`` turn as redacted."""
        return turn.model_copy(update={"text": self.redact_text(turn.text, previous.text if previous else "")})

    def redact_contact(self, contact: Contact) -> Contact:
        """A new contact with every turn's text and every metadata string redacted.

        Each turn is read with the previous turn, as redacted, as its context (an answer to
        "what's the order number?" is an order number): the one rule for a whole contact and a
        live session alike, which keeps no raw turn. Ids, times, channel, labels and turn
        speakers/offsets are carried over unchanged; the input contact is not modified.
        """
        turns: list[Turn] = []
        for turn in contact.turns:
            turns.append(self.redact_turn(turn, turns[-1] if turns else None))
        return contact.model_copy(update={"turns": turns, "metadata": self.redact_value(contact.metadata)})


_DEFAULT = Redactor()


def redact_contact(contact: Contact) -> Contact:
    """Redact ``contact`` with the default redactor (all kinds, ``[KIND]`` placeholders)."""
    return _DEFAULT.redact_contact(contact)


def redact_text(text: str) -> str:
    """Redact ``text`` with the default redactor."""
    return _DEFAULT.redact_text(text)
