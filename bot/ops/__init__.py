"""Operations for self-hosters: the `tutor` CLI, `tutor run`, the doctor, health and metrics, logs, serve-models."""
