"""The local console: `tutor chat` and `tutor ask`, rendered with rich on a terminal, plain text down a pipe."""
