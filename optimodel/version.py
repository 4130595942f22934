"""optimodel's version, in a module of its own: every module may name it without importing the
package's front door (``optimodel/__init__.py``), which imports them."""

__version__ = "0.1.0"
