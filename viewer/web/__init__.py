"""`loupe serve`: the dashboard in a browser, through textual-serve (see dashboard_server)."""
