"""Rule files the ruleset-version tests publish: a catalog file and a scene file whose
`new_user` rule shows `content`, so each version is told apart by what it decides."""

from __future__ import annotations

CATALOG = """\
tag user.tags: set { default [] }
tag user.registered_days: int { default 0 }
effect show(content: string, slot: string)
condition new_user = "new_user" in user.tags or user.registered_days <= 7
"""

HOME = """\
scene home_popup {
    display "首页弹窗"
    strategy welcome
}

strategy welcome {
    scene home_popup
    hit first

    rule new_user {
        priority 10
        when new_user
        then show(content: "CONTENT", slot: "banner")
    }

    rule everyone {
        then show(content: "hello", slot: "banner")
    }
}
"""

NEW_USER = {"user": {"tags": ["new_user"]}}


def sources(content: str = "v1") -> dict[str, str]:
    return {"rules/catalog.rules": CATALOG, "rules/home.rules": HOME.replace("CONTENT", content)}


def broken() -> dict[str, str]:
    """Rules that do not compile: the `new_user` rule reads an undeclared tag."""
    files = sources("broken")
    files["rules/home.rules"] = files["rules/home.rules"].replace("when new_user", "when user.agee > 1")
    return files
