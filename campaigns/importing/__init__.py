"""Recipient import: read spreadsheets and JSON, validate every row, store in bulk."""
