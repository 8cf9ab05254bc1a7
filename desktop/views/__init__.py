"""Views: one main view per ``*_view.py`` file, plus the widgets and charts they share."""
