"""What every model of the journey language shares: strict frozen models, and unions picked by key.

Unions are discriminated by which key is present (``send:``, ``wait:``, ``attribute:`` …), so a
mistake is reported against the one shape the author meant, never as a list of every branch."""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, Discriminator, Tag


class Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=False
    )


def tags(members: Any) -> tuple[str, ...]:
    """The kinds of a union of ``Annotated[Model, Tag(kind)]``, in the order written."""
    return tuple(
        next(meta.tag for meta in get_args(member)[1:] if isinstance(meta, Tag))
        for member in get_args(members)
    )


def by_key(what: str, kinds: tuple[str, ...]) -> Discriminator:
    """Pick the union member from the one kind key present (none or several → one clear error)."""

    def kind(value: Any) -> str | None:
        if isinstance(value, dict):
            present = [k for k in kinds if k in value]
            return present[0] if len(present) == 1 else None
        return getattr(value, "kind", None)

    return Discriminator(
        kind,
        custom_error_type=f"{what}_kind",
        custom_error_message=f"a {what} needs exactly one of: " + ", ".join(kinds),
    )
