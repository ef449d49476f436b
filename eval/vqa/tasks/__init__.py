"""One module per benchmark: ``NAME``, ``ANSWER_INSTRUCTION``, ``load(...) -> list[Sample]`` and
``score(samples, predictions, ...) -> dict``. The registry (``navagent.eval.vqa.registry``) collects them."""
