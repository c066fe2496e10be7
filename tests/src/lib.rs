//! prw-e2e: support for end-to-end tests (the scriptable receiver) shared by every suite.
