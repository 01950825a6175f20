"""Person names, found by where people say or write them, not by a list of names.

A name has no shape of its own (unlike a card or an email), and no offline model that finds them
installs from the package registries dispo relies on. What a contact does have is the places where
a name is given: an introduction ("my name is ...", "this is Dana from ...", "Dana speaking"), the
answer to "can I have your name?" in the previous turn, a title ("Mr Okafor"), an email's
salutation ("Dear Dana,") and signature (the line after "Regards,", or a lone name line at the end),
and, on a call, a name spelled letter by letter. Written text needs capitalised words there; ASR
text (lower case) is accepted only after a strong cue ("my name is", a name question), where the
words that follow are checked against a list of words that are not names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dispo.redact.context import _Context
from dispo.redact.spans import PIISpan

#: Words that end (or are never) a name: what follows "my name is" when no name does, fillers,
#: pronouns and the words people put around a name.
_NOT_NAME_WORDS = """
    a about actually again all also am an and any anyway are as at back be because been but by
    calling can could did do does doing for from fine gonna good got great had has have having he
    her here hey hi his how i if im in is it its just like looking me mine my myself need no not now
    of oh ok okay on one or our please really right same she should so sorry still sure thank thanks
    that thats the their them then there they this to too trying uh um up us very was we well were
    what when where which who why will with would yeah yep yes you your account order customer
    calling speaking here listed under file system card phone email number regarding re about team
    support service manager agent representative there
    monday tuesday wednesday thursday friday saturday sunday january february march april may june
    july august september october november december today tomorrow yesterday
    dear happy new year merry christmas morning afternoon evening night caller calls call placed hold
    transferred transfer zip postcode later try tried customer services care dm text chat look listen
    see wait hang
"""
#: Capitalised words that make the words before them an organisation ("Kitewood Customer Services",
#: "Maple & Rye Home"), not a person.
_ORG_WORD_LIST = """
    customer customers services service support team care store shop billing accounts sales home outdoor
    cycles sports beauty electronics books games pantry inc ltd llc co company group text
"""
_ORG_WORDS = frozenset(_ORG_WORD_LIST.split())
NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())
_WORD = r"[A-Z][a-z]+(?:['’-][A-Za-z]+)*"  # Dana, O'Neil, Smith-Jones (not "KW" of an order id)
_CAP_NAME = rf"(?:{_WORD})(?:\s+(?:{_WORD})){{0,2}}"  # one to three capitalised words
_ANY_WORD = r"[A-Za-z]+(?:['’-][A-Za-z]+)*"

_STRONG_CUE = re.compile(
    r"\b(?:my\s+(?:full\s+|first\s+|last\s+)?name(?:'s|\s+is)|name(?:'s|\s+is)|the\s+name\s+is|call\s+me|"
    r"name\s+on\s+the\s+account\s+is)\s+",
    re.IGNORECASE,
)
# Weak cues need a capitalised word after them, and "I'm" must open the turn or follow a greeting
# ("Hi, I'm Dana", not "the parcel is late and I'm Furious").
_WEAK_CUE = re.compile(
    r"(?:\b(?:this\s+is|speaking\s+with|talking\s+to|you're\s+(?:speaking|through)\s+to)|"
    r"(?:^|\b(?:hi|hello|hey)[,!.]?)\s*(?:i'm|i\s+am))\s+(?=[A-Z])",
    re.IGNORECASE,
)
_TITLE = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+({_CAP_NAME}|{_ANY_WORD})")
_SPEAKING = re.compile(rf"(?<!from )(?<!at )\b({_CAP_NAME})\s+(?:speaking|here)\b(?!\s+(?:is|was|to|for))")
_SALUTATION = re.compile(
    rf"(?m)^[ \t>]*(?:Dear|Hello|Hi|Hey|Good\s+(?:morning|afternoon|evening))\s+({_CAP_NAME})\s*[,!]"
)
_SIGNOFF = re.compile(
    r"(?im)^[ \t>]*(?:thanks(?:\s+again)?|thank\s+you|many\s+thanks|regards|best\s+regards|kind\s+regards|"
    r"warm\s+regards|best(?:\s+wishes)?|cheers|sincerely|yours\s+sincerely|all\s+the\s+best|thx|ta)"
    rf"[ \t]*[,.!]?[ \t]*\n(?:[ \t>]*\n)*[ \t>]*-*[ \t]*({_CAP_NAME})[ \t]*$"
)
_LONE_LINE = re.compile(rf"(?m)^[ \t>]*-*[ \t]*({_CAP_NAME})[ \t]*$")
_SPELLED = re.compile(r"\b(?:spelled|spelt|that's|thats|it's)\s+((?:[a-z][\s-]){3,}[a-z])\b", re.IGNORECASE)
_ANSWER_LEAD = re.compile(
    r"^\W*(?:(?:yes|yeah|yep|sure|ok|okay|um|uh|so|hi|hello|it's|it\s+is|its|that's|this\s+is|my\s+name\s+is|"
    r"name's|i'm|i\s+am)[\s,.]+)*",
    re.IGNORECASE,
)
_SAID_IN_ANSWER = re.compile(r"\b(?:it's|its|it\s+is|my\s+name\s+is|name's|this\s+is|i'm|i\s+am)\s+", re.IGNORECASE)
_CUE_HINT = re.compile(
    r"name|this is|it's|i'm|i am|speaking|talking|call me|\b(?:mr|mrs|ms|miss|mx|dr)\b|dear|hello|hi\b|hey|"
    r"regards|thanks|thank you|best|cheers|sincerely|spel|here\b|\n",
    re.IGNORECASE,
)


def may_hold_name(text: str, ctx: _Context) -> bool:
    """A cheap test before the name patterns run: a cue word, a line break, or a name question before."""
    return _CUE_HINT.search(text) is not None or ctx.previous_asks_name()


_ANY_WORD_RE = re.compile(_ANY_WORD)
_ORG_AFTER = re.compile(r"[ \t]*(?:&|and\b|[A-Z][a-z]+)")


def _words(text: str, start: int, *, lowercase_ok: bool, limit: int = 3) -> tuple[int, int] | None:
    """The span of up to ``limit`` name words starting at ``start``, or None when there is none (or
    when what follows makes the words an organisation's name)."""
    end = None
    pos = start
    for _ in range(limit):
        m = _ANY_WORD_RE.match(text, pos)
        if m is None:
            break
        word = m.group()
        capitalised = word[0].isupper()
        if not capitalised and ("'" in word or len(word) < 2):  # "i'd"; a letter being spelled
            break
        if (word.isupper() and len(word) > 1) or re.match(r"-?\d", text[m.end() : m.end() + 2]):
            break  # "KW" of "KW30552167": an id's prefix
        if word.lower() in _ORG_WORDS and word[0].isupper():
            return None
        if word.lower().replace("’", "'").replace("'", "") in NOT_NAMES or not (capitalised or lowercase_ok):
            break
        if end is not None and lowercase_ok and not capitalised and text[pos - 1] not in " \t":
            break
        end = m.end()
        gap = re.compile(r"[ \t]+").match(text, end)
        if gap is None:
            break
        pos = gap.end()
    if end is None:
        return None
    after = _ORG_AFTER.match(text, end)
    if after and (after.group().strip() == "&" or after.group().strip().lower() in _ORG_WORDS):
        return None
    return start, end


def find_names(text: str, ctx: _Context) -> Iterator[PIISpan]:
    def span(start: int, end: int) -> PIISpan:
        return PIISpan("name", start, end, text[start:end])

    lowercase = text == text.lower()  # ASR text: no capitals to go by
    for m in _STRONG_CUE.finditer(text):
        found = _words(text, m.end(), lowercase_ok=True)
        if found:
            yield span(*found)
    for m in _WEAK_CUE.finditer(text):
        found = _words(text, m.end(), lowercase_ok=False)
        if found:
            yield span(*found)
    for pattern in (_TITLE, _SPEAKING, _SALUTATION, _SIGNOFF):
        for m in pattern.finditer(text):
            found = _words(text, m.start(1), lowercase_ok=lowercase)
            if found:
                yield span(*found)
    if "\n\n" in text:  # a message in paragraphs: a line that is only a name is a signature
        for m in _LONE_LINE.finditer(text):
            found = _words(text, m.start(1), lowercase_ok=False)
            if found and found[1] == m.end(1):
                yield span(*found)
    for m in _SPELLED.finditer(text):
        yield span(m.start(1), m.end(1))
    if ctx.previous_asks_name() and not text.lstrip().startswith("["):  # "[caller placed on hold]" is no answer
        # The answer to "can I have your name?": the words after any lead-in, whatever their case.
        said = _SAID_IN_ANSWER.search(text[:30])  # "yeah it's ...", even with a typo before it
        lead = _ANSWER_LEAD.match(text)
        start = said.end() if said else (lead.end() if lead else 0)
        found = _words(text, start, lowercase_ok=True)
        if found and found[0] < 120:
            yield span(*found)
