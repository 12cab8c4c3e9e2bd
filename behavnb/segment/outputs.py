"""Write one segmentation to ``motifs/<name>/``: labels, usage, bouts, bout statistics, the model, motif names."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def write_motifs(out_dir: str | Path, model, labels: pd.DataFrame, *, n_subtypes: int | None = None) -> dict[str, Path]:
    """``labels.parquet``, ``usage.csv``, ``bouts.csv``, ``bout_stats.csv``, ``model.pkl`` and (if absent)
    ``motif_names.csv`` in ``out_dir``; each written atomically. Returns the paths."""
    from behavnb.project import atomic_path
    from behavnb.segment.names import write_names
    from behavnb.segment.tables import bout_stats, bouts, usage

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    k = int(model.n_motifs_)
    b = bouts(labels)
    tables = {"labels.parquet": labels, "usage.csv": usage(labels, k), "bouts.csv": b,
              "bout_stats.csv": bout_stats(b, labels, k)}
    paths = {}
    for name, table in tables.items():
        path = out_dir / name
        with atomic_path(path) as tmp:
            table.to_parquet(tmp, index=False) if name.endswith(".parquet") else table.to_csv(tmp, index=False)
        paths[name] = path
    paths["model.pkl"] = model.save(out_dir / "model.pkl")
    used = sorted(int(m) for m in labels.loc[labels["motif"] >= 0, "motif"].unique())
    paths["motif_names.csv"] = write_names(out_dir / "motif_names.csv", used, n_subtypes=n_subtypes)
    return paths
