"""The broker list: its parsing, and the one module shared by the gateway, the client library and the
partner kit, which must stay the same in the three."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.transports.brokers import broker_urls, safe_urls

ROOT = Path(__file__).resolve().parents[2]
COPIES = ["gateway/transports/brokers.py", "client/gateway_client/brokers.py", "partner/gateway_partner/brokers.py"]


def test_the_three_copies_are_the_same() -> None:
    """The gateway, the client library and the partner kit each install alone, so each has the module:
    a change to one that is not made to the others fails here."""
    texts = {path: (ROOT / path).read_text() for path in COPIES}
    assert len(set(texts.values())) == 1, "brokers.py differs between " + ", ".join(COPIES)


def test_a_comma_separated_list_gives_each_broker_in_order() -> None:
    """Spaces around the commas and an empty item are ignored; a list passes through."""
    text = " amqp://a@n1:5672/ ,, amqps://a@n2:5671/vh "
    assert broker_urls(text) == ["amqp://a@n1:5672/", "amqps://a@n2:5671/vh"]
    assert broker_urls(["amqp://n1/", "amqp://n2/"]) == ["amqp://n1/", "amqp://n2/"]


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("", "no broker URL given"),
        ("amqp://u:secret@n1/,http://n2/", "'http://n2/' is not an amqp"),
        ("amqp://u:secret@n1/;amqp://u:secret@n2/", r"'amqp://u:\*\*\*@n1/;amqp"),
    ],
)
def test_a_bad_broker_is_named_without_its_password(value: str, names: str) -> None:
    """A URL that is not AMQP, or two run together without a comma, is refused by name, password hidden."""
    with pytest.raises(ValueError, match=names) as caught:
        broker_urls(value)
    assert "secret" not in str(caught.value)


def test_urls_are_shown_without_passwords() -> None:
    """What is shown or logged of a list keeps hosts and users, never passwords."""
    assert safe_urls("amqp://gw:pw@n1:5672/,amqp://n2/") == "amqp://gw:***@n1:5672/,amqp://n2/"
