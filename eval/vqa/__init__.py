"""VQA benchmarks: load each benchmark's own files into ``Sample``s and score model answers.

- ``registry.TASKS``: every benchmark by name (``load``, ``score``, ``answer_instruction``).
- ``sample.Sample``: question id, question, images / videos, options, answers, metadata; ``prompt()``.
- ``metrics``: VQA accuracy (official / lmms-eval), exact match, yes/no and option-letter extraction, F1.
- ``predictions.score_predictions``: the CLI's entry point (predictions file -> ``{task: report}`` JSON).
- ``tasks.vqav2.score_vqav2_files``: the official VQAv2 results-file evaluation.
"""

from navagent.eval.vqa.predictions import load_predictions, score_predictions, write_predictions
from navagent.eval.vqa.registry import TASKS, Task, get_task
from navagent.eval.vqa.sample import PredictionError, Sample, VqaDataError
from navagent.eval.vqa.tasks.vqav2 import score_vqav2_files

__all__ = [
    "TASKS",
    "PredictionError",
    "Sample",
    "Task",
    "VqaDataError",
    "get_task",
    "load_predictions",
    "score_predictions",
    "score_vqav2_files",
    "write_predictions",
]
