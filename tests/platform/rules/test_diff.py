"""Diffing rule files by declaration: only a change of canonical text counts, not a move,
a reformat or a comment."""

from __future__ import annotations

from arbiter.platform.rules.diff import Changes, declarations, diff_sources
from tests.platform.rules.samples import CATALOG, HOME, sources

EXPERIMENT = """\
strategy quiet {
    scene home_popup
    hit first
    rule nothing { when false then show(content: "none", slot: "banner") }
}
experiment popup_test {
    scene home_popup
    unit user.id
    variant a { strategy welcome weight 50 }
    variant b { strategy quiet weight 50 }
}
"""


def test_moving_reformatting_and_commenting_change_nothing() -> None:
    before = sources("v1")
    # Everything in one file, squeezed onto fewer lines, with comments.
    squeezed = (HOME.replace("CONTENT", "v1").replace("\n\n", "\n").replace("    ", "  ")
                .replace("hit first", "hit first  # the highest priority wins"))
    after = {"all.rules": "# one file now\n" + squeezed + CATALOG}
    assert diff_sources(before, after).empty


def test_each_kind_of_declaration() -> None:
    before = sources("v1")
    after = sources("v1")
    after["rules/catalog.rules"] = (
        CATALOG.replace("registered_days <= 7", "registered_days <= 3")
        .replace("tag user.registered_days: int { default 0 }\n", "")
        + "tag user.id: string\n"
        + "tag user.registered_days: int { default 1 }\n"
    )
    after["rules/home.rules"] = after["rules/home.rules"].replace("hit first", "hit all")
    after["rules/experiment.rules"] = EXPERIMENT
    diff = diff_sources(before, after, a=1, b=2)
    assert diff.conditions == Changes(changed=("new_user",))
    assert diff.tags == Changes(added=("user.id",), changed=("user.registered_days",))
    # The strategy's own attribute changed; its rules did not.
    assert diff.strategies == Changes(added=("quiet",), changed=("welcome",))
    assert diff.rules == Changes(added=("quiet.nothing",))
    assert diff.experiments == Changes(added=("popup_test",))
    assert diff.scenes == diff.effects == diff.promotions == diff.holdouts == diff.tests == Changes()
    assert diff.to_json()["tags"] == {"added": ["user.id"], "removed": [], "changed": ["user.registered_days"]}
    assert (diff.a, diff.b) == (1, 2)


def test_declarations_are_named_and_canonical() -> None:
    found = declarations(sources("v1"))
    assert sorted(found["rules"]) == ["welcome.everyone", "welcome.new_user"]
    assert found["rules"]["welcome.everyone"] == (
        'rule everyone {\n    then show(content: "hello", slot: "banner")\n}\n'
    )
    assert sorted(found["tags"]) == ["user.registered_days", "user.tags"]
    assert "rule" not in found["strategies"]["welcome"]
