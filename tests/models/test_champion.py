"""The order in which training's challengers meet the gate (models.champion.gate_challengers)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

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


def test_trees_that_clear_the_bar_are_the_only_challenger(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    trees, _ = _models()
    judged = _gate(monkeypatch, {trees.strategy: True, LATENT_STRATEGY: True})
    model, decision = champion.gate_challengers(tmp_path, cast(TrainedModel, trees))
    assert model is trees and decision["promote"] and judged == [trees.strategy]
    assert "first_challenger" not in decision


def test_the_weighted_red_flags_serve_when_the_trees_fail_and_they_clear_the_bar(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    trees, label_free = _models()
    judged = _gate(monkeypatch, {trees.strategy: False, LATENT_STRATEGY: True})
    model, decision = champion.gate_challengers(tmp_path, cast(TrainedModel, trees))
    assert model is label_free and judged == [trees.strategy, LATENT_STRATEGY]
    assert decision["promote"] and decision["served"] == SERVED_MODEL
    assert decision["first_challenger"] == {"strategy": trees.strategy, "reason": f"{trees.strategy} fails"}
    assert (
        decision["reason"].startswith(f"{LATENT_STRATEGY} clears") and f"{trees.strategy} fails" in decision["reason"]
    )


def test_when_both_fail_the_decision_is_the_trees_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    trees, _ = _models()
    judged = _gate(monkeypatch, {trees.strategy: False, LATENT_STRATEGY: False})
    model, decision = champion.gate_challengers(tmp_path, cast(TrainedModel, trees))
    assert model is trees and judged == [trees.strategy, LATENT_STRATEGY]
    assert (
        not decision["promote"]
        and decision["served"] == SERVED_COUNT
        and decision["reason"] == f"{trees.strategy} fails"
    )
    assert decision["second_challenger"]["strategy"] == LATENT_STRATEGY
    assert decision["second_challenger"]["reason"] == f"{LATENT_STRATEGY} fails"


def test_the_weighted_red_flags_that_won_the_fold_are_judged_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, label_free = _models()
    judged = _gate(monkeypatch, {LATENT_STRATEGY: False})
    model, decision = champion.gate_challengers(tmp_path, cast(TrainedModel, label_free))
    assert model is label_free and judged == [LATENT_STRATEGY] and not decision["promote"]
