import traceback
from sqlalchemy import event
from tests.test_file_page import *  # noqa

def test_trace(client, db, firm, staff):
    add_events(db, firm, staff, 5)
    n = []
    def _count(conn, cursor, statement, parameters, context, executemany):
        n.append(1)
        if len(n) == 1:
            print("".join(traceback.format_stack()[-25:-1]))
    event.listen(db.engine, "before_cursor_execute", _count)
    client.get(f"/enterprises/{firm.id}")
    event.remove(db.engine, "before_cursor_execute", _count)
