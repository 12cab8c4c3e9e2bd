"""What the demonstration sections of notebook 05 can do on this data, decided before any training.

In the checks layer (evaluate/health/demos, after stats in docs/design.md's layers): it looks at the
cleaned data and the skeleton before notebook 05 trains anything.

Co-embedding two skeletons and generating motion with a code GPT are demonstrations: on the synthetic
cohort they have everything they need, on a real study they may not (two keypoints, a single
session, short gap-free stretches). A demonstration that fails after minutes of training stops the
whole series, so :func:`plan_vqmap_demos` decides first, from the cleaned sessions and the skeleton,
whether each can run, adapts it where it can (a second skeleton chosen from this study's own roles;
a shorter GPT context) and otherwise says in one sentence why it is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from behavnb.errors import SessionTooShortError
from behavnb.preprocess._core import longest_run, point_missing
from behavnb.windows import code_windows

if TYPE_CHECKING:
    import xarray as xr

#: The fewest code steps of context for the code GPT to be worth showing.
MIN_CONTEXT = 4
#: Real codes that open each generated sequence (the prompt).
PROMPT = 4


@dataclass
class DemoPlan:
    """Decisions for notebook 05's demonstrations; ``None`` means skip, with the reason beside it."""

    coembed: dict[str, str] | None = None
    coembed_sessions: tuple[list[str], list[str]] = field(default_factory=lambda: ([], []))
    coembed_reason: str = ""
    context: int | None = None
    generate_reason: str = ""

    def __str__(self) -> str:
        lines = []
        if self.coembed is not None:
            lines.append(f"co-embedding: {len(self.coembed_sessions[0])} session(s) with the full skeleton, "
                         f"{len(self.coembed_sessions[1])} with a reduced one {self.coembed}" +
                         (f" ({self.coembed_reason})" if self.coembed_reason else ""))
        else:
            lines.append(f"co-embedding skipped: {self.coembed_reason}")
        lines.append(f"code GPT: context {self.context} steps" + (f" ({self.generate_reason})" if self.generate_reason else "")
                     if self.context else f"code GPT skipped: {self.generate_reason}")
        return "\n".join(lines)


def reduced_skeleton(roles: Mapping[str, list[str]], body: list[str], *, size: int = 6) -> dict[str, str]:
    """A second skeleton for co-embedding, from a study's own keypoints: fewer points, other names.

    Picks the front, body centre, back, then head, tail and paw points, up to ``size`` (at least 3 when
    the body has 3), and renames each ``<name>~`` so that the model cannot match skeletons by name.

    Parameters
    ----------
    roles : mapping
        Skeleton roles (``anterior``, ``centre``, ``posterior``, ``head``, ``tail``, ``paws``).
    body : list of str
        The body keypoints.
    size : int
        The most keypoints to keep.

    Returns
    -------
    dict
        ``{old name: new name}`` in the data's order.
    """
    order = [k for r in ("anterior", "centre", "posterior", "head", "tail", "paws") for k in roles.get(r, [])]
    order += body
    keep: list[str] = []
    for k in order:
        if k in body and k not in keep:
            keep.append(k)
    n = min(size, len(body)) if len(body) <= 3 else min(size, max(3, len(body) - 1))
    chosen = set(keep[:n])
    return {k: f"{k}~" for k in body if k in chosen}


def _longest_complete_run(ds: xr.Dataset) -> int:
    """The longest stretch of frames (any individual) in which every keypoint is present."""
    pos = ds["position"].transpose("time", "space", "keypoint", "individual").values
    missing = point_missing(pos).any(axis=1)  # (time, individual)
    return int(longest_run(~missing).max()) if missing.size else 0


def plan_vqmap_demos(cleaned: Mapping[str, xr.Dataset], roles: Mapping[str, list[str]], *, window: int,
                     downsample: int, coembed: bool = True, coembed_keypoints: Mapping[str, str] | str = "auto",
                     generate: bool = True, context: int = 32, max_sessions: int | None = None) -> DemoPlan:
    """Decide whether (and how) notebook 05's co-embedding and code-GPT sections run on this data.

    Parameters
    ----------
    cleaned : mapping of session -> Dataset
        The cleaned sessions the model trains on.
    roles : mapping
        The skeleton roles (:func:`behavnb.skeleton.roles_of` or a Skeleton's fields).
    window, downsample : int
        The VQ model's window and frames per code step.
    coembed : bool
        Whether the co-embedding section is wanted at all.
    coembed_keypoints : mapping or "auto"
        The second skeleton ``{old: new}``; "auto" chooses one from this study (:func:`reduced_skeleton`).
    generate : bool
        Whether the code-GPT section is wanted at all.
    context : int
        The GPT context wanted, in code steps; shortened to what the longest gap-free stretch allows.
    max_sessions : int, optional
        Use at most this many sessions for co-embedding.

    Returns
    -------
    DemoPlan
    """
    plan = DemoPlan()
    names = sorted(cleaned)[:max_sessions]
    first = next(iter(cleaned.values()))
    body = [str(k) for k in first["keypoint"].values]
    if not coembed:
        plan.coembed_reason = "coembed=False"
    else:
        mapping = reduced_skeleton(roles, body) if coembed_keypoints == "auto" else dict(coembed_keypoints)
        missing = [k for k in mapping if k not in body]
        if missing:
            plan.coembed_reason = (f"the second skeleton names keypoint(s) {missing} that this study does not have "
                                   f"({body}); pass -p coembed_keypoints=auto (or a mapping of these names)")
        elif len(mapping) < 2:
            plan.coembed_reason = f"the second skeleton would have {len(mapping)} keypoint(s); it needs 2 or more"
        else:
            a, b = names[0::2], names[1::2]
            if not b:
                b = a
                plan.coembed_reason = "one session: both skeletons read it"
            plan.coembed, plan.coembed_sessions = mapping, (a, b)
    if not generate:
        plan.generate_reason = "generate=False"
        return plan
    steps = max((_longest_complete_run(ds) for ds in cleaned.values()), default=0) // downsample
    usable = min(context, steps - 1 - PROMPT)
    if usable < MIN_CONTEXT:
        plan.generate_reason = (f"the longest gap-free stretch is {steps} code steps ({steps * downsample} frames); "
                                f"the code GPT needs at least {MIN_CONTEXT + PROMPT + 1} steps "
                                f"({(MIN_CONTEXT + PROMPT + 1) * downsample} frames)")
    else:
        plan.context = usable
        if usable < context:
            plan.generate_reason = f"shortened from {context}: the longest gap-free stretch is {steps} steps"
    return plan


def generation_inputs(step_codes: Mapping[str, np.ndarray], context: int, *, vocab: int | None = None,
                      seed: int = 0) -> tuple[object | None, int, list[np.ndarray], str]:
    """The code GPT's training windows and prompts from the real codes, or why there are none.

    The context shrinks (halving, down to ``MIN_CONTEXT``) until the held-out split of
    :func:`behavnb.windows.code_windows` leaves complete training windows: on real data the
    valid code runs are often shorter than the gap-free stretches of frames suggested.

    Parameters
    ----------
    step_codes : mapping of name -> codes per step (-1 = none)
        From :func:`behavnb.codes.step_codes`.
    context : int
        The GPT context wanted (e.g. ``DemoPlan.context``).
    vocab : int, optional
        The GPT's vocabulary (codes are checked against it).
    seed : int
        Seed of the train/held-out split.

    Returns
    -------
    windows : WindowSet or None
        Training windows of ``context + 1`` codes; None when none can be made.
    context : int
        The context they were made for.
    prompts : list of ndarray
        The first ``PROMPT`` valid codes of up to 8 sequences that have them.
    reason : str
        Why generation cannot run, or why the context was shortened ("" otherwise).
    """
    longest = {k: int(longest_run(np.asarray(c) >= 0)) for k, c in step_codes.items()}
    best = max(longest.values(), default=0)
    wanted = context
    while context >= MIN_CONTEXT:
        sequences = {k: np.asarray(c) for k, c in step_codes.items() if longest[k] >= context + 1}
        prompts = [c[c >= 0][:PROMPT] for c in sequences.values() if (c >= 0).sum() >= PROMPT][:8]
        if sequences and prompts:
            try:
                windows = code_windows(sequences, context, vocab=vocab, seed=seed)
            except SessionTooShortError:
                windows = None
            if windows is not None:
                why = (f"context shortened from {wanted} to {context} codes: the longest run of valid codes is {best}"
                       if context < wanted else "")
                return windows, context, prompts, why
        context //= 2
    return None, 0, [], (f"the longest run of valid codes is {best} steps; the code GPT needs complete training "
                         f"windows of at least {MIN_CONTEXT + 1} codes after the held-out split")
