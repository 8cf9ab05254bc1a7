"""Streamscope's headless core: the Kafka-compatible broker and everything that is not Qt.

Nothing below this package imports PySide6, pyqtgraph, qasync or ``desktop`` (an
import-linter contract in pyproject.toml checks it in the test command).
"""
