"""Inbound messages for the classifier's tests, after the samples ``reference/email-inbox.md`` quotes (§2.5, §3.5,
§3.7, §3.8: sisimai's ``rfc3834-0N``, ``lhost-*`` samples and the vendor markers) plus people's replies in English,
Chinese and Japanese. Each is raw bytes as it would sit in the mailbox, with the outcome the classifier must give.

``OURS`` is the Message-ID of the email "we" sent; samples that answer it carry it where real mail does.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

OURS = "<sia-0123456789abcdef0123456789abcdef@seller.example>"


@dataclass(frozen=True)
class Sample:
    name: str
    raw: bytes
    kind: str  # bounce, delay, auto_reply, message
    severity: str = ""  # hard / soft for bounces
    status: str = ""
    recipient: str = ""
    unsubscribe: bool = False
    answers_ours: bool = True  # our Message-ID is in its threading headers or returned original
    new_text: str = ""  # a phrase the new text must contain (messages)


def _msg(headers: str, body: str = "", *, charset: str = "utf-8") -> bytes:
    head = headers.strip("\n").replace("\n", "\r\n")
    return head.encode(charset) + b"\r\n\r\n" + body.replace("\n", "\r\n").encode(charset)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode()


def _dsn(
    headers: str,
    human: str,
    per_message: str,
    per_recipient: str,
    returned: str,
    returned_type: str = "text/rfc822-headers",
    boundary: str = "B0UNDARY",
) -> bytes:
    body = (
        f"This is a MIME-encapsulated message.\n\n--{boundary}\nContent-Type: text/plain; charset=us-ascii\n\n"
        f"{human}\n\n--{boundary}\nContent-Type: message/delivery-status\n\n{per_message.strip()}\n\n"
        f"{per_recipient.strip()}\n\n--{boundary}\nContent-Type: {returned_type}\n\n{returned.strip()}\n\n"
        f"--{boundary}--\n"
    )
    head = (
        headers.strip("\n")
        + f'\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"'
    )
    return _msg(head, body)


ORIGINAL_HEADERS = f"""From: Sam Seller <sam@seller.example>
To: Ada Lovelace <ada@acme.example>
Subject: Quick question
Message-ID: {OURS}
Date: Mon, 02 Mar 2026 09:00:00 +0000"""

ORIGINAL = ORIGINAL_HEADERS + "\n\nHi Ada,\n\nShall we talk?\n\nTo stop these emails, reply 'unsubscribe'.\n"

SAMPLES: list[Sample] = [
    # ------------------------------------------------------------------ automatic answers (§2.5 and §2.2)
    Sample(
        "exchange-oof-rfc3834-02",
        _msg(
            """Return-path: <>
From: "Neko, Nyaan" <nekonyaan@example.org>
To: Kijitora <kijitora@example.com>
Subject: Automatic reply: Nyaan
Message-ID: <fb1b2d9ea3df46d9839a6dcb99410ebb@neko.nyaan.example.net>
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: nekonyaan@example.org
X-MS-TNEF-Correlator:
Content-Type: text/plain; charset="us-ascii\"""",
            "I am out of the office until Monday.\n",
        ),
        "auto_reply",
        answers_ours=False,
    ),
    Sample(
        "icloud-vacation-rfc3834-03",
        _msg(
            f"""Return-Path: <kijitora@apple.example.com>
From: kijitora@apple.example.com
Subject: Auto reply: Nyaan
Message-id: <7e23258d-247f-479e-996d-e01f0f30af85-vac@apple.example.com>
In-Reply-To: {OURS}
References: {OURS}
X-Apple-Criteria: {{kind=VACATION,startDate=2019-11-30T15:00:00Z,endDate=2020-01-10T14:59:59Z}}
X-Apple-Action: VACATION""",
            "Away until January.\n",
        ),
        "auto_reply",
    ),
    Sample(
        "generic-rfc3834-01",
        _msg(
            f"""From: Neko <neko@example.jp>
To: sam@seller.example
Subject: Away until May 5
Auto-Submitted: auto-replied
In-Reply-To: {OURS}
Message-ID: <auto-1@example.jp>""",
            "I will reply when I am back.\n",
        ),
        "auto_reply",
    ),
    Sample(
        "precedence-auto-reply",
        _msg(
            f"""From: bob@acme.example
Subject: Re: Quick question
Precedence: auto_reply
In-Reply-To: {OURS}
Message-ID: <auto-2@acme.example>""",
            "Thanks for your email.\n",
        ),
        "auto_reply",
    ),
    Sample(
        "x-autoreply-re-subject",
        _msg(
            f"""From: bob@acme.example
Subject: Re: Quick question
X-Autoreply: yes
In-Reply-To: {OURS}
Message-ID: <auto-3@acme.example>""",
            "Thanks for your email.\n",
        ),
        "auto_reply",
    ),
    *(
        Sample(
            f"oof-subject-{tag}",
            _msg(
                f"""From: lin@acme.example
Subject: =?UTF-8?B?{_b64(subject)}?=
In-Reply-To: {OURS}
Message-ID: <auto-{tag}@acme.example>""",
                "…\n",
            ),
            "auto_reply",
        )
        for tag, subject in (
            ("zh-hant", "自動回覆: Quick question"),
            ("zh-hans", "自动回复: Quick question"),
            ("ja-jidou-outou", "自動応答: Quick question"),
            ("ja-fuzai", "不在のお知らせ: Quick question"),
            ("en-ooo", "Out of Office: Quick question"),
            ("en-auto-response", "Auto Response: Quick question"),
        )
    ),
    Sample(
        "ja-oof-iso-2022-jp-subject",
        _msg(
            f"""From: taro@example.co.jp
Subject: =?iso-2022-jp?b?GyRCSVQ6XyROJCpDTiRpJDsbKEI=?=: Quick question
In-Reply-To: {OURS}
Message-ID: <auto-jis@example.co.jp>""",
            "…\n",
        ),
        "auto_reply",
    ),
    # ---------------------------------------------------------------------------------- bounces (§3.5–3.8)
    Sample(
        "gsuite-dsn-08",
        _dsn(
            f"""Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
References: {OURS}
In-Reply-To: {OURS}
X-Failed-Recipients: otsu@ezweb.ne.jp
Message-ID: <5b024e22.1c69fb81.a1a22.fcaa.GMRIR@mx.google.com>""",
            "** Address not found **\n\nThe response was: 550 : User unknown",
            f"Reporting-MTA: dns; googlemail.com\nArrival-Date: Sun, 20 May 2018 21:42:08 -0700 (PDT)\n"
            f"X-Original-Message-ID: {OURS}",
            "Final-Recipient: rfc822; otsu@ezweb.ne.jp\nAction: failed\nStatus: 5.0.0\n"
            "Remote-MTA: dns; lsean.ezweb.ne.jp.\nDiagnostic-Code: smtp; 550 : User unknown",
            ORIGINAL,
            "message/rfc822",
        ),
        "bounce",
        "hard",
        "5.0.0",
        "otsu@ezweb.ne.jp",
    ),
    Sample(
        "exchange-online-ndr",
        _dsn(
            f"""Return-Path: <>
From: Microsoft Outlook <postmaster@outlook.com>
To: sam@seller.example
Subject: Undeliverable: Quick question
Thread-Topic: Quick question
In-Reply-To: {OURS}
References: {OURS}
X-MS-Exchange-Message-Is-Ndr:
Auto-Submitted: auto-replied
Content-Language: en-US
Message-ID: <ndr-1@outlook.com>""",
            "Your message to ada@acme.example couldn't be delivered.",
            "Reporting-MTA: dns;outlook.com",
            "Final-Recipient: rfc822;ada@acme.example\nAction: failed\nStatus: 5.1.10\n"
            "Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
            ORIGINAL_HEADERS,
        ),
        "bounce",
        "hard",
        "5.1.10",
        "ada@acme.example",
    ),
    Sample(
        "exchange2007-dsn",
        _dsn(
            """From: postmaster@mx4.example.org
Subject: Undeliverable: Quick question
Message-ID: <ndr-2@mx4.example.org>""",
            "Delivery has failed to these recipients or groups:",
            "Reporting-MTA: dns;mx4.example.org",
            "Final-Recipient: rfc822;mikeneko@example.co.jp\nAction: failed\nStatus: 5.1.1\n"
            "Diagnostic-Code: smtp;550 5.1.1 RESOLVER.ADR.RecipNotFound; not found\nX-Display-Name: Neko",
            ORIGINAL_HEADERS,
        ),
        "bounce",
        "hard",
        "5.1.1",
        "mikeneko@example.co.jp",
    ),
    Sample(
        "amazon-ses-5.0.0-permanent",
        _dsn(
            """From: MAILER-DAEMON@email-smtp.us-east-1.amazonses.com
Subject: Delivery Status Notification (Failure)
Message-ID: <ses-1@amazonses.com>""",
            "An error occurred while trying to deliver the mail to the following recipients:",
            "Reporting-MTA: dns; a8-1.smtp-out.amazonses.com",
            "Final-Recipient: rfc822; ada@acme.example\nAction: failed\nStatus: 5.0.0 (permanent failure)\n"
            "Diagnostic-Code: smtp; 5.1.1 <ada@acme.example>: Recipient address rejected: User unknown",
            ORIGINAL_HEADERS,
        ),
        "bounce",
        "hard",
        "5.1.1",
        "ada@acme.example",
    ),
    *(
        Sample(
            f"postfix-{status}",
            _dsn(
                """Return-Path: <>
From: MAILER-DAEMON@smtp.seller.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
Message-Id: <20260302.ABC@smtp.seller.example>""",
                "I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.",
                "Reporting-MTA: dns; smtp.seller.example\nX-Postfix-Sender: rfc822; sam@seller.example",
                f"Final-Recipient: rfc822; ada@acme.example\nOriginal-Recipient: rfc822;ada@acme.example\n"
                f"Action: failed\nStatus: {status}\nDiagnostic-Code: smtp; {code} {status} {text}",
                ORIGINAL_HEADERS,
            ),
            "bounce",
            severity,
            status,
            "ada@acme.example",
        )
        for status, code, text, severity in (
            ("5.1.1", "550", "<ada@acme.example>: Recipient address rejected: User unknown", "hard"),
            ("5.1.2", "550", "Host or domain name not found", "hard"),
            ("5.4.4", "554", "Unable to route: no such domain", "hard"),
            ("5.2.2", "552", "<ada@acme.example>: Mailbox full", "soft"),
            ("4.2.2", "452", "The recipient's inbox is out of storage space.", "soft"),
            ("5.7.1", "554", "Message rejected as spam", "soft"),
            ("4.4.7", "400", "Message delayed; QUEUE.Expired", "soft"),
        )
    ),
    Sample(
        "qmail-qsbmf",
        _msg(
            """From: MAILER-DAEMON@mail.seller.example
To: sam@seller.example
Subject: failure notice
Message-ID: <1709370000.12345.qmail@mail.seller.example>""",
            "Hi. This is the qmail-send program at mail.seller.example.\n"
            "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
            "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
            "<ada@acme.example>:\n192.0.2.25 does not like recipient.\n"
            "Remote host said: 550 5.1.1 <ada@acme.example>... User unknown\nGiving up on 192.0.2.25.\n\n"
            "--- Below this line is a copy of the message.\n\n" + ORIGINAL,
        ),
        "bounce",
        "hard",
        "5.1.1",
        "ada@acme.example",
    ),
    Sample(
        "yahoo-failure-notice",
        _msg(
            """From: MAILER-DAEMON@yahoo.com
To: sam@seller.example
Subject: Failure Notice
X-YMailISG: abc
Message-ID: <yahoo-1@yahoo.com>""",
            "Sorry, we were unable to deliver your message to the following address.\n\n<ada@acme.example>:\n"
            "Remote host said: 554 delivery error: dd This user doesn't have a yahoo.com account (ada@acme.example) "
            "[0] - mta1.mail.yahoo.com\n\n--- Below this line is a copy of the message.\n\n" + ORIGINAL,
        ),
        "bounce",
        "hard",
        "5.1.1",
        "ada@acme.example",
    ),
    Sample(
        "exim-x-failed-recipients",
        _msg(
            """From: Mail Delivery System <Mailer-Daemon@mx.seller.example>
To: sam@seller.example
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: ada@acme.example
Auto-Submitted: auto-replied
Message-Id: <E1abcde-000001-00@mx.seller.example>""",
            "This message was created automatically by mail delivery software.\n\n"
            "A message that you sent could not be delivered to one or more of its\n"
            "recipients. This is a permanent error. The following address(es) failed:\n\n"
            "  ada@acme.example\n    host mx.acme.example [192.0.2.25]\n"
            "    SMTP error from remote mail server after RCPT TO:<ada@acme.example>:\n"
            "    550 5.1.1 <ada@acme.example>: Recipient address rejected: User unknown\n\n"
            "------ This is a copy of the message, including all the headers. ------\n\n" + ORIGINAL,
        ),
        "bounce",
        "hard",
        "5.1.1",
        "ada@acme.example",
    ),
    # -------------------------------------------------------------------------- delay notices (§3.7)
    Sample(
        "postfix-delayed",
        _dsn(
            """From: MAILER-DAEMON@smtp.seller.example (Mail Delivery System)
Subject: Delayed Mail (still being retried)
Message-Id: <delay-1@smtp.seller.example>""",
            "This is the mail system. Your message could not be delivered for 4 hours. It will be retried.",
            "Reporting-MTA: dns; smtp.seller.example",
            "Final-Recipient: rfc822; ada@acme.example\nAction: delayed\nStatus: 4.4.1\n"
            "Will-Retry-Until: Thu, 5 Mar 2026 09:00:00 +0000",
            ORIGINAL_HEADERS,
        ),
        "delay",
    ),
    Sample(
        "gmail-delay-plain",
        _msg(
            f"""From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
Subject: Delivery Status Notification (Delay)
In-Reply-To: {OURS}
Message-ID: <delay-2@mx.google.com>""",
            "This is an automatically generated Delivery Status Notification\n\nTHIS IS A WARNING MESSAGE ONLY.\n\n"
            "YOU DO NOT NEED TO RESEND YOUR MESSAGE.\n\nDelivery to the following recipient has been delayed:\n\n"
            "     ada@acme.example\n\nMessage will be retried for 2 more day(s)\n",
        ),
        "delay",
    ),
    # ------------------------------------------------------------------------------- people writing (§1, §4)
    Sample(
        "gmail-reply-en",
        _msg(
            f"""From: Ada Lovelace <ada@acme.example>
To: Sam Seller <sam@seller.example>
Subject: Re: Quick question
In-Reply-To: {OURS}
References: {OURS}
Message-ID: <CAxyz@mail.gmail.com>""",
            "Happy to talk on Tuesday.\n\nAda\n\nOn Mon, Mar 2, 2026 at 9:00 AM Sam Seller <sam@seller.example> wrote:\n\n"
            "> Hi Ada,\n> Shall we talk?\n> To stop these emails, reply 'unsubscribe'.\n",
        ),
        "message",
        new_text="Happy to talk on Tuesday.",
    ),
    Sample(
        "gmail-reply-wrapped-attribution",
        _msg(
            f"""From: Ada Lovelace <ada@acme.example>
Subject: Re: Quick question
In-Reply-To: {OURS}
Message-ID: <CAxyz2@mail.gmail.com>""",
            "Sounds good.\n\nOn Mon, Mar 2, 2026 at 9:00 AM Sam Seller <\nsam@seller.example> wrote:\n"
            "> To stop these emails, reply 'unsubscribe'.\n",
        ),
        "message",
        new_text="Sounds good.",
    ),
    Sample(
        "outlook-reply-quoted-footer",
        _msg(
            f"""From: Bob <bob@acme.example>
Subject: RE: Quick question
In-Reply-To: {OURS}
References: {OURS}
Thread-Index: AQHaBCDE
Message-ID: <PH0PR11MB1234@PH0PR11MB1234.namprd11.prod.outlook.com>""",
            "Please send the deck.\n\n________________________________\nFrom: Sam Seller <sam@seller.example>\n"
            "Sent: Monday, March 2, 2026 9:00 AM\nTo: Bob <bob@acme.example>\nSubject: Quick question\n\n"
            "Hi Bob, shall we talk? To stop these emails, reply 'unsubscribe'. Opt out any time.\n",
        ),
        "message",
        new_text="Please send the deck.",
    ),
    Sample(
        "outlook-reply-header-block-without-rule",
        _msg(
            f"""From: Bob <bob@acme.example>
Subject: RE: Quick question
In-Reply-To: {OURS}
Message-ID: <PH0PR11MB1235@outlook.com>""",
            "Thanks, noted.\n\nFrom: Sam Seller <sam@seller.example>\nSent: Monday, March 2, 2026 9:00 AM\n"
            "Subject: Quick question\n\nunsubscribe: reply 'unsubscribe'\n",
        ),
        "message",
        new_text="Thanks, noted.",
    ),
    Sample(
        "zh-hant-reply",
        _msg(
            f"""From: =?UTF-8?B?{_b64("陳美玲")}?= <mei@taipei.example>
Subject: =?UTF-8?B?{_b64("回覆: Quick question")}?=
In-Reply-To: {OURS}
Message-ID: <zh1@taipei.example>
Content-Type: text/plain; charset=utf-8""",
            "謝謝您的來信，下週可以安排電話。\n\nSam Seller <sam@seller.example> 於 2026年3月2日 週一 上午9:00 寫道：\n"
            "> 如不想再收到，請回覆 unsubscribe\n",
        ),
        "message",
        new_text="下週可以安排電話",
    ),
    Sample(
        "ja-reply-iso-2022-jp",
        (
            "From: =?iso-2022-jp?b?GyRCPi5OU0JATzobKEI=?= <taro@example.co.jp>\r\n"
            "Subject: Re: Quick question\r\n"
            f"In-Reply-To: {OURS}\r\n"
            "Message-ID: <ja1@example.co.jp>\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: text/plain; charset="ISO-2022-JP"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n'
        ).encode("ascii")
        + "ご連絡ありがとうございます。来週お打ち合わせできますか。\r\n\r\n2026年3月2日(月) 9:00 Sam Seller <sam@seller.example>:\r\n"
        "> 配信停止はこちら\r\n".encode("iso-2022-jp"),
        "message",
        new_text="来週お打ち合わせできますか",
    ),
    *(
        Sample(
            f"unsubscribe-{tag}",
            _msg(
                f"""From: ada@acme.example
Subject: Re: Quick question
In-Reply-To: {OURS}
Message-ID: <unsub-{tag}@acme.example>
Content-Type: text/plain; charset=utf-8""",
                f"{text}\n\nOn Mon, Mar 2, 2026 at 9:00 AM Sam <sam@seller.example> wrote:\n> Hi\n",
            ),
            "message",
            unsubscribe=True,
        )
        for tag, text in (
            ("en-please", "Please unsubscribe me from your mailing list."),
            ("en-remove", "Remove me from your list, please."),
            ("en-take-off", "Please take me off your list and stop emailing me."),
            ("en-bare", "unsubscribe"),
            ("en-dont", "Don't email me again."),
            ("en-opt-out", "I'd like to opt out."),
            ("zh-hant-1", "請幫我取消訂閱，謝謝。"),
            ("zh-hant-2", "退訂"),
            ("zh-hans", "请帮我退订，谢谢。"),
            ("ja-1", "今後のメール配信停止をお願いいたします。"),
            ("ja-2", "配信停止してください。"),
        )
    ),
    Sample(
        "human-subject-mentions-out-of-office",
        _msg(
            f"""From: ada@acme.example
Subject: Re: Out of office next week?
In-Reply-To: {OURS}
Message-ID: <human-ooo@acme.example>""",
            "I will be out next week, let's talk after.\n",
        ),
        "message",
        new_text="let's talk after",
    ),
]

BY_NAME = {s.name: s for s in SAMPLES}
