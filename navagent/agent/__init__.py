"""Navigation agent: NaVILA action language, prompts and frame sampling, and the batched `NavAgent`."""
