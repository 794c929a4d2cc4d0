"""The simulator config: every knob declared once, unknown keys rejected, overrides applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.config import ConfigError, SimulationConfig, load_config
from simulator.truth import load_truth
from simulator.world import simulate_world


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "world.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_no_file_gives_defaults() -> None:
    assert load_config(None) == SimulationConfig()


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("[realism]\nmalformed_row_shar = 0.1\n", "realism.malformed_row_shar"),
        ("[realsim]\nmalformed_row_share = 0.1\n", "realsim"),
        ("[realism]\nmalformed_row_share = 2.0\n", "realism.malformed_row_share"),
        ("[prevalence.exploitative_employer_by_sector]\nmining = 0.1\n", "mining"),
        ("[world]\nyears = 'three'\n", "world.years"),
        ("not toml at all = = =\n", "cannot read config"),
    ],
)
def test_bad_config_is_rejected_with_the_offending_key(tmp_path: Path, body: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, body))
    assert fragment in str(err.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "absent.toml")


def test_overrides_reach_the_world(tmp_path: Path) -> None:
    sectors = "\n".join(f"{s} = 0.0" for s in SimulationConfig().prevalence.exploitative_employer_by_sector)
    cfg = load_config(
        _write(
            tmp_path,
            f"""
[prevalence.exploitative_employer_by_sector]
{sectors}

[realism]
malformed_row_share = 0.0
duplicate_share = 0.0
""",
        )
    )
    simulate_world("tiny", 1, tmp_path / "w", cfg, workers=1)
    assert not load_truth(tmp_path / "w", "employers").column("exploitative").to_numpy(zero_copy_only=False).any()
    assert load_truth(tmp_path / "w", "malformed").num_rows == 0
    assert load_truth(tmp_path / "w", "duplicates").num_rows == 0
