"""PII and decoy generators, and the :class:`PlantedPII` ground truth record.

Generated values are wrapped in *markers* while a dialogue is composed, so that the channel
renderer can transform the surrounding text (ASR noise, typos) without touching them, render
them in a channel-specific form (spoken digits on voice) and report the exact final substring.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

PII_KINDS: tuple[str, ...] = ("email", "phone", "card", "ssn", "iban", "address", "name")
DECOY_KINDS: tuple[str, ...] = ("order_number", "amount", "date")
#: Kinds that are marked while composing but never reported (not PII, not a measured decoy).
UNREPORTED_KINDS: tuple[str, ...] = ("tracking", "last4", "plain")
PLANTED_KINDS: tuple[str, ...] = PII_KINDS + DECOY_KINDS

_MARK = "\x00"
_SEP = "\x01"
MARKER_RE = re.compile("\x00([a-z_0-9]+)\x01([^\x00]*)\x00")


@dataclass(frozen=True)
class PlantedPII:
    """One value planted in a contact: ``value`` is an exact substring of ``contact.turns[turn].text``."""

    kind: str
    value: str
    turn: int


def mark(kind: str, value: str) -> str:
    """Wrap ``value`` in a marker of ``kind``; rendering strips the marker and records the value."""
    return f"{_MARK}{kind}{_SEP}{value}{_MARK}"


def strip_markers(text: str) -> str:
    return MARKER_RE.sub(lambda m: m.group(2), text)


FIRST_NAMES = (
    "James",
    "Maria",
    "John",
    "Aisha",
    "Wei",
    "Olivia",
    "Carlos",
    "Priya",
    "Michael",
    "Fatima",
    "David",
    "Sofia",
    "Liam",
    "Chen",
    "Emma",
    "Mohammed",
    "Noah",
    "Yuki",
    "Ava",
    "Diego",
    "Grace",
    "Kwame",
    "Lucas",
    "Hannah",
    "Ethan",
    "Isabella",
    "Omar",
    "Mia",
    "Daniel",
    "Zoe",
    "Raj",
    "Chloe",
    "Samuel",
    "Nina",
    "Tyler",
    "Leah",
    "Brandon",
    "Ana",
    "Kevin",
    "Rachel",
    "Jamal",
    "Sarah",
    "Luis",
    "Megan",
    "Andre",
    "Julia",
    "Hiroshi",
    "Ingrid",
    "Patrick",
    "Tanya",
    "Viktor",
    "Amara",
    "Connor",
    "Deborah",
    "Felipe",
    "Gloria",
    "Harold",
    "Imani",
)
LAST_NAMES = (
    "Smith",
    "Garcia",
    "Johnson",
    "Nguyen",
    "Patel",
    "Williams",
    "Brown",
    "Kim",
    "Martinez",
    "Okafor",
    "Davis",
    "Lopez",
    "Miller",
    "Chen",
    "Wilson",
    "Anderson",
    "Hernandez",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Singh",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Hill",
    "Green",
    "Adams",
    "Baker",
    "Nelson",
    "Carter",
    "Mitchell",
    "Perez",
    "Roberts",
    "Turner",
    "Phillips",
    "Campbell",
    "Parker",
    "Evans",
    "Edwards",
    "Collins",
    "Kowalski",
    "Schmidt",
    "Rossi",
    "Dubois",
    "Haddad",
    "Ivanova",
    "O'Brien",
    "Mensah",
)
EMAIL_DOMAINS = (
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "aol.com",
    "protonmail.com",
    "comcast.net",
    "me.com",
    "live.co.uk",
)
STREETS = (
    "Maple",
    "Oak",
    "Pine",
    "Cedar",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "Main",
    "Sunset",
    "Highland",
    "Riverside",
    "Chestnut",
    "Willow",
    "Jefferson",
    "Lincoln",
    "Franklin",
    "Birch",
    "Meadow",
)
STREET_TYPES = (
    "Street",
    "St",
    "Avenue",
    "Ave",
    "Road",
    "Rd",
    "Boulevard",
    "Blvd",
    "Lane",
    "Ln",
    "Drive",
    "Dr",
    "Court",
    "Ct",
    "Way",
    "Place",
)
CITIES = (
    ("Springfield", "IL"),
    ("Austin", "TX"),
    ("Columbus", "OH"),
    ("Portland", "OR"),
    ("Denver", "CO"),
    ("Tampa", "FL"),
    ("Madison", "WI"),
    ("Raleigh", "NC"),
    ("Fresno", "CA"),
    ("Tucson", "AZ"),
    ("Albany", "NY"),
    ("Boise", "ID"),
    ("Omaha", "NE"),
    ("Richmond", "VA"),
    ("Savannah", "GA"),
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    email: str
    phone: str
    address: str
    card: str
    iban: str
    ssn: str

    @property
    def full_name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def last4(self) -> str:
        return re.sub(r"\D", "", self.card)[-4:]


def luhn_check_digit(partial: str) -> str:
    """The digit that makes ``partial + digit`` pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    digits = re.sub(r"[ -]", "", number)
    if not digits.isdigit() or len(digits) < 12:
        return False
    return luhn_check_digit(digits[:-1]) == digits[-1]


def iban_valid(iban: str) -> bool:
    s = iban.replace(" ", "").upper()
    if len(s) < 15 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _iban_check(country: str, bban: str) -> str:
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{98 - int(numeric) % 97:02d}"


def gen_name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def gen_email(rng: random.Random, first: str, last: str) -> str:
    f, la = first.lower(), re.sub(r"[^a-z]", "", last.lower())
    style = rng.randrange(6)
    local = (
        f"{f}.{la}",
        f"{f[0]}{la}{rng.randint(1, 99)}",
        f"{f}{la}",
        f"{f}_{la}{rng.randint(70, 99)}",
        f"{la}.{f}",
        f"{f}{rng.randint(100, 9999)}",
    )[style]
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


def gen_phone(rng: random.Random) -> str:
    area, mid, end = rng.randint(201, 989), rng.randint(200, 999), rng.randint(0, 9999)
    style = rng.random()
    if style < 0.3:
        return f"({area}) {mid}-{end:04d}"
    if style < 0.55:
        return f"{area}-{mid}-{end:04d}"
    if style < 0.68:
        return f"+1 {area} {mid} {end:04d}"
    if style < 0.76:
        return f"{area}.{mid}.{end:04d}"
    if style < 0.84:
        return f"+44 20 {rng.randint(7000, 8999)} {rng.randint(0, 9999):04d}"
    if style < 0.92:
        return f"+49 30 {rng.randint(1000000, 9999999)}"
    return f"+33 1 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"


def gen_address(rng: random.Random) -> str:
    city, state = rng.choice(CITIES)
    street = f"{rng.randint(10, 9899)} {rng.choice(STREETS)} {rng.choice(STREET_TYPES)}"
    unit = ""
    r = rng.random()
    if r < 0.25:
        unit = f", Apt {rng.randint(1, 30)}{rng.choice('ABCDEF')}"
    elif r < 0.35:
        unit = f", Unit {rng.randint(100, 999)}"
    elif r < 0.4:
        unit = f" Suite {rng.randint(100, 500)}"
    zip_code = f"{rng.randint(10000, 99950)}"
    if rng.random() < 0.3:
        return f"{street}{unit}, {city} {state} {zip_code}"
    return f"{street}{unit}, {city}, {state} {zip_code}"


def gen_card(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.15:  # Amex: 15 digits, 4-6-5 grouping
        partial = rng.choice(("34", "37")) + "".join(str(rng.randrange(10)) for _ in range(12))
        digits = partial + luhn_check_digit(partial)
        groups = [digits[:4], digits[4:10], digits[10:]]
    else:
        prefix = "4" if kind < 0.6 else str(rng.randint(51, 55))
        partial = prefix + "".join(str(rng.randrange(10)) for _ in range(15 - len(prefix)))
        digits = partial + luhn_check_digit(partial)
        groups = [digits[i : i + 4] for i in range(0, 16, 4)]
    sep = rng.choice((" ", " ", "-", ""))
    return sep.join(groups)


def gen_ssn(rng: random.Random) -> str:
    area = rng.randint(1, 899)
    while area == 666:
        area = rng.randint(1, 899)
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def gen_iban(rng: random.Random) -> str:
    country = rng.choice(("DE", "GB", "FR", "DE", "NL", "ES"))
    digits = lambda n: "".join(str(rng.randrange(10)) for _ in range(n))  # noqa: E731
    if country == "DE":
        bban = digits(18)
    elif country == "GB":
        bban = rng.choice(("NWBK", "BARC", "LOYD", "HBUK")) + digits(14)
    elif country == "FR":
        bban = digits(23)
    elif country == "NL":
        bban = rng.choice(("ABNA", "RABO", "INGB")) + digits(10)
    else:
        bban = digits(20)
    iban = country + _iban_check(country, bban) + bban
    if rng.random() < 0.6:
        return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return iban


def gen_person(rng: random.Random) -> Person:
    first, last = gen_name(rng)
    return Person(
        first=first,
        last=last,
        email=gen_email(rng, first, last),
        phone=gen_phone(rng),
        address=gen_address(rng),
        card=gen_card(rng),
        iban=gen_iban(rng),
        ssn=gen_ssn(rng),
    )


# -- decoys -----------------------------------------------------------------------------------
def gen_order_number(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.55:  # 8-12 digit numbers: frequent, so a redactor's false positives are measurable
        return str(rng.randint(1, 9)) + "".join(str(rng.randrange(10)) for _ in range(rng.randint(7, 11)))
    if r < 0.75:
        letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
        return f"#{rng.choice(letters)}{rng.randrange(10)}{rng.choice(letters)}-{rng.randint(100000, 999999)}"
    if r < 0.9:
        return f"ORD-{rng.randint(2024, 2026)}-{rng.randint(10000, 99999)}"
    return f"#{rng.randint(1000000, 99999999)}"


def gen_amount(rng: random.Random) -> str:
    value = rng.choice((rng.randint(5, 300) + rng.choice((0.99, 0.49, 0.0, 0.95, 0.5)), rng.randint(10, 1500)))
    r = rng.random()
    if r < 0.55:
        return f"${value:,.2f}" if isinstance(value, float) else f"${value}"
    if r < 0.75:
        return f"{int(value)} dollars"
    if r < 0.85:
        return f"€{value:.2f}"
    if r < 0.92:
        return f"{value:.2f} USD"
    return f"£{int(value)}"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def gen_date(rng: random.Random, year: int = 2026) -> str:
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    r = rng.random()
    if r < 0.35:
        return f"{MONTHS[month - 1]} {ordinal(day)}"
    if r < 0.5:
        return f"{MONTHS[month - 1]} {day}"
    if r < 0.7:
        return f"{year}-{month:02d}-{day:02d}"
    if r < 0.9:
        return f"{month:02d}/{day:02d}/{year}"
    return f"{day} {MONTHS[month - 1][:3]}"


def gen_tracking(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "1Z" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXY") for _ in range(16))
    return " ".join(str(rng.randint(1000, 9999)) for _ in range(5)) + f" {rng.randint(10, 99)}"
