"""Which country a visitor is in, and which number or pool that country gets."""
from __future__ import annotations

import re
from typing import Any, Dict, Iterable, Mapping, Optional

_ISO2 = re.compile(r"^[A-Z]{2}$")
# CloudFront's answer when it cannot tell.
_UNKNOWN = {"XX", "ZZ", "A1", "A2", "O1"}


def resolve_country(header: Optional[str], override: Optional[str]) -> Optional[str]:
    """An explicit override (the snippet's `country`) wins over CloudFront's header."""
    for value in (override, header):
        code = (value or "").strip().upper()
        if _ISO2.match(code) and code not in _UNKNOWN:
            return code
    return None


def geo_rule(rules: Iterable[Mapping[str, Any]], country: Optional[str]) -> Optional[Dict[str, Any]]:
    """The account's rule for this country ({"country", "pool"} or {"country", "number"})."""
    if not country:
        return None
    for rule in rules:
        if str(rule.get("country", "")).upper() == country:
            return dict(rule)
    return None
