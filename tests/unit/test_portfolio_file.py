"""The portfolio file: parsed into items, every problem reported at once with its entry and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from sca.core.portfolio import PortfolioError, load_portfolio_text, parse_portfolio, unset_variables

ROOT = Path(__file__).resolve().parents[2]


def problems(document: object) -> list[str]:
    with pytest.raises(PortfolioError) as raised:
        parse_portfolio(document, "test.yaml")
    return raised.value.problems


def test_the_demo_portfolio_is_valid_with_23_items_of_two_ecosystems() -> None:
    portfolio = load_portfolio_text((ROOT / "include" / "portfolio.yaml").read_text(), "include/portfolio.yaml")
    assert portfolio.name == "acme-demo-portfolio"
    assert len(portfolio) == 23
    ecosystems = {tag for item in portfolio.items for tag in item.tags if tag in ("pypi", "npm")}
    assert ecosystems == {"pypi", "npm"}
    six_sdist = next(item for item in portfolio.items if item.id == "six-sdist")
    assert six_sdist.tools == ("scancodeio", "purldb")
    urllib3 = next(item for item in portfolio.items if item.id == "urllib3")
    assert (urllib3.input, urllib3.owner, urllib3.pipelines) == (
        "${SCA_INPUTS_BASE_URL}/urllib3-1.26.18-py2.py3-none-any.whl",
        "platform-team",
        ("scan_single_package",),
    )
    assert urllib3.tools == ("scancodeio", "purldb", "fossid")
    # every demo input is a file the setup downloads (include/demo-packages.txt) or ships (include/demo)
    listed = {
        line.split()[2]
        for line in (ROOT / "include" / "demo-packages.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    shipped = {p.name for p in (ROOT / "include" / "demo").iterdir()}
    assert {item.input.removeprefix("${SCA_INPUTS_BASE_URL}/") for item in portfolio.items} <= listed | shipped
    assert unset_variables(portfolio, {"SCA_INPUTS_BASE_URL": "http://127.0.0.1:8765"}) == []
    assert unset_variables(portfolio, {})[0] == (
        "items[0] (id 'attrs'): input names ${SCA_INPUTS_BASE_URL}, which is not set in the worker's environment"
    )


def test_defaults_are_inherited_and_items_override_them() -> None:
    portfolio = parse_portfolio(
        {
            "defaults": {"tools": ["scancodeio"], "owner": "ospo", "tags": ["nightly"]},
            "items": [
                {"id": "a", "input": "a.whl"},
                {
                    "id": "b",
                    "input": "https://example.invalid/b.tgz",
                    "tools": ["fossid", "scancodeio"],
                    "owner": "web",
                    "tags": ["npm"],
                    "pipelines": ["inspect_packages:StaticResolver"],
                },
                {"id": 7, "input": "pkg:npm/left-pad@1.3.0"},
            ],
        },
        "p.yaml",
        default_pipelines=("scan_codebase",),
    )
    assert [i.as_dict() for i in portfolio.items] == [
        {
            "id": "a",
            "input": "a.whl",
            "pipelines": ["scan_codebase"],
            "tools": ["scancodeio"],
            "owner": "ospo",
            "tags": ["nightly"],
        },
        {
            "id": "b",
            "input": "https://example.invalid/b.tgz",
            "pipelines": ["inspect_packages:StaticResolver"],
            "tools": ["scancodeio", "fossid"],
            "owner": "web",
            "tags": ["npm"],
        },
        {
            "id": "7",
            "input": "pkg:npm/left-pad@1.3.0",
            "pipelines": ["scan_codebase"],
            "tools": ["scancodeio"],
            "owner": "ospo",
            "tags": ["nightly"],
        },
    ]
    assert portfolio.name == "p.yaml"


def test_every_problem_is_reported_naming_its_entry_and_field() -> None:
    found = problems(
        {
            "nmae": "typo",
            "items": [
                {"id": "ok", "input": "ok.whl"},
                {"id": "ok", "input": "dup.whl"},
                {"id": "bad id!", "input": "x.whl"},
                {"id": "noinput"},
                {"id": "ftp", "input": "ftp://host/x.tgz"},
                {"id": "tools", "input": "x.whl", "tools": ["fosid", "purldb"]},
                {"id": "pipes", "input": "x.whl", "pipelines": ["Scan Codebase"]},
                {"id": "colour", "input": "x.whl", "colour": "blue"},
                {"id": "purl", "input": "pkg:pypi/six"},
                {"id": "escape", "input": "../etc/passwd"},
                "just a string",
            ],
        }
    )
    assert found == [
        "top level: unknown field 'nmae' (did you mean 'name'?)",
        "items[1] (id 'ok'): id 'ok' is already used by items[0]",
        "items[2] (id 'bad id!'): id 'bad id!' is missing or invalid (1-100 letters, digits, '.', '_' or '-', "
        "starting with a letter or digit)",
        "items[3] (id 'noinput'): input must be a non-empty string (a URL, a purl, or a file under the inputs folder)",
        "items[4] (id 'ftp'): input 'ftp://host/x.tgz': the URL scheme 'ftp' is not supported; give an http(s) URL",
        "items[5] (id 'tools'): tools: unknown tool 'fosid' (did you mean 'fossid'?)",
        "items[5] (id 'tools'): tools: scancodeio is required (PurlDB matches its results; the report needs it)",
        "items[6] (id 'pipes'): pipelines[0] 'Scan Codebase' is not a valid pipeline",
        "items[6] (id 'pipes'): pipelines must name at least one ScanCode.io pipeline",
        "items[7] (id 'colour'): unknown field 'colour' (known fields: id, input, pipelines, tools, owner, tags)",
        "items[8] (id 'purl'): input 'pkg:pypi/six': a purl needs a version to be scanned",
        "items[9] (id 'escape'): input '../etc/passwd': "
        "a file must be named relative to the inputs folder, without '..'",
        "items[10]: must be a mapping with at least 'id' and 'input', not str",
    ]


def test_the_error_message_names_the_file_and_counts_the_problems() -> None:
    with pytest.raises(PortfolioError) as raised:
        parse_portfolio({"items": [{"id": "x"}]}, "nightly.yaml")
    assert str(raised.value) == (
        "portfolio nightly.yaml: 1 problem(s):\n"
        "  - items[0] (id 'x'): input must be a non-empty string (a URL, a purl, or a file under the inputs folder)"
    )


def test_yaml_syntax_errors_name_the_line() -> None:
    with pytest.raises(PortfolioError) as raised:
        load_portfolio_text("items:\n  - id: a\n    input: [unclosed\n", "broken.yaml")
    assert raised.value.problems[0].startswith("not valid YAML at line 4, column 1:")


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (None, "the file must hold a mapping with 'items', not NoneType"),
        ({"items": []}, "items: must be a non-empty list of entries"),
        ({"defaults": [], "items": [{"id": "a", "input": "a"}]}, "defaults: must be a mapping, not list"),
    ],
)
def test_wrong_shapes(document: object, expected: str) -> None:
    assert problems(document) == [expected]


def test_a_bare_list_of_items_is_a_portfolio_and_5000_items_parse() -> None:
    items = [{"id": f"pkg-{i:05d}", "input": f"pkg-{i}.tgz", "tags": ["generated"]} for i in range(5000)]
    portfolio = parse_portfolio(items, "generated.yaml")
    assert len(portfolio) == 5000
    assert portfolio.items[4999].id == "pkg-04999"
    assert portfolio.items[0].tools == ("scancodeio", "purldb", "fossid")
