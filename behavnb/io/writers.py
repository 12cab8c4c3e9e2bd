"""Write poses in trackers' own formats: DeepLabCut tables (CSV/H5, single and multi-animal) and
SLEAP analysis HDF5. Used by :mod:`behavnb.synth` and by anyone handing data to those tools.

Part of ``io``, the files layer: the writers beside its readers.

Values are written as they are in the Dataset: missing points that should look like a tracker's
(0, 0) must be set so before writing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from behavnb.errors import ParameterError
from behavnb.utils import atomic_path

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr


def to_dlc_dataframe(ds: xr.Dataset, scorer: str = "DLC_resnet50_synthetic", multi_animal: bool | None = None) -> pd.DataFrame:
    """The wide DeepLabCut table of a poses Dataset (index = frame numbers).

    ``multi_animal`` (default: more than one individual) adds the ``individuals`` header level.
    """
    import pandas as pd

    multi = ds.sizes["individual"] > 1 if multi_animal is None else multi_animal
    if not multi and ds.sizes["individual"] > 1:
        raise ParameterError("a single-animal DeepLabCut table holds one individual; pass multi_animal=True.")
    space = [str(s) for s in ds["space"].values]
    pos = ds["position"].transpose("time", "individual", "keypoint", "space").values
    conf = ds["confidence"].transpose("time", "individual", "keypoint").values[..., None]
    values = np.concatenate([pos, conf], axis=-1).reshape(len(pos), -1)
    coords = space + ["likelihood"]
    inds = [str(i) for i in ds["individual"].values]
    kps = [str(k) for k in ds["keypoint"].values]
    if multi:
        cols = pd.MultiIndex.from_product([[scorer], inds, kps, coords], names=["scorer", "individuals", "bodyparts", "coords"])
    else:
        cols = pd.MultiIndex.from_product([[scorer], kps, coords], names=["scorer", "bodyparts", "coords"])
    frames = ds["frame"].values if "frame" in ds.coords else np.arange(len(pos))
    return pd.DataFrame(values, index=pd.Index(frames), columns=cols)


def save_dlc(ds: xr.Dataset, path: str | Path, *, scorer: str = "DLC_resnet50_synthetic",
             multi_animal: bool | None = None) -> Path:
    """Write a DeepLabCut ``.csv`` or ``.h5`` (key ``df_with_missing``, PyTables table) atomically.

    The same Dataset gives the same ``.csv`` bytes; an ``.h5`` holds the same values but not the same
    bytes from run to run (PyTables records object creation times in the file).
    """
    path = Path(path)
    df = to_dlc_dataframe(ds, scorer, multi_animal)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".csv":
            df.to_csv(tmp)
        elif path.suffix.lower() in (".h5", ".hdf5"):
            df.to_hdf(tmp, key="df_with_missing", format="table", mode="w")
        else:
            raise ParameterError(f"{path}: DeepLabCut files end in .csv or .h5.")
    return path


def save_sleap_analysis(ds: xr.Dataset, path: str | Path) -> Path:
    """Write a SLEAP ``.analysis.h5`` (tracks stored transposed, as SLEAP does), byte-reproducibly."""
    import h5py

    path = Path(path)
    pos = ds["position"].transpose("individual", "space", "keypoint", "time").values
    scores = ds["confidence"].transpose("individual", "keypoint", "time").values
    occupancy = np.isfinite(pos).any(axis=(1, 2)).T.astype(np.uint8)  # (time, track)
    with atomic_path(path) as tmp, h5py.File(tmp, "w", track_order=False) as f:
        kw = {"track_times": False}
        f.create_dataset("tracks", data=pos, **kw)
        f.create_dataset("point_scores", data=scores, **kw)
        f.create_dataset("track_occupancy", data=occupancy, **kw)
        f.create_dataset("track_names", data=np.array([str(i).encode() for i in ds["individual"].values]), **kw)
        f.create_dataset("node_names", data=np.array([str(k).encode() for k in ds["keypoint"].values]), **kw)
    return path
