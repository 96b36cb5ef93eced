"""Compiled templates, kept once per set of compile settings for every environment that shares them."""

from __future__ import annotations

import threading
from collections import OrderedDict
from types import CodeType

import jinja2
from jinja2.bccache import Bucket


class _CodeCache(jinja2.BytecodeCache):
    """Compiled templates, shared by every environment with the same compile settings. The validator
    and each Renderer make their own Environments over the same files; without this each of them
    compiles every template again (about 3 ms a file), with it a repeat costs a dictionary lookup."""

    def __init__(self) -> None:
        self._code: OrderedDict[str, tuple[str, CodeType]] = OrderedDict()
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            entry = self._code.get(bucket.key)
            if entry is not None and entry[0] == bucket.checksum:  # checksum: of the source text
                self._code.move_to_end(bucket.key)
                bucket.code = entry[1]

    def dump_bytecode(self, bucket: Bucket) -> None:
        if bucket.code is not None:
            with self._lock:
                self._code[bucket.key] = (bucket.checksum, bucket.code)
                while len(self._code) > _CODE_CACHE_SIZE:
                    self._code.popitem(last=False)


_CODE_CACHE_SIZE = 2_000
_CODE_CACHES: dict[tuple[object, ...], _CodeCache] = {}


def code_cache(env: jinja2.Environment) -> jinja2.BytecodeCache | None:
    """The cache for environments that compile exactly like ``env`` (same syntax and escaping)."""
    if callable(env.autoescape):
        return None
    key = (
        env.autoescape,
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        env.newline_sequence,
        env.keep_trailing_newline,
        env.optimized,
        tuple(sorted(env.extensions)),
    )
    return _CODE_CACHES.setdefault(key, _CodeCache())
