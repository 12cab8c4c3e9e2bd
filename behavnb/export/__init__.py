"""Results out of behavnb in the field's formats: NWB, labelled videos, CSV tables for other tools.

Room in the flow: the last floor, beside ``plot`` and ``widgets``. It reads a finished run directory
(poses, cleaned poses, latents, motifs, hierarchy) through :mod:`behavnb.project` and writes files
elsewhere; nothing in the package imports it. Heavy optional libraries (pynwb, ndx-pose, ndx-ethogram,
ndx-vame, imageio-ffmpeg) are imported only inside the function that writes their format.

- :func:`load_results`: one segmentation with its names, communities and sessions (what every exporter reads).
- :func:`behavnb.export.tables.export_csv`: per-frame labels and per-animal usage/bout tables, long format.
- :func:`behavnb.export.nwb.export_nwb`: one NWB file per session (ndx-pose, ndx-ethogram, ndx-vame).
- :func:`behavnb.export.video.labelled_video`: a session's video with skeleton, motif and ethogram strip.
"""

from __future__ import annotations

from behavnb.export.results import RunResults, load_results

__all__ = ["RunResults", "load_results"]
