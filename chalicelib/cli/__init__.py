"""`calltrack`: the command line. Each subcommand lives in its own module of this
package and exposes `register(subparsers)`; this file only dispatches."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import List, Optional


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="calltrack", description="Calltrack command line")
    parser.add_argument("--api", default=None, help="API base URL (default: $CALLTRACK_API or http://127.0.0.1:8000)")
    parser.add_argument("--key", default=None, help="API key (default: $CALLTRACK_API_KEY)")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        mod = importlib.import_module(f"{__name__}.{module.name}")
        if hasattr(mod, "register"):
            mod.register(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
