"""One module per command: each exposes `run(ctx, args) -> Result`. What several share is in `shared/`."""
