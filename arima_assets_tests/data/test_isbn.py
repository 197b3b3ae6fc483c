import pytest

from arima_assets.data.isbn import InvalidIsbnError, is_valid_isbn13, isbn10_to_isbn13, normalize_isbn


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("9780722532935", "9780722532935"),
        ("978-0-7225-3293-5", "9780722532935"),
        (" 978 0722 532935 ", "9780722532935"),
        ("ISBN-13: 978-0-241-00300-8", "9780241003008"),
        ("ISBN 0-7225-3293-8", "9780722532935"),
        # ISBN-10s (Wikipedia's examples: 0-306-40615-2, and 0-8044-2957-X with an X check digit).
        ("0-7225-3293-8", "9780722532935"),
        ("0306406152", "9780306406157"),
        ("0-8044-2957-X", "9780804429573"),
        ("080442957x", "9780804429573"),
        # Spreadsheet numbers.
        (9780722532935, "9780722532935"),
        (9.780722532935e12, "9780722532935"),
        ("9.780722532935E+12", "9780722532935"),
        ("9780722532935.0", "9780722532935"),
        (722532938, "9780722532935"),  # ISBN-10 0722532938 without its leading zero
        ("7.22532938E+08", "9780722532935"),
        ("9791034204335", "9791034204335"),
    ],
)
def test_normalize_isbn_accepts_every_form(raw, expected):
    assert normalize_isbn(raw) == expected
    assert is_valid_isbn13(normalize_isbn(raw))


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("9780722532936", r"'9780722532936'.*bad check digit 6 \(expected 5\)"),
        ("0-7225-3293-9", r"'0-7225-3293-9'.*bad ISBN-10 check digit '9' \(expected '8'\)"),
        ("97807225329", r"wrong length, 11 digits"),
        ("978072253293512", r"wrong length, 15 digits"),
        ("97807225329a5", r"'97807225329a5'.*non-digit"),
        ("07225X3938", r"non-digit"),
        ("1234567890128", r"starts with 978 or 979, got 123"),
        ("9.78072E+12", r"shows 6 of 13 digits"),
        (12.5, r"fractional part"),
        ("", r"empty"),
        ("  - ", r"empty"),
        (None, r"missing"),
        (float("nan"), r"missing or not a number"),
        (-9780722532935, r"negative"),
        ([9780722532935], r"expected text or a number, got list"),
    ],
)
def test_normalize_isbn_rejects_with_reason(raw, match):
    with pytest.raises(InvalidIsbnError, match=match):
        normalize_isbn(raw)


def test_invalid_isbn_error_is_a_value_error():
    with pytest.raises(ValueError, match="bad check digit"):
        normalize_isbn("9780241003009")


def test_every_wrong_check_digit_is_rejected():
    for digit in "0123456789":
        candidate = "978024100300" + digit
        assert is_valid_isbn13(candidate) == (digit == "8")


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("9780722532935", True),
        ("9780241003008", True),
        ("978-0722532935", False),  # no cleaning
        ("9780722532936", False),
        ("1234567890128", False),
        ("0722532938", False),
        (9780722532935, False),
        ("９７８０７２２５３２９３５", False),  # full-width digits
    ],
)
def test_is_valid_isbn13(value, valid):
    assert is_valid_isbn13(value) is valid


def test_isbn10_to_isbn13_requires_clean_input():
    assert isbn10_to_isbn13("0722532938") == "9780722532935"
    with pytest.raises(InvalidIsbnError, match="9 digits followed by a digit or X"):
        isbn10_to_isbn13("0-7225-3293-8")
