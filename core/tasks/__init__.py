"""One module per command: each exposes `run(ctx, args) -> Result`."""
