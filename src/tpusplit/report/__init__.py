"""Reports: tables, JSON and plots."""
