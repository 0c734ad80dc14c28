"""Dispatch ``python -m kecg.bench <name> [args]`` to ``kecg.bench.<name>.main(argv)``."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import kecg.bench


def main(argv: list[str]) -> int:
    """Run the named benchmark with the remaining arguments; list them when none is named."""
    names = sorted(
        m.name for m in pkgutil.iter_modules(kecg.bench.__path__) if not m.name.startswith("_")
    )
    if not argv or argv[0] not in names:
        print(f"usage: python -m kecg.bench {{{','.join(names)}}} [args]", file=sys.stderr)
        return 2
    module = importlib.import_module(f"kecg.bench.{argv[0]}")
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
