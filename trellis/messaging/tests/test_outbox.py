import io
import json
import os
import signal
import smtplib
import tempfile
import threading
from datetime import timedelta
from pathlib import Path
from unittest import mock

from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import (
    SimpleTestCase,
    TestCase,
    TransactionTestCase,
    override_settings,
    skipUnlessDBFeature,
)
from django.utils import timezone

from trellis.lib.errors import InputError
from trellis.messaging.models import Channel, OutboxMessage, Status
from trellis.messaging.services import (
    MAX_ATTEMPTS,
    SENDING_TIMEOUT,
    SendCounts,
    enqueue_email,
    enqueue_sms,
    requeue,
    retry_delay,
    send_due,
)
from trellis.messaging.sms import FileProvider, SmsError, SmsProvider, get_provider
from trellis.testing import TrellisTestCase

HERE = "trellis.messaging.tests.test_outbox"


class BrokenEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("mail server went away")


class RefusingProvider(FileProvider):
    """Writes files like the default provider, but refuses numbers ending in 0000."""

    def send(self, to: str, body: str) -> None:
        if to.endswith("0000"):
            raise SmsError("number not in service")
        super().send(to, body)


class NotAProvider:
    pass


def email(**overrides) -> OutboxMessage:
    fields = {
        "recipient": "ada@example.org",
        "subject": "Your questionnaire",
        "body": "Please answer: https://trellis.example/q/abc",
        "purpose": "questionnaire_link",
    }
    return enqueue_email(**fields | overrides)


def sms(**overrides) -> OutboxMessage:
    fields = {"recipient": "+15550104477", "body": "Reminder: TMS at 9:00", "purpose": "reminder"}
    return enqueue_sms(**fields | overrides)


class SmsDirectoryMixin:
    """Each test gets its own empty TRELLIS_SMS_DIR."""

    def setUp(self) -> None:
        super().setUp()
        self.sms_dir = Path(self.enterContext(tempfile.TemporaryDirectory())) / "sms"
        self.enterContext(override_settings(TRELLIS_SMS_DIR=self.sms_dir))

    def sms_files(self) -> list[dict]:
        if not self.sms_dir.exists():
            return []
        return [json.loads(p.read_text()) for p in sorted(self.sms_dir.glob("*.json"))]


class QueueingTests(TrellisTestCase):
    def test_a_message_queued_in_a_transaction_that_rolls_back_is_never_written(self) -> None:
        with self.assertRaises(RuntimeError), transaction.atomic():
            email()
            sms()
            raise RuntimeError("the change that caused the messages failed")
        self.assertFalse(OutboxMessage.objects.exists())

    def test_a_queued_message_joins_the_callers_transaction_in_one_query(self) -> None:
        with transaction.atomic(), self.assertNumQueries(1):
            email()

    def test_a_queued_message_is_pending_and_due_at_once(self) -> None:
        before = timezone.now()
        message = email(html_body="<p>Please answer</p>")
        message.refresh_from_db()
        self.assertEqual(message.channel, Channel.EMAIL)
        self.assertEqual(message.status, Status.PENDING)
        self.assertEqual(message.attempts, 0)
        self.assertEqual(message.html_body, "<p>Please answer</p>")
        self.assertGreaterEqual(message.next_attempt_at, before)
        self.assertIsNone(message.sent_at)
        self.assertIsNone(message.clinic)

    def test_it_records_the_patients_clinic_for_the_audit_context(self) -> None:
        message = sms(patient=self.patient)
        self.assertEqual(message.clinic_id, self.clinic_a.pk)
        self.assertEqual(message.patient, self.patient)

    def test_it_refuses_a_patient_of_another_clinic(self) -> None:
        with self.assertRaises(InputError) as raised:
            sms(clinic=self.clinic_a, patient=self.patient_b)
        self.assertEqual(raised.exception.field, "patient")

    def test_it_rejects_bad_email_addresses_by_field_name(self) -> None:
        for address in ["", "ada", "ada@", "@example.org", "ada@example", "a b@example.org"]:
            with self.subTest(address=address), self.assertRaises(InputError) as raised:
                email(recipient=address)
            self.assertEqual(raised.exception.field, "recipient")
        self.assertFalse(OutboxMessage.objects.exists())

    def test_it_rejects_bad_phone_numbers_by_field_name(self) -> None:
        for number in ["", "555-CALL-NOW", "12345", "+1234567890123456", "++15550104477", "1+5"]:
            with self.subTest(number=number), self.assertRaises(InputError) as raised:
                sms(recipient=number)
            self.assertEqual(raised.exception.field, "recipient")
        self.assertFalse(OutboxMessage.objects.exists())

    def test_it_takes_spaces_dashes_and_parentheses_out_of_phone_numbers(self) -> None:
        self.assertEqual(sms(recipient="+1 (555) 010-4477").recipient, "+15550104477")

    def test_it_rejects_other_bad_input_by_field_name(self) -> None:
        cases = [
            (email, {"subject": "  "}, "subject"),
            (email, {"subject": "Line one\nBcc: everyone@example.org"}, "subject"),
            (email, {"subject": "x" * 201}, "subject"),
            (email, {"body": ""}, "body"),
            (sms, {"body": "   "}, "body"),
            (sms, {"purpose": ""}, "purpose"),
            (sms, {"purpose": "Questionnaire Link"}, "purpose"),
            (sms, {"purpose": "x" * 41}, "purpose"),
        ]
        for enqueue, overrides, field in cases:
            with self.subTest(overrides), self.assertRaises(InputError) as raised:
                enqueue(**overrides)
            self.assertEqual(raised.exception.field, field)


class SendingTests(SmsDirectoryMixin, TestCase):
    def test_a_due_email_is_delivered_and_marked_sent(self) -> None:
        message = email(html_body="<p>Please answer</p>")
        now = timezone.now()
        self.assertEqual(send_due(now=now), SendCounts(sent=1))
        [sent] = mail.outbox
        self.assertEqual(sent.to, ["ada@example.org"])
        self.assertEqual(sent.subject, "Your questionnaire")
        self.assertEqual(sent.body, "Please answer: https://trellis.example/q/abc")
        self.assertEqual(sent.alternatives[0].content, "<p>Please answer</p>")
        message.refresh_from_db()
        self.assertEqual(message.status, Status.SENT)
        self.assertEqual(message.attempts, 1)
        self.assertEqual(message.sent_at, now)

    def test_a_due_sms_is_written_to_a_file_by_the_default_provider(self) -> None:
        message = sms()
        self.assertEqual(send_due(), SendCounts(sent=1))
        [written] = self.sms_files()
        self.assertEqual(written["to"], "+15550104477")
        self.assertEqual(written["body"], "Reminder: TMS at 9:00")
        self.assertIn("time", written)
        message.refresh_from_db()
        self.assertEqual(message.status, Status.SENT)
        self.assertEqual(mail.outbox, [])

    def test_a_sent_message_is_not_sent_again(self) -> None:
        email()
        send_due()
        self.assertEqual(send_due(now=timezone.now() + timedelta(days=1)), SendCounts())
        self.assertEqual(len(mail.outbox), 1)

    def test_nothing_is_sent_before_its_time(self) -> None:
        later = timezone.now() + timedelta(hours=2)
        message = email(send_at=later)
        self.assertEqual(send_due(now=later - timedelta(seconds=1)), SendCounts())
        self.assertEqual(mail.outbox, [])
        self.assertEqual(send_due(now=later), SendCounts(sent=1))
        message.refresh_from_db()
        self.assertEqual(message.status, Status.SENT)

    def test_the_backoff_doubles_from_one_minute_up_to_an_hour(self) -> None:
        minutes = [retry_delay(n) / timedelta(minutes=1) for n in range(1, MAX_ATTEMPTS)]
        self.assertEqual(minutes, [1, 2, 4, 8, 16, 32, 60])

    @override_settings(EMAIL_BACKEND=f"{HERE}.BrokenEmailBackend")
    def test_a_failing_mail_server_is_retried_with_backoff_and_finally_given_up(self) -> None:
        message = email()
        now = timezone.now()
        for attempt in range(1, MAX_ATTEMPTS):
            self.assertEqual(send_due(now=now), SendCounts(retrying=1))
            message.refresh_from_db()
            self.assertEqual(message.status, Status.PENDING)
            self.assertEqual(message.attempts, attempt)
            self.assertEqual(message.next_attempt_at, now + retry_delay(attempt))
            self.assertIn("mail server went away", message.last_error)
            self.assertEqual(
                send_due(now=message.next_attempt_at - timedelta(seconds=1)), SendCounts()
            )
            now = message.next_attempt_at
        self.assertEqual(send_due(now=now), SendCounts(failed=1))
        message.refresh_from_db()
        self.assertEqual(message.status, Status.FAILED)
        self.assertEqual(message.attempts, MAX_ATTEMPTS)
        self.assertEqual(message.last_error, "SMTPServerDisconnected: mail server went away")
        self.assertEqual(send_due(now=now + timedelta(days=1)), SendCounts())

    @override_settings(TRELLIS_SMS_PROVIDER=f"{HERE}.RefusingProvider")
    def test_a_failing_sms_provider_schedules_a_retry(self) -> None:
        message = sms(recipient="+15550100000")
        now = timezone.now()
        self.assertEqual(send_due(now=now), SendCounts(retrying=1))
        message.refresh_from_db()
        self.assertEqual(message.status, Status.PENDING)
        self.assertEqual(message.next_attempt_at, now + timedelta(minutes=1))
        self.assertEqual(message.last_error, "SmsError: number not in service")

    @override_settings(
        TRELLIS_SMS_PROVIDER=f"{HERE}.RefusingProvider",
        EMAIL_BACKEND=f"{HERE}.BrokenEmailBackend",
    )
    def test_one_bad_message_does_not_stop_the_others(self) -> None:
        email()
        sms(recipient="+15550100000")
        sms(recipient="+15550104477")
        self.assertEqual(send_due(), SendCounts(sent=1, retrying=2))
        self.assertEqual([f["to"] for f in self.sms_files()], ["+15550104477"])

    def test_a_message_stuck_in_sending_is_sent_again_once_its_claim_lapses(self) -> None:
        message = email()
        claimed_at = timezone.now()
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=Status.SENDING, attempts=1, next_attempt_at=claimed_at + SENDING_TIMEOUT
        )  # as a worker killed mid-send leaves it
        self.assertEqual(send_due(now=claimed_at + timedelta(minutes=9)), SendCounts())
        self.assertEqual(send_due(now=claimed_at + SENDING_TIMEOUT), SendCounts(sent=1))
        self.assertEqual(len(mail.outbox), 1)
        message.refresh_from_db()
        self.assertEqual(message.status, Status.SENT)
        self.assertEqual(message.attempts, 2)
        self.assertIn("interrupted", message.last_error)

    def test_a_message_stuck_in_sending_after_its_last_attempt_is_given_up(self) -> None:
        message = email()
        now = timezone.now()
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=Status.SENDING, attempts=MAX_ATTEMPTS, next_attempt_at=now
        )
        self.assertEqual(send_due(now=now), SendCounts(failed=1))
        self.assertEqual(mail.outbox, [])
        message.refresh_from_db()
        self.assertEqual(message.status, Status.FAILED)
        self.assertIn("interrupted", message.last_error)

    def test_it_sends_at_most_the_limit_oldest_first(self) -> None:
        now = timezone.now()
        for minutes in [3, 1, 2]:
            email(subject=f"{minutes} minutes ago", send_at=now - timedelta(minutes=minutes))
        self.assertEqual(send_due(now=now, limit=2), SendCounts(sent=2))
        self.assertEqual([m.subject for m in mail.outbox], ["3 minutes ago", "2 minutes ago"])
        self.assertEqual(send_due(now=now, limit=2), SendCounts(sent=1))

    def test_it_refuses_to_send_inside_a_transaction(self) -> None:
        # Sending inside a transaction would hold its locks for as long as the mail server takes.
        with self.assertRaises(RuntimeError), transaction.atomic():
            send_due()

    @override_settings(EMAIL_BACKEND=f"{HERE}.BrokenEmailBackend")
    def test_failed_messages_can_be_queued_again_with_fresh_attempts(self) -> None:
        message = email()
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=Status.FAILED, attempts=MAX_ATTEMPTS
        )
        sent = email(recipient="grace@example.org")
        OutboxMessage.objects.filter(pk=sent.pk).update(status=Status.SENT)
        now = timezone.now()
        self.assertEqual(requeue(OutboxMessage.objects.all(), now=now), 1)
        message.refresh_from_db()
        self.assertEqual((message.status, message.attempts), (Status.PENDING, 0))
        self.assertEqual(message.next_attempt_at, now)


@skipUnlessDBFeature("has_select_for_update_skip_locked")
class ConcurrentWorkerTests(TransactionTestCase):
    """Two workers on PostgreSQL: one skips what the other is claiming instead of waiting."""

    def test_a_second_worker_skips_a_message_the_first_is_claiming(self) -> None:
        message = email()
        locked, release = threading.Event(), threading.Event()

        def first_worker() -> None:
            try:
                with transaction.atomic():
                    OutboxMessage.objects.select_for_update().get(pk=message.pk)
                    locked.set()
                    release.wait(timeout=10)
            finally:
                connection.close()

        thread = threading.Thread(target=first_worker)
        thread.start()
        try:
            self.assertTrue(locked.wait(timeout=10))
            self.assertEqual(send_due(), SendCounts())
        finally:
            release.set()
            thread.join()
        self.assertEqual(send_due(), SendCounts(sent=1))


class SmsProviderTests(SmsDirectoryMixin, SimpleTestCase):
    def test_the_file_provider_writes_one_json_file_per_message_creating_the_directory(
        self,
    ) -> None:
        provider = get_provider()
        self.assertIsInstance(provider, FileProvider)
        provider.send("+15550104477", "first")
        provider.send("+15550104477", "second")
        self.assertEqual([f["body"] for f in self.sms_files()], ["first", "second"])
        self.assertEqual(list(self.sms_dir.glob(".*")), [])  # no partial files left

    def test_the_file_provider_raises_sms_error_when_it_cannot_write(self) -> None:
        self.sms_dir.parent.joinpath("sms").write_text("a file where the directory should be")
        with self.assertRaises(SmsError):
            FileProvider().send("+15550104477", "hello")

    def test_a_provider_is_any_class_with_send(self) -> None:
        with self.assertRaises(NotImplementedError):
            SmsProvider().send("+15550104477", "hello")

    @override_settings(TRELLIS_SMS_PROVIDER="trellis.messaging.sms.NoSuchProvider")
    def test_a_provider_that_cannot_be_imported_is_a_configuration_error(self) -> None:
        with self.assertRaisesMessage(Exception, "NoSuchProvider"):
            get_provider()


class RunOutboxTests(SmsDirectoryMixin, TestCase):
    def run_outbox(self, *args: str) -> str:
        out = io.StringIO()
        call_command("run_outbox", *args, stdout=out, stderr=io.StringIO())
        return out.getvalue()

    def test_run_outbox_once_sends_what_is_due_and_prints_the_counts(self) -> None:
        email()
        sms()
        self.assertEqual(self.run_outbox("--once"), "Outbox: sent 2, retrying 0, failed 0\n")
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(len(self.sms_files()), 1)
        self.assertFalse(OutboxMessage.objects.exclude(status=Status.SENT).exists())

    @override_settings(TRELLIS_SMS_PROVIDER="trellis.messaging.sms.NoSuchProvider")
    def test_run_outbox_refuses_to_start_with_a_provider_that_cannot_be_imported(self) -> None:
        email()
        with self.assertRaisesMessage(CommandError, "NoSuchProvider"):
            self.run_outbox("--once")
        self.assertFalse(OutboxMessage.objects.exclude(status=Status.PENDING).exists())

    def test_run_outbox_refuses_a_limit_of_zero(self) -> None:
        with self.assertRaises(CommandError):
            self.run_outbox("--once", "--limit", "0")


class RunOutboxLoopTests(SmsDirectoryMixin, SimpleTestCase):
    """The loop itself, with sending replaced: it polls until SIGTERM, then exits cleanly."""

    def test_the_worker_finishes_its_batch_and_stops_on_sigterm(self) -> None:
        batches = []

        def send_due(limit: int) -> SendCounts:
            batches.append(limit)
            if len(batches) == 2:
                os.kill(os.getpid(), signal.SIGTERM)
            return SendCounts(sent=1)

        command = "trellis.messaging.management.commands.run_outbox"
        before = signal.getsignal(signal.SIGTERM)
        out = io.StringIO()
        with (
            mock.patch(f"{command}.send_due", send_due),
            mock.patch(f"{command}.close_old_connections"),
        ):
            call_command("run_outbox", "--interval", "0.01", stdout=out)
        self.assertEqual(batches, [100, 100])
        self.assertEqual(out.getvalue().count("Outbox: sent 1, retrying 0, failed 0"), 2)
        self.assertTrue(out.getvalue().endswith("Outbox worker stopped.\n"))
        self.assertEqual(signal.getsignal(signal.SIGTERM), before)
