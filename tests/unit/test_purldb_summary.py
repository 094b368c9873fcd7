"""PurlDB matches: a tiny file (a lone newline, an empty __init__.py) is no evidence of origin."""

from __future__ import annotations

from sca.purldb.client import MIN_EVIDENCE_BYTES, summarize_matches

SIX = {"package_uid": "pkg:pypi/six@1.16.0?uuid=1", "purl": "pkg:pypi/six@1.16.0"}
URLLIB3 = {"package_uid": "pkg:pypi/urllib3@2.2.1?uuid=2", "purl": "pkg:pypi/urllib3@2.2.1"}


def test_only_files_of_substance_count_as_matches() -> None:
    scan = {
        "files": [
            {"path": "requests/a.txt", "type": "file", "size": 1},
            {"path": "requests/b.txt", "type": "file", "size": 1},
            {"path": "requests/vendored/util.py", "type": "file", "size": 4096},
            {"path": "requests/api.py", "type": "file", "size": 6000},
            {"path": "requests", "type": "directory", "size": 0},
        ]
    }
    results = {
        "packages": [SIX, URLLIB3],
        "files": [
            {"path": "requests/a.txt", "type": "file", "for_packages": [SIX["package_uid"]]},
            {"path": "requests/b.txt", "type": "file", "size": 1, "for_packages": [SIX["package_uid"]]},
            {"path": "requests/vendored/util.py", "type": "file", "for_packages": [URLLIB3["package_uid"]]},
            {"path": "requests/api.py", "type": "file", "for_packages": []},
        ],
    }
    summary = summarize_matches(scan, results)
    assert MIN_EVIDENCE_BYTES == 32
    assert summary == {
        "scanned_files": 4,
        "matched_files": 1,
        "coverage": 0.5,
        "packages": [
            {
                "purl": "pkg:pypi/urllib3@2.2.1",
                "package_uids": [URLLIB3["package_uid"]],
                "declared_license_expression": None,
                "download_url": None,
                "files": ["requests/vendored/util.py"],
            }
        ],
        "trivial_matches": 2,
    }
