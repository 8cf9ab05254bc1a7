"""Dialogs: each validates its input live, runs its work off the GUI thread (a broker
command, or an external cluster's: profiles' connection test, clone) and shows refusals
inline."""
