"""Reminder e-mails: rows that are claimed by a sweep and sent once (see ARCHITECTURE.md, "Reminders")."""
