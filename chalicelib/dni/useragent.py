"""User agents: bots that must not take a number, and device/browser/OS for reports.

Deliberately small: reports need the family ("mobile", "Chrome", "iOS"), not versions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Crawlers, link previewers, monitors and headless automation. A bot gets the
# default number and never a lease, so it cannot drain a pool.
_BOT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|mediapartners|adsbot|bingpreview|facebookexternalhit|"
    r"embedly|quora link preview|whatsapp|telegrambot|skypeuripreview|lighthouse|pagespeed|"
    r"headlesschrome|phantomjs|puppeteer|playwright|selenium|python-requests|python-urllib|"
    r"curl/|wget/|httpclient|okhttp|go-http-client|java/|libwww|scrapy|axios/|node-fetch|"
    r"pingdom|uptimerobot|statuscake|gtmetrix|ahrefs|semrush|mj12|dotbot|petalbot|bytespider|"
    r"gptbot|claudebot|ccbot|perplexity",
    re.IGNORECASE,
)

_BROWSERS = (
    ("Edge", re.compile(r"Edg(e|A|iOS)?/", re.I)),
    ("Opera", re.compile(r"OPR/|Opera", re.I)),
    ("Samsung Internet", re.compile(r"SamsungBrowser", re.I)),
    ("Yandex", re.compile(r"YaBrowser", re.I)),
    ("Firefox", re.compile(r"Firefox/|FxiOS", re.I)),
    ("Chrome", re.compile(r"Chrome/|CriOS", re.I)),
    ("Safari", re.compile(r"Safari/", re.I)),
)
_OSES = (
    ("iOS", re.compile(r"iPhone|iPad|iPod", re.I)),
    ("Android", re.compile(r"Android", re.I)),
    ("Windows", re.compile(r"Windows", re.I)),
    ("macOS", re.compile(r"Mac OS X|Macintosh", re.I)),
    ("ChromeOS", re.compile(r"CrOS", re.I)),
    ("Linux", re.compile(r"Linux", re.I)),
)


@dataclass(frozen=True)
class Agent:
    device: str
    browser: str
    os: str


def is_bot(user_agent: str) -> bool:
    return not user_agent or bool(_BOT.search(user_agent))


def _first(table: tuple, ua: str) -> str:
    return next((name for name, rx in table if rx.search(ua)), "other")


def parse(user_agent: str) -> Agent:
    ua = user_agent or ""
    if re.search(r"iPad|Tablet|Android(?!.*Mobile)", ua, re.I):
        device = "tablet"
    elif re.search(r"Mobi|iPhone|iPod|Android.*Mobile", ua, re.I):
        device = "mobile"
    else:
        device = "desktop"
    return Agent(device=device, browser=_first(_BROWSERS, ua), os=_first(_OSES, ua))
