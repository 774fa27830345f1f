"""The screens of the terminal UI: one module per area, plus the shared modals."""
