"""Write the small test fixtures in ``tests/data/`` from the MIT-licensed DeepOF test table.

Run from anywhere (re-running rewrites the same bytes)::

    python tests/data/make_fixtures.py [--source PATH]

Source: ``deepof-tests/single_topview/testDLC_h5_table.h5`` (DeepOF, MIT; 100 frames, 14 keypoints,
pandas key ``df``), found under ``$BEHAVNB_DATA_DIR`` or ``../shared/data`` beside the checkout.
See ``tests/data/README.md`` for what each fixture is and how it is derived.

Needs pandas + PyTables (read the source), pynwb + ndx-pose >= 0.2 (write the NWB file).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pickle
import random
import uuid
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SOURCE_REL = Path("deepof-tests/single_topview/testDLC_h5_table.h5")

FPS_NWB = 30.0
SHIFT_MOUSE2 = 50.0  # px added to x and y of the second NWB animal
DLC_FRAMES = np.r_[100:150, 160:200]  # 90 rows, 10 missing frame numbers (150..159)
CLIP_SCORER = "DLC_resnet50_testApr1shuffle1_100"
CLIP_NAME = f"clip{CLIP_SCORER}"
CLIP_FRAMES = 20
CLIP_META = {"data": {"fps": 25.0, "nframes": CLIP_FRAMES}}
LP_SCORER = "heatmap_tracker"
#: edges of the DeepOF mouse skeleton (pairs of keypoint names), for the NWB Skeleton.
EDGES = [
    ("Nose", "Left_ear"), ("Nose", "Right_ear"), ("Left_ear", "Spine_1"), ("Right_ear", "Spine_1"),
    ("Spine_1", "Left_fhip"), ("Spine_1", "Right_fhip"), ("Spine_1", "Center"), ("Center", "Spine_2"),
    ("Spine_2", "Left_bhip"), ("Spine_2", "Right_bhip"), ("Spine_2", "Tail_base"), ("Tail_base", "Tail_1"),
    ("Tail_1", "Tail_2"), ("Tail_2", "Tail_tip"),
]
MAX_BYTES = 200_000
#: pynwb's cache_spec=True stores the NWB core + hdmf-common specs too (~170 kB of JSON, more than the poses), so
#: the file is written without them and only the ndx-pose spec is cached (see ``cache_extension_spec``): a reader
#: needs pynwb (for core) but not ``import ndx_pose``, as with any file from an exporter.
CACHE_SPEC = False


def default_source() -> Path:
    env = os.environ.get("BEHAVNB_DATA_DIR")
    base = Path(env) if env else ROOT.parent / "shared" / "data"
    return base / SOURCE_REL


def read_source(path: Path) -> pd.DataFrame:
    """The DeepOF table: 100 rows (frames 0..99), columns scorer/bodyparts/coords (x, y, likelihood)."""
    df = pd.read_hdf(path, key="df")
    assert df.shape == (100, 42), df.shape
    assert list(df.columns.names) == ["scorer", "bodyparts", "coords"], df.columns.names
    assert (df.index == np.arange(100)).all()
    return df


def with_scorer(df: pd.DataFrame, scorer: str) -> pd.DataFrame:
    out = df.copy()
    out.columns = pd.MultiIndex.from_tuples([(scorer, b, c) for _, b, c in df.columns], names=df.columns.names)
    return out


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """DeepLabCut's CSV layout: pandas ``to_csv`` of the table (3 header rows, integer frame index)."""
    df = df.copy()
    df.index = pd.Index(df.index.astype(np.int64), name=None)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(df.to_csv(lineterminator="\n"), encoding="utf-8")


# --- NWB (ndx-pose >= 0.2) ---------------------------------------------------------------------


@contextmanager
def fixed_uuids(seed: int):
    """Make hdmf's object ids reproducible so the NWB file is byte-identical on every run."""
    import hdmf.container

    rng = random.Random(seed)
    original = hdmf.container.uuid4
    hdmf.container.uuid4 = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)
    try:
        yield
    finally:
        hdmf.container.uuid4 = original


def write_nwb(df: pd.DataFrame, path: Path) -> None:
    """Two PoseEstimation objects (mouse1 = DeepOF, mouse2 = DeepOF + 50 px) in processing/behavior."""
    import h5py
    from ndx_pose import PoseEstimation, PoseEstimationSeries, Skeleton, Skeletons
    from pynwb import NWBHDF5IO, NWBFile

    keypoints = list(dict.fromkeys(df.columns.get_level_values("bodyparts")))
    scorer = str(df.columns.get_level_values("scorer")[0])
    edges = np.array([[keypoints.index(a), keypoints.index(b)] for a, b in EDGES], dtype=np.uint8)
    when = dt.datetime(2024, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
    n = len(df)
    timestamps = np.arange(n, dtype=np.float64) / FPS_NWB

    with fixed_uuids(20240101):
        nwbfile = NWBFile(
            session_description="behavnb test fixture: DeepOF single_topview poses as two animals",
            identifier="behavnb-fixture-nwb-ndxpose02",
            session_start_time=when,
            file_create_date=[when],
            source_script="tests/data/make_fixtures.py",
            source_script_file_name="make_fixtures.py",
        )
        behavior = nwbfile.create_processing_module(name="behavior", description="pose estimation (behavnb fixture)")
        skeletons = []
        estimations = []
        for animal, shift in (("mouse1", 0.0), ("mouse2", SHIFT_MOUSE2)):
            skeleton = Skeleton(name=f"{animal}_skeleton", nodes=keypoints, edges=edges)
            skeletons.append(skeleton)
            series = []
            for k, kp in enumerate(keypoints):
                # positions float64 (x + 50 px is not float32-exact); likelihoods float32, which holds the
                # DeepOF values exactly (DeepLabCut predicts in float32) and keeps the file < 200 kB.
                xy = df.loc[:, (scorer, kp, ["x", "y"])].to_numpy(dtype=np.float64) + shift
                likelihood = df.loc[:, (scorer, kp, "likelihood")].to_numpy(dtype=np.float32)
                # mouse1: regular sampling via `rate`; mouse2: explicit timestamps in seconds (the first series
                # stores them, the others link to it, as DeepLabCut's NWB export does).
                timing = ({"rate": FPS_NWB, "starting_time": 0.0} if animal == "mouse1"
                          else {"timestamps": timestamps if k == 0 else series[0]})
                series.append(PoseEstimationSeries(
                    name=kp,
                    description=f"{kp} of {animal}",
                    data=xy,
                    unit="pixels",
                    reference_frame="(0,0) is the top-left corner of the video frame",
                    confidence=likelihood,
                    confidence_definition="DeepLabCut likelihood",
                    **timing,
                ))
            estimations.append(PoseEstimation(
                name=animal,
                pose_estimation_series=series,
                description=f"{animal}: DeepOF test predictions" + (f" shifted by +{SHIFT_MOUSE2:g} px" if shift else ""),
                scorer=scorer,
                source_software="DeepLabCut",
                skeleton=skeleton,
            ))
        behavior.add(Skeletons(skeletons=skeletons))
        for pe in estimations:
            behavior.add(pe)
        path.unlink(missing_ok=True)
        # HDF5 1.8 file format (readable by any HDF5 >= 1.8, 2008): compact groups make the file ~40 kB smaller.
        with h5py.File(path, "w", libver=("v108", "v108")) as h5, NWBHDF5IO(file=h5, mode="w") as io:
            io.write(nwbfile, cache_spec=CACHE_SPEC)
    cache_extension_spec(path, "ndx-pose")


def cache_extension_spec(path: Path, ns_name: str) -> None:
    """Cache one namespace's spec in ``/specifications`` the way hdmf's ``cache_spec=True`` does."""
    import h5py
    from hdmf.backends.hdf5.h5tools import H5SpecWriter
    from hdmf.backends.utils import NamespaceToBuilderHelper
    from pynwb import get_manager

    catalog = get_manager().namespace_catalog
    namespace = catalog.get_namespace(ns_name)
    with h5py.File(path, "r+", libver=("v108", "v108")) as f:
        spec_group = f.require_group("specifications")
        f.attrs[".specloc"] = spec_group.ref
        ns_group = spec_group.create_group(f"{ns_name}/{namespace.version}")
        NamespaceToBuilderHelper.convert_namespace(catalog, ns_name).export("namespace", writer=H5SpecWriter(ns_group))


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> list[Path]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, default=default_source(), help="DeepOF testDLC_h5_table.h5")
    ap.add_argument("--out", type=Path, default=HERE, help="folder to write into (default: tests/data)")
    args = ap.parse_args(argv)
    if not args.source.exists():
        ap.error(f"{args.source} not found; pass --source or set BEHAVNB_DATA_DIR to the shared data folder")
    df = read_source(args.source)
    values = df.to_numpy(dtype=np.float64)
    assert np.array_equal(values.astype(np.float32).astype(np.float64), values), "likelihoods not float32-exact"
    out: Path = args.out
    written: list[Path] = []

    # 1. LightningPose CSV: the DLC single-animal layout with scorer 'heatmap_tracker'.
    p = out / "lightningpose_predictions.csv"
    write_csv(with_scorer(df, LP_SCORER), p)
    written.append(p)

    # 2. NWB with ndx-pose >= 0.2 layout, two animals.
    p = out / "nwb_ndxpose02.nwb"
    write_nwb(df, p)
    written.append(p)

    # 3. DLC CSV whose frame numbers start at 100 and skip 150..159 (row i of DeepOF -> frame 100 + i).
    p = out / "dlc_frames_from_100.csv"
    sub = df.loc[DLC_FRAMES - 100].copy()
    sub.index = DLC_FRAMES
    write_csv(sub, p)
    written.append(p)

    # 4. Tiny DLC CSV + DLC >= 2.2 metadata pickle that states fps = 25.
    p = out / "dlc_metadata" / f"{CLIP_NAME}.csv"
    write_csv(with_scorer(df.iloc[:CLIP_FRAMES], CLIP_SCORER), p)
    written.append(p)
    p = out / "dlc_metadata" / f"{CLIP_NAME}_meta.pickle"
    p.write_bytes(pickle.dumps(CLIP_META, protocol=4))
    written.append(p)

    for p in written:
        size = p.stat().st_size
        assert size < MAX_BYTES, f"{p} is {size} bytes (limit {MAX_BYTES})"
        print(f"{p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}  {size} bytes")
    return written


if __name__ == "__main__":
    main()
