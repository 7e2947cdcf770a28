"""The Textual dashboard: widgets and screens. Data comes from viewer.data.store via the app."""
