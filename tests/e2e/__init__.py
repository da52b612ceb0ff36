"""Browser tests (Playwright driving Chromium)."""
