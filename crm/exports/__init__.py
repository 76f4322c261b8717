"""Spreadsheet exports: every list as .xlsx with its filters, and the enterprise's dossier.

``xlsx_stream`` writes and streams the workbook, ``sheets`` holds each list's
columns, ``lists`` turns a list's own query into a download, ``dossier`` builds
the one-enterprise file (一企一档).
"""
