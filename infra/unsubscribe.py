"""The public unsubscribe endpoint: the HMAC key its links are signed with, and the function URL."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager

from infra.config import DeployConfig
from infra.conventions import removal


def secret(scope: Stack, config: DeployConfig) -> secretsmanager.Secret:
    return secretsmanager.Secret(
        scope,
        "UnsubscribeSecret",
        description="HMAC key of Touchpoint unsubscribe links.",
        generate_secret_string=secretsmanager.SecretStringGenerator(
            password_length=64, exclude_punctuation=True
        ),
        removal_policy=removal(config),
    )


def url(function: lambda_.Function) -> lambda_.FunctionUrl:
    """No IAM auth: the link in the email is the credential (its HMAC token)."""
    return function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
