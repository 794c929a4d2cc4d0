"""deploy/: the entrypoint turns secret files into variables, the compose file wires one TRACERISK_HOME volume and
file secrets without a password in any URL, and the Containerfile copies every package the wheel is built from."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
TRACERISK_SERVICES = ("prefect-server", "service", "scheduler")


def _entrypoint(env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(DEPLOY / "entrypoint.sh"), *command],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def _exported(out: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_entrypoint_reads_secret_files_into_variables(tmp_path: Path) -> None:
    key, password = tmp_path / "key", tmp_path / "pw"
    key.write_text("k" * 40 + "\n")
    password.write_text("p@ss word\n")
    anchors = str(tmp_path / "anchors.jsonl")
    run = _entrypoint(
        {
            "TRACERISK_SECRET_KEY_FILE": str(key),
            "PGPASSWORD_FILE": str(password),
            "TRACERISK_AUDIT_ANCHOR_FILE": anchors,
        },
        "env",
    )
    assert run.returncode == 0, run.stderr
    env = _exported(run.stdout)
    assert env["TRACERISK_SECRET_KEY"] == "k" * 40 and env["PGPASSWORD"] == "p@ss word"
    assert "TRACERISK_SECRET_KEY_FILE" not in env and "PGPASSWORD_FILE" not in env
    assert env["TRACERISK_AUDIT_ANCHOR_FILE"] == anchors  # a path setting, not a secret: left alone
    assert "TRACERISK_AUDIT_ANCHOR" not in env


@pytest.mark.parametrize("both", [True, False])
def test_entrypoint_refuses_a_doubled_or_unreadable_secret(tmp_path: Path, both: bool) -> None:
    key = tmp_path / "key"
    if both:
        key.write_text("k" * 40)
        env = {"TRACERISK_SECRET_KEY_FILE": str(key), "TRACERISK_SECRET_KEY": "x" * 40}
    else:
        env = {"TRACERISK_SECRET_KEY_FILE": str(tmp_path / "missing")}
    run = _entrypoint(env, "true")
    assert run.returncode == 2 and "TRACERISK_SECRET_KEY_FILE" in run.stderr


def _compose() -> dict[str, dict[str, object]]:
    document: dict[str, dict[str, object]] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return document


def test_compose_runs_the_four_roles_on_one_home_volume() -> None:
    compose = _compose()
    services: dict[str, dict[str, object]] = compose["services"]  # type: ignore[assignment]
    assert set(services) == {"db", "prefect-server", "service", "scheduler"}
    home = _env_in_image("TRACERISK_HOME")
    mounts = {name: services[name]["volumes"] for name in TRACERISK_SERVICES}
    assert all(m == [f"tracerisk-home:{home}"] for m in mounts.values()), mounts
    assert set(compose["volumes"]) == {"tracerisk-home", "pgdata"}


def test_compose_takes_secrets_from_files_and_puts_no_password_in_a_url() -> None:
    compose = _compose()
    services: dict[str, dict[str, object]] = compose["services"]  # type: ignore[assignment]
    assert all(not Path(s["file"]).is_absolute() for s in compose["secrets"].values())  # type: ignore[attr-defined]
    for name, service in services.items():
        for key, value in dict(service.get("environment", {})).items():  # type: ignore[call-overload]
            assert not re.search(r"://[^/@:]+:[^/@]+@", str(value)), f"{name}: {key} holds a password"
            assert "PASSWORD" not in key or key.endswith("_FILE"), f"{name}: {key} set in the clear"
    service_env: dict[str, str] = services["service"]["environment"]  # type: ignore[assignment]
    assert service_env["TRACERISK_MODE"] == "production" and service_env["TRACERISK_COOKIE_SECURE"] == "true"
    assert service_env["TRACERISK_SECRET_KEY_FILE"].startswith("/run/secrets/")
    for service in services.values():
        assert all(str(p).startswith("127.0.0.1:") for p in service.get("ports", [])), "ports bound to loopback"  # type: ignore[attr-defined]
    assert (DEPLOY / "secrets" / ".gitignore").read_text().splitlines()[0] == "*"  # secrets never committed


def _env_in_image(name: str) -> str:
    text = (DEPLOY / "Containerfile").read_text()
    found = re.search(rf"\b{name}=(\S+)", text)
    assert found, name
    return found.group(1)


def test_containerfile_copies_every_package_and_the_build_inputs() -> None:
    text = (DEPLOY / "Containerfile").read_text()
    sources = [s for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.M) for s in line.split()[:-1]]
    assert sources and all((ROOT / s).exists() for s in sources), sources
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages <= set(sources)
    assert {"pyproject.toml", "constraints.txt", "LICENSE", "deploy/entrypoint.sh"} <= set(sources)
    assert _env_in_image("TRACERISK_MODE") == "production"
    assert re.search(r"^USER tracerisk$", text, re.M)  # never root
