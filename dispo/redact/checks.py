"""Validity checks that tell real identifiers from look-alikes: Luhn (cards), mod-97 and registry
lengths (IBAN), SSA rules (SSN), E.164 country codes and national lengths (phones)."""

from __future__ import annotations


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


def ssn_plausible(digits: str) -> bool:
    """SSA never issues area 000, 666 or 900-999, group 00 or serial 0000."""
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


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
