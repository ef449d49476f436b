"""Dataset types: each turns records on disk into `Sample`s (see `navagent.train.samples`).

conversation — LLaVA-format `{id, image | frames | video, conversations: [{from, value}]}` (image,
               multi-frame, video and text-only samples);
navigation   — NaVILA records `{video_id, q, a, frames}` (navigation prompt with N sampled frames);
vqa          — VQA records `{id, image, question, answer}` and the `easy-vqa` package (offline);
view_qa      — questions about stage-0 views answered from their simulator labels (`view_qa`).
"""

from navagent.train.datasets.base import SampleDataset, read_records
from navagent.train.datasets.conversation import load_conversation_dataset
from navagent.train.datasets.navigation import load_navigation_dataset
from navagent.train.datasets.view_qa import load_view_qa_dataset
from navagent.train.datasets.vqa import load_easy_vqa_dataset, load_vqa_dataset

__all__ = [
    "SampleDataset",
    "load_conversation_dataset",
    "load_easy_vqa_dataset",
    "load_navigation_dataset",
    "load_view_qa_dataset",
    "load_vqa_dataset",
    "read_records",
]
