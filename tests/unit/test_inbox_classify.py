"""The inbox classifier over the reference's samples: bounces (hard/soft, code, recipient), delay notices,
automatic answers (RFC 3834, vendor headers, English/Chinese/Japanese subjects), replies and the words that ask to
stop emails — each sample as raw bytes, parsed the way the reader parses what it fetches."""

from __future__ import annotations

import pytest

from sia_tui.inbox.classify import (
    classify,
    new_text,
    normalise_subject,
    severity_of,
    unsubscribe_phrase,
)
from sia_tui.inbox.match import subject_key
from sia_tui.inbox.parse import parse_message
from tests.support.inbox_samples import OURS, SAMPLES, Sample


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_each_sample_is_classified_as_real_mail_programs_mean_it(sample: Sample) -> None:
    msg = parse_message(sample.raw)
    result = classify(msg)
    assert result.kind == sample.kind, (result, msg.subject)
    if sample.kind == "bounce":
        [bounce] = result.bounces
        assert (bounce.severity, bounce.status, bounce.recipient) == (
            sample.severity,
            sample.status,
            sample.recipient,
        )
        assert bounce.why
    if sample.kind == "message":
        assert bool(result.unsubscribe) is sample.unsubscribe, result
        if sample.new_text:
            assert sample.new_text in result.new_text
        assert ">" not in result.new_text and "wrote:" not in result.new_text
    if sample.answers_ours:
        assert OURS in (*msg.thread_ids, *msg.returned_ids), msg
    else:
        assert OURS not in (*msg.thread_ids, *msg.returned_ids)


def test_quoted_footer_of_our_own_email_never_reads_as_an_unsubscribe_request() -> None:
    replies = [s for s in SAMPLES if s.kind == "message" and not s.unsubscribe]
    assert len(replies) >= 5
    for sample in replies:
        result = classify(parse_message(sample.raw))
        assert result.unsubscribe == "", (sample.name, result.new_text)
        assert "unsubscribe" in sample.raw.decode("utf-8", "replace").lower() or sample.name.startswith(
            ("human", "ja-")
        )


def test_a_bounce_is_never_taken_for_an_automatic_answer_although_it_carries_auto_submitted() -> None:
    for name in ("gsuite-dsn-08", "exchange-online-ndr", "exim-x-failed-recipients"):
        sample = next(s for s in SAMPLES if s.name == name)
        assert b"Auto-Submitted: auto-replied" in sample.raw
        assert classify(parse_message(sample.raw)).kind == "bounce"


def test_a_null_sender_alone_does_not_make_a_bounce() -> None:
    exchange_oof = next(s for s in SAMPLES if s.name == "exchange-oof-rfc3834-02")
    assert b"Return-path: <>" in exchange_oof.raw
    assert classify(parse_message(exchange_oof.raw)).kind == "auto_reply"


@pytest.mark.parametrize(
    ("status", "diagnostic", "severity"),
    [
        ("5.1.1", "", "hard"),
        ("5.1.10", "", "hard"),
        ("5.1.6", "", "hard"),
        ("5.4.4", "", "hard"),
        ("5.0.0", "550 : User unknown", "hard"),
        ("5.0.0", "550 rejected by policy", "soft"),
        ("5.2.2", "", "soft"),
        ("5.2.1", "", "soft"),
        ("5.7.1", "", "soft"),
        ("5.3.4", "", "soft"),
        ("4.1.1", "", "soft"),
        ("4.4.7", "", "soft"),
        ("", "no such user here", "hard"),
        ("", "", "soft"),
    ],
)
def test_hard_only_when_the_address_itself_is_gone(status: str, diagnostic: str, severity: str) -> None:
    assert severity_of(status, diagnostic)[0] == severity


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Please unsubscribe me", "unsubscribe"),
        ("remove me from this list", "remove me"),
        ("stop emailing me", "stop emailing"),
        ("Do not contact me again", "Do not contact me"),
        ("no more emails please", "no more emails"),
        ("請勿再寄信給我", "請勿再寄"),
        ("不要再发了", "不要再发"),
        ("メール不要です", "メール不要"),
        ("Thanks, let's talk Tuesday", ""),
        ("I subscribed to your newsletter last year", ""),
        ("Can you remove the blocker on my account?", ""),
    ],
)
def test_unsubscribe_phrases_in_four_scripts(text: str, phrase: str) -> None:
    found = unsubscribe_phrase(text)
    assert (found.lower() == phrase.lower()) if phrase else found == ""


@pytest.mark.parametrize(
    ("subject", "key"),
    [
        ("Re: Quick question", "quick question"),
        ("RE: RE: Fwd: Quick  question", "quick question"),
        ("回覆: Quick question", "quick question"),
        ("[EXTERNAL] Re: Quick question", "quick question"),
        ("Automatic reply: Quick question", "quick question"),
        ("自動回覆: Quick question", "quick question"),
        ("Undeliverable: Quick question", "quick question"),
        ("Quick question", "quick question"),
    ],
)
def test_subjects_compare_without_reply_and_automatic_prefixes(subject: str, key: str) -> None:
    assert subject_key(subject) == key
    assert normalise_subject("Re: " + key) == key


def test_new_text_keeps_what_was_typed_above_the_quote_only() -> None:
    body = "Yes.\n\n-- \nAda\n\nOn Mon, Mar 2, 2026 at 9:00 AM Sam <s@x.example> wrote:\n> unsubscribe\n"
    assert new_text(body) == "Yes."
    assert new_text("> only a quote\n> unsubscribe\n") == ""
    assert new_text("inline answer\n> question?\nmy answer") == "inline answer\nmy answer"
