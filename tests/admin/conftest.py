"""The admin's browser tests: fixtures come from tests/browser.py (shared with the portal's)."""

from tests.browser import CHROMIUM, CHROMIUM_ARGS, PASSWORD, SCREENSHOTS, attr, login, shot, text_of

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "PASSWORD", "SCREENSHOTS", "attr", "login", "shot", "text_of"]
