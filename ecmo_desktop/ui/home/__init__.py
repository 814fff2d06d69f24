"""The home page (工作列表): what is due now, above the run table."""
