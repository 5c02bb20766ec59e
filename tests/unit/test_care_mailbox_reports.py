"""Bounce (RFC 3464) and complaint (RFC 5965) messages read as the mailbox reader reads them,
from samples of what mail servers send (tests/fixtures/mailbox)."""

from __future__ import annotations

from email import message_from_binary_file, message_from_bytes
from email.policy import compat32
from pathlib import Path

import pytest

from patronage.care.mailbox import Finding, read_message

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "mailbox"


def _read(name: str) -> Finding:
    with open(SAMPLES / name, "rb") as handle:
        return read_message(message_from_binary_file(handle, policy=compat32))


@pytest.mark.parametrize(("sample", "expected"), [
    ("postfix_hard_bounce.eml", Finding("hard bounce", ("sally@example.com",))),
    # one recipient failed for good, the other was delivered: only the failed one
    ("exchange_hard_bounce_two_recipients.eml", Finding("hard bounce", ("nina@corp.example",))),
    ("delayed_soft_bounce.eml", Finding("soft bounce")),
    ("arf_complaint.eml", Finding("complaint", ("kim@hotmail.example",))),
    # Original-Rcpt-To wins over the (redacted) To of the returned headers
    ("arf_complaint_headers_only.eml", Finding("complaint", ("Jo.Bloggs@mail.example",))),
    ("out_of_office.eml", Finding("other")),
])
def test_reports_are_read(sample: str, expected: Finding) -> None:
    assert _read(sample) == expected


def test_a_feedback_report_that_is_not_abuse_suppresses_nothing() -> None:
    text = (SAMPLES / "arf_complaint.eml").read_bytes().replace(
        b"Feedback-Type: abuse", b"Feedback-Type: not-spam")
    assert read_message(message_from_bytes(text, policy=compat32)) == Finding("other")
