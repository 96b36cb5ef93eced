"""``cdk synth`` / ``cdk deploy`` entry point (cdk.json runs ``python -m infra.app``).

Reads the deploy configuration, builds the stack and registers cdk-nag's AwsSolutions pack as a
CDK validation plugin, so every synth fails on an unacknowledged finding."""

from __future__ import annotations

import sys

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import ConfigError, bundle_layer, load_config
from infra.journeys import ProjectError
from infra.stack import TouchpointStack, environment_from


def build(app: App, *, nag: bool = True) -> TouchpointStack:
    """The stack as configured by the app's context; cdk-nag attached unless ``nag`` is False."""
    context = app.node.try_get_context
    config = load_config(context)
    env = environment_from(config)
    stack = TouchpointStack(
        app,
        config.stack_name,
        config=config,
        bundle_layer=bundle_layer(context),
        env=Environment(**env) if env else None,
    )
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    return stack


def main() -> int:
    """Synthesize; a configuration or project error is one clear message, not a traceback."""
    app = App()
    try:
        build(app)
    except (ConfigError, ProjectError) as error:
        print(f"touchpoint: {error}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
