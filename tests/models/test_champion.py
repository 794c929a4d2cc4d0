"""The order in which training's challengers meet the gate (models.champion.gate_challengers)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pytest

from models import champion
from models.gate import SERVED_COUNT, SERVED_MODEL
from models.train import LATENT_STRATEGY, TrainedModel


def _models() -> tuple[Any, Any]:
    label_free = SimpleNamespace(strategy=LATENT_STRATEGY, label_free=None)
    trees = SimpleNamespace(strategy="ipw+count 0.50", label_free=label_free)
    return trees, label_free


def _gate(monkeypatch: pytest.MonkeyPatch, verdicts: dict[str, bool]) -> list[str]:
    """A gate that promotes each strategy as ``verdicts`` says; returns the strategies it judged, in order."""
    judged: list[str] = []

    def gate_model(home: Path, model: TrainedModel) -> dict[str, Any]:
        strategy = str(model.strategy)
        judged.append(strategy)
        promote = verdicts[strategy]
        served = SERVED_MODEL if promote else SERVED_COUNT
        verdict = "clears" if promote else "fails"
        return {"promote": promote, "served": served, "reason": f"{strategy} {verdict}", "challenger": {}}

    monkeypatch.setattr(champion, "gate_model", gate_model)
    return judged


def _trees_beat_flags(monkeypatch: pytest.MonkeyPatch, beaten: bool) -> None:
    verdict = (True, "beat the weighted red flags") if beaten else (False, "do not beat the weighted red flags clearly")
    monkeypatch.setattr(champion, "trees_beat_label_free", lambda model: verdict)


def test_the_weighted_red_flags_serve_when_they_clear_the_bar_and_the_trees_do_not_beat_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    trees, label_free = _models()
    judged = _gate(monkeypatch, {trees.strategy: True, LATENT_STRATEGY: True})
    _trees_beat_flags(monkeypatch, False)
    model, decision = champion.gate_challengers(tmp_path, cast(TrainedModel, trees))
    assert model is label_free and judged == [LATENT_STRATEGY]  # the trees never meet the gate
    assert decision["promote"] and decision["served"] == SERVED_MODEL
    assert decision["other_challenger"] == {
        "strategy": trees.strategy,
        "reason": "the trees do not beat the weighted red flags clearly",
    }
    assert decision["reason"].startswith(f"{LATENT_STRATEGY} clears")


def test_trees_that_beat_the_weighted_red_flags_and_clear_the_bar_serve(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    trees, _ = _models()
    judged = _gate(monkeypatch, {trees.strategy: True, LATENT_STRATEGY: True})
    _trees_beat_flags(monkeypatch, True)
    model, decision = champion.gate_challengers(tmp_path, cast(TrainedModel, trees))
    assert model is trees and judged == [LATENT_STRATEGY, trees.strategy] and decision["promote"]
    assert decision["reason"] == f"{trees.strategy} clears; the trees beat the weighted red flags"
    assert decision["other_challenger"]["strategy"] == LATENT_STRATEGY


def test_trees_that_beat_the_weighted_red_flags_but_fail_the_bar_leave_them_serving(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    trees, label_free = _models()
    judged = _gate(monkeypatch, {trees.strategy: False, LATENT_STRATEGY: True})
    _trees_beat_flags(monkeypatch, True)
    model, decision = champion.gate_challengers(tmp_path, cast(TrainedModel, trees))
    assert model is label_free and judged == [LATENT_STRATEGY, trees.strategy] and decision["promote"]
    assert decision["other_challenger"]["reason"] == (
        f"the trees beat the weighted red flags, but {trees.strategy} fails"
    )


def test_trees_are_judged_alone_when_the_weighted_red_flags_fail(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    trees, _ = _models()
    for trees_clear in (True, False):
        judged = _gate(monkeypatch, {trees.strategy: trees_clear, LATENT_STRATEGY: False})
        model, decision = champion.gate_challengers(tmp_path, cast(TrainedModel, trees))
        assert model is trees and judged == [LATENT_STRATEGY, trees.strategy]
        assert decision["promote"] is trees_clear
        assert decision["served"] == (SERVED_MODEL if trees_clear else SERVED_COUNT)
        assert decision["reason"] == f"{trees.strategy} {'clears' if trees_clear else 'fails'}"
        assert decision["other_challenger"]["strategy"] == LATENT_STRATEGY
        assert decision["other_challenger"]["reason"] == f"{LATENT_STRATEGY} fails"


def test_the_weighted_red_flags_that_won_the_fold_are_judged_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, label_free = _models()
    judged = _gate(monkeypatch, {LATENT_STRATEGY: False})
    model, decision = champion.gate_challengers(tmp_path, cast(TrainedModel, label_free))
    assert model is label_free and judged == [LATENT_STRATEGY] and not decision["promote"]


def _fold_model(trees: np.ndarray, flags: np.ndarray, labels: np.ndarray) -> Any:
    fold = SimpleNamespace(y=labels, keys=np.arange(len(labels)).astype(str))
    label_free = SimpleNamespace(fold_score=lambda: flags)
    return SimpleNamespace(fold=fold, fold_score=lambda: trees, label_free=label_free)


def test_trees_beat_the_weighted_red_flags_only_when_clearly_ahead_on_the_fold() -> None:
    rng = np.random.default_rng(3)
    labels = (rng.random(2000) < 0.05).astype(float)
    noise = rng.random(2000)
    flags = noise + labels * 0.3  # some signal
    sharper = noise + labels * 3.0  # nearly every positive first
    beaten, why = champion.trees_beat_label_free(_fold_model(sharper, flags, labels))
    assert beaten and why.startswith("beat the weighted red flags")
    same, why = champion.trees_beat_label_free(_fold_model(flags.copy(), flags, labels))
    assert not same and "50% of paired resamples" in why  # every resample a tie: half a win
    worse, _ = champion.trees_beat_label_free(_fold_model(noise, sharper, labels))
    assert not worse
