"""Context: whose number is this? The cue words bound to a number in its turn, else the question
of the previous turn ("what's the order number?" vs "a callback number?")."""

from __future__ import annotations

import re

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


_FILLER = r"(?:\s+(?:er|uh|um|erm|i\s+mean|please|just))*"
_NAME_QUESTION = re.compile(
    rf"\b(?:your|the){_FILLER}(?:\s+(?:full|first|last|and|account|legal)){{0,3}}{_FILLER}\s+name\b|"
    r"\bname\s+on\s+the\s+account\b|\b(?:speaking|talking)\s+(?:with|to)\W*$|"
    r"\bwho(?:'s|\s+is)\s+calling\b",
    re.IGNORECASE,
)


class _Context:
    """What the previous turn says about numbers and names in this one; worked out lazily, once per turn."""

    __slots__ = ("_name", "_previous", "_role", "_ssn")

    def __init__(self, previous: str = "") -> None:
        self._previous = previous
        self._role: tuple[str | None, int] | None = None
        self._ssn: bool | None = None
        self._name: bool | None = None

    def previous_asks_name(self) -> bool:
        """The previous turn ends asking for the customer's name ("Who am I speaking with?")."""
        if self._name is None:
            self._name = bool(self._previous) and _NAME_QUESTION.search(self._previous[-160:]) is not None
        return self._name

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
