"""The streamed JSON reader: elements and members as ``json.load`` decodes them, whatever the chunk
boundaries cut through, with memory bounded by a chunk and one element, and errors that say where."""

from __future__ import annotations

import hashlib
import io
import json
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sca.store.json_stream import JsonStreamError, iter_array, iter_members

TINY_CHUNKS = (1, 7)
MiB = 1024 * 1024


def elements(text: str, name: str, chunk_size: int) -> list[Any]:
    return list(iter_array(io.BytesIO(text.encode()), name, chunk_size))


class GeneratedHandle:
    """A binary handle whose bytes are produced as they are read, so a test's input is never in
    memory whole either."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._pending = b""

    def read(self, size: int) -> bytes:
        while len(self._pending) < size:
            piece = next(self._pieces, b"")
            if not piece:
                break
            self._pending += piece
        taken, self._pending = self._pending[:size], self._pending[size:]
        return taken


def repeated(piece: bytes, times: int) -> Iterator[bytes]:
    for _ in range(times):
        yield piece


def peak_allocated_by(work: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("chunk_size", TINY_CHUNKS)
def test_strings_with_brackets_quotes_and_escapes_split_anywhere(chunk_size: int) -> None:
    text = r"""{"files": ["a]b}c", "q\"uote", "back\\slash\\", "\u00e9\u20ac\ud83d\ude00", "[{\"x\": 1}]", "", "\/"]}"""
    assert elements(text, "files", chunk_size) == [
        "a]b}c",
        'q"uote',
        "back\\slash\\",
        "é€😀",
        '[{"x": 1}]',
        "",
        "/",
    ]


@pytest.mark.parametrize("chunk_size", TINY_CHUNKS)
def test_utf8_characters_split_across_chunks(chunk_size: int) -> None:
    raw = '{"files": ["é", "€uro", "😀x", {"名前": "値"}]}'.encode()
    assert list(iter_array(io.BytesIO(raw), "files", chunk_size)) == ["é", "€uro", "😀x", {"名前": "値"}]


def test_a_byte_order_mark_and_a_text_handle_read_the_same() -> None:
    text = '{"files": [1, "€"]}'
    assert list(iter_array(io.BytesIO(b"\xef\xbb\xbf" + text.encode()), "files", 3)) == [1, "€"]
    assert list(iter_array(io.StringIO(text), "files", 3)) == [1, "€"]


@pytest.mark.parametrize("chunk_size", TINY_CHUNKS)
def test_numbers_and_literals_cut_by_a_chunk_keep_all_their_digits(chunk_size: int) -> None:
    text = '{"files":[12345,-0.5,1.25e+3,1E2,true,false,null,-7, 9 ]}'
    assert elements(text, "files", chunk_size) == [12345, -0.5, 1250.0, 100.0, True, False, None, -7, 9]


@pytest.mark.parametrize("chunk_size", TINY_CHUNKS)
def test_nested_and_empty_arrays(chunk_size: int) -> None:
    text = '{ "files" : [ [], [[]], {"x": [], "y": {}}, [1, [2, [3]]] ] , "after": [] }'
    assert elements(text, "files", chunk_size) == [[], [[]], {"x": [], "y": {}}, [1, [2, [3]]]]
    assert elements(text, "after", chunk_size) == []
    assert elements('{"files": []}', "files", chunk_size) == []


@pytest.mark.parametrize("chunk_size", TINY_CHUNKS)
def test_absent_or_null_is_empty_as_with_get_or_empty_list(chunk_size: int) -> None:
    assert elements('{"packages": [1]}', "files", chunk_size) == []
    assert elements('{"files": null, "packages": [1]}', "files", chunk_size) == []
    assert elements("{}", "files", chunk_size) == []


@pytest.mark.parametrize("chunk_size", TINY_CHUNKS)
def test_members_before_the_array_are_skipped_whatever_their_shape(chunk_size: int) -> None:
    text = (
        '{"headers": [{"notice": "]]}}\\"[["}, [[[]]], "\\\\"], "count": -12.5e1, "flag": false, "none": null,'
        ' "extra": {"a": {"b": ["}", "{"]}}, "note": "x]y", "files": ["kept"], "later": ["not read"]}'
    )
    assert elements(text, "files", chunk_size) == ["kept"]


def test_the_first_of_two_members_with_the_same_name_is_read() -> None:
    assert elements('{"files": [1], "files": [2]}', "files", 7) == [1]


@pytest.mark.parametrize("chunk_size", TINY_CHUNKS)
def test_chosen_members_are_decoded_whole_and_the_others_skipped(chunk_size: int) -> None:
    text = '{"headers": [{"tool": "scanpipe"}], "files": [{"path": "a"}], "summary": {"n": 1}, "z": 0}'
    chosen = list(iter_members(io.BytesIO(text.encode()), {"headers", "summary"}, chunk_size))
    assert chosen == [("headers", [{"tool": "scanpipe"}]), ("summary", {"n": 1})]
    every = list(iter_members(io.BytesIO(text.encode()), None, chunk_size))
    assert [name for name, _ in every] == ["headers", "files", "summary", "z"]


def big_members_then_files() -> Iterator[bytes]:
    """An 8 MiB string, then a 16 MiB array of 1 MiB strings, then ``files``, in 4 KiB pieces."""
    yield b'{"blob": "'
    yield from repeated(b"y" * 4096, 2048)
    yield b'", "big": ['
    for _ in range(16):
        yield b'"'
        yield from repeated(b"x" * 4096, 256)
        yield b'",'
    yield b'{"small": 1}], "files": [{"path": "a"}]}'


def test_skipping_a_big_member_never_holds_it() -> None:
    """The 24 MiB before ``files`` are skipped with 64 KiB chunks; the allocations stay under
    1 MiB at their peak."""
    handle = GeneratedHandle(big_members_then_files())
    found: list[Any] = []
    peak = peak_allocated_by(lambda: found.extend(iter_array(handle, "files", 64 * 1024)))
    assert found == [{"path": "a"}]
    assert peak < MiB


def test_the_array_is_read_one_element_at_a_time() -> None:
    """100 elements of 100 KB each (10 MB) with 64 KiB chunks: the peak is a few elements' worth."""
    element = b'{"path": "' + b"p" * 100_000 + b'", "n": [1, 2]}'
    pieces = iter([[b'{"files": ['], repeated(element + b",", 99), [element + b"]}"]])
    handle = GeneratedHandle(piece for group in pieces for piece in group)
    path_lengths: list[int] = []

    def read_all() -> None:
        for decoded in iter_array(handle, "files", 64 * 1024):
            path_lengths.append(len(decoded["path"]))

    peak = peak_allocated_by(read_all)
    assert path_lengths == [100_000] * 100
    assert peak < 2 * MiB


@pytest.mark.parametrize("chunk_size", (7, 1 * MiB))
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('["files"]', "expected '{' opening the top-level object, found '[' at position 0"),
        ("", "expected '{' opening the top-level object, found the end of the input at position 0"),
        ('{"files": [1, 2,]}', "expected a value, found ']' at position 16"),
        ('{"files": [1 2]}', "expected ',' or ']' after an element of 'files', found '2' at position 13"),
        ('{"files": [{"a": 1,}]}', "malformed JSON: Expecting property name enclosed in double quotes at position 19"),
        ('{"files": [{"a": tru}]}', "malformed JSON: Expecting value at position 17"),
        ('{"files": [1x]}', "malformed JSON: unexpected 'x' at position 12"),
        (
            '{"files": [{"a": "b',
            "unexpected end of input: the value starting at position 11 is not closed at position 19",
        ),
        ('{"files": [1', "expected ',' or ']' after an element of 'files', found the end of the input at position 12"),
        ('{"files": {"a": 1}}', "the member 'files' is not an array at position 10"),
        ('{"a" 1, "files": []}', "expected ':' after the member name 'a', found '1' at position 5"),
        ("{a: 1}", "expected a member name in double quotes, found 'a' at position 1"),
        ('{"a": 1 "files": []}', "expected ',' or '}' after the member 'a', found '\"' at position 8"),
        ('{"a": ["x", "y"', "expected ',' or ']' after an element of 'a', found the end of the input at position 15"),
        ('{"a": 1} x', "unexpected 'x' after the top-level object at position 9"),
    ],
)
def test_malformed_input_is_an_error_naming_the_position(text: str, message: str, chunk_size: int) -> None:
    with pytest.raises(JsonStreamError) as raised:
        elements(text, "files", chunk_size)
    assert str(raised.value) == message


def test_bytes_that_are_not_utf8_are_an_error() -> None:
    with pytest.raises(JsonStreamError, match=r"the input is not UTF-8 \(invalid start byte\) near byte 12"):
        list(iter_array(io.BytesIO(b'{"files": ["\xff"]}'), "files", 7))


def test_iteration_stops_at_the_end_of_its_array_without_reading_on() -> None:
    assert elements('{"files": [1, 2], "rest": [oops', "files", 7) == [1, 2]


# -- a ScanCode.io-shaped results file ---------------------------------------------------------------
def scancodeio_file(i: int) -> dict[str, Any]:
    digest = hashlib.sha256(str(i).encode()).hexdigest()
    path = f'pkg/src/dir_{i // 10}/módulo_{i}[{i % 3}]"q".py' if i % 7 == 0 else f"pkg/src/dir_{i // 10}/m_{i}.py"
    return {
        "path": path,
        "type": "file" if i % 5 else "directory",
        "size": 100 + i,
        "sha1": digest[:40],
        "sha256": digest,
        "programming_language": "Python",
        "detected_license_expression": "apache-2.0" if i % 4 else None,
        "license_detections": [{"license_expression": "apache-2.0", "matches": [{"score": 99.5, "start_line": 1}]}],
        "copyrights": [{"copyright": f"Copyright (c) {i} Ünïcode {{}} [] \\ Authors", "start_line": 1}],
        "compliance_alert": "",
        "extra_data": {},
    }


def write_scancodeio_results(path: Path, files: int) -> None:
    results = {
        "headers": [{"tool_name": "scanpipe", "tool_version": "38.2.0", "notice": 'a "notice" with ] and }'}],
        "packages": [
            {"purl": "pkg:pypi/acme@1.0", "type": "pypi", "name": "acme", "version": "1.0"},
            {"purl": "pkg:npm/%40scope/left-pad@1.3.0", "type": "npm", "namespace": "@scope", "name": "left-pad"},
        ],
        "dependencies": [{"purl": f"pkg:pypi/dep{i}", "scope": "install", "is_runtime": i % 2 == 0} for i in range(5)],
        "files": [scancodeio_file(i) for i in range(files)],
        "relations": [],
    }
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False))


@pytest.mark.parametrize("chunk_size", (7, 4096))
def test_a_scancodeio_results_file_reads_as_json_load_reads_it(tmp_path: Path, chunk_size: int) -> None:
    results = tmp_path / "results.json"
    write_scancodeio_results(results, 300)
    with results.open("rb") as handle:
        whole = json.load(handle)
    for name in ("headers", "packages", "dependencies", "files", "relations"):
        with results.open("rb") as handle:
            assert list(iter_array(handle, name, chunk_size)) == whole[name], name
    with results.open("rb") as handle:
        assert dict(iter_members(handle, None, chunk_size)) == whole
    with results.open("rb") as handle:
        files = list(iter_array(handle, "files", chunk_size))
    assert len(files) == 300
    assert files[7]["path"] == 'pkg/src/dir_0/módulo_7[1]"q".py'
    assert files[8]["copyrights"] == [{"copyright": "Copyright (c) 8 Ünïcode {} [] \\ Authors", "start_line": 1}]
