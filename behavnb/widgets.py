"""ipywidgets: ``MotifBrowser`` (browse motifs) and ``StatsPanel`` (compare groups).

The widgets half of the room after the checks in the flow (... stats -> evaluate/health/demos -> plot/**widgets**
-> export ...): they draw with ``plot`` and test with ``stats``, and change nothing upstream.

Pick a motif (or, for VQ-MAP codes, a type and a subtype) and see its usage per group, its panels
(typical trajectory, variability, kinematics, bout durations), N random instances animated as
skeletons with play/slider controls, and the video of each instance when its session has one.
Selecting points in the UMAP (box or lasso) shows the instances those frames belong to.

Without a live frontend (papermill, nbmake, an HTML export) the browser still shows something: its
display carries a static snapshot (PNG of the panels and the instance grid) next to the widget view.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from behavnb import stats
from behavnb.errors import ParameterError
from behavnb.plot.motifs import motif_panel, render_instances
from behavnb.plot.poses import default_skeleton
from behavnb.plot.stats import group_values
from behavnb.utils import atomic_path


def _png(fig, dpi: int = 72) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def _motif_options(data) -> list[tuple[str, int]]:
    return [(f"{m}: {data.name(m)} ({data.share.get(m, 0):.1%})", m) for m in data.motifs]


class MotifBrowser:
    """Browse the motifs of a ``segment.MotifData``.

    Parameters
    ----------
    data : segment.MotifData
        The labels, cleaned poses, features, sessions and names to browse.
    umap : DataFrame, optional
        ``segment.umap_table``'s table, for the linked UMAP view.
    n_instances : int
        Instances shown at once.
    max_frames : int
        Longest animation (frames); longer instances are cut.
    seed : int
        First sample of instances ("new instances" draws the next).
    dpi : int
        Resolution of the panel and instance images.

    Attributes
    ----------
    shown : DataFrame
        The bouts table rows currently shown (session, individual, motif, start, end, ...).
    last_update_s : float
        Seconds the last selection took to redraw everything.

    Raises
    ------
    ParameterError
        ``data`` has no labelled frames.
    """

    def __init__(self, data, umap: pd.DataFrame | None = None, *, n_instances: int = 8, max_frames: int = 90,
                 seed: int = 0, dpi: int = 72):
        import ipywidgets as w

        if not data.motifs:
            raise ParameterError("no labelled frames: nothing to browse.")
        self.data, self.umap_table, self.n, self.max_frames, self.seed, self.dpi = data, umap, n_instances, max_frames, seed, dpi
        self.shown = data.bouts.iloc[:0]
        self.selected_points = np.array([], dtype=int)
        self.last_update_s = float("nan")
        self._clips, self._videos, self._frame_cache = [], [], {}
        first = next(iter(data.cleaned.values()))
        self._keypoints = [str(k) for k in first["keypoint"].values]
        self._edges = default_skeleton(first)

        vq = bool(data.n_subtypes) and "type" in data.labels and "subtype" in data.labels
        self.motif_w = w.Dropdown(options=_motif_options(data), value=data.motifs[0], description="motif",
                                  layout=w.Layout(width="340px"))
        controls = [self.motif_w]
        if vq:
            nt = data.n_motifs // data.n_subtypes  # motif = type * n_subtypes + subtype
            self.type_w = w.Dropdown(options=[("any", -1)] + [(str(t), t) for t in range(nt)], value=-1, description="type",
                                     layout=w.Layout(width="150px"))
            self.subtype_w = w.Dropdown(options=[("any", -1)] + [(str(s), s) for s in range(data.n_subtypes)], value=-1,
                                        description="subtype", layout=w.Layout(width="170px"))
            self.type_w.observe(self._on_type, names="value")
            self.subtype_w.observe(self._on_type, names="value")
            controls += [self.type_w, self.subtype_w]
        self.new_w = w.Button(description="new instances", icon="refresh")
        self.new_w.on_click(lambda _: self.resample())
        controls.append(self.new_w)
        self.play_w = w.Play(value=0, min=0, max=1, step=1, interval=100, description="play")
        self.frame_w = w.IntSlider(value=0, min=0, max=1, description="frame", continuous_update=True)
        w.jslink((self.play_w, "value"), (self.frame_w, "value"))
        self.frame_w.observe(lambda ch: self._draw_frame(), names="value")
        self.status_w = w.HTML()
        self.panel_w = w.Image(format="png")
        self.grid_w = w.Image(format="png")
        self._quiet = False  # True while select_points moves the dropdown to the selection's motif
        self.motif_w.observe(self._on_motif, names="value")
        parts = [w.HBox(controls), self.status_w, self.panel_w, w.HBox([self.play_w, self.frame_w]), self.grid_w]
        self.umap_w = None
        if umap is not None:
            self.umap_w = self._umap_widget(umap)
            if self.umap_w is not None:
                parts.insert(2, self.umap_w)
        self.widget = w.VBox(parts)
        self._update()

    # selection -------------------------------------------------------------------------------------------
    @property
    def motif(self) -> int:
        """The motif shown; setting it to a motif without frames raises ``ParameterError``."""
        return int(self.motif_w.value)

    @motif.setter
    def motif(self, value: int) -> None:
        if int(value) not in self.data.motifs:
            raise ParameterError(f"motif {value} has no frames; choose one of {self.data.motifs}.")
        self.motif_w.value = int(value)

    def _on_motif(self, change=None) -> None:
        if not self._quiet:
            self._update()

    def _on_type(self, change=None) -> None:
        t, s = self.type_w.value, self.subtype_w.value
        if t >= 0 and s >= 0:
            m = t * self.data.n_subtypes + s
            if m in self.data.motifs:
                self.motif = m
            else:
                self.status_w.value = f"<b>type {t}, subtype {s}</b> is never used."
        elif t >= 0 or s >= 0:  # one level only: instances of any motif with that type (or subtype)
            col, v = ("type", t) if t >= 0 else ("subtype", s)
            b = self.data.bouts_of(col)
            self._show(b[b["motif"] == v].sample(min(self.n, int((b["motif"] == v).sum())), random_state=self.seed)
                       if (b["motif"] == v).any() else b.iloc[:0], f"{col} {v}")

    def resample(self) -> None:
        """Draw new random instances of the current motif."""
        self.seed += 1
        self._update()

    def select_points(self, indices: Sequence[int]) -> None:
        """Show the instances of the selected UMAP points, as a lasso does.

        The motif menu moves to the motif most of the points have.

        Parameters
        ----------
        indices : sequence of int
            Row numbers of the UMAP table; empty: back to the current motif's random instances.

        Raises
        ------
        ParameterError
            The browser was made without a UMAP table.
        """
        if self.umap_table is None:
            raise ParameterError("this browser has no UMAP table; pass umap=segment.umap_table(...).")
        idx = np.asarray(indices, dtype=int)
        self.selected_points = idx
        pts = self.umap_table.iloc[idx]
        if pts.empty:
            self._update()
            return
        chosen = self.data.bouts_at(pts).head(self.n)
        top = pts["motif"][pts["motif"] >= 0].mode()
        if len(top):
            # not unobserve_all: that also drops ipywidgets' own value -> index link, and the dropdown shown in the
            # browser would keep the old motif, so choosing the selection's motif there would change nothing
            self._quiet = True
            try:
                self.motif_w.value = int(top.iloc[0]) if int(top.iloc[0]) in self.data.motifs else self.motif_w.value
            finally:
                self._quiet = False
        self._show(chosen, f"{len(idx)} selected points")

    def _umap_widget(self, table: pd.DataFrame):
        try:
            import plotly.graph_objects as go
        except ImportError:
            return None
        try:
            fw = go.FigureWidget()
        except Exception:  # plotly without anywidget: the static UMAP in the notebook still works
            return None
        t = table
        fw.add_scattergl(x=t["umap_1"], y=t["umap_2"], mode="markers",
                         marker={"size": 3, "color": t["motif"], "colorscale": "Turbo"},
                         text=[f"{s} {i} frame {f}, motif {m}"
                               for s, i, f, m in zip(t["session"], t["individual"], t["frame"], t["motif"], strict=True)],
                         hoverinfo="text")
        fw.update_layout(width=520, height=420, dragmode="lasso", margin={"l": 10, "r": 10, "t": 30, "b": 10},
                         title="UMAP: lasso points to see their instances")
        fw.data[0].on_selection(lambda trace, points, state: self.select_points(points.point_inds))
        return fw

    # drawing ----------------------------------------------------------------------------------------------
    def _update(self) -> None:
        m = self.motif
        t0 = time.perf_counter()
        self.panel_w.value = _png(self._panel(m), self.dpi)
        inst = self.data.instances(m, self.n, self.seed)
        self._show(inst, f"motif {m}", t0=t0)

    def _panel(self, m: int):
        return motif_panel(self.data, m, n_instances=max(self.n, 12), seed=self.seed, edges=self._edges)

    def _show(self, inst: pd.DataFrame, what: str, t0: float | None = None) -> None:
        t0 = t0 or time.perf_counter()
        self.shown = inst.reset_index(drop=True)
        self._clips = [c[: self.max_frames] for c in self.data.clips(self.shown)] if len(self.shown) else []
        self._videos = []
        for row in self.shown.itertuples(index=False):
            v = self.data.video_clip(row)
            self._videos.append(v[: self.max_frames] if v is not None else None)
        self._frame_cache = {}
        longest = max((len(c) for c in self._clips), default=1)
        self.play_w.max = self.frame_w.max = max(longest - 1, 1)
        self.frame_w.value = 0
        self._draw_frame()
        self.last_update_s = time.perf_counter() - t0
        n_video = sum(v is not None and len(v) > 0 for v in self._videos)
        video_note = f"{n_video} with video" if n_video else "skeletons only (no video for these sessions)"
        self.status_w.value = (f"<b>{what}</b>: {len(self.shown)} instances ({video_note}); "
                               f"{', '.join(f'{r.session} {r.start}-{r.end}' for r in self.shown.head(4).itertuples())}"
                               f"{' …' if len(self.shown) > 4 else ''}")

    def _draw_frame(self) -> None:
        f = int(self.frame_w.value)
        if f not in self._frame_cache:
            if not self._clips:
                import matplotlib.pyplot as plt

                fig = plt.figure(figsize=(4, 1))
                fig.text(0.5, 0.5, "no instances", ha="center")
            else:
                fig = render_instances(self._clips, self._keypoints, frame=f, edges=self._edges, video=self._videos,
                                       title=f"frame {f} after onset")
            self._frame_cache[f] = _png(fig, self.dpi)
        self.grid_w.value = self._frame_cache[f]

    # display ----------------------------------------------------------------------------------------------
    def snapshot_html(self) -> str:
        """The current state as static HTML (panels and instance grid as PNG)."""
        imgs = "".join(f'<img src="data:image/png;base64,{base64.b64encode(b).decode()}" style="max-width:100%"/>'
                       for b in (self.panel_w.value, self.grid_w.value) if b)
        return f"<div><p>{self.status_w.value}</p>{imgs}</div>"

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs) or {}
        bundle = dict(bundle)
        bundle["text/html"] = self.snapshot_html()
        bundle["text/plain"] = f"MotifBrowser: motif {self.motif}, {len(self.shown)} instances"
        return bundle


class StatsPanel:
    """Compare groups interactively: grouping column, reference and comparison group, metric, level (motif,
    community, type), test and family; the figures and the results table update, and "export CSV" writes them.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        ``{level: stats.animal_table(...)}`` (per-session rows with metadata columns).
    names : mapping, optional
        ``{level: {motif: name}}`` for the figures.
    export_dir : str or Path, optional
        Where "export CSV" writes ``results_<level>_<metric>.csv`` (default: the working directory).
    n_boot : int
        Bootstrap resamples for the effect-size confidence intervals (``stats.compare``).
    dpi : int
        Resolution of the figure image.
    reference : str, optional
        The reference group shown first (default: the first value in sorted order).

    Raises
    ------
    ParameterError
        No tables, or no grouping column with two or more values.
    """

    TESTS = {"Mann-Whitney (animals)": "mann-whitney", "Welch t (animals)": "welch",
             "mixed model (sessions, random intercept per animal)": "mixed"}

    def __init__(self, tables, *, names=None, export_dir=None, n_boot: int = 500, dpi: int = 72,
                 reference: str | None = None):
        from pathlib import Path

        import ipywidgets as w

        if not tables:
            raise ParameterError("no tables to compare: pass {level: stats.animal_table(...)}.")
        self.tables, self.names, self.n_boot, self.dpi = dict(tables), dict(names or {}), n_boot, dpi
        self.export_dir = Path(export_dir) if export_dir else Path.cwd()
        first = next(iter(self.tables.values()))
        cols = [c for c in ("group", "sex", "cohort", "condition", "treatment") if c in first and first[c].nunique() > 1]
        if not cols:
            raise ParameterError(f"no grouping column with two or more values among {list(first.columns)}.")
        self.results = None
        self.reference = reference
        self.last_update_s = float("nan")
        self.column_w = w.Dropdown(options=cols, value=cols[0], description="grouping")
        self.reference_w = w.Dropdown(description="reference")
        self.other_w = w.Dropdown(description="compare")
        metrics = sorted(first["metric"].unique())
        self.metric_w = w.Dropdown(options=metrics, value="usage" if "usage" in metrics else metrics[0], description="metric")
        self.level_w = w.Dropdown(options=list(self.tables), description="level")
        self.test_w = w.Dropdown(options=list(self.TESTS), description="test")
        self.family_w = w.Dropdown(options=[("all metrics of this level", "all"), ("this metric only", "metric")],
                                   description="FDR family")
        self.export_w = w.Button(description="export CSV", icon="download")
        self.export_w.on_click(lambda _: self.export())
        self.status_w = w.HTML()
        self.figure_w = w.Image(format="png")
        self.table_w = w.HTML()
        self._set_groups()
        for wid in (self.reference_w, self.other_w, self.metric_w, self.level_w, self.test_w, self.family_w):
            wid.observe(lambda ch: self.update(), names="value")
        self.column_w.observe(lambda ch: (self._set_groups(), self.update()), names="value")
        self.widget = w.VBox([w.HBox([self.column_w, self.reference_w, self.other_w]),
                              w.HBox([self.level_w, self.metric_w, self.test_w]),
                              w.HBox([self.family_w, self.export_w]), self.status_w, self.figure_w, self.table_w])
        self.update()

    def _set_groups(self) -> None:
        values = sorted(next(iter(self.tables.values()))[self.column_w.value].astype(str).unique())
        if self.reference in values:  # the notebook's reference first
            values.insert(0, values.pop(values.index(self.reference)))
        self._updating = True
        self.reference_w.options, self.other_w.options = values, values
        self.reference_w.value, self.other_w.value = values[0], values[1]
        self._updating = False

    def update(self) -> None:
        """Recompute the test for the current choices and redraw."""
        import time as _time

        if getattr(self, "_updating", False):
            return
        t0 = _time.perf_counter()
        ref, other = self.reference_w.value, self.other_w.value
        if ref == other:
            self.status_w.value = "<b>choose two different groups</b>"
            return
        col, level, metric = self.column_w.value, self.level_w.value, self.metric_w.value
        t = self.tables[level]
        t = t[t[col].astype(str).isin([ref, other])].assign(group=lambda d: d[col].astype(str))
        test = self.TESTS[self.test_w.value]
        try:
            if test == "mixed":
                fam = t if self.family_w.value == "all" else t[t["metric"] == metric]
                res = stats.mixed_model(fam, reference=ref).rename(columns={"estimate": "effect"})
                res["q"] = stats.adjust(res["p"].to_numpy())
                table = res
            else:
                table = stats.compare(t, groups=[ref, other], metrics=None if self.family_w.value == "all" else [metric],
                                      family="all", n_boot=self.n_boot, test=test).table
        except Exception as exc:  # shown, not swallowed: the user changed a setting the data cannot support
            self.status_w.value = f"<b>cannot test this:</b> {type(exc).__name__}: {exc}"
            return
        self.results = table
        subj = stats.per_subject(t)
        names = self.names.get(level)
        self.figure_w.value = _png(group_values(subj, table, metric, names, groups=[ref, other]), self.dpi)
        shown = table[table["metric"] == metric]
        cols = [c for c in ("motif", "test", "model", f"n_{ref}", f"n_{other}", f"mean_{ref}", f"mean_{other}", "effect",
                            "ci_low", "ci_high", "p", "q") if c in shown]
        self.table_w.value = shown[cols].to_html(index=False, float_format=lambda v: f"{v:.3g}")
        n_sig = int((shown["q"] < 0.05).sum())
        self.last_update_s = _time.perf_counter() - t0
        self.status_w.value = (f"{level} {metric}: {other} vs {ref} by {self.test_w.value}; {n_sig} of {len(shown)} with "
                               f"q < 0.05 (family: {self.family_w.label}); {self.last_update_s:.2f} s")

    def export(self) -> str:
        """Write the current results to ``export_dir`` as CSV; returns the path."""
        if self.results is None:
            raise ParameterError("nothing to export yet.")
        path = self.export_dir / f"results_{self.level_w.value}_{self.metric_w.value}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            self.results.to_csv(tmp, index=False)
        self.status_w.value += f"<br>written: {path}"
        return str(path)

    def _repr_mimebundle_(self, **kwargs):
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        img = base64.b64encode(self.figure_w.value).decode() if self.figure_w.value else ""
        bundle["text/html"] = (f"<div><p>{self.status_w.value}</p><img src='data:image/png;base64,{img}'/>"
                               f"{self.table_w.value}</div>")
        bundle["text/plain"] = f"StatsPanel: {self.status_w.value}"
        return bundle
