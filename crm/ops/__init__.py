"""Operating the service: ``crm check`` (check.py) and ``crm backup`` / ``crm restore`` (backup.py).

Administrators' tools: their messages are English, as the rest of the console's own.
"""
