"""Read the members of a top-level JSON object from a file handle in chunks, without holding the
whole document: ``iter_array`` yields the elements of one array member one at a time,
``iter_members`` yields chosen members whole. Pure Python (``json`` and ``re`` only).

How it reads: a text buffer holds the input not yet consumed (about one chunk, plus the value
being decoded). Each value is decoded with ``json.JSONDecoder.raw_decode`` straight from the
buffer; when a value runs past the end of the buffer, a structural scan (strings, escapes,
brackets) reads on until the value is closed, then it is decoded once. A member that is not
wanted is never held whole: an array is skipped an element at a time (an element inside the
buffer is decoded and dropped, one running past it is scanned), anything else is scanned while
dropping what the scan has passed.

Semantics, chosen to match ``results.get(key) or []`` on ``json.load``'s result:
- a member that is absent or ``null`` is an empty array; any other non-array value is an error;
- names are compared exactly; if a name occurs twice, the first occurrence is read (``json.load``
  keeps the last; ScanCode.io never writes a name twice);
- ``iter_array`` stops reading once its array is closed: text after it is not checked. Reading
  to the end of the object (absent member, ``iter_members``) checks that nothing but whitespace
  follows it;
- a skipped member is checked for balanced strings and brackets only (elements of a skipped
  array that fit in the buffer are decoded, so checked fully); decoded values are checked fully
  by ``json``.

Positions in errors are character offsets from the start of the input, as ``json`` reports them.
Bytes are read as UTF-8 (a leading byte order mark is allowed); text handles are read as they are.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Collection, Iterator
from typing import IO, Any, TypeVar

CHUNK_SIZE = 1024 * 1024

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_STRUCTURAL = re.compile(r'["\[\]{}]')
_STRING_END = re.compile(r'["\\]')
_SCALAR_END = re.compile(r"[ \t\n\r,:\[\]{}\"]")
_SCALAR_START = frozenset("-0123456789tfnNI")  # NaN, Infinity: json accepts them
_NESTED_START = frozenset('"[{')
_DECODER = json.JSONDecoder()
_Taken = TypeVar("_Taken")


class JsonStreamError(ValueError):
    """Malformed JSON, or JSON of another shape than the reader expects, at ``position``."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}")
        self.position = position


class _Reader:
    """A cursor over the input: ``text`` is the buffered part, ``pos`` the next unread index in
    it, ``offset`` the input position of ``text[0]``."""

    def __init__(self, handle: IO[bytes] | IO[str], chunk_size: int) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        self._handle = handle
        self._chunk_size = chunk_size
        self._utf8: codecs.IncrementalDecoder | None = None
        self._bytes_read = 0
        self.text = ""
        self.pos = 0
        self.offset = 0
        self.at_end = False

    # -- buffer ------------------------------------------------------------------------------
    def position(self, index: int | None = None) -> int:
        """The input position of buffer index ``index`` (default: the cursor)."""
        return self.offset + (self.pos if index is None else index)

    def _decode(self, chunk: bytes | str) -> str:
        if isinstance(chunk, str):
            return chunk
        if self._utf8 is None:
            self._utf8 = codecs.getincrementaldecoder("utf-8-sig")()
        try:
            return self._utf8.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            raise JsonStreamError(
                f"the input is not UTF-8 ({exc.reason}) near byte {self._bytes_read + exc.start}", self.position()
            ) from exc

    def read_more(self) -> int:
        """Drop the text before the cursor and append the next chunk. Returns how far buffer
        indexes moved (subtract it from any index held); raises ``EOFError`` at the end."""
        if self.at_end:
            raise EOFError
        pending = len(self.text) - self.pos  # a value longer than a chunk: grow the buffer by doubling
        chunk = self._handle.read(max(self._chunk_size, pending))
        self.at_end = not chunk
        shift = self.pos
        self.offset += shift
        self.text = self.text[shift:] + self._decode(chunk)
        self._bytes_read += len(chunk)
        self.pos = 0
        return shift

    def peek(self) -> str:
        """The next character after whitespace ('' at the end of the input), not consumed."""
        while True:
            self.pos = _WHITESPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text):
                return self.text[self.pos]
            try:
                self.read_more()
            except EOFError:
                return ""

    def expect(self, character: str, what: str) -> None:
        found = self.peek()
        if found != character:
            raise self.error(f"expected {what}, found {describe(found)}")
        self.pos += 1

    def error(self, message: str, index: int | None = None) -> JsonStreamError:
        return JsonStreamError(message, self.position(index))

    # -- values ------------------------------------------------------------------------------
    def _end_of_scalar(self) -> int:
        """The buffer index just past the number or literal at the cursor, reading on as needed."""
        start = self.pos
        while True:
            found = _SCALAR_END.search(self.text, start)
            if found is not None:
                return found.start()
            start = len(self.text)
            try:
                start -= self.read_more()
            except EOFError:
                return len(self.text)

    def _end_of_nested(self, keep: bool) -> int:
        """The buffer index just past the string, array or object at the cursor, reading on as
        needed. With ``keep`` false (skipping), the text scanned is dropped as the scan goes."""
        started_at = self.position()
        index, depth, in_string = self.pos, 0, False
        while True:
            if in_string:
                found = _STRING_END.search(self.text, index)
                if found is None:
                    index = len(self.text)
                elif found.group() == "\\":
                    if found.end() < len(self.text):
                        index = found.end() + 1  # the escaped character cannot end the string
                        continue
                    index = found.start()  # keep the backslash: its character is in the next chunk
                else:
                    index, in_string = found.end(), False
                    if depth == 0:
                        return index
                    continue
            else:
                found = _STRUCTURAL.search(self.text, index)
                if found is None:
                    index = len(self.text)
                else:
                    index = found.end()
                    if found.group() == '"':
                        in_string = True
                    elif found.group() in "[{":
                        depth += 1
                    else:
                        depth -= 1
                        if depth == 0:
                            return index
                    continue
            if not keep:
                self.pos = index
            try:
                index -= self.read_more()
            except EOFError:
                raise JsonStreamError(
                    f"unexpected end of input: the value starting at position {started_at} is not closed",
                    self.position(len(self.text)),
                ) from None

    def _value_start(self) -> str:
        first = self.peek()
        if first == "":
            raise self.error("expected a value, found the end of the input")
        if first not in _NESTED_START and first not in _SCALAR_START:
            raise self.error(f"expected a value, found {describe(first)}")
        return first

    def _decode_within(self, end: int) -> Any:
        """Decode the value from the cursor to buffer index ``end``; move past it."""
        try:
            value, decoded_to = _DECODER.raw_decode(self.text[:end], self.pos)
        except json.JSONDecodeError as exc:
            raise self.error(f"malformed JSON: {exc.msg}", exc.pos) from None
        if decoded_to != end:
            raise self.error(f"malformed JSON: unexpected {describe(self.text[decoded_to])}", decoded_to)
        self.pos = end
        return value

    def decode_value(self) -> Any:
        """Decode the value at the cursor and move past it."""
        if self._value_start() in _SCALAR_START:
            return self._decode_within(self._end_of_scalar())
        try:  # most values are whole in the buffer: decode them from it directly
            value, self.pos = _DECODER.raw_decode(self.text, self.pos)
            return value
        except json.JSONDecodeError:
            pass
        return self._decode_within(self._end_of_nested(keep=True))

    def skip_value(self, name: str) -> None:
        """Move past the value of member ``name`` without keeping it whole. An array is skipped an
        element at a time (``_skip_element``); anything else is scanned, dropping what is passed."""
        first = self._value_start()
        if first in _SCALAR_START:
            self.decode_value()  # short: checked fully
        elif first == "[":
            for _ in self._each_element(f"{name!r}", self._skip_element):
                pass
        else:
            self.pos = self._end_of_nested(keep=False)

    def _skip_element(self) -> None:
        """An element whole in the buffer is decoded (in C, much faster than a scan in Python)
        and dropped; one running past the buffer, or malformed, is scanned without keeping it."""
        if self._value_start() in _SCALAR_START:
            self.decode_value()
            return
        try:
            _, self.pos = _DECODER.raw_decode(self.text, self.pos)
        except json.JSONDecodeError:
            self.pos = self._end_of_nested(keep=False)

    # -- structure ---------------------------------------------------------------------------
    def member_names(self) -> Iterator[str]:
        """Walk the top-level object. Each name is yielded with the cursor at its value, which
        the caller must consume (``decode_value``, ``skip_value`` or ``array_elements``) before
        asking for the next name. Ends after checking that nothing follows the object."""
        self.expect("{", "'{' opening the top-level object")
        if self.peek() == "}":
            self.pos += 1
            self.expect_end()
            return
        while True:
            if self.peek() != '"':
                raise self.error(f"expected a member name in double quotes, found {describe(self.peek())}")
            name = self.decode_value()
            self.expect(":", f"':' after the member name {name!r}")
            yield name
            following = self.peek()
            self.pos += 1
            if following == "}":
                self.expect_end()
                return
            if following != ",":
                raise self.error(
                    f"expected ',' or '}}' after the member {name!r}, found {describe(following)}", self.pos - 1
                )

    def array_elements(self, name: str) -> Iterator[Any]:
        """The elements of the array at the cursor (the value of member ``name``), one at a time;
        ``null`` is an empty array."""
        opening = self.peek()
        if opening == "n" and self.decode_value() is None:
            return
        if opening != "[":
            raise self.error(f"the member {name!r} is not an array")
        yield from self._each_element(f"{name!r}", self.decode_value)

    def _each_element(self, what: str, take: Callable[[], _Taken]) -> Iterator[_Taken]:
        """``take()`` at each element of the array at the cursor; ends past its closing ']'."""
        self.expect("[", f"'[' opening {what}")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield take()
            following = self.peek()
            self.pos += 1
            if following == "]":
                return
            if following != ",":
                raise self.error(
                    f"expected ',' or ']' after an element of {what}, found {describe(following)}", self.pos - 1
                )

    def expect_end(self) -> None:
        trailing = self.peek()
        if trailing:
            raise self.error(f"unexpected {describe(trailing)} after the top-level object")


def describe(character: str) -> str:
    return repr(character) if character else "the end of the input"


def iter_array(handle: IO[bytes] | IO[str], name: str, chunk_size: int = CHUNK_SIZE) -> Iterator[Any]:
    """Each element of the array that is member ``name`` of the top-level object in ``handle``,
    decoded one at a time; members before it are skipped unread. Absent or ``null``: nothing."""
    reader = _Reader(handle, chunk_size)
    for member in reader.member_names():
        if member != name:
            reader.skip_value(member)
            continue
        yield from reader.array_elements(name)
        return


def iter_members(
    handle: IO[bytes] | IO[str], names: Collection[str] | None = None, chunk_size: int = CHUNK_SIZE
) -> Iterator[tuple[str, Any]]:
    """(name, value) of each member of the top-level object in ``handle`` (of those in ``names``,
    when given; the others are skipped unread), in the order they appear, each decoded whole."""
    reader = _Reader(handle, chunk_size)
    for member in reader.member_names():
        if names is None or member in names:
            yield member, reader.decode_value()
        else:
            reader.skip_value(member)
