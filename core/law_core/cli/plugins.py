"""``law-core plugins``: what is installed, what it provides, and what failed."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    import json

    from law_core.registry import DISABLE_ENV, get_registry

    registry = get_registry()
    infos = registry.describe()
    conflicts = registry.conflicts()
    if args.json:
        print(json.dumps({"plugins": [vars(i) for i in infos], "conflicts": conflicts},
                         indent=2))
        return 1 if conflicts else 0
    rows = [("PLUGIN", "DISTRIBUTION", "VERSION", "PROVIDES", "STATUS")]
    for info in sorted(infos, key=lambda i: i.name):
        status = info.status if not info.error else f"{info.status}: {info.error}"
        rows.append((info.name, info.distribution or "?", info.version or "?",
                     "; ".join(info.provides) or "-", status))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[4])
    if not infos:
        print("no plugins found (is law-core installed with pip?)")
    for message in conflicts:
        print(f"conflict: {message}")
    disabled = [i.name for i in infos if i.status == "disabled"]
    if disabled:
        print(f"disabled by {DISABLE_ENV}: {', '.join(disabled)}")
    return 1 if conflicts else 0
