"""The HTTP client the `calltrack` subcommands share: base URL and key from the global
`--api`/`--key` options (or the environment), errors turned into one readable line,
and a progress line on stderr for long operations. Not a subcommand (no `register`)."""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Mapping, Optional, TextIO
from urllib.parse import quote

import requests

API_ENV, KEY_ENV, ACCOUNT_ENV, ADMIN_ENV = "CALLTRACK_API", "CALLTRACK_API_KEY", "CALLTRACK_ACCOUNT", "CALLTRACK_ADMIN_TOKEN"
DEFAULT_API = "http://127.0.0.1:8000"
TIMEOUT = 30


class CliError(Exception):
    """Something the user must fix; printed as one line, exit status 1."""


class Api:
    def __init__(self, base: str, key: Optional[str], session: Optional[requests.Session] = None) -> None:
        self.base = base.rstrip("/")
        self.key = key
        self.http = session or requests.Session()

    def request(self, method: str, path: str, body: Any = None, params: Optional[Mapping[str, Any]] = None,
                raw: bool = False) -> Any:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        try:
            r = self.http.request(method, self.base + path, json=body, params=params, headers=headers, timeout=TIMEOUT)
        except requests.RequestException as err:
            raise CliError(f"cannot reach the API at {self.base}: {err.__class__.__name__}") from err
        if r.status_code >= 400:
            try:
                doc = r.json()
                message = f"{doc.get('error')}: {doc.get('message')}"
            except ValueError:
                message = r.text[:200]
            raise CliError(f"{method} {path} → {r.status_code} {message}")
        if raw:
            return r
        return r.json() if r.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})


def api_of(args: argparse.Namespace, key_env: str = KEY_ENV) -> Api:
    base = getattr(args, "api", None) or os.environ.get(API_ENV) or DEFAULT_API
    key = getattr(args, "key", None) or os.environ.get(key_env)
    if not key:
        raise CliError(f"no key: pass --key or set {key_env}")
    return Api(base, key)


def account_of(args: argparse.Namespace) -> str:
    account = getattr(args, "account", None) or os.environ.get(ACCOUNT_ENV)
    if not account:
        raise CliError(f"no account: pass --account or set {ACCOUNT_ENV}")
    return account


def add_account_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", help=f"account id (default: ${ACCOUNT_ENV})")


def path(account_id: str, suffix: str = "") -> str:
    return f"/v1/accounts/{quote(account_id, safe='')}{suffix}"


class Progress:
    """`label: 40/120 [#####.........] 33%` redrawn in place on stderr."""

    def __init__(self, label: str, total: int, out: Optional[TextIO] = None, width: int = 30) -> None:
        self.label, self.total, self.width = label, max(total, 1), width
        self.out = out or sys.stderr

    def update(self, done: int) -> None:
        filled = int(self.width * done / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        self.out.write(f"\r{self.label}: {done}/{self.total} [{bar}] {100 * done // self.total}%")
        if done >= self.total:
            self.out.write("\n")
        self.out.flush()


def print_json(doc: Any, out: Optional[TextIO] = None) -> None:
    (out or sys.stdout).write(json.dumps(doc, indent=2, sort_keys=True) + "\n")


def table(rows: list, columns: list, out: Optional[TextIO] = None) -> None:
    """A plain aligned text table of dict rows."""
    out = out or sys.stdout
    cells = [[str(c) for c in columns]] + [["" if r.get(c) is None else str(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    for row in cells:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n")


def run(func: Any) -> Any:
    """Decorator for subcommand functions: a CliError becomes `error: …` and status 1."""
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return int(func(args) or 0)
        except CliError as err:
            sys.stderr.write(f"error: {err}\n")
            return 1
    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


