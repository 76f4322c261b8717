"""Spreadsheet imports (issue 5): enterprises, contacts, projects and monthly funds.

reading.py          .xlsx / .csv (UTF-8, GB18030) → header and numbered rows (kept once read)
values.py           cell → text, amount (万元), date, month, yes/no
mapping.py          the fields of each kind, and guessing them from zh/en headers
lookups.py          units (with the importer's scope), reference lists, records by key
cells.py            one row's cells → values, with a reason per unreadable cell
rows.py             each row against the database: create, update, skip or refuse, and why
enterprise_batch.py new enterprises written in batches, as create_enterprise leaves them
jobs.py             the job's life: uploaded → mapped → previewed → queued → running → done/failed
progress.py         how far a job is, readable by another process
"""
