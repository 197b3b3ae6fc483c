"""ISBN validation and normalisation to ISBN-13.

Sales exports hold ISBNs in many shapes: hyphenated or spaced text, ISBN-10 (with an ``X`` check digit),
or numbers that Excel produced from a digit string (``9780722532935``, ``9.780722532935e12``, or an
ISBN-10 that lost its leading zero). :func:`normalize_isbn` turns all of these into the 13-digit string
used as the partition key, and refuses anything whose check digit does not hold.
"""

from __future__ import annotations

import math
import re
from numbers import Integral, Real

__all__ = ["InvalidIsbnError", "is_valid_isbn13", "isbn10_to_isbn13", "normalize_isbn"]

_PREFIX = re.compile(r"^ISBN(?:-1[03])?:?", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]")
_SCIENTIFIC = re.compile(r"^(\d)\.(\d+)[eE]\+?(\d{1,2})$")


class InvalidIsbnError(ValueError):
    """An ISBN that cannot be read as a valid ISBN-10 or ISBN-13; the message names the value and why."""


def _isbn13_check_digit(first12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def _isbn10_check_digit(first9: str) -> str:
    total = sum(int(d) * (10 - i) for i, d in enumerate(first9))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def is_valid_isbn13(s: object) -> bool:
    """Whether ``s`` is exactly a 13-digit string with prefix 978/979 and a correct check digit.

    No cleaning is applied: ``"978-0-7225-3293-5"`` is not valid here (use :func:`normalize_isbn`).
    """
    if not isinstance(s, str) or len(s) != 13 or not s.isascii() or not s.isdigit():
        return False
    return s[:3] in ("978", "979") and _isbn13_check_digit(s[:12]) == s[12]


def isbn10_to_isbn13(isbn10: str) -> str:
    """Convert a clean, valid 10-character ISBN-10 to its 978-prefixed ISBN-13.

    Raises:
        InvalidIsbnError: if ``isbn10`` is not 9 digits followed by a digit or ``X`` with a correct check.
    """
    if len(isbn10) != 10 or not isbn10[:9].isdigit() or not (isbn10[9].isdigit() or isbn10[9] in "xX"):
        raise InvalidIsbnError(f"ISBN {isbn10!r}: an ISBN-10 is 9 digits followed by a digit or X")
    expected = _isbn10_check_digit(isbn10[:9])
    if isbn10[9].upper() != expected:
        raise InvalidIsbnError(f"ISBN {isbn10!r}: bad ISBN-10 check digit {isbn10[9]!r} (expected {expected!r})")
    first12 = "978" + isbn10[:9]
    return first12 + _isbn13_check_digit(first12)


def _from_number(raw: Real) -> str:
    """Digits of an ISBN that a spreadsheet stored as a number."""
    if isinstance(raw, Integral):
        value = int(raw)
    else:
        as_float = float(raw)
        if not math.isfinite(as_float):
            raise InvalidIsbnError(f"ISBN {raw!r}: missing or not a number")
        if not as_float.is_integer():
            raise InvalidIsbnError(f"ISBN {raw!r}: a number with a fractional part is not an ISBN")
        value = int(as_float)
    if value < 0:
        raise InvalidIsbnError(f"ISBN {raw!r}: negative number")
    digits = str(value)
    # Excel drops the leading zero of ISBN-10s such as 0722532938.
    return digits.zfill(10) if len(digits) == 9 else digits


def _from_scientific(text: str) -> str | None:
    """Digits of ``9.780722532935E+12``-style text, or None if ``text`` is not in that form."""
    match = _SCIENTIFIC.match(text)
    if match is None:
        return None
    written = 1 + len(match.group(2))
    n_digits = int(match.group(3)) + 1
    if written > n_digits and match.group(2)[n_digits - 1 :].strip("0"):
        raise InvalidIsbnError(f"ISBN {text!r}: a number with a fractional part is not an ISBN")
    if written < n_digits:
        # Fewer significant digits written than the number has: a spreadsheet rounded digits away.
        raise InvalidIsbnError(
            f"ISBN {text!r}: scientific notation shows {written} of {n_digits} digits, so digits of the "
            "ISBN are lost; format the column as text in the spreadsheet"
        )
    digits = (match.group(1) + match.group(2))[:n_digits]
    return digits.zfill(10) if n_digits == 9 else digits


def normalize_isbn(raw: str | int | float) -> str:
    """Return the ISBN-13 for ``raw``: an ISBN-13 or ISBN-10, as text or as a spreadsheet number.

    Accepts hyphens, spaces and an ``ISBN``/``ISBN-13:`` prefix; ISBN-10s (``X`` check digit allowed)
    are converted to their 978-prefixed ISBN-13. Numbers from Excel (``9780722532935``,
    ``9.780722532935e12``, ``722532938`` for an ISBN-10 that lost its leading zero) are accepted when
    they still hold every digit.

    Args:
        raw: the cell value.

    Returns:
        The 13-digit ISBN string.

    Raises:
        InvalidIsbnError: naming the value and the reason (empty, non-digit characters, wrong length,
            bad check digit, prefix other than 978/979, digits lost to scientific notation).
    """
    if isinstance(raw, bool) or raw is None:
        raise InvalidIsbnError(f"ISBN {raw!r}: missing")
    if isinstance(raw, Real):
        digits = _from_number(raw)
    elif isinstance(raw, str):
        text = _SEPARATORS.sub("", _PREFIX.sub("", raw.strip()))
        if not text:
            raise InvalidIsbnError(f"ISBN {raw!r}: empty")
        scientific = _from_scientific(text)
        if scientific is not None:
            digits = scientific
        elif text.endswith(".0") and text[:-2].isdigit():
            digits = text[:-2]  # a number written out by a tool that read the column as float
        else:
            digits = text
    else:
        raise InvalidIsbnError(f"ISBN {raw!r}: expected text or a number, got {type(raw).__name__}")

    if len(digits) == 10:
        if not (digits[:9].isascii() and digits[:9].isdigit()) or not (digits[9].isdigit() or digits[9] in "xX"):
            raise InvalidIsbnError(f"ISBN {raw!r}: non-digit characters (an ISBN-10 is 9 digits then a digit or X)")
        try:
            return isbn10_to_isbn13(digits)
        except InvalidIsbnError as exc:
            raise InvalidIsbnError(f"ISBN {raw!r}: {str(exc).split(': ', 1)[1]}") from None
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidIsbnError(f"ISBN {raw!r}: non-digit characters")
    if len(digits) != 13:
        raise InvalidIsbnError(f"ISBN {raw!r}: wrong length, {len(digits)} digits (expected 13, or 10)")
    if digits[:3] not in ("978", "979"):
        raise InvalidIsbnError(f"ISBN {raw!r}: an ISBN-13 starts with 978 or 979, got {digits[:3]}")
    expected = _isbn13_check_digit(digits[:12])
    if digits[12] != expected:
        raise InvalidIsbnError(f"ISBN {raw!r}: bad check digit {digits[12]} (expected {expected})")
    return digits
