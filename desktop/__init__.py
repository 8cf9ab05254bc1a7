"""Streamscope's Qt desktop application: it starts the embedded broker off the GUI thread and draws it."""
