"""Which addresses a source may connect to: the kinds that are not public, however written, and the endpoints a
source's own URLs make reachable."""

from __future__ import annotations

import ipaddress

import pytest

from bot.sources.network import AddressRefused, Reach, checked_addresses, non_public


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::127.0.0.1", "loopback"),  # the old IPv4-compatible form
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("0.1.2.3", "private"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("100.64.0.1", "reserved"),  # carrier-grade NAT
        ("198.18.0.1", "private"),  # benchmarking
        ("240.0.0.1", "private"),
        ("255.255.255.255", "private"),
        # Public: the other side.
        ("93.184.216.34", None),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("2002:808:808::", None),  # 6to4 of 8.8.8.8
    ],
)
def test_the_kind_of_each_address(address: str, kind: str | None) -> None:
    assert non_public(ipaddress.ip_address(address)) == kind


def test_a_sources_own_addresses_are_reachable_at_their_port_only() -> None:
    reach = Reach.of(
        ["http://127.0.0.1:8080/feed.xml?t=1", "https://[::1]/x", "http://localhost:9000", "https://news.example/rss"]
    )
    assert reach.refusal(ipaddress.ip_address("127.0.0.1"), 8080) is None
    assert reach.refusal(ipaddress.ip_address("::ffff:127.0.0.1"), 8080) is None  # the same address
    assert reach.refusal(ipaddress.ip_address("127.0.0.1"), 8081) == "loopback"  # another service
    assert reach.refusal(ipaddress.ip_address("::1"), 443) is None
    assert (
        reach.refusal(ipaddress.ip_address("127.0.0.1"), 9000) is None
        and reach.refusal(ipaddress.ip_address("::1"), 9000) is None
    )
    assert reach.refusal(ipaddress.ip_address("10.0.0.1"), 443) == "private"  # a name reaches nothing private
    assert reach.refusal(ipaddress.ip_address("93.184.216.34"), 443) is None
    anything = Reach.of([], allow_private=True)
    assert anything.refusal(ipaddress.ip_address("169.254.169.254"), 80) is None


def test_a_name_that_resolves_to_a_private_address_is_refused_before_connecting() -> None:
    with pytest.raises(AddressRefused) as refused:
        checked_addresses("localhost", 8080, reach=Reach(), timeout=5)
    assert str(refused.value).startswith("localhost resolves to ")
    assert str(refused.value).endswith(
        ", a loopback address: not connected (allow_private: true on the source allows it)"
    )
    assert checked_addresses("localhost", 8080, reach=Reach.of(["http://localhost:8080/"]), timeout=5)
