"""PII read out on a call (ASR text): spelled-out digit runs normalised to digits with the span of
the word each came from, and IBANs read letter by letter or in the NATO alphabet."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from dispo.redact.checks import _IBAN_LENGTHS, e164_plausible, iban_valid, luhn_valid, ssn_plausible
from dispo.redact.context import _ANSWER_CHARS, _Context, _ssn_context, _turn_cue
from dispo.redact.spans import PIISpan

# -- spoken digits (ASR) --------------------------------------------------------------------------
#: 0 to 19 spelled out, in order; the corpus builder speaks numbers with the same words.
NUMBER_WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
#: 20, 30, ... 90 spelled out.
TENS_WORDS: tuple[str, ...] = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
#: A digit as a caller says it (ASR text), "oh" included.
SPOKEN_DIGITS = {"zero": "0", "oh": "0", "o": "0", **{w: str(i) for i, w in enumerate(NUMBER_WORDS[1:10], 1)}}
_TEENS = {w: str(i) for i, w in enumerate(NUMBER_WORDS[10:], 10)}
_TENS = {w: str(i) for i, w in enumerate(TENS_WORDS, 2)}  # the tens digit
_REPEAT = {"double": 2, "triple": 3}
_FILLERS = frozenset({"uh", "um", "uhm", "umm", "uhh", "er", "erm", "ah", "hmm", "mm"})
_NUMBER_WORDS = sorted([*SPOKEN_DIGITS, *_TEENS, *_TENS, *_REPEAT, *_FILLERS, "hundred"], key=len, reverse=True)
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
        elif was_tens and word in SPOKEN_DIGITS and word not in ("oh", "o", "zero"):
            last = pieces.pop()
            pieces.append(_Digits(last.digits[0] + SPOKEN_DIGITS[word], last.start, end))
        else:
            if word.isdigit():
                digits = word
            elif word in SPOKEN_DIGITS:
                digits = SPOKEN_DIGITS[word]
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
_DIGIT_WORDS = "|".join(sorted([*SPOKEN_DIGITS, *_TEENS, *_TENS, *_REPEAT], key=len, reverse=True))
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
        if was_tens and word in SPOKEN_DIGITS and word not in ("oh", "o", "zero"):
            chars, _, first, _ = out.pop()
            total -= len(chars)
            out.append((chars[0] + SPOKEN_DIGITS[word], "", first, tok.end()))
            total += 2
            continue
        if word.isdigit():
            chars = word
        elif word in ("o", "oh"):
            chars, alt = "0", "O"
        elif word in SPOKEN_DIGITS:
            chars = SPOKEN_DIGITS[word]
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
