"""A contact's fields as people type them, checked and normalised the same way everywhere:
the API's create and patch, the dashboard and the import (docs/audiences.md §1, §2).

Each check returns the clean value or raises `FieldProblem` with the sentence shown next to
the field (or the file's line and column).
"""

import re
from functools import lru_cache
from zoneinfo import available_timezones

from ..importing.readers import normalise_header

NAME_MAX = 200
TAG_MAX = 64
TAGS_MAX = 50
LOCALE_MAX = 20
ATTRIBUTE_KEY_MAX = 64
ATTRIBUTE_VALUE_MAX = 1000
ATTRIBUTES_MAX = 100
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


class FieldProblem(ValueError):
    """One field's value refused; the message says why."""


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    # The IANA names the system's (or tzdata's) database knows; read once per process.
    return frozenset(available_timezones()) | {"UTC"}


def clean_name(value: str) -> str:
    name = (value or "").strip()
    if len(name) > NAME_MAX:
        raise FieldProblem(f"name is {len(name)} characters long; at most {NAME_MAX}")
    if "\x00" in name:
        raise FieldProblem("name contains a NUL character")
    return name


def clean_time_zone(value: str) -> str:
    zone = (value or "").strip()
    if zone and zone not in _zones():
        raise FieldProblem(
            "not a time zone: use an IANA name such as Europe/Berlin or America/Sao_Paulo"
        )
    return zone


def clean_locale(value: str) -> str:
    locale = (value or "").strip()
    if locale and (len(locale) > LOCALE_MAX or not _LOCALE.fullmatch(locale)):
        raise FieldProblem("not a locale: use a language code such as en, pt_BR or es-MX")
    return locale.replace("-", "_")


def split_tags(text: str) -> list[str]:
    """A comma-separated cell as tags: trimmed, lower-cased, repeats dropped (first kept)."""
    return clean_tags(text.split(",")) if text else []


def clean_tags(values) -> list[str]:
    if not isinstance(values, list | tuple):
        raise FieldProblem("tags must be a list of strings")
    tags: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise FieldProblem("tags must be a list of strings")
        tag = value.strip().lower()
        if not tag or tag in tags:
            continue
        if len(tag) > TAG_MAX or "\x00" in tag:
            raise FieldProblem(f"the tag {tag[:20]!r}… is longer than {TAG_MAX} characters")
        tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise FieldProblem(f"{len(tags)} tags; at most {TAGS_MAX}")
    return tags


def clean_attribute_value(value) -> str | int | float | bool:
    """From the API: text, a number or a boolean as given. From a file every value is text."""
    if isinstance(value, bool | int | float):
        return value
    if not isinstance(value, str):
        raise FieldProblem("an attribute's value must be text, a number or true/false")
    if len(value) > ATTRIBUTE_VALUE_MAX:
        raise FieldProblem(f"{len(value)} characters; an attribute holds at most 1000")
    if "\x00" in value:
        raise FieldProblem("contains a NUL character")
    return value


def clean_attributes(values) -> dict:
    """The API's attributes: keys named as the importer names columns (lower case, spaces and
    dashes as _: a file's column and the API's key are the same attribute), values checked.
    A null value removes the key on patch (kept as None here; the service drops it)."""
    if not isinstance(values, dict):
        raise FieldProblem("attributes must be an object of key → value")
    if len(values) > ATTRIBUTES_MAX:
        raise FieldProblem(f"{len(values)} attributes; at most {ATTRIBUTES_MAX}")
    clean: dict = {}
    for raw_key, value in values.items():
        key = normalise_header(raw_key)
        if not key or len(key) > ATTRIBUTE_KEY_MAX or "\x00" in key:
            raise FieldProblem(
                f"{str(raw_key)[:30]!r} is not an attribute name (1 to {ATTRIBUTE_KEY_MAX} "
                "characters)"
            )
        try:
            clean[key] = None if value is None else clean_attribute_value(value)
        except FieldProblem as exc:
            raise FieldProblem(f"{key}: {exc}") from None
    return clean
