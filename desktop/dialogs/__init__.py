"""Dialogs: each validates its input live, runs one broker command, and shows refusals inline."""
