"""Render a send's template for one profile, in the sandbox, never printing ``None``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError

from touchpoint import sandbox, templates
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
        what to show (``| default(...)``) or the send fails with the variable's name.

        Any failure of the template itself is a TemplateError, so the send fails for good instead
        of being retried: the same template fails the same way on every attempt."""
        file = self.catalog.pick(name, channel, profile.locale)
        if file is None:
            raise TemplateError(f"no {channel} template {name!r} in {self.catalog.directory}")
        context = {
            **self.defaults,
            **{k: v for k, v in profile.template_context().items() if v is not None and v != ""},
            **extra,
        }
        try:
            message = templates.render_message(self.envs, channel, file, context)
        except sandbox.OVER_LIMIT as error:
            raise TemplateError(f"template {file} {sandbox.exceeded(error)}") from error
        except jinja2.UndefinedError as error:
            raise TemplateError(
                f"{file}: {error.message}; add it to the profile, declare a default in "
                "profile.yaml or use | default(...)"
            ) from error
        except SecurityError as error:
            raise TemplateError(f"{file}: blocked by the sandbox: {error}") from error
        except jinja2.TemplateError as error:
            raise TemplateError(f"{file}: {error}") from error
        except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as error:
            # 1/0, 'a' + 1, 10.0 ** 400 (OverflowError) ...: errors of the template's own code
            raise TemplateError(f"{file}: {type(error).__name__}: {error}") from error
        if channel == "email":
            return Rendered(file, message.text, " ".join((message.subject or "").split()), message.html)
        return Rendered(file, message.text)
