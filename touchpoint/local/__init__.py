"""The local simulator's building blocks: a virtual clock, a Step Functions executor for the ASL
the compiler emits, and the Task integrations it calls."""
