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


def _challenge(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, trees_clear: bool, flags_clear: bool, trees_beat_flags: bool
) -> tuple[Any, Any, list[str]]:
    """gate_challengers on trees won by the fold with the given verdicts: (the model offered, the decision, the
    strategies the gate judged in order)."""
    trees, _ = _models()
    judged = _gate(monkeypatch, {trees.strategy: trees_clear, LATENT_STRATEGY: flags_clear})
    verdict = (True, "beats the weighted red flags") if trees_beat_flags else (False, "does not beat them clearly")
    monkeypatch.setattr(champion, "trees_beat_label_free", lambda model: verdict)
    model, decision = champion.gate_challengers(tmp_path, cast(TrainedModel, trees))
    return model, decision, judged


def test_the_weighted_red_flags_serve_when_they_clear_the_bar_and_the_trees_do_not_beat_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model, decision, judged = _challenge(monkeypatch, tmp_path, True, True, trees_beat_flags=False)
    assert model.strategy == LATENT_STRATEGY and judged == [LATENT_STRATEGY]  # the trees never meet the gate
    assert decision["promote"] and decision["served"] == SERVED_MODEL
    assert decision["other_challenger"] == {
        "strategy": "ipw+count 0.50",
        "reason": "ipw+count 0.50 does not beat them clearly",
    }
    assert decision["reason"].startswith(f"{LATENT_STRATEGY} clears")


def test_trees_that_beat_the_weighted_red_flags_and_clear_the_bar_serve(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model, decision, judged = _challenge(monkeypatch, tmp_path, True, True, trees_beat_flags=True)
    assert model.strategy != LATENT_STRATEGY and judged == [LATENT_STRATEGY, model.strategy] and decision["promote"]
    assert decision["reason"] == f"{model.strategy} clears; {model.strategy} beats the weighted red flags"
    assert decision["other_challenger"]["strategy"] == LATENT_STRATEGY


def test_trees_that_beat_the_weighted_red_flags_but_fail_the_bar_leave_them_serving(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model, decision, judged = _challenge(monkeypatch, tmp_path, False, True, trees_beat_flags=True)
    assert model.strategy == LATENT_STRATEGY and judged == [LATENT_STRATEGY, "ipw+count 0.50"] and decision["promote"]
    assert (
        decision["other_challenger"]["reason"]
        == "ipw+count 0.50 beats the weighted red flags, but ipw+count 0.50 fails"
    )


@pytest.mark.parametrize("trees_clear", [True, False])
def test_trees_are_judged_alone_when_the_weighted_red_flags_fail(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, trees_clear: bool
) -> None:
    model, decision, judged = _challenge(monkeypatch, tmp_path, trees_clear, False, trees_beat_flags=True)
    assert model.strategy != LATENT_STRATEGY and judged == [LATENT_STRATEGY, model.strategy]
    assert decision["promote"] is trees_clear
    assert decision["served"] == (SERVED_MODEL if trees_clear else SERVED_COUNT)
    assert decision["reason"] == f"{model.strategy} {'clears' if trees_clear else 'fails'}"
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
    assert beaten and why.startswith("beats the weighted red flags")
    same, why = champion.trees_beat_label_free(_fold_model(flags.copy(), flags, labels))
    assert not same and "50% of paired resamples" in why  # every resample a tie: half a win
    worse, _ = champion.trees_beat_label_free(_fold_model(noise, sharper, labels))
    assert not worse
