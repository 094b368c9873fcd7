"""The PurlDB sandbox against the real server's contract (aboutcode-org/purldb at
076c188f918f3d2e824f147320b9f57be291ff6e; see sandboxes/purldb/README.md for the table).

Raw HTTP with ``requests`` on purpose: this test never imports our client (plugins/sca/...).
The sandbox runs as a real process over an index written here (27 packages, the wanted ones
not first, several versions of one package, a binary/sources package set, shared checksums).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import pytest
import requests

from tests.sandbox_process import ROOT, configure, free_port, sandbox

TOKEN = "purldb-contract-token"
THROTTLED = {"message": "Your request has been throttled. Please contact support@nexb.com"}


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def pid(n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"contract-package-{n}"))


SET_UUID = str(uuid.uuid5(uuid.NAMESPACE_URL, "contract-set-twill"))
SHARED_SHA1 = sha1("Shared.java")
IOUTILS_SHA1 = sha1("IOUtils.class")
DJANGO_INIT_SHA1 = sha1("django_package/__init__.py")
TWILL_SHA1S = [sha1(f"twill-{n}") for n in range(25)]
TWILL_SOURCE_REPO = "pkg:github/apache/twill@v0.12.0?commit=0123456789abcdef0123456789abcdef01234567"


def resource(path: str, digest: str) -> dict[str, Any]:
    return {
        "path": path,
        "type": "file",
        "name": path.rsplit("/", 1)[-1],
        "extension": "." + path.rsplit(".", 1)[-1],
        "size": 100,
        "md5": md5(digest),
        "sha1": digest,
        "sha256": None,
        "sha512": None,
        "git_sha1": None,
        "mime_type": "text/plain",
        "file_type": "ASCII text",
        "programming_language": "Java",
        "is_binary": False,
        "is_text": True,
        "is_archive": False,
        "is_media": False,
        "is_key_file": False,
        "detected_license_expression": "apache-2.0",
        "detected_license_expression_spdx": "Apache-2.0",
        "license_detections": [],
        "license_clues": [],
        "percentage_of_license_text": None,
        "copyrights": [],
        "holders": [],
        "authors": [],
        "package_data": [],
        "emails": [],
        "urls": [],
        "extra_data": {},
    }


def package(
    n: int,
    type_: str,
    namespace: str,
    name: str,
    version: str,
    filename: str,
    content: str,
    *,
    qualifiers: str = "",
    release_date: str | None = None,
    checksum_seed: str | None = None,
    resources: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    purl = f"pkg:{type_}/{namespace + '/' if namespace else ''}{name}@{version}"
    purl += f"?{qualifiers}" if qualifiers else ""
    seed = checksum_seed or filename
    record = {
        "uuid": pid(n),
        "filename": filename,
        "package_content": content,
        "purl": purl,
        "type": type_,
        "namespace": namespace,
        "name": name,
        "version": version,
        "qualifiers": qualifiers,
        "subpath": "",
        "primary_language": "",
        "description": "",
        "release_date": release_date,
        "parties": [],
        "keywords": [],
        "homepage_url": None,
        "download_url": f"https://example.org/{filename}",
        "bug_tracking_url": None,
        "code_view_url": None,
        "vcs_url": None,
        "repository_homepage_url": None,
        "repository_download_url": None,
        "api_data_url": None,
        "size": 1000 + n,
        "md5": md5(seed),
        "sha1": sha1(seed),
        "sha256": hashlib.sha256(seed.encode()).hexdigest(),
        "sha512": None,
        "copyright": None,
        "holder": None,
        "declared_license_expression": "apache-2.0",
        "declared_license_expression_spdx": "Apache-2.0",
        "license_detections": [],
        "other_license_expression": None,
        "other_license_expression_spdx": None,
        "other_license_detections": [],
        "extracted_license_statement": None,
        "notice_text": None,
        "source_packages": [],
        "extra_data": {},
        "package_uid": f"{purl}{'&' if qualifiers else '?'}uuid={pid(n)}",
        "datasource_id": None,
        "file_references": [],
        "dependencies": [],
        "history": [{"message": f"created {filename}", "timestamp": "2026-01-01-00:00:00"}],
        "resources": resources or [],
    }
    record.update(extra)
    return record


def build_index() -> dict[str, Any]:
    packages = [
        package(0, "npm", "", "left-pad", "1.3.0", "left-pad-1.3.0.tgz", "source_archive", release_date="2018-01-01"),
        package(
            1,
            "maven",
            "org.apache.commons",
            "io",
            "1.3.4",
            "io-1.3.4.jar",
            "binary",
            release_date="2008-01-01",
            checksum_seed="commons-io-1.3.4",
            resources=[resource("org/apache/commons/io/IOUtils.class", IOUTILS_SHA1)],
        ),
        package(
            2,
            "maven",
            "org.apache.commons",
            "io",
            "2.0",
            "io-2.0.jar",
            "binary",
            release_date="2010-01-01",
            resources=[resource("Shared.java", SHARED_SHA1)],
        ),
        package(
            3,
            "maven",
            "org.apache.twill",
            "twill-core",
            "0.12.0",
            "twill-core-0.12.0.jar",
            "binary",
            release_date="2017-01-01",
            source_repo=TWILL_SOURCE_REPO,
            resources=[resource(f"org/apache/twill/File{n}.class", TWILL_SHA1S[n]) for n in range(25)],
        ),
        package(
            4,
            "maven",
            "org.apache.twill",
            "twill-core",
            "0.12.0",
            "twill-core-0.12.0-sources.jar",
            "source_archive",
            qualifiers="classifier=sources",
            release_date="2017-01-01",
            description="Twill core sources",
            vcs_url="git+https://github.com/apache/twill.git",
            copyright="Copyright The Apache Software Foundation",
            resources=[resource("Shared.java", SHARED_SHA1)],
        ),
        package(
            5,
            "pypi",
            "",
            "django-package",
            "1.0",
            "django_package-1.0.tar.gz",
            "source_archive",
            resources=[resource("django_package/__init__.py", DJANGO_INIT_SHA1)],
        ),
        # same archive as io@1.3.4 (sha1 shared), released earlier
        package(
            6,
            "generic",
            "",
            "commons-io-copy",
            "1.3.4",
            "commons-io-copy-1.3.4.jar",
            "binary",
            release_date="2005-01-01",
            checksum_seed="commons-io-1.3.4",
        ),
    ]
    packages += [
        package(6 + n, "npm", "", f"pad-{n}", f"1.0.{n}", f"pad-{n}-1.0.{n}.tgz", "source_archive")
        for n in range(1, 21)
    ]
    return {"packages": packages, "package_sets": [{"uuid": SET_UUID, "packages": [pid(3), pid(4)]}]}


INDEX = build_index()
PACKAGES = INDEX["packages"]
PURL = {n: p["purl"] for n, p in enumerate(PACKAGES)}

PACKAGE_API_FIELDS = [
    "url",
    "uuid",
    "filename",
    "package_sets",
    "package_content",
    "purl",
    "type",
    "namespace",
    "name",
    "version",
    "qualifiers",
    "subpath",
    "primary_language",
    "description",
    "release_date",
    "parties",
    "keywords",
    "homepage_url",
    "download_url",
    "bug_tracking_url",
    "code_view_url",
    "vcs_url",
    "repository_homepage_url",
    "repository_download_url",
    "api_data_url",
    "size",
    "md5",
    "sha1",
    "sha256",
    "sha512",
    "copyright",
    "holder",
    "declared_license_expression",
    "declared_license_expression_spdx",
    "license_detections",
    "other_license_expression",
    "other_license_expression_spdx",
    "other_license_detections",
    "extracted_license_statement",
    "notice_text",
    "source_packages",
    "extra_data",
    "package_uid",
    "datasource_id",
    "file_references",
    "dependencies",
    "resources",
    "history",
]
PACKAGE_METADATA_FIELDS = [
    "type",
    "namespace",
    "name",
    "version",
    "qualifiers",
    "subpath",
    "package_sets",
    "package_content",
    "primary_language",
    "description",
    "release_date",
    "parties",
    "keywords",
    "homepage_url",
    "download_url",
    "size",
    "md5",
    "sha1",
    "sha256",
    "sha512",
    "bug_tracking_url",
    "code_view_url",
    "vcs_url",
    "copyright",
    "holder",
    "declared_license_expression",
    "declared_license_expression_spdx",
    "license_detections",
    "other_license_expression",
    "other_license_expression_spdx",
    "other_license_detections",
    "extracted_license_statement",
    "notice_text",
    "source_packages",
    "extra_data",
    "dependencies",
    "package_uid",
    "datasource_id",
    "purl",
    "repository_homepage_url",
    "repository_download_url",
    "api_data_url",
    "file_references",
]
RESOURCE_FIELDS = [
    "package",
    "purl",
    "path",
    "type",
    "name",
    "extension",
    "size",
    "md5",
    "sha1",
    "sha256",
    "sha512",
    "git_sha1",
    "mime_type",
    "file_type",
    "programming_language",
    "is_binary",
    "is_text",
    "is_archive",
    "is_media",
    "is_key_file",
    "detected_license_expression",
    "detected_license_expression_spdx",
    "license_detections",
    "license_clues",
    "percentage_of_license_text",
    "copyrights",
    "holders",
    "authors",
    "package_data",
    "emails",
    "urls",
    "extra_data",
]
RUN_FIELDS = [
    "url",
    "pipeline_name",
    "status",
    "description",
    "project",
    "uuid",
    "created_date",
    "scancodeio_version",
    "task_id",
    "task_start_date",
    "task_end_date",
    "task_exitcode",
    "task_output",
    "log",
    "execution_time",
]


def start(tmp_path_factory, name: str, *args: str):
    index = tmp_path_factory.mktemp(f"{name}-index") / "index.json"
    index.write_text(json.dumps(INDEX))
    return sandbox("sandboxes.purldb", "/_sandbox/config", tmp_path_factory.mktemp(name), "--index", str(index), *args)


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    """The stack's way: the token comes from SCA_PURLDB_TOKEN (stack/up.sh)."""
    before = os.environ.get("SCA_PURLDB_TOKEN")
    os.environ["SCA_PURLDB_TOKEN"] = TOKEN
    try:
        with start(tmp_path_factory, "purldb-contract") as base:
            yield base
    finally:
        if before is None:
            os.environ.pop("SCA_PURLDB_TOKEN", None)
        else:
            os.environ["SCA_PURLDB_TOKEN"] = before


@pytest.fixture(scope="module")
def public_url(tmp_path_factory):
    with start(tmp_path_factory, "purldb-public", "--public-setup", "--token", TOKEN) as base:
        yield base


AUTH = {"Authorization": f"Token {TOKEN}"}


def get(base: str, path: str, params: Any = None, **kwargs: Any) -> requests.Response:
    headers = {**AUTH, **kwargs.pop("headers", {})}
    return requests.get(base + path, params=params, headers=headers, timeout=30, **kwargs)


def post(base: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
    headers = {**AUTH, **kwargs.pop("headers", {})}
    return requests.post(base + path, json=body, headers=headers, timeout=30, **kwargs)


def purls(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [p["purl"] for p in response.json()["results"]]


# -- 1. /api/packages/ ---------------------------------------------------------------------------
def test_package_pages_hold_20_in_insertion_order(url) -> None:
    first = get(url, "/api/packages/")
    assert first.status_code == 200
    body = first.json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["count"] == 27
    assert [p["uuid"] for p in body["results"]] == [pid(n) for n in range(20)]
    assert body["next"] == f"{url}/api/packages/?page=2"
    assert body["previous"] is None
    second = get(url, "/api/packages/", {"page": 2}).json()
    assert [p["uuid"] for p in second["results"]] == [pid(n) for n in range(20, 27)]
    assert second["next"] is None
    assert second["previous"] == f"{url}/api/packages/"
    capped = get(url, "/api/packages/", {"page_size": 100}).json()
    assert len(capped["results"]) == 20
    assert capped["next"] == f"{url}/api/packages/?page=2&page_size=100"
    small = get(url, "/api/packages/", {"page_size": 5, "page": 3}).json()
    assert [p["uuid"] for p in small["results"]] == [pid(n) for n in range(10, 15)]
    assert small["previous"] == f"{url}/api/packages/?page=2&page_size=5"


def test_a_page_past_the_end_is_404_invalid_page(url) -> None:
    for page in ("3", "0", "abc"):
        response = get(url, "/api/packages/", {"page": page})
        assert response.status_code == 404
        assert response.json() == {"detail": "Invalid page."}


def test_package_detail_shape_and_404s(url) -> None:
    response = get(url, f"/api/packages/{pid(3)}/")
    assert response.status_code == 200
    data = response.json()
    assert list(data) == PACKAGE_API_FIELDS
    assert data["url"] == f"{url}/api/packages/{pid(3)}/"
    assert data["resources"] == f"{url}/api/packages/{pid(3)}/resources/"
    assert data["history"] == f"{url}/api/packages/{pid(3)}/history/"
    assert data["package_content"] == "binary"
    assert data["package_sets"] == [
        {"uuid": SET_UUID, "packages": [f"{url}/api/packages/{pid(3)}/", f"{url}/api/packages/{pid(4)}/"]}
    ]
    not_uuid = get(url, "/api/packages/not-a-uuid/")
    assert (not_uuid.status_code, not_uuid.json()) == (404, {"detail": "Not found."})
    unknown = get(url, f"/api/packages/{uuid.uuid4()}/")
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "No Package matches the given query."})


def test_a_versionless_purl_matches_every_version(url) -> None:
    assert purls(get(url, "/api/packages/", {"purl": "pkg:maven/org.apache.commons/io"})) == [PURL[1], PURL[2]]


def test_a_purl_without_qualifiers_matches_every_qualifier_variant(url) -> None:
    found = purls(get(url, "/api/packages/", {"purl": "pkg:maven/org.apache.twill/twill-core@0.12.0"}))
    assert found == [PURL[3], PURL[4]]
    exact = get(url, "/api/packages/", {"purl": "pkg:maven/org.apache.twill/twill-core@0.12.0?classifier=sources"})
    assert purls(exact) == [PURL[4]]


def test_purl_components_match_case_sensitively_after_packageurl_normalisation(url) -> None:
    assert get(url, "/api/packages/", {"purl": "pkg:maven/Org.Apache.Commons/IO"}).json()["count"] == 0
    assert purls(get(url, "/api/packages/", {"purl": "pkg:PYPI/Django_package@1.0"})) == [PURL[5]]
    assert purls(get(url, "/api/packages/", {"purl": "maven/org.apache.commons/io@2.0"})) == [PURL[2]]


def test_repeated_purls_are_or(url) -> None:
    both = get(url, "/api/packages/", {"purl": [PURL[5], PURL[0]]})
    assert purls(both) == [PURL[0], PURL[5]]
    one_missing = get(url, "/api/packages/", {"purl": [PURL[5], "pkg:npm/no-such@1.0"]})
    assert purls(one_missing) == [PURL[5]]


def test_an_invalid_purl_alone_is_no_result_and_blank_is_everything(url) -> None:
    assert get(url, "/api/packages/", {"purl": "11111"}).json()["count"] == 0
    assert get(url, "/api/packages/", {"purl": ""}).json()["count"] == 27
    assert get(url, "/api/packages/", {"purl": ["", ""]}).json()["count"] == 27


def test_package_url_is_not_a_filter(url) -> None:
    assert get(url, "/api/packages/", {"package_url": PURL[5]}).json()["count"] == 27


def test_type_namespace_and_name_are_iexact_and_name_version_multi(url) -> None:
    found = get(url, "/api/packages/", {"type": "MAVEN", "namespace": "ORG.APACHE.COMMONS"})
    assert purls(found) == [PURL[1], PURL[2]]
    assert purls(get(url, "/api/packages/", {"name": ["IO", "Left-Pad"]})) == [PURL[0], PURL[1], PURL[2]]
    assert purls(get(url, "/api/packages/", {"version": ["1.3.4", "2.0"]})) == [PURL[1], PURL[2], PURL[6]]
    assert get(url, "/api/packages/", {"version": "2.0", "name": "IO"}).json()["count"] == 1


def test_md5_and_sha1_are_multi_value(url) -> None:
    md5s = [PACKAGES[0]["md5"], PACKAGES[5]["md5"]]
    assert purls(get(url, "/api/packages/", {"md5": md5s})) == [PURL[0], PURL[5]]
    sha1s = [PACKAGES[2]["sha1"], PACKAGES[1]["sha1"]]
    assert purls(get(url, "/api/packages/", {"sha1": sha1s})) == [PURL[1], PURL[2], PURL[6]]


# -- 2. /api/packages/{uuid}/resources/ and history ---------------------------------------------
def test_package_resources_are_paginated(url) -> None:
    first = get(url, f"/api/packages/{pid(3)}/resources/").json()
    assert first["count"] == 25
    assert [r["path"] for r in first["results"]] == [f"org/apache/twill/File{n}.class" for n in range(20)]
    assert first["next"] == f"{url}/api/packages/{pid(3)}/resources/?page=2"
    assert list(first["results"][0]) == RESOURCE_FIELDS
    assert first["results"][0]["package"] == f"{url}/api/packages/{pid(3)}/"
    assert first["results"][0]["purl"] == PURL[3]
    second = get(url, first["next"].removeprefix(url)).json()
    assert [r["sha1"] for r in second["results"]] == TWILL_SHA1S[20:]
    history = get(url, f"/api/packages/{pid(3)}/history/").json()
    assert history == {"history": [{"message": "created twill-core-0.12.0.jar", "timestamp": "2026-01-01-00:00:00"}]}


# -- 3. /api/validate/ ----------------------------------------------------------------------------
def test_validate_answers(url) -> None:
    missing = get(url, "/api/validate/")
    assert (missing.status_code, missing.json()) == (400, {"errors": {"purl": ["This field is required."]}})
    invalid = get(url, "/api/validate/", {"purl": "not-a-purl"})
    assert invalid.status_code == 400
    assert invalid.json() == {
        "valid": False,
        "exists": None,
        "message": "The provided PackageURL is not valid.",
        "purl": "not-a-purl",
    }
    valid = get(url, "/api/validate/", {"purl": PURL[5]})
    assert (valid.status_code, valid.json()) == (
        200,
        {"valid": True, "exists": None, "message": "The provided PackageURL is valid.", "purl": PURL[5]},
    )


def test_validate_check_existence_messages(url) -> None:
    def check(purl: str) -> dict[str, Any]:
        response = get(url, "/api/validate/", {"purl": purl, "check_existence": "true"})
        assert response.status_code == 200
        return response.json()

    exists = "The provided Package URL is valid, and the package exists in the upstream repo."
    assert check(PURL[5]) == {"valid": True, "exists": True, "message": exists, "purl": PURL[5]}
    assert check("pkg:pypi/django-package")["exists"] is True
    assert check("pkg:pypi/django-package@9.9") == {
        "valid": True,
        "exists": False,
        "message": "The provided PackageURL is valid, but does not exist in the upstream repo.",
        "purl": "pkg:pypi/django-package@9.9",
    }
    assert check("pkg:generic/nothing@1") == {
        "valid": True,
        "exists": None,
        "message": "The provided PackageURL is valid, but `check_existence` is not supported for this package type.",
        "purl": "pkg:generic/nothing@1",
    }


# -- 4. to_purl and from_purl ---------------------------------------------------------------------
def test_to_purl_go(url) -> None:
    ok = get(url, "/api/to_purl/go/", {"go_package": "github.com/gorilla/mux v1.7.3"})
    assert (ok.status_code, ok.json()) == (200, {"package_url": "pkg:golang/github.com/gorilla/mux@v1.7.3"})
    missing = get(url, "/api/to_purl/go/")
    assert (missing.status_code, missing.json()) == (400, {"errors": {"go_package": ["This field is required."]}})
    at = get(url, "/api/to_purl/go/", {"go_package": "github.com/gorilla/mux@v1.7.3"})
    assert (at.status_code, at.json()) == (400, {"errors": "`@` is not supported either in import or go.mod string"})
    no_slash = get(url, "/api/to_purl/go", {"go_package": "github.com/gorilla/mux"}, allow_redirects=False)
    assert no_slash.status_code == 301
    assert no_slash.headers["Location"] == "/api/to_purl/go/?go_package=github.com%2Fgorilla%2Fmux"


def test_from_purl_purl2git(url) -> None:
    unknown = get(url, "/api/from_purl/purl2git/", {"package_url": "pkg:npm/no-such@1.0"})
    assert unknown.status_code == 404
    assert unknown.json() == {"errors": "pkg:npm/no-such@1.0 does not exist in this database"}
    twill = get(url, "/api/from_purl/purl2git/", {"package_url": PURL[3]})
    assert (twill.status_code, twill.json()) == (200, {"git_repo": TWILL_SOURCE_REPO})
    no_repo = get(url, "/api/from_purl/purl2git/", {"package_url": PURL[0]})
    assert (no_repo.status_code, no_repo.json()) == (200, {"git_repo": "None"})
    missing = get(url, "/api/from_purl/purl2git/")
    assert (missing.status_code, missing.json()) == (400, {"errors": {"package_url": ["This field is required."]}})


def test_invented_routes_are_gone(url) -> None:
    for path in (
        f"/api/packages/{pid(3)}/enhanced_package_data/",
        f"/api/packages/{pid(3)}/enhance_package_data/",
        "/api/runs/",
        "/api/exact_file_index/",
    ):
        response = get(url, path)
        assert (response.status_code, response.headers["Content-Type"]) == (404, "text/html; charset=utf-8")
    to_purl_root = get(url, "/api/to_purl/")  # the api_to router's own root view
    assert (to_purl_root.status_code, to_purl_root.json()) == (200, {"go": f"{url}/api/to_purl/go/"})


# -- 5. /api/resources/ -----------------------------------------------------------------------------
def test_resource_filters(url) -> None:
    by_package = get(url, "/api/resources/", {"package": pid(3)}).json()
    assert by_package["count"] == 25
    assert get(url, "/api/resources/", {"package": "not-a-uuid"}).json()["count"] == 0
    assert get(url, "/api/resources/", {"package": str(uuid.uuid4())}).json()["count"] == 0
    django = get(url, "/api/resources/", {"purl": PURL[5]}).json()
    assert [r["path"] for r in django["results"]] == ["django_package/__init__.py"]
    assert get(url, "/api/resources/", {"purl": "pkg:npm/no-such@1.0"}).json()["count"] == 0
    assert get(url, "/api/resources/", {"purl": "11111"}).json()["count"] == 29  # invalid: no filtering
    two_packages = get(url, "/api/resources/", {"purl": "pkg:maven/org.apache.twill/twill-core@0.12.0"})
    assert two_packages.status_code == 500  # Package.objects.get(): MultipleObjectsReturned
    both = get(url, "/api/resources/", {"sha1": [DJANGO_INIT_SHA1, IOUTILS_SHA1]}).json()
    assert [r["path"] for r in both["results"]] == ["org/apache/commons/io/IOUtils.class", "django_package/__init__.py"]
    everything = get(url, "/api/resources/").json()
    assert (everything["count"], len(everything["results"]), everything["next"]) == (
        29,
        20,
        f"{url}/api/resources/?page=2",
    )


def test_resource_detail_is_looked_up_by_sha1(url) -> None:
    found = get(url, f"/api/resources/{DJANGO_INIT_SHA1}/")
    assert found.status_code == 200
    assert list(found.json()) == RESOURCE_FIELDS
    assert found.json()["path"] == "django_package/__init__.py"
    unknown = get(url, f"/api/resources/{sha1('nothing')}/")
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "No Resource matches the given query."})
    assert get(url, f"/api/resources/{SHARED_SHA1}/").status_code == 500  # sha1 is not unique


# -- 6. filter_by_checksums --------------------------------------------------------------------------
def test_package_checksums_give_the_earliest_release_per_value(url) -> None:
    response = post(url, "/api/packages/filter_by_checksums/", {"sha1": [PACKAGES[1]["sha1"]]})
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (1, None, None)
    assert [p["purl"] for p in body["results"]] == [PURL[6]]
    assert list(body["results"][0]) == PACKAGE_API_FIELDS
    empty = post(url, "/api/packages/filter_by_checksums/", {"sha1": []})
    assert (empty.status_code, empty.json()) == (200, {"count": 0, "next": None, "previous": None, "results": []})


def test_package_checksums_pages_take_the_same_body_again(url) -> None:
    body = {"sha1": [p["sha1"] for p in PACKAGES]}
    first = post(url, "/api/packages/filter_by_checksums/", body).json()
    assert first["count"] == 26  # io@1.3.4 and its earlier copy share a sha1
    assert len(first["results"]) == 20
    assert first["next"] == f"{url}/api/packages/filter_by_checksums/?page=2"
    second = post(url, first["next"].removeprefix(url), body).json()
    assert len(second["results"]) == 6
    assert second["previous"] == f"{url}/api/packages/filter_by_checksums/"
    seen = {p["purl"] for p in first["results"] + second["results"]}
    assert seen == {p["purl"] for p in PACKAGES} - {PURL[1]}


def test_package_checksum_errors(url) -> None:
    for body in ({}, {"enhance_package_data": True}):
        response = post(url, "/api/packages/filter_by_checksums/", body)
        assert (response.status_code, response.json()) == (400, {"status": "No values provided"})
    extra = post(url, "/api/packages/filter_by_checksums/", {"sha1": ["a"], "foo": [], "bar": []})
    assert (extra.status_code, extra.json()) == (400, {"status": "Unsupported field(s) given: foo, bar"})
    wrong_method = get(url, "/api/packages/filter_by_checksums/")
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"detail": 'Method "GET" not allowed.'})


def test_package_checksums_can_enhance(url) -> None:
    body = {"sha1": [PACKAGES[3]["sha1"]], "enhance_package_data": True}
    result = post(url, "/api/packages/filter_by_checksums/", body).json()["results"][0]
    assert list(result) == PACKAGE_METADATA_FIELDS
    assert result["extra_data"] == {"enhanced_by": [PURL[4]]}


def test_resource_checksums_return_every_match(url) -> None:
    response = post(url, "/api/resources/filter_by_checksums/", {"sha1": [SHARED_SHA1, DJANGO_INIT_SHA1]})
    body = response.json()
    assert (response.status_code, body["count"]) == (200, 3)
    assert [(r["purl"], r["path"]) for r in body["results"]] == [
        (PURL[2], "Shared.java"),
        (PURL[4], "Shared.java"),
        (PURL[5], "django_package/__init__.py"),
    ]
    paged = post(url, "/api/resources/filter_by_checksums/", {"sha1": TWILL_SHA1S}).json()
    assert (paged["count"], len(paged["results"])) == (25, 20)
    rest = post(url, paged["next"].removeprefix(url), {"sha1": TWILL_SHA1S}).json()
    assert [r["sha1"] for r in rest["results"]] == TWILL_SHA1S[20:]
    bad = post(url, "/api/resources/filter_by_checksums/", {"sha1": ["a"], "sha256": ["b"]})
    assert (bad.status_code, bad.json()) == (400, {"status": "Unsupported field(s) given: sha256"})
    none = post(url, "/api/resources/filter_by_checksums/", {})
    assert (none.status_code, none.json()) == (400, {"status": "No values provided"})


# -- 7. get_enhanced_package_data ----------------------------------------------------------------------
def test_enhanced_package_data(url) -> None:
    response = get(url, f"/api/packages/{pid(3)}/get_enhanced_package_data/")
    assert response.status_code == 200
    data = response.json()
    assert list(data) == PACKAGE_METADATA_FIELDS
    assert data["package_sets"] == [
        {"uuid": SET_UUID, "packages": [PACKAGES[3]["package_uid"], PACKAGES[4]["package_uid"]]}
    ]
    assert (data["description"], data["vcs_url"], data["copyright"]) == (
        "Twill core sources",
        "git+https://github.com/apache/twill.git",
        "Copyright The Apache Software Foundation",
    )
    assert data["extra_data"] == {"enhanced_by": [PURL[4]]}
    assert data["package_content"] == "binary"
    sources = get(url, f"/api/packages/{pid(4)}/get_enhanced_package_data/").json()
    assert (sources["extra_data"], sources["description"]) == ({}, "Twill core sources")
    alone = get(url, f"/api/packages/{pid(0)}/get_enhanced_package_data/").json()
    assert (alone["extra_data"], alone["package_sets"]) == ({}, [])


def test_reindex_package(url) -> None:
    response = get(url, f"/api/packages/{pid(5)}/reindex_package/")
    assert response.json() == {"status": f"{PURL[5]} has been queued for reindexing"}


# -- 8. matching ---------------------------------------------------------------------------------------
SCAN = {
    "headers": [{"tool_name": "scancode-toolkit"}],
    "files": [
        {"path": "lib/File3.class", "type": "file", "name": "File3.class", "sha1": TWILL_SHA1S[3], "size": 10},
        {"path": "dist/django_package-1.0.tar.gz", "type": "file", "sha1": PACKAGES[5]["sha1"]},
        {"path": "src/own.py", "type": "file", "name": "own.py", "sha1": sha1("own"), "md5": md5("own")},
        {"path": "src", "type": "directory", "name": "src"},
    ],
}


def wait_status(url: str, run_uuid: str, wanted: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        run = get(url, f"/api/runs/{run_uuid}/").json()
        if run["status"] == wanted or time.monotonic() > deadline:
            return run
        time.sleep(0.1)


def test_matching_results_are_served_in_any_state(url) -> None:
    configure(url, queue_seconds=60, matching_seconds=60)
    try:
        created = post(url, "/api/matching/", None, files={"upload_file": ("scan.json", json.dumps(SCAN))})
    finally:
        configure(url, queue_seconds=0.5, matching_seconds=2.0)
    assert created.status_code == 201
    project = created.json()
    assert list(project) == ["url", "uuid", "created_date", "input_sources", "runs"]
    assert project["runs"][0]["status"] == "not_started"
    results = get(url, f"/api/matching/{project['uuid']}/results/")
    assert results.status_code == 200
    data = results.json()
    assert list(data) == ["headers", "packages", "dependencies", "files", "relations"]
    assert (data["packages"], data["files"]) == ([], [])
    assert data["headers"][0]["tool_name"] == "scanpipe"


def test_matching_round_trip(url) -> None:
    configure(url, queue_seconds=0.2, matching_seconds=0.3)
    try:
        created = post(url, "/api/matching/", None, files={"upload_file": ("scan.json", json.dumps(SCAN))}).json()
    finally:
        configure(url, queue_seconds=0.5, matching_seconds=2.0)
    run = created["runs"][0]
    assert list(run) == RUN_FIELDS
    assert run["project"] == f"{url}/api/runs/{created['uuid']}/"  # upstream's api:run-detail link
    assert created["input_sources"][0]["filename"] == "scan.json"
    assert created["input_sources"][0]["is_uploaded"] is True
    done = wait_status(url, run["uuid"], "success")
    assert (done["status"], done["task_exitcode"], done["pipeline_name"]) == ("success", 0, "matching")
    detail = get(url, f"/api/matching/{created['uuid']}/").json()
    assert (detail["resource_count"], detail["package_count"]) == (4, 2)
    assert detail["codebase_resources_summary"] == {
        "": 2,
        "matched-to-purldb-package": 1,
        "matched-to-purldb-resource": 1,
    }
    assert detail["discovered_packages_summary"] == {
        "total": 2,
        "with_missing_resources": 0,
        "with_modified_resources": 0,
    }
    results = get(url, f"/api/matching/{created['uuid']}/results/").json()
    header = results["headers"][0]
    assert (header["tool_name"], header["uuid"]) == ("scanpipe", created["uuid"])
    assert header["runs"][0]["status"] == "success"
    files = {f["path"]: f for f in results["files"]}
    assert files["lib/File3.class"]["status"] == "matched-to-purldb-resource"
    assert files["lib/File3.class"]["for_packages"] == [PACKAGES[3]["package_uid"]]
    assert files["dist/django_package-1.0.tar.gz"]["status"] == "matched-to-purldb-package"
    assert files["src/own.py"]["for_packages"] == []
    assert all(f["extra_data"] == {} for f in results["files"])
    assert sorted(p["purl"] for p in results["packages"]) == sorted([PURL[3], PURL[5]])
    listed = get(url, "/api/matching/").json()
    assert listed["results"][0]["uuid"] == created["uuid"]
    assert list(listed["results"][0]) == ["url", "uuid", "created_date", "input_sources", "runs"]


@pytest.fixture
def scan_server(tmp_path):
    (tmp_path / "scan.json").write_text(json.dumps(SCAN))
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **k)  # noqa: E731
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def test_matching_accepts_input_urls_without_an_upload(url, scan_server) -> None:
    scan_url = f"{scan_server}/scan.json"
    created = requests.post(f"{url}/api/matching/", data={"input_urls": scan_url}, headers=AUTH, timeout=30)
    assert created.status_code == 201
    source = created.json()["input_sources"][0]
    assert {k: v for k, v in source.items() if k != "uuid"} == {
        "filename": "scan.json",
        "download_url": scan_url,
        "is_uploaded": False,
        "tag": "",
        "exists": True,
    }
    missing = f"{scan_server}/missing.json"
    failed = requests.post(f"{url}/api/matching/", data={"input_urls": missing}, headers=AUTH, timeout=30)
    assert (failed.status_code, failed.json()) == (400, [f"Could not fetch: {missing}"])


# -- 8b. runs' POST actions (scanpipe RunViewSet, routed as runs by purldb/urls.py:59) -------------------
MATCHING_DEFAULTS: dict[str, Any] = {
    "queue_seconds": 0.5,
    "matching_seconds": 2.0,
    "fail_matching": False,
    "stuck_queued": False,
    "fail_next_matchings": 0,
    "stuck_next_matchings": 0,
}
NOT_RUNNING = {"status": "Pipeline is not running."}
ALREADY_EXECUTED = {"status": "Pipeline already executed."}
ALREADY_STARTED = {"status": "Pipeline already started."}
ALREADY_QUEUED = {"status": "Pipeline already queued."}
NOT_DELETABLE = {"status": "Only non started or queued pipelines can be deleted."}
NO_RUN = {"detail": "No Run matches the given query."}
SERVER_ERROR_PAGE = (  # django/views/defaults.py ERROR_PAGE_TEMPLATE, DEBUG off
    '\n<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n</head>\n<body>\n'
    "  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"
)


def post_matching(url: str) -> dict[str, Any]:
    created = post(url, "/api/matching/", None, files={"upload_file": ("scan.json", json.dumps(SCAN))})
    assert created.status_code == 201, created.text
    return created.json()


def create_matching(url: str, **switches: Any) -> dict[str, Any]:
    """A matching project created under ``switches`` (then the defaults again): the clock and
    fault switches put its run in a known state."""
    configure(url, **switches)
    try:
        return post_matching(url)
    finally:
        configure(url, **MATCHING_DEFAULTS)


def run_of(url: str, project: dict[str, Any]) -> dict[str, Any]:
    response = get(url, f"/api/runs/{project['runs'][0]['uuid']}/")
    assert response.status_code == 200, response.text
    return response.json()


def run_action(url: str, project: dict[str, Any], action: str) -> tuple[int, Any]:
    response = post(url, f"/api/runs/{project['runs'][0]['uuid']}/{action}/")
    return response.status_code, response.json()


def test_run_actions_refuse_by_run_state(url) -> None:
    """start/stop/delete_pipeline for each state (SCIO:scanpipe/api/views.py:551-583): the 400s
    change nothing; the running run is stopped on the way and then refuses as ``stopped``."""
    not_started = create_matching(url, queue_seconds=60, matching_seconds=60)
    queued = create_matching(url, queue_seconds=0, stuck_queued=True)
    running = create_matching(url, queue_seconds=0, matching_seconds=60)
    success = create_matching(url, queue_seconds=0, matching_seconds=0)
    failure = create_matching(url, queue_seconds=0, matching_seconds=0, fail_matching=True)
    states = {
        "not_started": not_started,
        "queued": queued,
        "running": running,
        "success": success,
        "failure": failure,
    }
    assert {state: run_of(url, project)["status"] for state, project in states.items()} == {
        state: state for state in states
    }
    refusals = {
        state: (run_action(url, project, "start_pipeline"), run_action(url, project, "stop_pipeline"))
        for state, project in states.items()
        if state != "not_started"
    }
    assert refusals == {
        "queued": ((400, ALREADY_QUEUED), (400, NOT_RUNNING)),
        "running": ((400, ALREADY_STARTED), (200, {"status": "Pipeline matching stopped."})),
        "success": ((400, ALREADY_EXECUTED), (400, NOT_RUNNING)),
        "failure": ((400, ALREADY_EXECUTED), (400, NOT_RUNNING)),
    }
    assert run_action(url, not_started, "stop_pipeline") == (400, NOT_RUNNING)
    deletes = {state: run_action(url, states[state], "delete_pipeline") for state in ("success", "failure")}
    deletes["stopped"] = run_action(url, running, "delete_pipeline")
    assert deletes == {
        "success": (400, NOT_DELETABLE),
        "failure": (400, NOT_DELETABLE),
        "stopped": (400, NOT_DELETABLE),
    }
    assert {state: run_of(url, project)["status"] for state, project in states.items()} == {
        "not_started": "not_started",
        "queued": "queued",
        "running": "stopped",
        "success": "success",
        "failure": "failure",
    }
    for project in (not_started, queued):  # leave nothing in progress behind
        assert run_action(url, project, "delete_pipeline")[0] == 200


def test_stop_pipeline_stops_a_running_run_and_keeps_the_project(url) -> None:
    """stop_task (SCIO:scanpipe/models.py:385-409): "Stop task requested" in the log, then
    set_task_stopped: exit code 99 and task_end_date (models.py:359-383); status ``stopped``."""
    # 8 s of running: room for a loaded machine between the create and the stop
    project = create_matching(url, queue_seconds=0, matching_seconds=8)
    assert run_of(url, project)["status"] == "running"
    assert run_action(url, project, "stop_pipeline") == (200, {"status": "Pipeline matching stopped."})
    time.sleep(8.2)  # past the end the pipeline would have had
    run = run_of(url, project)
    assert list(run) == RUN_FIELDS
    assert (run["status"], run["task_exitcode"], run["task_output"], run["execution_time"]) == ("stopped", 99, "", 0)
    assert (run["task_id"], run["scancodeio_version"]) == (run["uuid"], "38.0.0")
    assert run["task_start_date"] <= run["task_end_date"]
    lines = run["log"].splitlines()
    assert [line.split(" ", 2)[2] for line in lines[:-1]] == [
        "Pipeline [matching] starting",
        "Step [get_inputs] starting",
        "Step [get_inputs] completed in 0 seconds",
        "Step [build_inventory_from_scans] starting",
    ]
    assert lines[-1] == "Stop task requested"
    assert run_action(url, project, "stop_pipeline") == (400, NOT_RUNNING)
    assert run_action(url, project, "start_pipeline") == (400, ALREADY_EXECUTED)
    detail = get(url, f"/api/matching/{project['uuid']}/").json()
    assert detail["runs"] == [run]
    # counts are set by update_counts once the pipeline returns, which a stopped one never does
    assert (detail["resource_count"], detail["package_count"]) == (0, 0)
    assert detail["codebase_resources_summary"] == {"": 4}
    assert detail["discovered_packages_summary"] == {
        "total": 0,
        "with_missing_resources": 0,
        "with_modified_resources": 0,
    }
    results = get(url, f"/api/matching/{project['uuid']}/results/").json()
    assert [header_run["status"] for header_run in results["headers"][0]["runs"]] == ["stopped"]
    assert results["packages"] == []
    assert [(f["path"], f["status"], f["for_packages"]) for f in results["files"]] == [
        ("lib/File3.class", "", []),
        ("dist/django_package-1.0.tar.gz", "", []),
        ("src/own.py", "", []),
        ("src", "", []),
    ]
    deleted = requests.delete(f"{url}/api/matching/{project['uuid']}/", headers=AUTH, timeout=30)
    assert (deleted.status_code, deleted.content) == (204, b"")


def test_start_pipeline_queues_a_run_that_is_not_started(url) -> None:
    """start_pipeline on a run with no task_id: on_commit(run.start) → enqueued, set_task_queued
    (SCIO:scanpipe/models.py:2111-2147); the next call finds the task_id."""
    project = create_matching(url, queue_seconds=60, matching_seconds=60)
    fresh = project["runs"][0]  # serialized right after add_pipeline
    assert (fresh["status"], fresh["task_id"], fresh["scancodeio_version"], fresh["log"]) == (
        "not_started",
        None,
        "",
        "",
    )
    before = run_of(url, project)
    assert (before["status"], before["task_id"]) == ("not_started", None)
    assert run_action(url, project, "start_pipeline") == (200, {"status": "Pipeline matching started."})
    after = run_of(url, project)
    assert (after["status"], after["task_id"], after["task_start_date"]) == ("queued", after["uuid"], None)
    assert run_action(url, project, "start_pipeline") == (400, ALREADY_QUEUED)
    assert run_action(url, project, "delete_pipeline") == (200, {"status": "Pipeline matching deleted."})


def test_delete_pipeline_removes_a_not_started_or_queued_run(url) -> None:
    """delete_task deletes the job and the Run (SCIO:scanpipe/models.py:411-419): the run is
    404 after, the project stays with no run; a stuck queued run can be deleted too."""
    not_started = create_matching(url, queue_seconds=60, matching_seconds=60)
    stuck = create_matching(url, queue_seconds=0, stuck_queued=True)
    assert (run_of(url, not_started)["status"], run_of(url, stuck)["status"]) == ("not_started", "queued")
    for project in (not_started, stuck):
        run_uuid = project["runs"][0]["uuid"]
        assert run_action(url, project, "delete_pipeline") == (200, {"status": "Pipeline matching deleted."})
        gone = get(url, f"/api/runs/{run_uuid}/")
        assert (gone.status_code, gone.json()) == (404, NO_RUN)
        for action in ("delete_pipeline", "stop_pipeline", "start_pipeline"):
            assert run_action(url, project, action) == (404, NO_RUN)
        detail = get(url, f"/api/matching/{project['uuid']}/")
        assert detail.status_code == 200
        body = detail.json()
        assert (body["runs"], body["resource_count"], body["package_count"]) == ([], 0, 0)
        assert body["codebase_resources_summary"] == {}
        listed = {p["uuid"]: p for p in get(url, "/api/matching/").json()["results"]}
        assert listed[project["uuid"]]["runs"] == []
        results = get(url, f"/api/matching/{project['uuid']}/results/").json()
        assert (results["headers"][0]["runs"], results["files"], results["packages"]) == ([], [], [])
        deleted = requests.delete(f"{url}/api/matching/{project['uuid']}/", headers=AUTH, timeout=30)
        assert deleted.status_code == 204


def test_a_project_with_a_run_in_progress_cannot_be_deleted(url) -> None:
    """Project.delete raises RunInProgressError for a queued or running run (SCIO:scanpipe/models.py:
    724-734, 826-835), which nothing handles: Django's 500 page, the project stays."""
    stuck = create_matching(url, queue_seconds=0, stuck_queued=True)
    running = create_matching(url, queue_seconds=0, matching_seconds=60)
    for project in (stuck, running):
        refused = requests.delete(f"{url}/api/matching/{project['uuid']}/", headers=AUTH, timeout=30)
        assert (refused.status_code, refused.headers["Content-Type"]) == (500, "text/html; charset=utf-8")
        assert refused.text == SERVER_ERROR_PAGE
        assert get(url, f"/api/matching/{project['uuid']}/").status_code == 200
    assert run_action(url, stuck, "delete_pipeline") == (200, {"status": "Pipeline matching deleted."})
    assert run_action(url, running, "stop_pipeline") == (200, {"status": "Pipeline matching stopped."})
    for project in (stuck, running):
        deleted = requests.delete(f"{url}/api/matching/{project['uuid']}/", headers=AUTH, timeout=30)
        assert deleted.status_code == 204
        assert get(url, f"/api/matching/{project['uuid']}/").status_code == 404


def test_run_actions_are_routed_like_the_run_detail(url, public_url) -> None:
    """Detail actions with ``methods=["post"]``: GET is DRF's 405; a non-UUID or unknown uuid is
    get_object's 404; token, throttles and public setup as for ``/api/runs/{uuid}/``."""
    project = create_matching(url, queue_seconds=60, matching_seconds=60)
    run_uuid = project["runs"][0]["uuid"]
    for action in ("start_pipeline", "stop_pipeline", "delete_pipeline"):
        wrong = get(url, f"/api/runs/{run_uuid}/{action}/")
        assert (wrong.status_code, wrong.json(), wrong.headers["Allow"]) == (
            405,
            {"detail": 'Method "GET" not allowed.'},
            "POST, OPTIONS",
        )
        unknown = post(url, f"/api/runs/{uuid.uuid4()}/{action}/")
        assert (unknown.status_code, unknown.json()) == (404, NO_RUN)
        not_uuid = post(url, f"/api/runs/not-a-uuid/{action}/")
        assert (not_uuid.status_code, not_uuid.json()) == (404, {"detail": "Not found."})
        anonymous = requests.post(f"{url}/api/runs/{run_uuid}/{action}/", timeout=10)
        assert (anonymous.status_code, anonymous.json()) == (
            401,
            {"detail": "Authentication credentials were not provided."},
        )
        public = post(public_url, f"/api/runs/{uuid.uuid4()}/{action}/")
        assert (public.status_code, public.headers["Content-Type"]) == (404, "text/html; charset=utf-8")
    no_slash = post(url, f"/api/runs/{run_uuid}/stop_pipeline", allow_redirects=False)
    assert (no_slash.status_code, no_slash.headers["Location"]) == (301, f"/api/runs/{run_uuid}/stop_pipeline/")
    assert run_of(url, project)["status"] == "not_started"  # none of the above acted
    configure(url, throttle_user_per_hour=2)
    try:
        # default throttles: StaffUserRateThrottle and UserRateThrottle record on one key
        codes = [post(url, f"/api/runs/{run_uuid}/stop_pipeline/").status_code for _ in range(2)]
        throttled = post(url, f"/api/runs/{run_uuid}/stop_pipeline/")
    finally:
        configure(url, throttle_per_hour=None)
    assert codes == [400, 429]
    assert (throttled.status_code, throttled.json()) == (429, THROTTLED)
    assert run_action(url, project, "delete_pipeline") == (200, {"status": "Pipeline matching deleted."})


def test_counted_fail_and_stuck_switches(url) -> None:
    """``fail_next_matchings`` / ``stuck_next_matchings`` (sandbox): the next N matchings created
    fail / stay queued, the count going down with each; then matchings are normal again."""

    def counts() -> tuple[int, int]:
        config = requests.get(f"{url}/_sandbox/config", timeout=10).json()
        return config["fail_next_matchings"], config["stuck_next_matchings"]

    config = configure(url, queue_seconds=0, matching_seconds=0, fail_next_matchings=2)
    assert (config["fail_next_matchings"], config["stuck_next_matchings"]) == (2, 0)
    try:
        failing = []
        for _ in range(3):
            failing.append(post_matching(url))
            failing.append(counts())
        configure(url, stuck_next_matchings=1)
        stuck = []
        for _ in range(2):
            stuck.append(post_matching(url))
            stuck.append(counts())
    finally:
        configure(url, **MATCHING_DEFAULTS)
    assert failing[1::2] == [(1, 0), (0, 0), (0, 0)]
    assert stuck[1::2] == [(0, 0), (0, 0)]
    time.sleep(0.2)
    assert [run_of(url, project)["status"] for project in failing[0::2]] == ["failure", "failure", "success"]
    assert [run_of(url, project)["status"] for project in stuck[0::2]] == ["queued", "success"]
    failed = run_of(url, failing[0])
    assert (failed["task_exitcode"], failed["task_output"]) == (1, "MatchingError: matching failed (injected fault)")
    config = requests.get(f"{url}/_sandbox/config", timeout=10).json()
    assert (config["fail_matching"], config["stuck_queued"]) == (False, False)
    # the stuck one is recovered the way a client would: delete its run, then the project
    assert run_action(url, stuck[0], "delete_pipeline") == (200, {"status": "Pipeline matching deleted."})
    assert requests.delete(f"{url}/api/matching/{stuck[0]['uuid']}/", headers=AUTH, timeout=30).status_code == 204


# -- 9. auth, throttling, public setup -----------------------------------------------------------------
def test_token_auth(url) -> None:
    validate = "/api/validate/"
    params = {"purl": PURL[5]}
    no_token = requests.get(url + validate, params=params, timeout=10)
    assert (no_token.status_code, no_token.json()) == (
        401,
        {"detail": "Authentication credentials were not provided."},
    )
    configure(url, require_authentication=False)
    try:
        assert requests.get(url + validate, params=params, timeout=10).status_code == 200
        bad = requests.get(url + validate, params=params, headers={"Authorization": "Token nope"}, timeout=10)
        assert (bad.status_code, bad.json(), bad.headers["WWW-Authenticate"]) == (
            401,
            {"detail": "Invalid token."},
            "Token",
        )
        empty = requests.get(url + validate, params=params, headers={"Authorization": "Token"}, timeout=10)
        assert (empty.status_code, empty.json()) == (401, {"detail": "Invalid token header. No credentials provided."})
        bearer = requests.get(url + validate, params=params, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert bearer.status_code == 200  # another scheme is ignored: anonymous
    finally:
        configure(url, require_authentication=True)


def test_real_throttle_rates_by_default(url) -> None:
    config = requests.get(f"{url}/_sandbox/config", timeout=10).json()
    assert (config["throttle_anon_per_hour"], config["throttle_user_per_hour"]) == (3600, 10800)


def test_throttling(url) -> None:
    configure(url, require_authentication=False, throttle_anon_per_hour=2, throttle_user_per_hour=4)
    try:
        anon = {"X-Forwarded-For": "10.0.0.1"}
        codes = [requests.get(f"{url}/api/packages/", headers=anon, timeout=10).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        throttled = requests.get(f"{url}/api/packages/", headers=anon, timeout=10)
        assert (throttled.status_code, throttled.json(), throttled.headers["Retry-After"]) == (429, THROTTLED, "3600")
        other = requests.get(f"{url}/api/packages/", headers={"X-Forwarded-For": "10.0.0.2"}, timeout=10)
        assert other.status_code == 200
        user = [get(url, "/api/packages/").status_code for _ in range(5)]
        assert user == [200, 200, 200, 200, 429]
        configure(url, throttle_user_per_hour=4)  # clears the histories
        # validate keeps DRF's default throttles: StaffUserRateThrottle and UserRateThrottle
        # both record on the same user key, so each call counts twice
        validate = [get(url, "/api/validate/", {"purl": PURL[5]}).status_code for _ in range(3)]
        assert validate == [200, 200, 429]
    finally:
        configure(url, require_authentication=True, throttle_per_hour=None)


def test_public_setup_routes_only_the_public_endpoints(public_url) -> None:
    root = get(public_url, "/api/").json()
    assert list(root) == ["packages", "resources", "validate"]
    assert get(public_url, "/api/packages/").json()["count"] == 27
    assert get(public_url, "/api/resources/").json()["count"] == 29
    assert get(public_url, "/api/validate/", {"purl": PURL[5]}).status_code == 200
    assert get(public_url, "/api/to_purl/go/", {"go_package": "github.com/gorilla/mux"}).status_code == 200
    assert get(public_url, "/api/from_purl/purl2git/", {"package_url": PURL[0]}).status_code == 200
    assert get(public_url, f"/api/packages/{pid(5)}/reindex_package/").status_code == 200
    for path in ("/api/matching/", f"/api/runs/{uuid.uuid4()}/", "/api/collect/", "/api/package_sets/"):
        response = get(public_url, path, {"purl": PURL[5]})
        assert (response.status_code, response.headers["Content-Type"]) == (404, "text/html; charset=utf-8")
    upload = post(public_url, "/api/matching/", None, files={"upload_file": ("scan.json", json.dumps(SCAN))})
    assert upload.status_code == 404


def test_public_setup_switch(url) -> None:
    configure(url, public_setup=True)
    try:
        assert get(url, "/api/matching/").status_code == 404
        assert get(url, "/api/packages/").status_code == 200
    finally:
        configure(url, public_setup=False)
    assert get(url, "/api/matching/").status_code == 200


# -- collect and package sets (not in a public setup) ---------------------------------------------------
def test_collect(url) -> None:
    found = get(url, "/api/collect/", {"purl": "pkg:maven/org.apache.twill/twill-core@0.12.0"})
    assert found.status_code == 200
    assert [p["purl"] for p in found.json()] == [PURL[3], PURL[4]]
    invalid = get(url, "/api/collect/", {"purl": "not-a-purl"})
    assert invalid.status_code == 400
    assert invalid.json() == {
        "errors": {
            "purl": ["purl validation error: purl is missing the required \"pkg\" scheme component: 'not-a-purl'."]
        }
    }


def test_package_sets(url) -> None:
    sets = get(url, "/api/package_sets/").json()
    assert sets["count"] == 1
    assert [p["uuid"] for p in sets["results"][0]["packages"]] == [pid(3), pid(4)]
    one = get(url, "/api/package_sets/1/")
    assert (one.status_code, one.json()["uuid"]) == (200, SET_UUID)
    by_uuid = get(url, f"/api/package_sets/{SET_UUID}/")  # the lookup is the integer pk
    assert (by_uuid.status_code, by_uuid.json()) == (404, {"detail": "Not found."})


def test_the_stack_command_lines_stay_valid() -> None:
    """stack/up.sh runs ``python -m sandboxes.purldb.seed --out … --download-base-url … ARCHIVE…``
    and then ``python -m sandboxes.purldb --host … --port … --index …``."""
    seed = subprocess.run(
        [sys.executable, "-m", "sandboxes.purldb.seed", "--help"], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert "--out OUT" in seed.stdout and "--download-base-url" in seed.stdout
    server = subprocess.run(
        [sys.executable, "-m", "sandboxes.purldb", "--help"], capture_output=True, text=True, cwd=ROOT, check=True
    )
    for flag in ("--host", "--port", "--index", "--token", "--public-setup", "--throttle-per-hour"):
        assert flag in server.stdout
