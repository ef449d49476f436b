"""VQA records -> `Sample`s, and the `easy-vqa` package (PyPI) as a VQA source that works offline.

Record (JSON list or JSON Lines): `{"id": "...", "image": "img/1.png", "question": "...", "answer": "..."}`.
The user turn is LLaVA-1.5's short-answer prompt: `<image>\\n{question}\\nAnswer the question using a single
word or phrase.`; the assistant turn is the answer.

easy-vqa ships 64 x 64 PNG images of one coloured shape with generated questions (train: 38,575 questions on
4,000 images; test: 9,673 on 1,000) inside the installed package.
"""

from __future__ import annotations

from pathlib import Path

from navagent.model import IMAGE_TOKEN
from navagent.train.datasets.base import SampleDataset, read_records, record_name
from navagent.train.samples import DataRecordError, Sample, resolve_under_root

SHORT_ANSWER_PROMPT = "Answer the question using a single word or phrase."
EASY_VQA_SPLITS = ("train", "test")


def vqa_sample(sample_id: str, image: Path, question: str, answer: str) -> Sample:
    """A single-image question / short answer sample."""
    where = f"record {sample_id}"
    for key, value in (("question", question), ("answer", answer)):
        if not isinstance(value, str) or not value.strip():
            raise DataRecordError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
    messages = (
        {"role": "user", "content": f"{IMAGE_TOKEN}\n{question}\n{SHORT_ANSWER_PROMPT}"},
        {"role": "assistant", "content": answer},
    )
    return Sample(sample_id, messages, (image,))


def load_vqa_dataset(
    annotations: Path, data_root: Path, name: str = "vqa", verify_files: bool = True
) -> SampleDataset:
    """Read VQA records from `annotations`; image paths are relative to `data_root`."""
    samples = []
    for index, record in enumerate(read_records(annotations)):
        sample_id = record_name(name, record, index)
        image = resolve_under_root(data_root, record.get("image"), f"record {sample_id}: image")
        samples.append(vqa_sample(sample_id, image, record.get("question"), record.get("answer")))
    return SampleDataset(name, samples, verify_files)


def load_easy_vqa_dataset(
    split: str = "train", limit: int | None = None, name: str = "easyvqa", verify_files: bool = True
) -> SampleDataset:
    """The easy-vqa questions of `split` ("train" or "test"), in the package's order; `limit` keeps the first
    `limit` questions. Needs `pip install easy-vqa`."""
    if split not in EASY_VQA_SPLITS:
        raise ValueError(f"easy-vqa split must be one of {EASY_VQA_SPLITS}, got {split!r}")
    if limit is not None and limit < 1:
        raise ValueError(f"easy-vqa limit must be >= 1 or None, got {limit}")
    try:
        import easy_vqa
    except ImportError as error:
        raise ImportError("the easy-vqa source needs the easy-vqa package: pip install easy-vqa") from error
    if split == "train":
        questions, answers, image_ids = easy_vqa.get_train_questions()
        image_paths = easy_vqa.get_train_image_paths()
    else:
        questions, answers, image_ids = easy_vqa.get_test_questions()
        image_paths = easy_vqa.get_test_image_paths()
    count = len(questions) if limit is None else min(limit, len(questions))
    samples = [
        vqa_sample(
            f"{name}:{split}-{index}", Path(image_paths[image_ids[index]]), questions[index], answers[index]
        )
        for index in range(count)
    ]
    return SampleDataset(name, samples, verify_files)
