"""MVBench from its official release: one JSON file per task plus the source videos.

Files: ``<json_dir>/<task>.json``, a list of ``{"video": file, "question": str, "candidates": [str],
"answer": text of the right candidate, ...}``. Videos: ``<video_root>/<folder of the task>/<video>``
(folders as in the release's ``video/`` tree, table below). Sample ids are ``"<task>/<position in file>"``;
option i is candidate i.

Score: accuracy of the extracted option letter (unparseable = wrong) per task, ``mean_over_tasks``
(MVBench's headline number) and question-weighted ``accuracy``, in percent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from navagent.eval.vqa.files import PathLike, get_text, get_text_list, media_path, read_json
from navagent.eval.vqa.metrics import percent
from navagent.eval.vqa.sample import OPTION_LETTERS, Sample, VqaDataError, check_options
from navagent.eval.vqa.scoring import accuracy_report, group_means, mean, multiple_choice_scores

NAME = "mvbench"
ANSWER_INSTRUCTION = "Answer with the option's letter from the given choices directly."
VIDEO_FOLDERS = {
    "action_sequence": "star/Charades_segment",
    "action_prediction": "star/Charades_segment",
    "action_antonym": "ssv2_video_mp4",
    "fine_grained_action": "Moments_in_Time_Raw/videos",
    "unexpected_action": "FunQA_test/test",
    "object_existence": "clevrer/video_validation",
    "object_interaction": "star/Charades_segment",
    "object_shuffle": "perception/videos",
    "moving_direction": "clevrer/video_validation",
    "action_localization": "sta/sta_video_segment",
    "scene_transition": "scene_qa/video",
    "action_count": "perception/videos",
    "moving_count": "clevrer/video_validation",
    "moving_attribute": "clevrer/video_validation",
    "state_change": "perception/videos",
    "fine_grained_pose": "nturgbd_convert",
    "character_order": "perception/videos",
    "egocentric_navigation": "vlnqa",
    "episodic_reasoning": "tvqa/video_fps3_hq_segment",
    "counterfactual_inference": "clevrer/video_validation",
}


def _load_task(task: str, path: Path, video_root: PathLike | None) -> list[Sample]:
    records = read_json(path)
    if not isinstance(records, list):
        raise VqaDataError(f"{path}: expected a list of questions")
    samples = []
    for index, record in enumerate(records):
        where = f"{path}: [{index}]"
        options = tuple(get_text_list(record, "candidates", where))
        answer = get_text(record, "answer", where)
        if answer not in options:
            raise VqaDataError(f"{where}: field 'answer' {answer!r} is not one of the candidates {options}")
        question_id = f"{task}/{index}"
        letter = OPTION_LETTERS[options.index(answer)]
        check_options(question_id, options, letter, str(path))
        video = get_text(record, "video", where)
        samples.append(
            Sample(
                question_id=question_id,
                question=get_text(record, "question", where),
                answers=(letter,),
                videos=media_path(
                    None if video_root is None else Path(video_root) / VIDEO_FOLDERS[task], video
                ),
                options=options,
                metadata={"task": task, "video": video},
            )
        )
    return samples


def load(
    json_dir: PathLike, video_root: PathLike | None = None, tasks: Sequence[str] | None = None
) -> list[Sample]:
    """Samples of ``tasks`` (default: every one of the 20 whose JSON file exists in ``json_dir``).

    metadata: ``task``, ``video``.
    """
    json_dir = Path(json_dir)
    if tasks is not None and (unknown := set(tasks) - set(VIDEO_FOLDERS)):
        raise ValueError(f"{NAME}: unknown tasks {sorted(unknown)}; known: {sorted(VIDEO_FOLDERS)}")
    wanted = (
        list(tasks) if tasks is not None else [t for t in VIDEO_FOLDERS if (json_dir / f"{t}.json").is_file()]
    )
    if not wanted:
        raise VqaDataError(
            f"{json_dir}: no MVBench task files (<task>.json for tasks {sorted(VIDEO_FOLDERS)})"
        )
    return [sample for task in wanted for sample in _load_task(task, json_dir / f"{task}.json", video_root)]


def score(samples: Sequence[Sample], predictions: Mapping[str, str]) -> dict[str, Any]:
    """``{"mean_over_tasks", "accuracy", "per_task", "num_samples", "unparsed"}`` in percent."""
    scores, unparsed = multiple_choice_scores(samples, predictions, NAME)
    report = accuracy_report(samples, scores, ("task",)) | {"unparsed": unparsed}
    report["mean_over_tasks"] = percent(mean(list(group_means(samples, scores, "task").values())))
    return report
