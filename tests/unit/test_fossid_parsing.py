"""FossID reply parsing: both check_status generations, envelopes, polymorphic lists."""

from __future__ import annotations

import pytest

from sca.fossid.client import (
    FossIDAuthenticationError,
    FossIDError,
    FossIDNotFoundError,
    as_rows,
    envelope_data,
)
from sca.fossid.status import FossIDStatus, normalise_status, parse_check_status

OLD_FINISHED = {
    "scan_id": "4920",
    "scan_name": "s",
    "scan_code": "s",
    "pid": '{"primary":11837}',
    "type": "SCAN",
    "status": "FINISHED",
    "is_finished": "1",
    "percentage_done": "100%",
    "comment": "Scan finished ... 40 files scanned.",
    "comment_2": "",
    "comment_3": "",
}
NEW_RUNNING = {
    "id": 58,
    "scan_id": 3843,
    "type": "SCAN",
    "status": "RUNNING",
    "state": "RUNNING",
    "is_finished": False,
    "percentage_done": 42,
    "comment": None,
}


def test_pre_2021_2_string_shape() -> None:
    status = parse_check_status(OLD_FINISHED)
    assert status.status is FossIDStatus.FINISHED and status.percentage == 100 and status.is_terminal
    running = parse_check_status({**OLD_FINISHED, "status": "RUNNING", "is_finished": "0", "percentage_done": "37%"})
    assert running.status is FossIDStatus.RUNNING and running.percentage == 37 and not running.is_terminal


def test_2021_2_typed_shape_and_progress_state() -> None:
    assert parse_check_status(NEW_RUNNING).percentage == 42
    assert parse_check_status({"progress_state": "IN_PROGRESS", "process_id": 789}).status is FossIDStatus.RUNNING
    assert parse_check_status({"progress_state": "FINISHED"}).is_terminal
    assert parse_check_status(True).status is FossIDStatus.FINISHED


def test_status_words_and_unknowns() -> None:
    assert normalise_status("NOT STARTED") is FossIDStatus.NEW
    assert normalise_status("INTERRUPTED") is FossIDStatus.FAILED
    assert normalise_status("SOMETHING_NEW") is FossIDStatus.UNKNOWN
    assert FossIDStatus.UNKNOWN.is_active and not FossIDStatus.UNKNOWN.is_terminal


def test_error_envelopes_are_typed_and_keep_the_key_out() -> None:
    auth = {
        "operation": "projects_get_information",
        "status": "0",
        "data": [],
        "error": "Classes.FossID.user_not_found_or_api_key_is_not_correct",
        "message": "User is not found or API key is incorrect",
        "message_parameters": [],
    }
    with pytest.raises(FossIDAuthenticationError, match="expired") as info:
        envelope_data(auth, group="projects", action="get_information", url="http://x/api.php", username="bot")
    assert "bot" in str(info.value)
    missing = {
        "status": "0",
        "error": "Classes.TableRepository.row_not_found",
        "message": "Row s in table scans",
        "message_parameters": {"rowidentifier": "s", "table": "scans"},
        "data": [],
    }
    with pytest.raises(FossIDNotFoundError):
        envelope_data(missing, group="scans", action="get_information", url="u", username="bot")
    parse = {
        "status": "0",
        "error": "RequestData.Base.issues_while_parsing_request",
        "message": "issues:",
        "data": [
            {
                "code": "RequestData.Base.field_not_valid_option",
                "message": "Field type is not valid",
                "message_parameters": {"fieldname": "type"},
            }
        ],
    }
    with pytest.raises(FossIDError, match="Field type is not valid") as issue:
        envelope_data(parse, group="scans", action="check_status", url="u", username="bot")
    assert issue.value.issues[0]["message_parameters"]["fieldname"] == "type"


def test_polymorphic_lists() -> None:
    assert as_rows(False) == []
    assert as_rows([{"a": 1}]) == [{"a": 1}]
    assert as_rows({"6667630": "src/x.txt"}) == [{"id": "6667630", "value": "src/x.txt"}]
    assert envelope_data({"status": 1, "data": None}, group="g", action="a", url="u", username="b") is None


def test_an_error_envelope_sent_as_a_report_raises_whatever_its_content_type(tmp_path) -> None:
    import json

    from sca.fossid.client import FossIDClient
    from tests.unit.scripted_server import Reply, scripted_server

    envelope = {"operation": "download_download_report", "status": "0", "error": "Report does not exist"}
    with scripted_server() as srv:
        srv.script(
            "/api.php",
            Reply(200, json.dumps(envelope).encode(), {"Content-Type": "text/html; charset=UTF-8"}),
            Reply(200, b'{"bomFormat": "CycloneDX", "status": "draft"}', {"Content-Type": "text/html"}),
        )
        client = FossIDClient(srv.url, "bot", "k")
        with pytest.raises(FossIDError, match="Report does not exist"):
            client.download_report("scans", "7", tmp_path / "r.json")
        assert not (tmp_path / "r.json").exists(), "the error must not be saved as the report"
        saved = client.download_report("scans", "8", tmp_path / "r.json")
        assert json.loads(saved.read_text()) == {"bomFormat": "CycloneDX", "status": "draft"}


def test_version_falls_back_to_the_login_page_when_get_config_is_not_an_envelope() -> None:
    from sca.fossid.client import FossIDClient
    from tests.unit.scripted_server import Reply, scripted_server

    with scripted_server() as srv:
        srv.script("/api.php", Reply(200, b"<html>Not Found</html>", {"Content-Type": "text/html"}))
        srv.script("/index.php", Reply(200, b'<link href="css/fossid.css?v=23.3.1" rel="stylesheet">'))
        assert FossIDClient(srv.url, "bot", "k").version() == "23.3.1"


def test_report_types_follow_the_server_version() -> None:
    from sca.fossid.client import check_report_type

    check_report_type("dynamic", "23.3.1")
    check_report_type("string_match", "23.3.1")
    check_report_type("string_match", "24.2.0")
    with pytest.raises(ValueError, match="removed in Workbench 24.2"):
        check_report_type("basic", "25.1.0")
    with pytest.raises(ValueError, match="before Workbench 24.2 only"):
        check_report_type("dynamic")
    with pytest.raises(ValueError, match="unknown FossID report type 'pdf'"):
        check_report_type("pdf", "25.1.0")


def test_versions_of_both_numberings_compare_and_choose_the_scan_page() -> None:
    from sca.fossid.client import scan_ui_url, version_tuple

    assert version_tuple("24.2.1") == (2024, 2, 1)
    assert version_tuple("2021.2.0") == (2021, 2, 0)
    assert version_tuple("2026.1.0") == version_tuple("26.1.0") > version_tuple("25.3.2") > version_tuple("2021.2")
    base = "https://wb.example.org/api.php"
    assert scan_ui_url(base, 42, "26.1.0") == "https://wb.example.org/nui/scans/42/audit/all"
    assert scan_ui_url(base, 42, "2026.1.0") == "https://wb.example.org/nui/scans/42/audit/all"
    assert (
        scan_ui_url(base, 42, "25.1.0")
        == "https://wb.example.org/index.html?form=main_interface&action=scanview&sid=42"
    )
    assert scan_ui_url(base, 42, None) == "https://wb.example.org/index.html?form=main_interface&action=scanview&sid=42"
