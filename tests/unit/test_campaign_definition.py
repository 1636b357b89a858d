"""The campaign TOML file: the schema of issue 15, its defaults, and one sentence per problem."""

from __future__ import annotations

import pytest

from sia_tui.campaigns.definition import Campaign, CampaignError, parse_campaign

ISSUE_EXAMPLE = """
name = "Q1 outreach"
timezone = "Asia/Tokyo"        # the seller's; a person's own zone is used when known
send_window = "09:00-17:00"    # auto emails only inside it, in the person's zone
skip_weekends = true
end_on_reply = true            # needs reply detection (its own issue); until then the setting is accepted
remove_on_bounce = true
[[steps]]
day = 1                        # MSIA's numbering: day 1 is the day of enrolment, "day 3" its third day
type = "auto_email"            # auto_email | manual_email | call | task
subject = "Hello {{first_name}}"
body = "..."                   # or template = "NAME"
[[steps]]
day = 2
type = "call"
[[steps]]
day = 4
type = "auto_email"
subject = "Re: Hello {{first_name}}"   # follow-ups go in the same thread (In-Reply-To / References)
body = "..."
"""


def problems(text: str) -> list[str]:
    with pytest.raises(CampaignError) as caught:
        parse_campaign(text)
    return caught.value.problems


def test_the_issue_example_parses_exactly():
    c = parse_campaign(ISSUE_EXAMPLE)
    assert (c.name, c.timezone, c.send_window, c.skip_weekends, c.end_on_reply, c.remove_on_bounce) == (
        "Q1 outreach", "Asia/Tokyo", "09:00-17:00", True, True, True,
    )  # fmt: skip
    assert [(s.day, s.type, s.number) for s in c.steps] == [
        (1, "auto_email", 1),
        (2, "call", 1),
        (4, "auto_email", 1),
    ]
    assert Campaign.from_json(c.to_json()) == c


def test_defaults_and_step_numbers_within_a_day():
    c = parse_campaign(
        'name = "x"\ntimezone = "UTC"\n'
        '[[steps]]\nday = 1\ntype = "call"\n'
        '[[steps]]\nday = 1\ntype = "task"\nsubject = "{{sales_campaign_name}} D{{sales_campaign_day}}/S{{sales_campaign_step}}"\n'
        '[[steps]]\nday = 1\ntype = "manual_email"\nbody = "{{! say something about their launch}}"\n'
    )
    assert (c.send_window, c.skip_weekends, c.end_on_reply, c.remove_on_bounce) == (
        "09:00-17:00",
        True,
        True,
        True,
    )
    assert [s.number for s in c.steps] == [1, 2, 3]
    assert [s.salesforce for s in c.steps] == [False, True, False]  # tasks go to Salesforce by default (MSIA)


def test_a_template_fills_the_body_and_one_with_a_prompt_cannot_be_an_auto_email(tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "nudge.txt").write_text(
        "Subject: Quick nudge\n\nHi {{first_name}}, any thoughts?\n", encoding="utf-8"
    )
    step = '[[steps]]\nday = 1\ntype = "auto_email"\ntemplate = "{name}"\n'
    c = parse_campaign('name = "x"\ntimezone = "UTC"\n' + step.format(name="nudge"), config_dir=tmp_path)
    assert c.steps[0].template == "nudge" and not c.steps[0].body
    with pytest.raises(CampaignError, match="Replace the prompt"):
        parse_campaign('name = "x"\ntimezone = "UTC"\n' + step.format(name="intro"), config_dir=tmp_path)
    manual = step.format(name="intro").replace("auto_email", "manual_email")
    assert parse_campaign('name = "x"\ntimezone = "UTC"\n' + manual).steps[0].type == "manual_email"


def test_every_problem_is_reported_at_once_with_its_step():
    found = problems(
        'name = ""\ntimezone = "Mars/Base"\nskip_weekend = true\nsend_window = "17:00-09:00"\n'
        '[[steps]]\nday = 0\ntype = "auto_email"\n'
        '[[steps]]\nday = 2\ntype = "fax"\n'
        '[[steps]]\nday = 3\ntype = "auto_email"\nsubject = "Hi {{frist_name}}"\nbody = "{{! fill me}}"\n'
        '[[steps]]\nday = 1\ntype = "task"\n'
    )
    text = " | ".join(found)
    assert "Unknown key 'skip_weekend'" in text
    assert "needs a name" in text
    assert "'Mars/Base' is not a time zone name" in text
    assert "must start before it ends" in text
    assert "Step 1 needs day = a whole number from 1 to 365" in text
    assert "Step 2 (day 2) needs type = one of auto_email, manual_email, call, task" in text
    assert "unknown field {{frist_name}}" in text and "step 3 (day 3)" in text
    assert "Replace the prompt" in text  # an auto email can never fill a prompt
    assert "Step 4 (day 1): a task needs a subject" in text
    assert "day order" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not toml = [", "not valid TOML"),
        ('name = "x"\ntimezone = "UTC"\n', "at least one [[steps]]"),
        (
            'name = "x"\ntimezone = "UTC"\n[[steps]]\nday = 1\ntype = "auto_email"\nsubject = "s"\n',
            "needs a body or a template",
        ),
        (
            'name = "x"\ntimezone = "UTC"\n[[steps]]\nday = 1\ntype = "auto_email"\nsubject = "s"\ntemplate = "nope"\n',
            "no template named 'nope'",
        ),
        (
            'name = "x"\ntimezone = "UTC"\n[[steps]]\nday = 1\ntype = "call"\ncolour = "red"\n',
            "unknown key 'colour'",
        ),
        (
            'name = "x"\ntimezone = "UTC"\nskip_weekends = "yes"\n[[steps]]\nday = 1\ntype = "call"\n',
            "skip_weekends must be true or false",
        ),
    ],
)
def test_one_clear_sentence_per_problem(text, expected):
    assert any(expected in p for p in problems(text))
