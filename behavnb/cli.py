"""Command line: ``behavnb run`` (the notebook series), ``behavnb datasets``, ``behavnb fetch NAME``."""

from __future__ import annotations

import argparse
import sys


def _param(text: str) -> tuple[str, object]:
    import yaml

    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    return key, yaml.safe_load(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="behavnb", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute the notebook series with papermill and write an HTML report")
    run.add_argument("project_dir", nargs="?", default="behavnb-run", help="run directory (default ./behavnb-run)")
    run.add_argument("--dataset", default=None, help="registered dataset name, sessions CSV or folder (default: each notebook's)")
    run.add_argument("--profile", choices=("fast", "demo", "full"), default=None, help="default $BEHAVNB_PROFILE or demo")
    run.add_argument("--notebooks", nargs="*", default=None, help="run only these (e.g. 01 02)")
    run.add_argument("-p", "--param", type=_param, action="append", default=[], help="extra notebook parameter KEY=VALUE")
    sub.add_parser("datasets", help="list registered datasets")
    fetch = sub.add_parser("fetch", help="download and verify a registered dataset")
    fetch.add_argument("name")
    args = parser.parse_args(argv)

    from behavnb.errors import BehavnbError

    try:
        if args.command == "run":
            from behavnb.batch import run_series

            runs = run_series(args.project_dir, args.dataset, args.profile, notebooks=args.notebooks,
                              parameters=dict(args.param))
            for r in runs:
                print(f"{r.name:<20} {r.status:<7} {r.seconds:6.1f} s  {r.executed}")
            print(f"report: {runs[0].executed.parent.parent / 'index.html'}" if runs else "no notebooks ran")
        elif args.command == "datasets":
            from behavnb.manifest import list_datasets

            print(list_datasets().drop(columns="description").to_string(index=False))
        elif args.command == "fetch":
            from behavnb.manifest import fetch as do_fetch

            for rel, path in do_fetch(args.name).items():
                print(f"ok  {rel}  ->  {path}")
    except BehavnbError as exc:
        print(f"behavnb: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
