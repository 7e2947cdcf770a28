"""The Textual dashboard: widgets and screens. Data comes from viewer.store via the app."""
