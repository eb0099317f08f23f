"""Turning untrusted call parameters into typed models, with the failing field named.

Parameters are strict (CONTRACTS.md "Parameters"): `true`, `1.0` or `"5"` where an integer is expected, or `1` where
a boolean is, is `validation_failed`, never silently converted. Fields that are parsed from text on purpose
(timestamps) opt out with `Field(strict=False)`.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from core.errors import BenchError

M = TypeVar("M", bound=BaseModel)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_LABEL = 256
MAX_TEXT = 16 * 1024


class Params(BaseModel):
    """Base for call parameters: unknown keys are an error, not silently ignored, and types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=False, defer_build=True)


def parse(model: type[M], data: Any) -> M:
    """`data` as `model`: a dict is validated; an instance (the registry validated it already) is returned as is."""
    if isinstance(data, model):
        return data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BenchError("malformed_request", "parameters must be a JSON object", details={"reason": "not an object"})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "params"
        reason = first["msg"]
        raise BenchError(
            "validation_failed", f"{field}: {reason}", field=field, details={"reason": first["type"]}
        ) from None
    except RecursionError:
        raise BenchError(
            "malformed_request", "parameters are nested too deeply", details={"reason": "json decode error"}
        ) from None


def has_control_characters(value: str) -> bool:
    """C0/C1 controls, DEL and NUL: never part of a name or a label (they move the cursor, end strings in C)."""
    return any(unicodedata.category(ch) == "Cc" for ch in value)


def _name(value: str) -> str:
    if not NAME_PATTERN.match(value):
        raise ValueError("use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return value


def _label(value: str) -> str:
    value = value.strip()
    if "\n" in value or "\r" in value:
        raise ValueError("must be one line")
    if has_control_characters(value):
        raise ValueError("must not contain control characters")
    if len(value) > MAX_LABEL:
        raise ValueError(f"must be at most {MAX_LABEL} characters")
    return value


def _non_empty(value: str) -> str:
    if not value:
        raise ValueError("cannot be empty (this field is not clearable)")
    return value


Name = Annotated[str, AfterValidator(_name)]
Label = Annotated[str, AfterValidator(_label)]
NonEmptyLabel = Annotated[str, AfterValidator(_label), AfterValidator(_non_empty)]
