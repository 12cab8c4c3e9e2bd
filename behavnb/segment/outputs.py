"""One segmentation on disk, ``motifs/<model>-<method>-<k>/``: written by ``write_motifs``, read by ``read_segmentation``.

The end of the segment room of the flow (... embed -> codes/**segment** -> hierarchy -> stats ...): what the later rooms load.

The folder holds ``labels.parquet`` (one row per frame), ``segmentation.json`` (what the labels are: k, the
label ids, frame rate, model, method, the estimator's parameters), ``usage.csv``, ``bouts.csv``,
``bout_stats.csv``, ``model.pkl`` and ``motif_names.csv``. Everything downstream (notebooks 07-09, the
tables, the figures) takes k and the frame rate from ``segmentation.json``, never from the largest label.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from behavnb.codes import usage
from behavnb.errors import ParameterError, PoseFileNotFoundError
from behavnb.segment.names import write_names
from behavnb.segment.tables import bout_stats, bouts, fps_of
from behavnb.utils import atomic_path, atomic_write_text

#: The metadata file beside ``labels.parquet``.
SEGMENTATION_FILE = "segmentation.json"
#: Version of ``segmentation.json``'s layout.
FORMAT = 1
_REQUIRED = ("name", "model", "method", "n_motifs", "motifs", "fps")


@dataclass(frozen=True, eq=False)
class Segmentation:
    """One segmentation read back from ``motifs/<name>/`` by :func:`read_segmentation`.

    Attributes
    ----------
    folder : Path
        ``motifs/<name>/``.
    labels : DataFrame
        session, individual, frame, time, motif (-1: no label)[, type, subtype]; ``attrs`` holds ``name``,
        ``model``, ``method``, ``n_motifs``, ``motifs``, ``fps`` and ``n_subtypes``.
    name : str
        ``<model>-<method>-<k>``.
    model : str
        The model whose latents were segmented (``vame``, ``vqmap``, ...).
    method : str
        ``kmeans``, ``hmm``, ``gmm`` or ``vq``.
    n_motifs : int
        k: the labels are 0 .. k-1 (or -1).
    motifs : tuple of int
        The label ids, 0 .. k-1.
    fps : float
        Frame rate of the labels (the one 06's bout tables used).
    n_subtypes : int or None
        For VQ motif codes (motif = type * n_subtypes + subtype), the names' ``t<type>.s<subtype>``; else None.
    params : dict
        The estimator's parameters (``get_params``) and its class under ``estimator``.
    source : dict
        The latents' model attributes (``model``, ``model_id``, ``window``, ..., ``n_latent``).
    """

    folder: Path
    labels: pd.DataFrame
    name: str
    model: str
    method: str
    n_motifs: int
    motifs: tuple[int, ...]
    fps: float
    n_subtypes: int | None = None
    params: dict = field(default_factory=dict)
    source: dict = field(default_factory=dict)


def _plain(value):
    """numpy scalars and arrays -> JSON values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def write_motifs(out_dir: str | Path, model, labels: pd.DataFrame) -> dict[str, Path]:
    """Write one segmentation to ``out_dir`` (``motifs/<model.name>/``), each file atomically.

    Parameters
    ----------
    out_dir : str or Path
        The folder (created if needed).
    model : MotifModel
        The fitted motif model (``KMeansMotifs``, ``HMMMotifs``, ``GMMMotifs``, ``VQMotifs``).
    labels : DataFrame
        Its labels table (``model.predict``).

    Returns
    -------
    dict
        ``{file name: path}``: ``labels.parquet``, ``segmentation.json``, ``usage.csv``, ``bouts.csv``,
        ``bout_stats.csv``, ``model.pkl`` and ``motif_names.csv`` (created, or extended with rows for new motifs:
        a user's names are kept).

    Raises
    ------
    ParameterError
        An unfitted model, or labels at or above the model's k.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = model.metadata()
    k = int(meta["n_motifs"])
    fps = fps_of(labels)
    b = bouts(labels, fps)
    tables = {"labels.parquet": labels, "usage.csv": usage(labels, k), "bouts.csv": b,
              "bout_stats.csv": bout_stats(b, labels, k, fps=fps)}
    paths = {}
    for name, table in tables.items():
        path = out_dir / name
        attrs, table.attrs = table.attrs, {}  # the metadata lives in segmentation.json only
        try:
            with atomic_path(path) as tmp:
                table.to_parquet(tmp, index=False) if name.endswith(".parquet") else table.to_csv(tmp, index=False)
        finally:
            table.attrs = attrs
        paths[name] = path
    columns = [c for c in ("motif", "type", "subtype") if c in labels]
    record = {"format": FORMAT, **meta, "fps": fps, "unlabelled": -1, "columns": columns,
              "params": {"estimator": type(model).__name__, **model.get_params()}, "source": dict(model.source_)}
    paths[SEGMENTATION_FILE] = atomic_write_text(out_dir / SEGMENTATION_FILE,
                                                 json.dumps(record, indent=1, default=_plain) + "\n")
    paths["model.pkl"] = model.save(out_dir / "model.pkl")
    used = sorted(int(m) for m in labels.loc[labels["motif"] >= 0, "motif"].unique())
    paths["motif_names.csv"] = write_names(out_dir / "motif_names.csv", used, n_subtypes=meta.get("n_subtypes"))
    return paths


def read_segmentation(folder: str | Path) -> Segmentation:
    """Read a segmentation back: its labels and what they are (k, label ids, frame rate, model, method).

    Parameters
    ----------
    folder : str or Path
        ``motifs/<name>/`` as :func:`write_motifs` (notebook 06) wrote it: ``project.motifs_dir(name)``.

    Returns
    -------
    Segmentation
        The labels (with the metadata in ``labels.attrs``) and the metadata as attributes.

    Raises
    ------
    PoseFileNotFoundError
        No ``labels.parquet``, or no ``segmentation.json`` (a folder written before segmentations carried their
        metadata): rerun notebook 06_segment.
    ParameterError
        A ``segmentation.json`` that cannot be read, lacks a field, or does not match the labels.

    Examples
    --------
    >>> seg = read_segmentation(project.motifs_dir("vame-hmm-8"))  # doctest: +SKIP
    >>> seg.n_motifs, seg.fps, seg.labels.attrs["n_motifs"]  # doctest: +SKIP
    (8, 30.000000000000107, 8)
    """
    folder = Path(folder)
    labels_path, meta_path = folder / "labels.parquet", folder / SEGMENTATION_FILE
    if not labels_path.exists():
        raise PoseFileNotFoundError(f"{labels_path}: no labels; run notebook 06_segment first.")
    if not meta_path.exists():
        raise PoseFileNotFoundError(f"{meta_path} is missing: motifs/{folder.name}/ was written before segmentations "
                                    f"carried their metadata (k, frame rate, method). Rerun notebook 06_segment "
                                    f"(behavnb run 6 --project-dir <run directory> --force) to write it.")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise ParameterError(f"{meta_path}: cannot read it ({exc}); rerun notebook 06_segment to write it again.") from None
    missing = [key for key in _REQUIRED if key not in meta] if isinstance(meta, dict) else list(_REQUIRED)
    if missing or meta.get("format") != FORMAT:
        why = f"lacks {missing}" if missing else f"has format {meta.get('format')!r}, not {FORMAT}"
        raise ParameterError(f"{meta_path} {why}; rerun notebook 06_segment to write it again.")
    k, motifs = int(meta["n_motifs"]), tuple(int(m) for m in meta["motifs"])
    labels = pd.read_parquet(labels_path)
    used = labels["motif"].to_numpy()
    bad = np.setdiff1d(np.unique(used[used >= 0]), motifs)
    if len(bad):
        raise ParameterError(f"{labels_path} uses motif(s) {bad[:10].tolist()} that {meta_path.name} does not list "
                             f"(k = {k}): the two files come from different runs of 06; rerun notebook 06_segment.")
    n_subtypes = meta.get("n_subtypes")
    seg = Segmentation(folder=folder, labels=labels, name=str(meta["name"]), model=str(meta["model"]),
                       method=str(meta["method"]), n_motifs=k, motifs=motifs, fps=float(meta["fps"]),
                       n_subtypes=int(n_subtypes) if n_subtypes is not None else None,
                       params=dict(meta.get("params") or {}), source=dict(meta.get("source") or {}))
    labels.attrs.update({"name": seg.name, "model": seg.model, "method": seg.method, "n_motifs": k,
                         "motifs": list(motifs), "fps": seg.fps, "n_subtypes": seg.n_subtypes})
    return seg
