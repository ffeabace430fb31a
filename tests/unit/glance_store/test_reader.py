"""The verifying reader counts, caps and hashes, and fails while streaming."""

from __future__ import annotations

import hashlib
import threading

import pytest

from glance_store import exceptions
from glance_store.reader import VerifyingReader

CHUNK = 64 * 1024
DATA = bytes(range(256)) * (CHUNK // 256 * 5 + 3)


def drain(reader) -> list[bytes]:
    return list(reader)


def hash_threads() -> list[str]:
    return [t.name for t in threading.enumerate()
            if t.name.startswith("glance-store-")]


def test_digests_match_hashlib(source):
    with VerifyingReader(source(DATA), chunk_size=CHUNK,
                         hashing_algorithm="sha384") as reader:
        body = b"".join(drain(reader))

    assert body == DATA
    assert reader.digest.size == len(DATA)
    assert reader.digest.checksum == hashlib.md5(DATA).hexdigest()
    assert reader.digest.os_hash_algo == "sha384"
    assert reader.digest.os_hash_value == hashlib.sha384(DATA).hexdigest()


def test_short_reads_are_gathered_into_full_chunks(source):
    with VerifyingReader(source(DATA, piece=1000), chunk_size=CHUNK) as reader:
        sizes = [len(chunk) for chunk in reader]

    assert sizes[:-1] == [CHUNK] * (len(sizes) - 1)
    assert sum(sizes) == len(DATA)


def test_digest_is_none_until_the_stream_is_exhausted(source):
    with VerifyingReader(source(DATA), chunk_size=CHUNK) as reader:
        next(iter(reader))
        assert reader.digest is None


def test_too_many_bytes_fail_before_the_excess_is_handed_out(source):
    stream = source(DATA)
    received = []
    with VerifyingReader(stream, size=CHUNK + 10, chunk_size=CHUNK) as reader:
        with pytest.raises(exceptions.SizeMismatch, match="more than"):
            for chunk in reader:
                received.append(chunk)

    assert sum(map(len, received)) == CHUNK
    assert stream.bytes_read == CHUNK + 11


def test_too_few_bytes_fail_at_the_end(source):
    with VerifyingReader(source(DATA), size=len(DATA) + 1) as reader:
        with pytest.raises(exceptions.SizeMismatch, match="declared"):
            drain(reader)


def test_a_declared_size_over_the_cap_fails_before_reading(source):
    stream = source(DATA)

    with pytest.raises(exceptions.SizeLimitExceeded):
        VerifyingReader(stream, size=100, cap=99)

    assert stream.reads == 0


def test_an_undeclared_stream_over_the_cap_stops_one_byte_past_it(source):
    stream = source(DATA)
    with VerifyingReader(stream, cap=CHUNK + 5, chunk_size=CHUNK) as reader:
        with pytest.raises(exceptions.SizeLimitExceeded):
            drain(reader)

    assert stream.bytes_read == CHUNK + 6


def test_a_wrong_checksum_fails_at_the_end(source):
    with VerifyingReader(source(DATA), checksum="0" * 32) as reader:
        with pytest.raises(exceptions.ChecksumMismatch, match="0" * 32):
            drain(reader)


def test_the_streams_own_error_passes_through_unchanged(source):
    error = OSError("connection reset")
    with VerifyingReader(source(DATA, fail_on_read=2, error=error),
                         chunk_size=CHUNK) as reader:
        with pytest.raises(OSError) as raised:
            drain(reader)

    assert raised.value is error


def test_read_serves_a_file_like_client(source):
    with VerifyingReader(source(DATA), chunk_size=CHUNK) as reader:
        pieces = []
        while piece := reader.read(10_000):
            pieces.append(piece)

    assert b"".join(pieces) == DATA
    assert max(map(len, pieces)) == 10_000
    assert reader.digest.checksum == hashlib.md5(DATA).hexdigest()


def test_read_without_a_size_returns_whole_chunks(source):
    with VerifyingReader(source(DATA), chunk_size=CHUNK) as reader:
        first = reader.read()

    assert first == DATA[:CHUNK]


def test_closing_stops_the_hash_threads_even_mid_stream(source):
    before = hash_threads()
    reader = VerifyingReader(source(DATA), chunk_size=CHUNK)
    next(iter(reader))
    assert len(hash_threads()) == len(before) + 2

    reader.close()

    assert hash_threads() == before


def test_an_unusable_hashing_algorithm_is_a_configuration_error(source):
    for name in ("no-such-hash", "shake_128"):
        with pytest.raises(exceptions.BadStoreConfiguration, match=name):
            VerifyingReader(source(DATA), hashing_algorithm=name)


def test_a_negative_declared_size_is_refused(source):
    with pytest.raises(exceptions.SizeMismatch):
        VerifyingReader(source(DATA), size=-1)


def test_at_end_reads_ahead_without_losing_a_byte(source):
    with VerifyingReader(source(DATA), chunk_size=CHUNK) as reader:
        assert not reader.at_end()
        assert not reader.at_end()
        first = reader.read(10)
        rest = b"".join(reader)

        assert reader.at_end()
    assert first + rest == DATA


def test_at_end_verifies_what_was_read(source):
    with VerifyingReader(source(DATA), size=len(DATA) + 1,
                         chunk_size=CHUNK) as reader:
        got = 0
        while got < len(DATA):
            got += len(reader.read(len(DATA) - got))
        with pytest.raises(exceptions.SizeMismatch, match="declared"):
            reader.at_end()
