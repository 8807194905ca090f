"""Pure domain: frozen dataclasses and rules. No I/O, no textual."""
