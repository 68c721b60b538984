"""A strict JSON parser for command-line output: NaN, Infinity and -Infinity are errors (RFC 8259)."""
import json


def _reject(name):
    raise ValueError(f"non-standard JSON constant {name}")


def loads(text: str):
    """``json.loads`` that rejects NaN/Infinity and anything after the one JSON document."""
    return json.loads(text, parse_constant=_reject)
