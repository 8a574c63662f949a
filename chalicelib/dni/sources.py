"""Where a visit came from: UTM parameters, click ids and the referrer.

Pure functions: no I/O. The result feeds tracking rules, the session record and,
through attribution, every call and report.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional
from urllib.parse import parse_qsl, urlsplit

# Click id → (source, medium) it implies: the ad network's paid traffic.
CLICK_IDS: Dict[str, tuple] = {
    "gclid": ("google", "cpc"),
    "gbraid": ("google", "cpc"),
    "wbraid": ("google", "cpc"),
    "msclkid": ("bing", "cpc"),
    "fbclid": ("facebook", "paid_social"),
    "ttclid": ("tiktok", "paid_social"),
    "yclid": ("yandex", "cpc"),
    "li_fat_id": ("linkedin", "paid_social"),
}

# Referrer host (registrable part, matched as suffix) → source name.
SEARCH_ENGINES: Dict[str, str] = {
    "google.": "google", "bing.com": "bing", "yahoo.": "yahoo", "duckduckgo.com": "duckduckgo",
    "yandex.": "yandex", "ya.ru": "yandex", "baidu.com": "baidu", "ecosia.org": "ecosia",
    "search.brave.com": "brave", "startpage.com": "startpage", "qwant.com": "qwant",
    "naver.com": "naver", "seznam.cz": "seznam", "ask.com": "ask", "aol.com": "aol",
}
SOCIAL_NETWORKS: Dict[str, str] = {
    "facebook.com": "facebook", "fb.com": "facebook", "instagram.com": "instagram",
    "twitter.com": "twitter", "x.com": "twitter", "t.co": "twitter", "linkedin.com": "linkedin",
    "lnkd.in": "linkedin", "tiktok.com": "tiktok", "youtube.com": "youtube", "youtu.be": "youtube",
    "reddit.com": "reddit", "pinterest.com": "pinterest", "vk.com": "vk", "threads.net": "threads",
    "snapchat.com": "snapchat", "whatsapp.com": "whatsapp", "telegram.org": "telegram",
}
# utm_medium values that name a channel group of their own.
MEDIUM_GROUPS: Dict[str, str] = {
    "cpc": "paid", "ppc": "paid", "paid": "paid", "paidsearch": "paid", "paid_search": "paid",
    "cpm": "display", "display": "display", "banner": "display", "paid_social": "paid_social",
    "social": "social", "social-media": "social", "email": "email", "e-mail": "email",
    "newsletter": "email", "affiliate": "affiliate", "referral": "referral", "organic": "organic",
    "sms": "sms", "print": "offline", "offline": "offline", "qr": "offline", "video": "video",
}
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


@dataclass
class Visit:
    """The marketing facts of one page view that started (or resumed) a session."""
    source: str
    medium: str
    group: str
    campaign: Optional[str] = None
    keyword: Optional[str] = None
    content: Optional[str] = None
    referrer_host: Optional[str] = None
    landing_page: str = ""
    params: Dict[str, str] = field(default_factory=dict)
    click_ids: Dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> Dict[str, object]:
        return {
            "source": self.source, "medium": self.medium, "group": self.group,
            "campaign": self.campaign, "keyword": self.keyword, "content": self.content,
            "referrer_host": self.referrer_host, "landing_page": self.landing_page,
            "click_ids": dict(self.click_ids),
        }


def hostname_of(url: Optional[str]) -> Optional[str]:
    """The URL's host as the browser has it (lower case, `www.` kept)."""
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.lower() if host else None


def host_of(url: Optional[str]) -> Optional[str]:
    """The URL's host without `www.`, as sources and account domains are compared."""
    host = hostname_of(url)
    return host.removeprefix("www.") if host else None


def _match_host(host: str, table: Dict[str, str]) -> Optional[str]:
    for pattern, name in table.items():
        if pattern.endswith("."):
            # "google." matches google.com, google.co.uk, news.google.de …
            if (f".{host}".find(f".{pattern}") >= 0):
                return name
        elif host == pattern or host.endswith("." + pattern):
            return name
    return None


def classify_referrer(referrer: Optional[str], own_host: Optional[str]) -> tuple:
    """(source, medium, group, referrer_host) implied by the referrer alone."""
    host = host_of(referrer)
    if not host or (own_host and (host == own_host or host.endswith("." + own_host))):
        return "(direct)", "(none)", "direct", None
    engine = _match_host(host, SEARCH_ENGINES)
    if engine:
        return engine, "organic", "organic", host
    network = _match_host(host, SOCIAL_NETWORKS)
    if network:
        return network, "social", "social", host
    return host, "referral", "referral", host


def _params(url: str) -> Dict[str, str]:
    try:
        query = urlsplit(url).query
    except ValueError:
        return {}
    return {k.lower(): v for k, v in parse_qsl(query, keep_blank_values=False)}


def detect(url: str, referrer: Optional[str] = None) -> Visit:
    """Source, medium, campaign and keyword of a landing, by the usual precedence:
    explicit UTM tags, then click ids (paid traffic of that network), then the referrer."""
    params = _params(url)
    click_ids = {k: params[k] for k in CLICK_IDS if params.get(k)}
    own_host = host_of(url)
    ref_source, ref_medium, ref_group, ref_host = classify_referrer(referrer, own_host)
    source, medium, group = ref_source, ref_medium, ref_group
    if click_ids:
        source, medium = CLICK_IDS[next(iter(click_ids))]
        group = "paid_social" if medium == "paid_social" else "paid"
    if params.get("utm_source"):
        source = params["utm_source"].lower()
        medium = params.get("utm_medium", medium if click_ids else "(not set)").lower()
        group = MEDIUM_GROUPS.get(medium, "paid" if click_ids else "other")
    elif params.get("utm_medium"):
        medium = params["utm_medium"].lower()
        group = MEDIUM_GROUPS.get(medium, group)
    keyword = params.get("utm_term") or params.get("keyword") or params.get("q_kw")
    return Visit(
        source=source, medium=medium, group=group,
        campaign=params.get("utm_campaign"), keyword=keyword, content=params.get("utm_content"),
        referrer_host=ref_host, landing_page=url, params=params, click_ids=click_ids,
    )
