"""Channel rendering: ASR-style voice, typo-laden chat, formal email threads, terse sms/social.

Input is a list of :class:`Move` (speaker + text carrying PII markers); output is the final turn texts
plus the planted values as they appear in them. Channel noise is applied to the plain text between
markers only, and each marked value is rendered in the channel's form (spoken on voice), so every
reported value is an exact substring of its turn.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import training.corpus.phrases as ph
from dispo.redact.spoken import NUMBER_WORDS, TENS_WORDS
from training.corpus.pii import MARKER_RE, MONTHS, PLANTED_KINDS, PlantedPII, mark, strip_markers
from training.corpus.requests import typo

VOICE_CHANNELS = frozenset({"voice"})
LIVE_CHANNELS = frozenset({"voice", "chat", "mobile_app"})


@dataclass(frozen=True)
class Move:
    """One utterance before rendering. ``kind`` drives timing (``hold`` adds wait time)."""

    speaker: str
    text: str
    kind: str = "talk"


@dataclass(frozen=True)
class RenderedTurn:
    speaker: str
    text: str
    kind: str
    planted: tuple[tuple[str, str], ...]


# -- numbers and spoken forms -------------------------------------------------------------------
_ONES = NUMBER_WORDS
_TENS = ("", "", *TENS_WORDS)
_ORDINALS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def number_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    if n < 1_000_000:
        rest = n % 1000
        return number_words(n // 1000) + " thousand" + ("" if rest == 0 else " " + number_words(rest))
    return " ".join(_ONES[int(d)] for d in str(n))


def ordinal_words(n: int) -> str:
    words = number_words(n).split()
    last = words[-1]
    if last in _ORDINALS:
        words[-1] = _ORDINALS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def _year_words(y: int) -> str:
    return number_words(y // 100) + " " + number_words(y % 100) if y % 100 >= 10 else number_words(y)


def spoken_chars(value: str, rng: random.Random) -> str:
    """Digit by digit, letters as letters; ``oh`` for zero now and then, separators dropped."""
    oh = rng.random() < 0.3
    out: list[str] = []
    for ch in value:
        if ch.isdigit():
            out.append("oh" if (ch == "0" and oh) else _ONES[int(ch)])
        elif ch.isalpha():
            out.append(ch.lower())
        elif ch == "+":
            out.append("plus")
    return " ".join(out)


def _spoken_number_token(tok: str, rng: random.Random) -> str:
    if len(tok) <= 2 or (len(tok) <= 4 and rng.random() < 0.5 and not tok.startswith("0")):
        n = int(tok)
        if len(tok) == 4 and n >= 1000 and n % 100 >= 10 and rng.random() < 0.6:
            return number_words(n // 100) + " " + number_words(n % 100)
        return number_words(n)
    return spoken_chars(tok, rng)


def spoken_text_numbers(text: str, rng: random.Random) -> str:
    return re.sub(r"\d+", lambda m: " " + _spoken_number_token(m.group(0), rng) + " ", text)


def spoken_email(value: str, rng: random.Random) -> str:
    local, _, domain = value.partition("@")

    def part(s: str) -> str:
        words: list[str] = []
        for tok in re.findall(r"[a-z]+|\d+|[._-]", s.lower()):
            if tok == ".":
                words.append("dot")
            elif tok == "_":
                words.append("underscore")
            elif tok == "-":
                words.append("dash")
            elif tok.isdigit():
                words.append(_spoken_number_token(tok, rng))
            else:
                words.append(tok)
        return " ".join(words)

    return f"{part(local)} at {part(domain)}"


def spoken_amount(value: str, rng: random.Random) -> str:
    m = re.search(r"(\d[\d,]*)(?:\.(\d\d))?", value)
    if m is None:
        return value.lower()
    whole = int(m.group(1).replace(",", ""))
    cents = int(m.group(2) or 0)
    unit = "euros" if "€" in value else "pounds" if "£" in value else "dollars"
    if cents and rng.random() < 0.5:
        return f"{number_words(whole)} {number_words(cents)}"
    if cents:
        return f"{number_words(whole)} {unit} and {number_words(cents)} cents"
    return f"{number_words(whole)} {unit}"


def spoken_date(value: str, rng: random.Random) -> str:
    month = day = year = None
    if m := re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)", value):
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif m := re.fullmatch(r"(\d\d)/(\d\d)/(\d{4})", value):
        month, day, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif m := re.search(r"(\d+)", value):
        day = int(m.group(1))
        for i, name in enumerate(MONTHS):
            if name[:3].lower() in value.lower():
                month = i + 1
    if month is None or day is None:
        return spoken_text_numbers(value.lower(), rng).strip()
    words = (
        f"the {ordinal_words(day)} of {MONTHS[month - 1].lower()}"
        if rng.random() < 0.3
        else f"{MONTHS[month - 1].lower()} {ordinal_words(day)}"
    )
    if year is not None and rng.random() < 0.5:
        words += " " + _year_words(year)
    return words


_STATE_NAMES = {
    "IL": "illinois",
    "TX": "texas",
    "OH": "ohio",
    "OR": "oregon",
    "CO": "colorado",
    "FL": "florida",
    "WI": "wisconsin",
    "NC": "north carolina",
    "CA": "california",
    "AZ": "arizona",
    "NY": "new york",
    "ID": "idaho",
    "NE": "nebraska",
    "VA": "virginia",
    "GA": "georgia",
}
_ABBREV_WORDS = {
    "st": "street",
    "ave": "avenue",
    "rd": "road",
    "blvd": "boulevard",
    "ln": "lane",
    "dr": "drive",
    "ct": "court",
    "apt": "apartment",
}


def spoken_address(value: str, rng: random.Random) -> str:
    out: list[str] = []
    tokens = re.findall(r"[A-Za-z]+|\d+", value)
    for i, tok in enumerate(tokens):
        if tok.isdigit():
            is_zip = i == len(tokens) - 1 and len(tok) == 5
            out.append(spoken_chars(tok, rng) if is_zip else _spoken_number_token(tok, rng))
        elif tok in _STATE_NAMES and tok.isupper():
            out.append(_STATE_NAMES[tok] if rng.random() < 0.7 else " ".join(tok.lower()))
        elif tok.isupper() and len(tok) == 1:
            out.append(tok.lower())
        else:
            out.append(_ABBREV_WORDS.get(tok.lower(), tok.lower()))
    return " ".join(out)


def spoken_value(kind: str, value: str, rng: random.Random) -> str:
    if kind == "email":
        return spoken_email(value, rng)
    if kind == "amount":
        return spoken_amount(value, rng)
    if kind == "date":
        return spoken_date(value, rng)
    if kind == "address":
        return spoken_address(value, rng)
    if kind in ("name", "plain"):
        return re.sub(r"[^a-z ]", "", value.lower())
    return spoken_chars(value, rng)


# -- plain-text noise ------------------------------------------------------------------------------
ASR_CONFUSIONS: dict[str, tuple[str, ...]] = {
    "refund": ("re fund", "refun", "we fund"),
    "refunded": ("re funded", "refund it"),
    "invoice": ("in voice", "invoices", "and voice"),
    "invoices": ("in voices", "invoice"),
    "account": ("a count", "count", "accounts"),
    "order": ("older", "or der", "border"),
    "cancel": ("cancer", "can sell", "council"),
    "cancelled": ("canceled", "can sold"),
    "password": ("pass word", "passport"),
    "address": ("a dress", "dress"),
    "delivery": ("the livery", "deliver"),
    "newsletter": ("news letter", "new setter"),
    "shipping": ("shopping", "sipping"),
    "payment": ("pavement", "payments"),
    "receipt": ("recipe", "receive"),
    "track": ("truck", "trek"),
    "charged": ("charge", "large"),
    "subscription": ("subscript shun", "prescription"),
    "login": ("log in", "log and"),
    "email": ("e mail", "female"),
    "fee": ("feet", "free"),
    "bill": ("bell", "build"),
    "human": ("you man", "humane"),
    "agent": ("aged", "asian"),
    "package": ("packet", "pack age"),
    "review": ("re view", "preview"),
    "complaint": ("complain", "compliant"),
    "register": ("registered", "red is there"),
    "the": ("a", "that"),
    "to": ("two", "too"),
    "for": ("four",),
    "my": ("i", "by"),
    "can": ("can't", "cam"),
    "card": ("car", "guard"),
    "policy": ("polly see", "policies"),
    "return": ("we turn", "returned"),
    "status": ("stats", "status"),
    "money": ("many", "monday"),
}
#: Stressed content words that name an identifier; ASR deletions spare them (they are what a listener keys on).
_STRESSED_CUES = frozenset({"social", "ssn", "security", "iban", "bank", "card", "routing"})
FILLERS = ("um", "uh", "like", "you know", "i mean", "so", "uh huh", "hmm", "er", "okay so")
CHAT_ABBREV: dict[str, tuple[str, ...]] = {
    "please": ("pls", "plz", "please"),
    "thanks": ("thx", "ty", "thnx"),
    "thank you": ("ty", "thank u"),
    "you": ("u",),
    "your": ("ur", "yr"),
    "are": ("r",),
    "because": ("bc", "cuz"),
    "okay": ("ok", "k", "kk"),
    "i don't know": ("idk",),
    "right now": ("rn",),
    "to be honest": ("tbh",),
    "for": ("4",),
    "before": ("b4",),
    "what": ("wat", "wut"),
    "really": ("rly",),
    "message": ("msg",),
    "account": ("acct", "acc"),
    "tomorrow": ("tmrw", "tmr"),
    "people": ("ppl",),
    "order": ("ordr",),
    "don't": ("dont",),
    "can't": ("cant",),
    "i'm": ("im",),
    "it's": ("its",),
}
_CHAT_ABBREV_RE = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, CHAT_ABBREV), key=len, reverse=True)) + r")\b", re.IGNORECASE
)


def chat_noise(text: str, rng: random.Random, level: float) -> str:
    if level <= 0:
        return text
    text = _CHAT_ABBREV_RE.sub(
        lambda m: rng.choice(CHAT_ABBREV[m.group(0).lower()]) if rng.random() < level * 0.5 else m.group(0), text
    )
    words = text.split(" ")
    words = [typo(w, rng, neighbour_keys=False) if rng.random() < level * 0.045 else w for w in words]
    return " ".join(words)


def voice_noise(text: str, rng: random.Random, speaker: str, level: float) -> str:
    text = spoken_text_numbers(
        text.lower().replace("%", " percent").replace("&", " and ").replace("24/7", "twenty four seven"), rng
    )
    text = re.sub(r"[^a-z' ]", " ", text)
    words = text.split()
    out: list[str] = []
    filler_p = (0.06 if speaker == "customer" else 0.025) * level
    for w in words:
        if rng.random() < filler_p:
            out.append(rng.choice(FILLERS))
        r = rng.random()
        if w in ASR_CONFUSIONS and r < 0.12 * level:
            out.append(rng.choice(ASR_CONFUSIONS[w]))
        elif r < 0.015 * level and w not in _STRESSED_CUES:
            continue  # dropped word (deletions hit unstressed words, not the cue nouns)
        elif r < 0.03 * level:
            out.extend((w, w))  # stutter
        else:
            out.append(w)
    return " ".join(out)


# -- rendering -------------------------------------------------------------------------------------
def _render_pieces(text: str, transform_plain: object, transform_value: object) -> tuple[str, list[tuple[str, str]]]:
    """Split ``text`` at markers; transform plain runs and values; return final text and planted values."""
    assert callable(transform_plain) and callable(transform_value)
    parts: list[str] = []
    planted: list[tuple[str, str]] = []
    pos = 0
    for m in MARKER_RE.finditer(text):
        parts.append(transform_plain(text[pos : m.start()]))
        kind, value = m.group(1), transform_value(m.group(1), m.group(2))
        parts.append(value)
        if kind in PLANTED_KINDS and value:
            planted.append((kind, value))
        pos = m.end()
    parts.append(transform_plain(text[pos:]))
    return "".join(parts), planted


def render_voice(moves: list[Move], rng: random.Random, level: float) -> list[RenderedTurn]:
    out: list[RenderedTurn] = []
    for mv in moves:
        parts: list[str] = []
        planted: list[tuple[str, str]] = []
        pos = 0
        for m in MARKER_RE.finditer(mv.text):
            parts.append(voice_noise(mv.text[pos : m.start()], rng, mv.speaker, level))
            kind = m.group(1)
            value = spoken_value(kind, m.group(2), rng)
            parts.append(value)
            if kind in PLANTED_KINDS and value:
                planted.append((kind, value))
            pos = m.end()
        parts.append(voice_noise(mv.text[pos:], rng, mv.speaker, level))
        text = " ".join(p for p in (p.strip() for p in parts) if p)
        if text:
            out.append(RenderedTurn(mv.speaker, text, mv.kind, tuple(planted)))
    return out


def _strip_end_punct(s: str) -> str:
    return s.rstrip(".!")


def render_chat(moves: list[Move], rng: random.Random, level: float, terse: bool = False) -> list[RenderedTurn]:
    """Chat, mobile app, sms and social: customers type sloppily; agents mostly clean."""
    out: list[RenderedTurn] = []
    cust_lower = rng.random() < 0.45 + (0.25 if terse else 0.0)
    cust_nopunct = rng.random() < 0.5
    for mv in moves:
        if mv.speaker == "customer":
            lvl = level * (1.4 if terse else 1.0)

            def plain(s: str, lvl: float = lvl) -> str:
                s = chat_noise(s, rng, lvl)
                if cust_lower:
                    s = s.lower()
                return s

            text, planted = _render_pieces(mv.text, plain, lambda _k, v: v)
            text = text.strip()
            if cust_nopunct and text and not MARKER_RE.search(mv.text[-3:]):
                text = _strip_end_punct(text)
        elif mv.speaker == "agent":
            text, planted = _render_pieces(mv.text, lambda s: s, lambda _k, v: v)
            text = text.strip()
        else:
            text, planted = _render_pieces(mv.text, lambda s: s, lambda _k, v: v)
        if text:
            out.append(RenderedTurn(mv.speaker, text, mv.kind, tuple(planted)))
    return out


def render_email(moves: list[Move], rng: random.Random, ctx: dict[str, str]) -> list[RenderedTurn]:
    """Merge each speaker's consecutive moves into one formal message; agents quote the last message."""
    blocks: list[tuple[str, list[str]]] = []
    for mv in moves:
        if mv.speaker == "system":
            continue
        text = ph.EMAIL_REWRITES.get(mv.text.strip(), mv.text) if mv.speaker == "customer" else mv.text
        if blocks and blocks[-1][0] == mv.speaker:
            blocks[-1][1].append(text)
        else:
            blocks.append((mv.speaker, [text]))
    for _speaker, texts in blocks:
        if _speaker == "customer" and any(t.strip() not in ph.EMAIL_BARE_ACKS for t in texts):
            texts[:] = [t for t in texts if t.strip() not in ph.EMAIL_BARE_ACKS]
    out: list[RenderedTurn] = []
    last_customer_raw = ""
    name_mark = mark("name", ctx["customer_name"])
    first_mark = mark("name", ctx["customer_first"])
    for speaker, texts in blocks:
        paragraphs = _paragraphs(texts, rng)
        if speaker == "customer" and len(strip_markers(paragraphs).split()) <= 10 and rng.random() < 0.8:
            # A short reply is written like one: no formal greeting or sign-off, maybe a phone footer.
            footer = rng.choice(ph.EMAIL_CASUAL_FOOTERS)
            sign = first_mark if rng.random() < 0.5 else ""
            raw = "\n\n".join(p for p in (paragraphs, sign, footer) if p)
            last_customer_raw = raw
        elif speaker == "customer":
            greeting = rng.choice(ph.EMAIL_GREETINGS)
            sign = rng.choice(ph.EMAIL_SIGNOFFS)
            signature = name_mark if rng.random() < 0.75 else first_mark
            if rng.random() < 0.3:
                signature += "\n" + mark("phone", ctx["customer_phone"])
            raw = f"{greeting}\n\n{paragraphs}\n\n{sign}\n{signature}"
            last_customer_raw = raw
        else:
            opener = rng.choice(ph.EMAIL_AGENT_OPENERS).replace("{company}", ctx["company"])
            dear = f"Dear {first_mark}," if rng.random() < 0.6 else f"Hello {name_mark},"
            raw = (
                f"{dear}\n\n{opener}\n\n{paragraphs}\n\n{rng.choice(ph.EMAIL_AGENT_SIGNOFFS)}\n"
                f"{ctx['agent']}\n{ctx['company']} Customer Care"
            )
            if last_customer_raw and rng.random() < 0.6:
                quoted = "\n".join("> " + line for line in last_customer_raw.splitlines())
                raw += f"\n\n-----Original Message-----\n{quoted}"
        text, planted = _render_pieces(raw, lambda s: s, lambda _k, v: v)
        out.append(RenderedTurn(speaker, text, "talk", tuple(planted)))
    return out


def _paragraphs(texts: list[str], rng: random.Random) -> str:
    paras: list[str] = []
    current: list[str] = []
    for t in texts:
        t = t.strip()
        if not t:
            continue
        if t[-1] not in ".?!\n" and not t.endswith("\x00"):
            t += "."
        current.append(t[0].upper() + t[1:] if t[0].isalpha() else t)
        if len(current) >= rng.randint(2, 4):
            paras.append(" ".join(current))
            current = []
    if current:
        paras.append(" ".join(current))
    return "\n\n".join(paras)


def render(
    moves: list[Move], channel: str, rng: random.Random, ctx: dict[str, str], noise: float = 1.0
) -> list[RenderedTurn]:
    if channel == "voice":
        return render_voice(moves, rng, noise)
    if channel == "email":
        return render_email(moves, rng, ctx)
    return render_chat(moves, rng, noise, terse=channel in ("sms", "social"))


def planted_records(turns: list[RenderedTurn]) -> tuple[PlantedPII, ...]:
    return tuple(PlantedPII(kind, value, i) for i, t in enumerate(turns) for kind, value in t.planted)


__all__ = ["LIVE_CHANNELS", "Move", "RenderedTurn", "planted_records", "render", "strip_markers"]
