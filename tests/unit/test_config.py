"""Configuration is checked at start: inconsistencies are refused with the file and key named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway import config

SHIPPED = Path(__file__).resolve().parents[2] / "config"


def copy(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    shutil.copytree(SHIPPED, folder)
    return folder


def test_shipped_configuration_loads() -> None:
    """The shipped files give the seven v1 types, CNAS's own two, and dz.cnas's six purposes."""
    loaded = config.load(SHIPPED, env={})
    assert len(loaded.catalogue) == 9
    assert {t.name for t in loaded.catalogue.values() if t.provider == "dz.cnas"} == {
        "affiliation-certificate",
        "contribution-status-certificate",
    }
    assert len(loaded.requesters["dz.cnas"].purposes) == 6
    assert loaded.catalogue["death-record"].purposes["benefit-review"] == ("deathRecorded", "deathDate")


def test_environment_overrides_urls_and_port() -> None:
    """AMQP_URL and GATEWAY_HTTP_PORT override the files."""
    loaded = config.load(SHIPPED, env={"AMQP_URL": "amqp://x@h/", "GATEWAY_HTTP_PORT": "9090"})
    assert (loaded.settings.amqp_url, loaded.settings.http_port) == ("amqp://x@h/", 9090)


def test_purpose_releasing_unknown_field_is_refused(tmp_path: Path) -> None:
    """A purpose that releases a field the type does not have is a configuration error."""
    folder = copy(tmp_path)
    path = folder / "catalogue.toml"
    path.write_text(
        path.read_text().replace(
            'benefit-review = ["deathRecorded", "deathDate"]', 'benefit-review = ["deathRecorded", "shoeSize"]'
        )
    )
    with pytest.raises(config.ConfigError, match="shoeSize"):
        config.load(folder, env={})


def test_policy_naming_unknown_type_is_refused(tmp_path: Path) -> None:
    """A requester allowed a type that is not in the catalogue is a configuration error."""
    folder = copy(tmp_path)
    path = folder / "policy.toml"
    path.write_text(path.read_text().replace('"birth-certificate",', '"birth-certificat",', 1))
    with pytest.raises(config.ConfigError, match="birth-certificat"):
        config.load(folder, env={})


def test_missing_file_is_named(tmp_path: Path) -> None:
    """A missing file is reported by name."""
    folder = copy(tmp_path)
    (folder / "providers.toml").unlink()
    with pytest.raises(config.ConfigError, match=r"providers\.toml"):
        config.load(folder, env={})


def test_the_configuration_is_found_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from a folder without `config/`, the commands still find the configuration (shipped or the checkout's)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    assert (config.default_config_dir() / "catalogue.toml").is_file()
