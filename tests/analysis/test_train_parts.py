"""Pieces of the training loop: class weights and where checkpoints are validated."""

from __future__ import annotations

import pytest

from analysis.train import _checkpoint_steps, _class_weights


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
