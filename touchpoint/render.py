"""Render a send's template for one profile, in the sandbox, never printing ``None``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError

from touchpoint import templates
from touchpoint.attributes import ProfileSchema
from touchpoint.errors import TemplateError
from touchpoint.profiles import Profile


@dataclass(frozen=True)
class Rendered:
    file: str
    text: str
    subject: str | None = None
    html: str | None = None


class Renderer:
    def __init__(self, journeys_dir: Path, schema: ProfileSchema) -> None:
        directory = journeys_dir / templates.TEMPLATE_DIR
        self.catalog = templates.scan(directory)
        self.envs = templates.Environments(directory)
        self.defaults = schema.defaults()

    def render(
        self, channel: templates.Channel, name: str, profile: Profile, extra: dict[str, Any]
    ) -> Rendered:
        """Missing values fall back to profile.yaml defaults; with none, the template must say
        what to show (``| default(...)``) or the send fails with the variable's name."""
        file = self.catalog.pick(name, channel, profile.locale)
        if file is None:
            raise TemplateError(f"no {channel} template {name!r} in {self.catalog.directory}")
        context = {
            **self.defaults,
            **{k: v for k, v in profile.template_context().items() if v is not None and v != ""},
            **extra,
        }
        try:
            if channel == "email":
                plain = templates.render_blocks(self.envs.plain, file, ("subject", "text"), context)
                html = templates.render_blocks(self.envs.html, file, ("html",), context)["html"]
                return Rendered(file, plain["text"], " ".join(plain["subject"].split()), html)
            return Rendered(file, templates.render_body(self.envs.plain, file, context))
        except jinja2.UndefinedError as error:
            raise TemplateError(
                f"{file}: {error.message}; add it to the profile, declare a default in "
                "profile.yaml or use | default(...)"
            ) from error
        except SecurityError as error:
            raise TemplateError(f"{file}: blocked by the sandbox: {error}") from error
        except jinja2.TemplateError as error:
            raise TemplateError(f"{file}: {error}") from error
