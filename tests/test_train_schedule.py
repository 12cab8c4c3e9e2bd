"""train.Schedule on its own: the lr sequence of each mode, and a state_dict round-trip mid-run."""

from __future__ import annotations

import io
import math

import pytest

torch = pytest.importorskip("torch")

from behavnb import train  # noqa: E402
from behavnb.errors import ParameterError  # noqa: E402

#: plateau: 1.0 and 0.9 improve; two epochs without improvement (patience 1) halve the lr, not below min_lr
LOSSES = [1.0, 0.9, 0.95, 0.97, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9]
PLATEAU_LRS = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2]


def _optimizer(lr=1.0, groups=2):
    return torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(1))]} for _ in range(groups)], lr=lr)


def _schedule(mode, optimizer=None, **kw):
    cfg = train.TrainConfig(**{"lr_schedule": mode, "lr": 1.0, "min_lr": 0.2, "epochs": 8, "lr_factor": 0.5,
                               "lr_patience": 1, **kw})
    optimizer = optimizer or _optimizer(cfg.lr)
    return train.Schedule(optimizer, cfg), optimizer


def _cosine(progress, lr=1.0, min_lr=0.2):
    return min_lr + (lr - min_lr) * (1 + math.cos(math.pi * min(progress, 1.0))) / 2


def _run(schedule, epochs, start=1):
    """The lr each epoch ends with (what its history row logs), with the cosine's in-epoch values checked."""
    out = []
    for epoch in range(start, start + epochs):
        for fraction in (0.0, 0.25, 0.5):
            schedule.batch(epoch, fraction)
            if schedule.mode == "cosine":
                assert schedule.lr == _cosine((epoch - 1 + fraction) / schedule.epochs)
        schedule.step(epoch, LOSSES[epoch - 1])
        out.append(schedule.lr)
    return out


def test_plateau_lr_sequence():
    schedule, opt = _schedule("plateau")
    assert _run(schedule, len(LOSSES)) == PLATEAU_LRS
    assert [g["lr"] for g in opt.param_groups] == [0.2, 0.2]  # every parameter group


def test_cosine_lr_sequence_and_its_end():
    schedule, opt = _schedule("cosine")
    lrs = _run(schedule, 10)  # past `epochs`, it stays at min_lr
    assert lrs == [_cosine(e / 8) for e in range(1, 11)]
    assert lrs[7] == lrs[9] == 0.2 and lrs[3] == pytest.approx(0.6)
    assert [g["lr"] for g in opt.param_groups] == [0.2, 0.2]
    assert schedule.state_dict() == {"schedule": "cosine"}  # no state: the lr is a function of the progress


def _through_a_file(state):
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)  # as checkpoints are read


@pytest.mark.parametrize("mode", ["plateau", "cosine"])
@pytest.mark.parametrize("cut", [1, 3, 5])
def test_state_dict_round_trip_mid_run_continues_the_same(mode, cut):
    straight, _ = _schedule(mode)
    expected = _run(straight, len(LOSSES))
    first, opt = _schedule(mode)
    lrs = _run(first, cut)
    saved = _through_a_file({"optimizer": opt.state_dict(), "scheduler": first.state_dict()})
    second, opt2 = _schedule(mode)  # a fresh optimizer and schedule, as when a run resumes
    opt2.load_state_dict(saved["optimizer"])  # the lr lives in the optimizer
    second.load_state_dict(saved["scheduler"])
    assert lrs + _run(second, len(LOSSES) - cut, start=cut + 1) == expected


def test_state_dict_of_checkpoints_written_before_the_schedule_object():
    # before Schedule, a checkpoint's "scheduler" entry was a ReduceLROnPlateau state in both modes
    opt = _optimizer()
    old = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1, min_lr=0.2)
    for loss in LOSSES[:4]:
        old.step(loss)
    saved = _through_a_file({"optimizer": opt.state_dict(), "scheduler": old.state_dict()})
    plateau, opt2 = _schedule("plateau")
    opt2.load_state_dict(saved["optimizer"])
    plateau.load_state_dict(saved["scheduler"])
    assert plateau.state_dict().keys() == old.state_dict().keys()  # the same shape as before
    assert [plateau.lr] + _run(plateau, len(LOSSES) - 4, start=5) == PLATEAU_LRS[3:]
    cosine, _ = _schedule("cosine")
    cosine.load_state_dict(saved["scheduler"])  # unused there, ignored
    assert _run(cosine, 2, start=5) == [_cosine(5 / 8), _cosine(6 / 8)]


def test_bad_mode_and_mismatched_state():
    with pytest.raises(ParameterError, match="lr_schedule='linear'"):
        _schedule("linear")
    assert train.Schedule.MODES == ("plateau", "cosine")
    plateau, _ = _schedule("plateau")
    with pytest.raises(train.CheckpointError, match="'cosine' schedule"):
        plateau.load_state_dict({"schedule": "cosine"})
