"""Pieces of the training loop: class weights and where checkpoints are validated."""

from __future__ import annotations

import pytest

from analysis.train import TrainConfig, _checkpoint_steps, _class_weights, _total_steps


def test_class_weights() -> None:
    balanced = _class_weights([10, 30, 60], "balanced")
    sqrt = _class_weights([10, 30, 60], "sqrt")
    assert balanced is not None and sqrt is not None
    assert balanced.tolist() == pytest.approx([100 / 30, 100 / 90, 100 / 180])
    assert sqrt.tolist() == pytest.approx([(100 / 30) ** 0.5, (100 / 90) ** 0.5, (100 / 180) ** 0.5])
    assert _class_weights([10, 30, 60], "none") is None


def test_checkpoints_fall_evenly_through_each_epoch_and_on_the_last_step() -> None:
    assert _checkpoint_steps(10, 30, 2) == {5, 10, 15, 20, 25, 30}
    assert _checkpoint_steps(10, 30, 1) == {10, 20, 30}
    assert _checkpoint_steps(7, 12, 2) == {4, 7, 11, 12}  # max_steps stops mid-epoch: the last step counts
    assert _checkpoint_steps(100, 1, 2) == {1}
    assert _checkpoint_steps(10, 30, 0) == {30}  # none within epochs: the last step's weights only


def test_a_small_training_set_gets_more_epochs_up_to_min_steps() -> None:
    def steps(per_epoch: int, **config: int | None) -> int:
        return _total_steps(per_epoch, TrainConfig(base="base", **config))  # type: ignore[arg-type]

    assert steps(19, epochs=1) == 19
    assert steps(19, epochs=1, min_steps=250) == 14 * 19  # whole epochs: 14 passes over a hundred labels' set
    assert steps(94, epochs=1, min_steps=250) == 3 * 94
    assert steps(94, epochs=3, min_steps=10) == 3 * 94  # epochs already give more
    assert steps(19, epochs=1, min_steps=250, max_steps=100) == 100  # max_steps still caps
