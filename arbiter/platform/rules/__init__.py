"""Ruleset versions: the rule files published together, immutable once published.

`models.py` owns the `ruleset_versions` table; `service.py` the use cases (publish, save and
publish a draft, roll back, diff, list); `diff.py` compares two sets of rule files
declaration by declaration; `reload.py` keeps a running decision engine on the published
version; `channel.py` names the Redis channel that announces a publish.
"""
