"""Admins see every reminder's delivery, resend a refused one, and read the outbox."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm.models import Reminder, ReminderStatus, Role
from crm.models.base import utcnow
from crm.reminders import delivery


def _reminder(db, user, key, status, error=None):
    delivery.schedule(
        kind="note.due",
        recipient=user,
        subject_type="note",
        subject_id=None,
        due_at=utcnow() - timedelta(minutes=5),
        dedupe_key=key,
        subject=f"跟进提醒 {key}",
        body="今天到期",
    )
    reminder = db.session.execute(select(Reminder).where(Reminder.dedupe_key == key)).scalar_one()
    reminder.status = status
    reminder.last_error = error
    db.session.commit()
    return reminder


def test_the_delivery_log_shows_status_and_the_servers_answer(app, db, client, login, make_user):
    admin = make_user(Role.ADMIN, [], locale="en")
    with app.app_context():
        _reminder(db, admin, "a", ReminderStatus.SENT)
        _reminder(db, admin, "b", ReminderStatus.FAILED, "550 5.1.1 mailbox unavailable")
    login(admin)
    page = client.get("/admin/mail/deliveries").get_data(as_text=True)
    assert "跟进提醒 a" in page and "跟进提醒 b" in page
    assert "550 5.1.1 mailbox unavailable" in page
    failed_only = client.get("/admin/mail/deliveries?status=failed").get_data(as_text=True)
    assert "跟进提醒 b" in failed_only and "跟进提醒 a" not in failed_only


def test_a_failed_message_is_queued_again_and_the_next_sweep_takes_it(
    app, db, client, login, make_user
):
    admin = make_user(Role.ADMIN, [], locale="en")
    with app.app_context():
        failed = _reminder(db, admin, "b", ReminderStatus.FAILED, "550 no")
        sent = _reminder(db, admin, "a", ReminderStatus.SENT)
        failed_id, sent_id = failed.id, sent.id
    login(admin)
    data = {}  # CSRF is checked in production; the test configuration turns it off
    response = client.post(f"/admin/mail/deliveries/{failed_id}/resend", data=data)
    assert response.status_code == 302
    with app.app_context():
        db.session.expire_all()
        assert db.session.get(Reminder, failed_id).status == ReminderStatus.PENDING
        assert delivery.claim_due() == [failed_id]
        db.session.rollback()
    # A sent one cannot be resent.
    again = client.post(f"/admin/mail/deliveries/{sent_id}/resend", data=data)
    assert again.status_code == 302
    with app.app_context():
        assert db.session.get(Reminder, sent_id).status == ReminderStatus.SENT


def test_the_outbox_lists_the_written_messages(app, db, client, login, make_user):
    from crm.mail import build_message, deliver

    admin = make_user(Role.ADMIN, [], locale="en")
    with app.test_request_context():
        deliver(build_message(to="staff@example.test", subject="月通报已发布", text="请查看排名"))
    login(admin)
    page = client.get("/admin/mail/outbox").get_data(as_text=True)
    assert "月通报已发布" in page and "请查看排名" in page and "staff@example.test" in page


def test_only_admins(app, db, client, login, make_user):
    login(make_user(Role.MANAGER, []))
    assert client.get("/admin/mail/deliveries").status_code == 403
    assert client.get("/admin/mail/outbox").status_code == 403
