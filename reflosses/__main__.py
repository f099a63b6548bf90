"""Command line: ``python -m reflosses check`` (verify against the installed torch) or ``list``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reflosses", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="compare every loss with torch.nn.functional (values and gradients); exit 1 on a mismatch")
    sub.add_parser("list", help="list the losses in the catalog")
    o = sub.add_parser("oracle", help="print the table of errors against a 50-digit evaluation of each formula")
    o.add_argument("--lang", choices=("en", "zh"), default="en")
    args = parser.parse_args(argv)
    if args.command == "check":
        from .check import main as check_main

        return check_main()
    if args.command == "oracle":
        from .oracle import main as oracle_main

        return oracle_main(args.lang)
    from . import CATALOG

    for e in CATALOG:
        print(f"{e.torch_class:<30} reflosses.{e.name:<34} {e.family:<15} {e.summary_en}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
