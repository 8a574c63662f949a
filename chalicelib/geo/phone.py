"""Phone numbers: E.164 normalisation and the national display format (libphonenumber)."""
from __future__ import annotations

from typing import Optional

import phonenumbers

from chalicelib.errors import ValidationFailed


def to_e164(raw: str, default_region: Optional[str] = None) -> str:
    """'+1 415-555-0100', '14155550100' (Vonage sends no '+') → '+14155550100'."""
    text = (raw or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits:
        raise ValidationFailed(f"'{raw}' is not a phone number")
    candidate = text if text.startswith("+") or default_region else f"+{digits}"
    try:
        parsed = phonenumbers.parse(candidate, default_region)
    except phonenumbers.NumberParseException as err:
        raise ValidationFailed(f"'{raw}' is not a phone number: {err}") from err
    if not phonenumbers.is_possible_number(parsed):
        raise ValidationFailed(f"'{raw}' is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def display(e164: str) -> str:
    """The number as its own country writes it: '+442079460958' → '020 7946 0958'."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def region_of(e164: str) -> Optional[str]:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None


def digits(e164: str) -> str:
    """Vonage's form: no '+'."""
    return e164.lstrip("+")


def place(e164: Optional[str]) -> Optional[str]:
    """Where the number is registered, as libphonenumber knows it ('Washington D.C.',
    'London'); None for mobiles and numbers it does not place."""
    if not e164:
        return None
    from phonenumbers import geocoder   # its data loads on first use, not at cold start

    try:
        return geocoder.description_for_number(phonenumbers.parse(e164, None), "en") or None
    except phonenumbers.NumberParseException:
        return None
