"""Sub-commands of the `arbiter` command that work on the platform's database (ruleset
versions and the like); `arbiter/cli.py` mounts each one's typer app."""
