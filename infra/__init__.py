"""The CDK app that deploys Touchpoint: ``cdk deploy`` ships the whole engine from ``statemachines/``.

Nothing here imports the Lambda handlers: the functions are shipped as a directory asset, so the
stack synthesizes while the runtime is still being written."""
