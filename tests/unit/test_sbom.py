"""The portfolio's merged CycloneDX SBOM: unique bom-refs when items share a purl, licenses and purls
the schema would not take, a serial number that a re-run keeps, and the library's own validator."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from typing import Any

import pytest

from sca.reports import sbom
from sca.reports.sbom import SbomComponent, SbomItem, build_portfolio_sbom, validate_sbom

NIGHT = datetime(2026, 11, 25, 2, 30, tzinfo=UTC)
SHA_A = "a" * 64
SHA_B = "0123456789ABCDEF" * 4
SHA_C = "c" * 64
LODASH = "pkg:npm/lodash@4.17.21"


def package(item_id: str, purl: str | None, name: str, version: str | None, lic: str | None) -> SbomComponent:
    return SbomComponent(
        item_id=item_id, purl=purl, name=name, version=version, license_expression=lic, sha256=None, kind="package"
    )


def portfolio_items() -> list[SbomItem]:
    return [
        SbomItem(
            item_id="app-a",
            filename="app-a-1.0.zip",
            input_sha256=SHA_A,
            owner="team-web",
            tags=("web", "prod"),
            components=(
                package("app-a", LODASH, "lodash", "4.17.21", "MIT"),
                package("app-a", "pkg:pypi/requests@2.32.3", "requests", "2.32.3", "Apache-2.0"),
                # The same package again, spelled with an upper-case type: kept once.
                package("app-a", "pkg:NPM/lodash@4.17.21", "lodash", "4.17.21", "MIT"),
            ),
        ),
        SbomItem(
            item_id="app-b",
            filename="app-b.tar.gz",
            input_sha256=SHA_B,
            owner=None,
            tags=(),
            components=(
                package("app-b", LODASH, "lodash", "4.17.21", "MIT"),
                package(
                    "app-b",
                    "pkg:maven/org.apache.commons/commons-lang3@3.14.0",
                    "commons-lang3",
                    "3.14.0",
                    "apache-2.0 OR mit",
                ),
            ),
        ),
        SbomItem(
            item_id="blob-c",
            filename="blob-c.bin",
            input_sha256=SHA_C,
            owner="team-data",
            tags=("vendor",),
            components=(
                SbomComponent(
                    item_id="blob-c",
                    purl=None,
                    name="blob-c.bin",
                    version=None,
                    license_expression="LicenseRef-scancode-proprietary-license",
                    sha256=SHA_C,
                    kind="input",
                ),
            ),
        ),
    ]


def all_refs(doc: dict[str, Any]) -> list[str]:
    refs: list[str] = []

    def walk(component: dict[str, Any]) -> None:
        refs.append(component["bom-ref"])
        for child in component.get("components", []):
            walk(child)

    walk(doc["metadata"]["component"])
    for component in doc["components"]:
        walk(component)
    return refs


def edges(doc: dict[str, Any]) -> dict[str, list[str]]:
    return {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}


def build(items: list[SbomItem], seed: str = "demo/2026-11-25") -> dict[str, Any]:
    text = build_portfolio_sbom("demo", seed, items, NIGHT)
    validate_sbom(text)
    return json.loads(text)


def test_three_items_sharing_a_purl() -> None:
    doc = build(portfolio_items())
    assert doc["bomFormat"] == "CycloneDX"
    assert doc["specVersion"] == "1.6"
    assert doc["metadata"]["component"] == {"bom-ref": "portfolio:demo", "name": "demo", "type": "application"}
    assert doc["metadata"]["timestamp"] == "2026-11-25T02:30:00+00:00"
    assert [t["name"] for t in doc["metadata"]["tools"]["components"]] == ["sca-orchestrator", "cyclonedx-python-lib"]

    assert [c["bom-ref"] for c in doc["components"]] == ["item:app-a", "item:app-b", "item:blob-c"]
    refs = all_refs(doc)
    assert len(refs) == 9
    assert len(set(refs)) == 9
    assert sorted(refs) == [
        "component:app-a#1",
        "component:app-a#2",
        "component:app-b#1",
        "component:app-b#2",
        "component:blob-c#1",
        "item:app-a",
        "item:app-b",
        "item:blob-c",
        "portfolio:demo",
    ]

    app_a, app_b, blob_c = doc["components"]
    assert app_a == {
        "bom-ref": "item:app-a",
        "type": "application",
        "name": "app-a",
        "hashes": [{"alg": "SHA-256", "content": SHA_A}],
        "properties": [
            {"name": "sca:filename", "value": "app-a-1.0.zip"},
            {"name": "sca:owner", "value": "team-web"},
            {"name": "sca:tag", "value": "prod"},
            {"name": "sca:tag", "value": "web"},
        ],
        "components": [
            {
                "bom-ref": "component:app-a#1",
                "type": "library",
                "name": "lodash",
                "version": "4.17.21",
                "purl": LODASH,
                "licenses": [{"expression": "MIT"}],
            },
            {
                "bom-ref": "component:app-a#2",
                "type": "library",
                "name": "requests",
                "version": "2.32.3",
                "purl": "pkg:pypi/requests@2.32.3",
                "licenses": [{"expression": "Apache-2.0"}],
            },
        ],
    }
    assert app_b == {
        "bom-ref": "item:app-b",
        "type": "application",
        "name": "app-b",
        "hashes": [{"alg": "SHA-256", "content": SHA_B.lower()}],
        "properties": [{"name": "sca:filename", "value": "app-b.tar.gz"}],
        "components": [
            {
                "bom-ref": "component:app-b#2",
                "type": "library",
                "name": "commons-lang3",
                "version": "3.14.0",
                "purl": "pkg:maven/org.apache.commons/commons-lang3@3.14.0",
                "licenses": [{"expression": "Apache-2.0 OR MIT"}],
            },
            {
                "bom-ref": "component:app-b#1",
                "type": "library",
                "name": "lodash",
                "version": "4.17.21",
                "purl": LODASH,
                "licenses": [{"expression": "MIT"}],
            },
        ],
    }
    assert blob_c == {
        "bom-ref": "item:blob-c",
        "type": "application",
        "name": "blob-c",
        "hashes": [{"alg": "SHA-256", "content": SHA_C}],
        "properties": [
            {"name": "sca:filename", "value": "blob-c.bin"},
            {"name": "sca:owner", "value": "team-data"},
            {"name": "sca:tag", "value": "vendor"},
        ],
        "components": [
            {
                "bom-ref": "component:blob-c#1",
                "type": "file",
                "name": "blob-c.bin",
                "hashes": [{"alg": "SHA-256", "content": SHA_C}],
                "licenses": [{"expression": "LicenseRef-scancode-proprietary-license"}],
            }
        ],
    }

    # The shared purl: one nested component in each item that has it, each with its own ref.
    holders = sorted(
        (item["bom-ref"], child["bom-ref"])
        for item in doc["components"]
        for child in item.get("components", [])
        if child.get("purl") == LODASH
    )
    assert holders == [("item:app-a", "component:app-a#1"), ("item:app-b", "component:app-b#1")]

    assert len(doc["dependencies"]) == 4
    assert edges(doc) == {
        "portfolio:demo": ["item:app-a", "item:app-b", "item:blob-c"],
        "item:app-a": [],
        "item:app-b": [],
        "item:blob-c": [],
    }


def test_scancode_keys_and_garbage_licenses_keep_the_bom_valid() -> None:
    texts = [
        "LicenseRef-scancode-foo-bar-unknown",  # a LicenseRef the library does not know
        "((( and",
        "mit AND unknown-license-reference",  # ScanCode keys, not SPDX
        "LicenseRef-scancode-public-domain",  # a ScanCode key the library knows
        "GPL-2.0-or-later WITH Classpath-exception-2.0",
        "   ",
        None,
    ]
    item = SbomItem(
        item_id="lic",
        filename="lic.zip",
        input_sha256=None,
        owner=None,
        tags=(),
        components=tuple(package("lic", f"pkg:generic/p{n}@1", f"p{n}", "1", t) for n, t in enumerate(texts)),
    )
    doc = build([item])
    (lic,) = doc["components"]
    assert "hashes" not in lic
    licenses = {c["name"]: c.get("licenses") for c in lic["components"]}
    assert licenses == {
        "p0": [{"license": {"name": "LicenseRef-scancode-foo-bar-unknown"}}],
        "p1": [{"license": {"name": "((( and"}}],
        "p2": [{"license": {"name": "mit AND unknown-license-reference"}}],
        "p3": [{"expression": "LicenseRef-scancode-public-domain"}],
        "p4": [{"expression": "GPL-2.0-or-later WITH Classpath-exception-2.0"}],
        "p5": None,
        "p6": None,
    }


def test_bad_purl_and_bad_sha256_are_kept_as_properties() -> None:
    item = SbomItem(
        item_id="odd",
        filename="odd.zip",
        input_sha256="not-a-digest",
        owner=None,
        tags=(),
        components=(
            package("odd", "not a purl", "thing", "0.1", None),
            package("odd", "not a purl", "thing", "0.1", None),  # no purl to dedupe on: both kept
            package("odd", "pkg:", "", None, None),
            SbomComponent(
                item_id="odd",
                purl=None,
                name="odd.zip",
                version=None,
                license_expression=None,
                sha256="xyz",
                kind="input",
            ),
        ),
    )
    doc = build([item])
    (odd,) = doc["components"]
    assert odd["properties"] == [
        {"name": "sca:filename", "value": "odd.zip"},
        {"name": "sca:sha256_unparsed", "value": "not-a-digest"},
    ]
    assert "hashes" not in odd
    assert sorted(odd["components"], key=lambda c: c["bom-ref"]) == [
        {
            "bom-ref": "component:odd#1",
            "type": "library",
            "name": "thing",
            "version": "0.1",
            "properties": [{"name": "sca:purl_unparsed", "value": "not a purl"}],
        },
        {
            "bom-ref": "component:odd#2",
            "type": "library",
            "name": "thing",
            "version": "0.1",
            "properties": [{"name": "sca:purl_unparsed", "value": "not a purl"}],
        },
        {
            "bom-ref": "component:odd#3",
            "type": "library",
            "name": "odd.zip",  # no name and no purl: the item's file name
            "properties": [{"name": "sca:purl_unparsed", "value": "pkg:"}],
        },
        {
            "bom-ref": "component:odd#4",
            "type": "file",
            "name": "odd.zip",
            "properties": [{"name": "sca:sha256_unparsed", "value": "xyz"}],
        },
    ]


def test_serial_number_is_the_same_for_the_same_seed() -> None:
    items = portfolio_items()
    first = build_portfolio_sbom("demo", "demo/2026-11-25", items, NIGHT)
    again = build_portfolio_sbom("demo", "demo/2026-11-25", list(reversed(items)), NIGHT)
    other = build_portfolio_sbom("demo", "demo/2026-11-26", items, NIGHT)
    assert json.loads(first)["serialNumber"] == "urn:uuid:79cf39e1-ea98-5c95-93a6-2d3477f8359e"
    assert str(sbom.SERIAL_NAMESPACE) == "0f14a49e-f63e-582a-bc89-6d9c52127702"
    assert again == first
    assert json.loads(other)["serialNumber"] == "urn:uuid:e0b5134a-6b89-51ff-85f2-10b89da8801e"


def test_validator_names_the_first_schema_error() -> None:
    doc = build(portfolio_items())
    del doc["components"][0]["name"]
    with pytest.raises(ValueError) as err:
        validate_sbom(json.dumps(doc))
    assert str(err.value) == "not a valid CycloneDX 1.6 SBOM: 'name' is a required property (at $.components[0])"

    doc = build(portfolio_items())
    doc["components"][1]["components"][0]["licenses"] = [{"license": {"id": "LicenseRef-scancode-foo"}}]
    with pytest.raises(ValueError) as err:
        validate_sbom(json.dumps(doc))
    assert str(err.value) == (
        "not a valid CycloneDX 1.6 SBOM: [{'license': {'id': 'LicenseRef-scancode-foo'}}] is not valid under any "
        "of the given schemas (at $.components[1].components[0].licenses)"
    )

    with pytest.raises(ValueError) as err:
        validate_sbom("{not json")
    assert str(err.value).startswith("not a valid CycloneDX 1.6 SBOM: not JSON (")


def test_validation_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    text = build_portfolio_sbom("demo", "seed", portfolio_items(), NIGHT)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network use during validation: {args!r}")

    sbom._validator.cache_clear()  # a fresh validator loads and resolves the schemas again
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    validate_sbom(text)
    with pytest.raises(ValueError, match="'name' is a required property"):
        validate_sbom(text.replace('"name": "demo",', "", 1))


def test_inputs_the_bom_cannot_hold_are_refused() -> None:
    items = portfolio_items()
    with pytest.raises(ValueError, match=r"duplicate item ids: \['app-a'\]"):
        build_portfolio_sbom("demo", "seed", [*items, items[0]], NIGHT)
    with pytest.raises(ValueError, match="timezone-aware"):
        build_portfolio_sbom("demo", "seed", items, datetime(2026, 11, 25))
    odd = SbomItem("x", "x.zip", None, None, (), (SbomComponent("x", None, "x", None, None, None, "vendored"),))
    with pytest.raises(ValueError, match=r"component kind 'vendored' is not one of \['input', 'package'\]"):
        build_portfolio_sbom("demo", "seed", [odd], NIGHT)
    stray = SbomItem("x", "x.zip", None, None, (), (package("y", None, "y", None, None),))
    with pytest.raises(ValueError, match="item 'x' holds a component of item 'y'"):
        build_portfolio_sbom("demo", "seed", [stray], NIGHT)
    with pytest.raises(ValueError, match="portfolio_name is empty"):
        build_portfolio_sbom("", "seed", items, NIGHT)


def test_two_thousand_items_build_and_validate() -> None:
    shared = "pkg:pypi/urllib3@2.2.1"
    items = [
        SbomItem(
            item_id=f"item-{n:04d}",
            filename=f"item-{n:04d}.tar.gz",
            input_sha256=f"{n:064x}",
            owner=f"team-{n % 7}",
            tags=("nightly",),
            components=(
                package(f"item-{n:04d}", f"pkg:npm/p{n}@1.0.0", f"p{n}", "1.0.0", "MIT"),
                package(f"item-{n:04d}", shared, "urllib3", "2.2.1", "MIT"),
            ),
        )
        for n in range(2000)
    ]
    doc = build(items, seed="big")
    assert len(doc["components"]) == 2000
    refs = all_refs(doc)
    assert len(refs) == 1 + 2000 + 4000
    assert len(set(refs)) == len(refs)
    assert sum(child.get("purl") == shared for item in doc["components"] for child in item["components"]) == 2000
    assert len(doc["dependencies"]) == 2001
    assert edges(doc)["portfolio:demo"] == [f"item:item-{n:04d}" for n in range(2000)]
