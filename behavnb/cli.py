"""behavnb: run the notebook series (one project or a batch of them), list and fetch datasets.

  behavnb demo                                  the whole series on the embedded data, demo profile
  behavnb run [NOTEBOOKS...] --dataset NAME|PATH --project-dir DIR --profile fast|demo|full -p KEY=VALUE
  behavnb batch manifest.csv [--scheduler local|tcp://host:port] [--workers N]
  behavnb export csv|nwb|video --project-dir DIR [--motifs NAME] [--overwrite]   results in other tools' formats
  behavnb datasets | behavnb fetch NAME
"""
# Room in the flow: the running floor, last (... export -> report/series/batch/cli; docs/design.md "Layers").
# Said here, not in the docstring above: that is the command's --help text.

from __future__ import annotations

import argparse
import sys

from behavnb.errors import BehavnbError, ParameterError


def _param(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` as text; the series reads the value as YAML unless the notebook's default is a string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (or NOTEBOOK:KEY=VALUE), got {text!r}")
    key, value = text.split("=", 1)
    return key.strip(), value


def _series_options(p: argparse.ArgumentParser, project_default: str = "behavnb-run") -> None:
    p.add_argument("--project-dir", default=project_default, help=f"run directory (default ./{project_default})")
    p.add_argument("--force", action="store_true", help="rerun notebooks whose outputs are current")
    p.add_argument("--scheduler", default=None,
                   help="per-session steps in parallel with Dask: 'local', 'local:N' or tcp://host:port (default: in the kernel)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="behavnb", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute the notebook series (or some of it) with papermill; write an HTML report")
    run.add_argument("notebooks", nargs="*", help="which notebooks, by number or name (default: all), e.g. 1 2 06_segment")
    run.add_argument("--dataset", default=None, help="registered dataset name, sessions CSV or folder (default: each notebook's)")
    run.add_argument("--profile", choices=("fast", "demo", "full"), default=None, help="default $BEHAVNB_PROFILE or demo")
    run.add_argument("-p", "--param", type=_param, action="append", default=[],
                     help="notebook parameter KEY=VALUE (to every notebook that declares it) or NN:KEY=VALUE (to one)")
    _series_options(run)
    demo = sub.add_parser("demo", help="the whole series on the embedded synthetic-demo data in the demo profile")
    _series_options(demo, "behavnb-demo")
    batch = sub.add_parser("batch", help="run every row of a batch manifest (CSV) in parallel on Dask")
    batch.add_argument("manifest", help="CSV: one row per project or parameter set (see behavnb.batch)")
    batch.add_argument("--out-dir", default=None, help="where rows without a project_dir run (default <manifest>-runs/)")
    batch.add_argument("--scheduler", default="local", help="'local' (a LocalCluster, default), 'local:N' or tcp://host:port")
    batch.add_argument("--workers", type=int, default=None, help="LocalCluster workers (default: CPU count, at most 8)")
    batch.add_argument("--force", action="store_true", help="rerun notebooks whose outputs are current")
    _export_parser(sub)
    sub.add_parser("datasets", help="list registered datasets")
    fetch = sub.add_parser("fetch", help="download and verify a registered dataset")
    fetch.add_argument("name")
    return parser


def _export_parser(sub) -> None:
    export = sub.add_parser("export", help="write a run's results as CSV tables, NWB files or a labelled video")
    kinds = export.add_subparsers(dest="kind", required=True)

    def common(p, out_help):
        p.add_argument("--project-dir", default="behavnb-run", help="the run directory (default ./behavnb-run)")
        p.add_argument("--motifs", default=None, help="a folder under motifs/ (default: the newest vame-hmm-*)")
        p.add_argument("--out", default=None, help=out_help)
        p.add_argument("--overwrite", action="store_true", help="replace existing output files")

    csv = kinds.add_parser("csv", help="per-frame labels, per-animal metrics and bouts as CSV, with a column guide")
    common(csv, "output folder (default <project>/exports/csv/<motifs>/)")
    csv.add_argument("--cuts", default=None, help="community cuts as columns: 3,5 or 'all' (default: the cut 08 chose)")
    csv.add_argument("--behaviorflow", action="store_true", help="also label files in BehaviorFlow's layout (R, ';')")
    nwb = kinds.add_parser("nwb", help="one NWB file per session: poses (ndx-pose), motif bouts (ndx-ethogram), latents")
    common(nwb, "output folder (default <project>/exports/nwb/)")
    nwb.add_argument("--sessions", nargs="+", default=None, help="which sessions (default: all with labels)")
    nwb.add_argument("--cut", type=int, default=None, help="communities in the second ethogram (default: 08's cut)")
    video = kinds.add_parser("video", help="a session's video with skeleton, motif, community and an ethogram strip")
    common(video, "output .mp4 (default <project>/exports/video/<session>_<motifs>.mp4)")
    video.add_argument("session", nargs="?", default=None, help="session id (default: the first with labels)")
    video.add_argument("--start", type=int, default=0, help="first frame (default 0)")
    video.add_argument("--stop", type=int, default=None, help="frame after the last (default: the session's end)")
    video.add_argument("--cut", type=int, default=None, help="communities shown (default: 08's cut)")
    video.add_argument("--video", default=None, help="the source video (default: the sessions table's, or beside the poses)")
    video.add_argument("--width", type=int, default=None, help="output width in pixels (default: the video's)")
    video.add_argument("--individual", default=None, help="draw and label one animal only (default: all)")
    video.add_argument("--strip-seconds", type=float, default=5.0, help="seconds shown by the ethogram strip (default 5)")
    video.add_argument("--tolerance", type=int, default=2,
                       help="frames by which the video and the poses may differ (default 2; more is an error)")


def _export(args) -> int:
    if args.kind == "csv":
        from behavnb.export.tables import export_csv  # per subcommand: keeps --help fast

        try:
            cuts = None if args.cuts is None else "all" if args.cuts == "all" else [int(c) for c in args.cuts.split(",")]
        except ValueError:

            raise ParameterError(f"--cuts {args.cuts}: give numbers of communities separated by commas (3,5) or 'all'.")
        paths = export_csv(args.project_dir, args.out, motifs=args.motifs, cuts=cuts, behaviorflow=args.behaviorflow,
                           overwrite=args.overwrite)
        folder = paths["sessions.csv"].parent
        print(f"{len(paths)} files in {folder} (column guide: {folder / 'README.md'})")
    elif args.kind == "nwb":
        from behavnb.export.nwb import export_nwb  # per subcommand: keeps --help fast

        paths = export_nwb(args.project_dir, args.out, motifs=args.motifs, sessions=args.sessions, cut=args.cut,
                           overwrite=args.overwrite, progress=sys.stderr.isatty())
        print(f"{len(paths)} NWB file(s) in {paths[0].parent if paths else args.out}")
    else:
        from behavnb.export.results import load_results  # per subcommand: keeps --help fast
        from behavnb.export.video import labelled_video  # per subcommand: keeps --help fast

        session = args.session or load_results(args.project_dir, args.motifs).session_ids[0]
        path = labelled_video(args.project_dir, session, args.out, motifs=args.motifs, start=args.start, stop=args.stop,
                              cut=args.cut, video=args.video, width=args.width, individual=args.individual,
                              strip_seconds=args.strip_seconds, tolerance=args.tolerance, overwrite=args.overwrite,
                              progress=sys.stderr.isatty())
        print(f"labelled video: {path}")
    return 0


def _print_runs(runs) -> None:
    for r in runs:
        print(f"{r.name:<18} {r.status:<11} {r.seconds:7.1f} s  {r.error}", flush=True)


#: exit status after Ctrl-C, as a shell reports a process ended by SIGINT
INTERRUPTED = 130


def _series(args, dataset, profile, notebooks, params) -> int:
    from behavnb.series import NotebookFailed, SeriesInterrupted, run_series  # per subcommand: keeps --help fast

    try:
        runs = run_series(args.project_dir, dataset, profile, notebooks=notebooks, parameters=params,
                          scheduler=args.scheduler, force=args.force, progress=sys.stderr.isatty(), log=sys.stderr)
    except NotebookFailed as exc:
        print(f"behavnb: error: {exc}", file=sys.stderr)
        return 1
    except SeriesInterrupted as exc:
        _print_runs(exc.runs)
        print(f"behavnb: {exc}", file=sys.stderr, flush=True)
        return INTERRUPTED
    _print_runs(runs)
    from behavnb.project import Project  # per subcommand: keeps --help fast

    print(f"report: {Project(args.project_dir).reports_dir / 'index.html'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    try:
        if args.command == "run":
            return _series(args, args.dataset, args.profile, args.notebooks, dict(args.param))
        if args.command == "demo":
            return _series(args, "synthetic-demo", "demo", None, {})
        if args.command == "batch":
            from behavnb.batch import run_batch  # per subcommand: keeps --help fast

            summary = run_batch(args.manifest, out_dir=args.out_dir, scheduler=args.scheduler, workers=args.workers,
                                force=args.force)
            print(summary.drop(columns=["project_dir"]).to_string(index=False))
            print(f"summary: {summary.attrs['path']}  ({summary.attrs['wall_seconds']:.1f} s)")
            return 0 if (summary["status"] != "failed").all() else 1
        if args.command == "export":
            return _export(args)
        if args.command == "datasets":
            from behavnb.manifest import list_datasets  # per subcommand: keeps --help fast

            print(list_datasets().drop(columns="description").to_string(index=False))
        elif args.command == "fetch":
            from behavnb.manifest import fetch as do_fetch  # per subcommand: keeps --help fast

            for rel, path in do_fetch(args.name).items():
                print(f"ok  {rel}  ->  {path}")
    except BehavnbError as exc:
        print(f"behavnb: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # outside a notebook (starting up, a batch): no traceback either
        print("behavnb: interrupted", file=sys.stderr, flush=True)
        return INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
