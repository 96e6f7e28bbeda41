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


def test_amqp_url_may_name_several_brokers() -> None:
    """AMQP_URL with a cluster's nodes separated by commas loads, and gives the brokers in order."""
    nodes = "amqp://gw:pw@rabbit-1:5672/, amqp://gw:pw@rabbit-2:5672/,amqps://gw:pw@rabbit-3:5671/"
    loaded = config.load(SHIPPED, env={"AMQP_URL": nodes})
    assert [b.split("@")[1] for b in config.broker_list(loaded.settings.amqp_url)] == [
        "rabbit-1:5672/", "rabbit-2:5672/", "rabbit-3:5671/"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("amqp_url", "names"),
    [
        ("amqp://gw:pw@rabbit-1:5672/;amqp://gw:pw@rabbit-2:5672/", "broker 1 of 1"),
        ("amqp://gw:pw@rabbit-1:5672/,rabbit-2:5672", "broker 2 of 2"),
        (" , ", "no broker URL given"),
    ],
)
def test_a_malformed_broker_list_is_refused_naming_the_broker(amqp_url: str, names: str) -> None:
    """A broker that is not an AMQP URL with a host is refused at start, by its place in the list, without
    showing its password; an empty list too."""
    with pytest.raises(config.ConfigError, match=names) as caught:
        config.load(SHIPPED, env={"AMQP_URL": amqp_url})
    assert "pw" not in str(caught.value)


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
