"""What a person looks at per motif: sampled instances, their egocentric poses, kinematics, a UMAP table.

Part of the segment room of the flow (... embed -> codes/**segment** -> hierarchy -> stats ...), read later
by plot/widgets.

These are data, not figures: ``plot`` draws them and ``widgets.MotifBrowser`` browses them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from behavnb.codes import motif_count, usage
from behavnb.errors import DataWarning, ParameterError, PoseFileNotFoundError
from behavnb.io.video import Video, find_video
from behavnb.segment._data import sequences
from behavnb.segment.names import default_name
from behavnb.segment.tables import bouts, fps_of

if TYPE_CHECKING:
    import xarray as xr


def instances(bout_table: pd.DataFrame, motif: int, n: int = 8, *, seed: int = 0, min_frames: int = 3,
              column: str = "motif", uncensored: bool = True) -> pd.DataFrame:
    """``n`` random bouts of ``motif`` (at least ``min_frames`` long; whole bouts first, cut ones if too few)."""
    b = bout_table[(bout_table[column] == motif) & (bout_table["n_frames"] >= min_frames)]
    if uncensored and (~b["censored"]).sum() >= min(n, len(b)):
        b = b[~b["censored"]]
    if b.empty:
        return b.copy()
    return b.sample(min(n, len(b)), random_state=seed).sort_values(["session", "start"]).reset_index(drop=True)


def _poses(ds: xr.Dataset, individual: str, var: str) -> tuple[np.ndarray, list[str]]:
    if var not in ds:
        raise ParameterError(f"session {ds.attrs.get('session', '?')!r} has no {var!r}: pass cleaned poses from "
                             f"02_preprocess (project.read_clean).")
    da = ds[var]
    if "individual" in da.dims:
        ind = individual if individual in [str(i) for i in da["individual"].values] else da["individual"].values[0]
        da = da.sel(individual=ind)
    return da.transpose("time", "keypoint", "space").values, [str(k) for k in ds["keypoint"].values]


def instance_clip(cleaned: Mapping[str, xr.Dataset], row, *, pad: int = 0, var: str = "ego_position") -> np.ndarray:
    """The poses ``(T, keypoint, space)`` of one bout (``row`` of a bouts table), ``pad`` frames either side."""
    p, _ = _poses(cleaned[row.session], str(row.individual), var)
    a, b = max(int(row.start) - pad, 0), min(int(row.end) + 1 + pad, len(p))
    return p[a:b]


def instance_poses(cleaned: Mapping[str, xr.Dataset], inst: pd.DataFrame, n_steps: int = 12,
                   var: str = "ego_position") -> tuple[np.ndarray, list[str]]:
    """Every instance's poses resampled to ``n_steps`` points in time: ``(n, n_steps, keypoint, space)``.

    Bouts differ in length, so each is stretched onto the same relative time (0 = onset, 1 = end) by
    linear interpolation; the median over instances is then the motif's typical trajectory.
    """
    if inst.empty:
        raise ParameterError("no instances to draw: this motif has no bout long enough.")
    missing = sorted(set(inst["session"]) - set(cleaned))
    if missing:
        raise ParameterError(f"sessions {missing[:5]} of the instances are not in the cleaned poses given.")
    out, kps = [], None
    for row in inst.itertuples(index=False):
        clip = instance_clip(cleaned, row, var=var)
        kps = kps or _poses(cleaned[row.session], str(row.individual), var)[1]
        src = np.linspace(0, 1, len(clip))
        dst = np.linspace(0, 1, n_steps)
        flat = clip.reshape(len(clip), -1)
        res = np.stack([np.interp(dst, src, flat[:, j]) if np.isfinite(flat[:, j]).all() else np.full(n_steps, np.nan)
                        for j in range(flat.shape[1])], axis=1) if len(clip) > 1 else np.repeat(flat, n_steps, 0)
        out.append(res.reshape(n_steps, *clip.shape[1:]))
    return np.stack(out), kps


def typical_trajectory(poses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median pose per step ``(n_steps, keypoint, space)`` and each keypoint's spread ``(n_steps, keypoint)``:
    the median distance of the instances from that median (instance-to-instance variability)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(poses, axis=0)
        spread = np.nanmedian(np.linalg.norm(poses - med[None], axis=-1), axis=0)
    return med, spread


DEFAULT_FEATURES = ("speed", "body_length", "head_angle")


def motif_features(features: Mapping[str, xr.Dataset], labels: pd.DataFrame, names: Sequence[str] = DEFAULT_FEATURES,
                   *, max_frames: int = 200_000, seed: int = 0) -> pd.DataFrame:
    """Labels joined to kinematic features from 03: session, individual, frame, motif, <feature>... (subsampled)."""
    parts = []
    for (s, ind), g in labels.groupby(["session", "individual"], sort=False):
        if s not in features:
            continue
        f = features[s]
        cols = {}
        for name in names:
            if name not in f:
                continue
            da = f[name]
            if "individual" in da.dims:
                inds = [str(i) for i in da["individual"].values]
                da = da.sel(individual=ind if ind in inds else da["individual"].values[0])
            v = np.asarray(da.values, dtype=float)
            fr = g["frame"].to_numpy()
            cols[name] = np.where(fr < len(v), v[np.clip(fr, 0, len(v) - 1)], np.nan)
        if cols:
            parts.append(pd.DataFrame({"session": s, "individual": ind, "frame": g["frame"].to_numpy(),
                                       "motif": g["motif"].to_numpy(), **cols}))
    if not parts:
        raise ParameterError(f"none of the labelled sessions has features {list(names)}: run 03_features first.")
    out = pd.concat(parts, ignore_index=True)
    out = out[out["motif"] >= 0]
    if len(out) > max_frames:
        out = out.sample(max_frames, random_state=seed)
    return out.reset_index(drop=True)


def umap_table(latents: Mapping[str, object], labels: pd.DataFrame, *, n: int = 30_000, sessions: pd.DataFrame | None = None,
               seed: int = 0, n_neighbors: int = 15, min_dist: float = 0.1, progress: bool = True) -> pd.DataFrame:
    """A 2-D UMAP of a seeded subsample of frames, drawn evenly from every recording.

    Long sessions do not crowd out short ones. The neighbours are exact (scikit-learn); umap-learn, imported here,
    lays them out (its layout takes a few seconds to compile on first use).

    Parameters
    ----------
    latents : mapping
        ``{session: latents}`` the labels were computed from.
    labels : DataFrame
        The labels table.
    n : int
        Frames in the map.
    sessions : DataFrame, optional
        The sessions table, for the ``group`` column.
    seed : int
        Seed of the subsample and of UMAP.
    n_neighbors, min_dist : int, float
        UMAP's parameters.
    progress : bool
        Unused; kept for the signature.

    Returns
    -------
    DataFrame
        session, individual, frame, time, motif[, type, subtype], group, umap_1, umap_2.
    """
    import umap
    from sklearn.neighbors import NearestNeighbors

    seqs, _ = sequences(latents)
    lab = labels.set_index(["session", "individual", "frame"])
    rng = np.random.default_rng(seed)
    per = max(1, n // len(seqs))
    rows, xs = [], []
    for q in seqs:
        ok = np.flatnonzero(np.isfinite(q.x).all(axis=1))
        pick = np.sort(rng.choice(ok, min(per, len(ok)), replace=False)) if len(ok) else ok
        xs.append(q.x[pick])
        rows.append(pd.DataFrame({"session": q.session, "individual": q.individual, "frame": pick, "time": q.time[pick]}))
    table = pd.concat(rows, ignore_index=True)
    x = np.concatenate(xs)
    if len(x) < n_neighbors + 2:
        raise ParameterError(f"only {len(x)} frames with latents: too few for a UMAP (need > {n_neighbors + 1}).")
    idx = pd.MultiIndex.from_frame(table[["session", "individual", "frame"]])
    table["motif"] = lab["motif"].reindex(idx).fillna(-1).astype(int).to_numpy()
    for c in ("type", "subtype"):
        if c in lab:
            table[c] = lab[c].reindex(idx).fillna(-1).astype(int).to_numpy()
    if sessions is not None and "group" in sessions:
        table["group"] = table["session"].map(sessions.set_index("session")["group"].astype(str)).fillna("?")
    # exact neighbours from scikit-learn: as fast as pynndescent's at these sizes, and it spares the ~25 s its
    # numba functions take to compile in every new kernel (07 in the demo: 34 s -> 13 s)
    dist, idx = NearestNeighbors(n_neighbors=n_neighbors).fit(x).kneighbors(x)
    with warnings.catch_warnings():  # a seed makes umap single-threaded, and it says so every time; no transform()
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
        warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]", category=UserWarning)
        emb = umap.UMAP(n_neighbors=n_neighbors, min_dist=min_dist, random_state=seed, verbose=False,
                        precomputed_knn=(idx, dist, None)).fit_transform(x)
    table["umap_1"], table["umap_2"] = emb[:, 0], emb[:, 1]
    return table


class MotifData:
    """Everything a motif browser or gallery needs, computed once and cached.

    Parameters
    ----------
    labels : DataFrame
        The labels table: ``read_segmentation(folder).labels`` (06's ``labels.parquet``) or a motif model's
        ``predict``; both carry k and the frame rate in ``attrs``.
    cleaned : mapping
        ``{session: cleaned poses}`` (02), for the skeletons.
    features : mapping, optional
        ``{session: features}`` (03), for the kinematics panel.
    sessions : DataFrame, optional
        The sessions table, for groups and video paths (a ``video`` column, or a video next to the pose file
        with the same name).
    names : mapping, optional
        ``{motif: name}`` (``read_names``); default ``motif <n>``.
    n_subtypes : int, optional
        For VQ labels: motif = type * n_subtypes + subtype. None: the labels' metadata, if any.
    n_motifs : int, optional
        k; None: the labels' metadata (``codes.motif_count``).
    fps : float, optional
        Frame rate; None: the labels' metadata, else their ``time`` column.
    video_tolerance : int
        Frames a video may differ from its poses before a warning.

    Raises
    ------
    ParameterError
        k unknown (labels without metadata and no ``n_motifs``), or labels at or above it.
    """

    def __init__(self, labels: pd.DataFrame, cleaned: Mapping[str, xr.Dataset], *, features: Mapping | None = None,
                 sessions: pd.DataFrame | None = None, names: Mapping[int, str] | None = None,
                 n_subtypes: int | None = None, n_motifs: int | None = None, fps: float | None = None,
                 video_tolerance: int = 2):
        self.labels, self.cleaned, self.features, self.sessions = labels, dict(cleaned), features, sessions
        self.n_motifs = motif_count(labels, n_motifs)
        self.fps = float(fps or fps_of(labels))
        self.bouts = bouts(labels, self.fps)
        ok = labels["motif"] >= 0
        self.motifs = sorted(int(m) for m in labels.loc[ok, "motif"].unique())
        self.usage = usage(labels, self.n_motifs)
        share = labels.loc[ok, "motif"].value_counts(normalize=True)
        self.share = {int(m): float(v) for m, v in share.items()}
        self.n_subtypes = n_subtypes if n_subtypes is not None else labels.attrs.get("n_subtypes")
        self.names = {m: (dict(names or {}).get(m) or default_name(m, self.n_subtypes)) for m in self.motifs}
        self.video_tolerance = video_tolerance
        self._videos: dict[str, object] = {}
        self._feature_table = None
        self.groups = {}
        if sessions is not None and "group" in sessions:
            self.groups = dict(zip(sessions["session"].astype(str), sessions["group"].astype(str), strict=True))

    def bouts_of(self, column: str) -> pd.DataFrame:
        """Bouts of another code column of the labels (``type`` or ``subtype`` of VQ labels), cached."""
        cache = self.__dict__.setdefault("_bouts_of", {})
        if column not in cache:
            if column not in self.labels:
                raise ParameterError(f"the labels have no {column!r} column.")
            cache[column] = bouts(self.labels.assign(motif=self.labels[column]), self.fps)
        return cache[column]

    def bouts_at(self, points: pd.DataFrame) -> pd.DataFrame:
        """The bouts containing each (session, individual, frame) of ``points``, in order, without repeats."""
        b = self.bouts.sort_values(["session", "individual", "start"])
        keys = pd.Index(pd.unique(b["session"].astype(str) + "\x1f" + b["individual"].astype(str)))
        bk = keys.get_indexer(b["session"].astype(str) + "\x1f" + b["individual"].astype(str))
        pk = keys.get_indexer(points["session"].astype(str) + "\x1f" + points["individual"].astype(str))
        span = int(max(b["end"].max(), points["frame"].max())) + 1 if len(b) else 1
        at = np.searchsorted(bk * span + b["start"].to_numpy(), pk * span + points["frame"].to_numpy(), side="right") - 1
        ok = (pk >= 0) & (at >= 0)
        at_ok = np.clip(at, 0, None)
        ok &= (bk[at_ok] == pk) & (b["end"].to_numpy()[at_ok] >= points["frame"].to_numpy())
        return b.iloc[pd.unique(at[ok])]

    def name(self, motif: int) -> str:
        """The motif's name: from ``names``, else its default name (``motif 3``, ``t2.s5``).

        Parameters
        ----------
        motif : int
            The motif id.

        Returns
        -------
        str
            Its name.
        """
        return self.names.get(int(motif), default_name(int(motif), self.n_subtypes))

    def instances(self, motif: int, n: int = 8, seed: int = 0) -> pd.DataFrame:
        return instances(self.bouts, motif, n, seed=seed)

    def poses(self, inst: pd.DataFrame, n_steps: int = 12) -> tuple[np.ndarray, list[str]]:
        return instance_poses(self.cleaned, inst, n_steps)

    def clips(self, inst: pd.DataFrame, pad: int = 0) -> list[np.ndarray]:
        """Each instance's egocentric poses at full frame rate (for animation)."""
        return [instance_clip(self.cleaned, row, pad=pad) for row in inst.itertuples(index=False)]

    def feature_table(self) -> pd.DataFrame | None:
        if self.features is None:
            return None
        if self._feature_table is None:
            self._feature_table = motif_features(self.features, self.labels)
        return self._feature_table

    def video(self, session: str):
        """The session's ``io.video.Video`` (checked against its frame count), or None when it has none.

        A video that cannot be found gives a ``DataWarning`` and None (the browser shows skeletons only). The
        result is cached per session.

        Parameters
        ----------
        session : str
            The session's name in the sessions table.

        Returns
        -------
        behavnb.io.video.Video or None
            The opened video, or None without a sessions table, a video or a video file.
        """
        if session in self._videos:
            return self._videos[session]
        vid = None
        if self.sessions is not None and session in set(self.sessions["session"].astype(str)):
            row = self.sessions.set_index(self.sessions["session"].astype(str)).loc[session]
            try:
                path = find_video(row.get("file"), row.get("video") if "video" in row else None)
            except PoseFileNotFoundError as exc:  # a browser should still show the skeletons
                warnings.warn(f"session {session!r}: {exc} Showing skeletons only.", DataWarning, stacklevel=2)
                path = None
            if path is not None:
                n = int(self.cleaned[session].sizes["time"]) if session in self.cleaned else None
                vid = Video(path, n, self.video_tolerance)
        self._videos[session] = vid
        return vid

    def video_clip(self, row, pad: int = 0, max_width: int = 240, crop: bool = True) -> np.ndarray | None:
        """Video frames of one instance (a bouts row), or None when its session has no video.

        ``crop`` cuts a square around the animal (when the poses are in pixels), so the behaviour, not the
        arena, fills the clip."""
        vid = self.video(str(row.session))
        if vid is None:
            return None
        box = self._crop_box(row, vid) if crop else None
        frames = vid.clip(int(row.start) - pad, int(row.end) + 1 + pad, max_width=None if box else max_width)
        if box is not None and len(frames):
            import cv2

            x0, y0, x1, y1 = box
            frames = np.stack([cv2.resize(f[y0:y1, x0:x1], (max_width, max_width), interpolation=cv2.INTER_AREA)
                               for f in frames])
        return frames

    def _crop_box(self, row, vid) -> tuple[int, int, int, int] | None:
        """A square around the animal during the bout (pixel poses only): 1.6 x its extent, at least 64 px."""
        ds = self.cleaned.get(str(row.session))
        if ds is None or str(ds.attrs.get("units", "pixels")) not in ("pixels", "px", "pixel"):
            return None
        p, _ = _poses(ds, str(row.individual), "position")
        p = p[int(row.start):int(row.end) + 1].reshape(-1, 2)
        p = p[np.isfinite(p).all(axis=1)]
        if not len(p):
            return None
        lo, hi = p.min(axis=0), p.max(axis=0)
        c, half = (lo + hi) / 2, max(32.0, 0.8 * float((hi - lo).max()))
        w, h = vid.size
        half = min(half, w / 2, h / 2)
        x0, y0 = int(np.clip(c[0] - half, 0, w - 2 * half)), int(np.clip(c[1] - half, 0, h - 2 * half))
        return x0, y0, int(x0 + 2 * half), int(y0 + 2 * half)

    def usage_by_group(self, motif: int) -> pd.DataFrame:
        """session, individual, group, fraction of one motif."""
        u = self.usage[self.usage["motif"] == motif].copy()
        u["group"] = u["session"].map(self.groups).fillna("all") if self.groups else "all"
        return u
