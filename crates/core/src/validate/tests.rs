//! One test per rule: a payload that breaks it and one that does not.
