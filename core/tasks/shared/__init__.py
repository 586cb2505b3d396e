"""What several commands share: loading and running models (base, common), greedy decoding and chat models
(decoding, chat), "which words mattered" by occlusion (attribution, occlusion, zeroshot_rules), and the
exploring views under an answer (explore for /attention, guesses for /fillmask, steps for /generate).

core/tasks/ itself holds one module per command."""
