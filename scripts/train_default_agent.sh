#!/usr/bin/env bash
# The exact command sequence that produces the default agent (issue 7); see docs/DEFAULT_AGENT.md.
#   bash scripts/train_default_agent.sh [DATA_ROOT] [RUN_DIR]
# DATA_ROOT (default data/default-agent) receives every generated file, RUN_DIR (default runs/default-agent)
# the checkpoints (RUN_DIR/final) and the evaluation outputs (RUN_DIR/eval). Episode generation uses the
# simulator's default settings (no difficulty flags exist or are passed); only the counts and seeds are chosen.
# Training uses one CPU thread per process (OMP_NUM_THREADS); set THREADS=2 on a dedicated 2-core machine.
set -euo pipefail

DATA=${1:-data/default-agent}
RUN=${2:-runs/default-agent}
THREADS=${THREADS:-1}
TRAIN_SCENES=${TRAIN_SCENES:-60}      # train-split houses for navigation data
PER_SCENE=${PER_SCENE:-20}            # episodes per train house
RECOVERY=${RECOVERY:-2}               # recovery samples per episode
QA_SCENES=${QA_SCENES:-60}            # train-split houses for scene-QA
QA_PER_SCENE=${QA_PER_SCENE:-10}      # views per house (up to 9 questions each)
EVAL_EPISODES=${EVAL_EPISODES:-200}   # per validation split (the table needs >= 200)
EVAL_SCENES=${EVAL_SCENES:-10}
EVAL_PER_SCENE=${EVAL_PER_SCENE:-20}
STEPS=${STEPS:-}                      # optional override of train.max_steps
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS LP_NUM_THREADS=1

# 1. R2R-CE episodes: train houses for data, val_seen / val_unseen for evaluation (simulator defaults).
navagent data episodes --split train --scenes "$TRAIN_SCENES" --per-scene "$PER_SCENE" --seed 0 --out "$DATA/episodes"
navagent data episodes --split val_seen --scenes "$EVAL_SCENES" --per-scene "$EVAL_PER_SCENE" --seed 0 \
  --out "$DATA/episodes"
navagent data episodes --split val_unseen --scenes "$EVAL_SCENES" --per-scene "$EVAL_PER_SCENE" --seed 0 \
  --out "$DATA/episodes"

# 2. Oracle walks -> NaVILA records + JPEG frames, with recovery samples and the default rebalancing.
navagent data trajectories --episodes "$DATA/episodes" --split train --out "$DATA/builtin_r2r" \
  --recovery "$RECOVERY" --seed 0

# 3. Scene-QA: train split for training (registry entry sceneqa_train), test split for evaluation.
navagent data sceneqa --split train --scenes "$QA_SCENES" --per-scene "$QA_PER_SCENE" --seed 0 --out "$DATA/sceneqa"
navagent data sceneqa --split test --seed 0 --out "$DATA/sceneqa"

# 4. Train (mixture builtin_r2r + easyvqa + sceneqa_train, see the config).
overrides=(--data.root "$DATA" --train.output_dir "$RUN")
[[ -n "$STEPS" ]] && overrides+=(--train.max_steps "$STEPS")
navagent train configs/train/default-agent.yaml "${overrides[@]}"

# 5. Closed-loop VLN evaluation and baselines on both validation splits.
for split in val_seen val_unseen; do
  navagent eval vln --checkpoint "$RUN/final" --episodes "$DATA/episodes" --split "$split" --num-envs 2 \
    --max-episodes "$EVAL_EPISODES" --out "$RUN/eval/vln_$split"
  for policy in random forward oracle; do
    navagent eval vln --policy "$policy" --episodes "$DATA/episodes" --split "$split" \
      --max-episodes "$EVAL_EPISODES" --out "$RUN/eval/${policy}_$split"
  done
done

# 6. VQA: easy-vqa test and the built-in scene-QA test split.
navagent eval vqa --tasks easyvqa --checkpoint "$RUN/final" --out "$RUN/eval/vqa_easyvqa"
navagent eval vqa --tasks sceneqa --checkpoint "$RUN/final" \
  --file "sceneqa.annotations=$DATA/sceneqa/test/sceneqa_test.json" --out "$RUN/eval/vqa_sceneqa"
