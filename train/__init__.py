"""Supervised fine-tuning of NavVLM on mixtures of navigation records and image / video / text conversations.

Data flows: records on disk -> `Sample` (messages + image references; `navagent.train.datasets`) ->
`MixtureDataset` (named sources from a YAML registry, `r2r+easyvqa*2`; `navagent.train.mixtures`) ->
`SupervisedCollator` (tokens, assistant-only labels, truncation, optional packing; `navagent.train.collate`) ->
`NavVLMTrainer` (HF Trainer with per-part learning rates, freezing, LoRA; `navagent.train.trainer`).
`navagent.train.run.train_from_config` ties them together for `navagent train CONFIG.yaml`.

Submodules are imported explicitly (this file imports nothing), so `navagent data trajectories` does not pay
for torch/transformers start-up.
"""
