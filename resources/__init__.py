"""Streamscope's package data (``streamscope.resources``): style sheets and icons.

Contract: no code here. The desktop loads these files with :mod:`importlib.resources`
(``desktop/theme.py``), so an installed copy finds them inside the package, and a missing
file is an error at start-up, not a silently unstyled window.
"""
