#!/usr/bin/env bash
# The exact command sequence that produced the shipped default agent (checkpoints/navagent-default) and the
# figures of docs/RESULTS.md; see docs/DEFAULT_AGENT.md for timings.
#   bash scripts/train_default_agent.sh [DATA_ROOT] [RUN_DIR]
# DATA_ROOT (default data/default-agent) receives every generated file, RUN_DIR (default runs/default-agent)
# the checkpoints (RUN_DIR/final) and the evaluation outputs (RUN_DIR/eval). Episode generation uses the
# simulator's default settings (no difficulty flags exist or are passed); only the counts and seeds are chosen.
# SHIP=1 copies RUN_DIR/final (safetensors, tokenizer, config, train_config.yaml) to checkpoints/navagent-default.
# Training runs one compute thread plus one data-loading worker (configs/train/default-agent.yaml).
set -euo pipefail

DATA=${1:-data/default-agent}
RUN=${2:-runs/default-agent}
TRAIN_SCENES=${TRAIN_SCENES:-60}      # train-split houses for navigation data
PER_SCENE=${PER_SCENE:-20}            # episodes per train house
RECOVERY=${RECOVERY:-2}               # recovery samples per episode
QA_SCENES=${QA_SCENES:-60}            # train-split houses for scene-QA
QA_PER_SCENE=${QA_PER_SCENE:-10}      # views per house (up to 9 questions each)
EVAL_EPISODES=${EVAL_EPISODES:-200}   # per validation split (the table needs >= 200)
EVAL_SCENES=${EVAL_SCENES:-10}
EVAL_PER_SCENE=${EVAL_PER_SCENE:-20}
EVAL_ENVS=${EVAL_ENVS:-16}            # simulators per evaluation process (one batched model call per step)
SHIP=${SHIP:-0}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 LP_NUM_THREADS=1

# 1. R2R-CE episodes: train houses for data, val_seen / val_unseen for evaluation (simulator defaults).
for split in train val_seen val_unseen; do
  scenes=$EVAL_SCENES; per_scene=$EVAL_PER_SCENE
  [[ $split == train ]] && { scenes=$TRAIN_SCENES; per_scene=$PER_SCENE; }
  navagent data episodes --split "$split" --scenes "$scenes" --per-scene "$per_scene" --seed 0 --out "$DATA/episodes"
done

# 2. Oracle walks -> NaVILA records + JPEG frames, with recovery samples and the default rebalancing; held-out
#    walks on the validation houses (no rebalancing) for the open-loop action accuracy.
navagent data trajectories --episodes "$DATA/episodes" --split train --out "$DATA/builtin_r2r" \
  --recovery "$RECOVERY" --seed 0
for split in val_seen val_unseen; do
  navagent data trajectories --episodes "$DATA/episodes" --split "$split" --out "$DATA/heldout_nav" \
    --no-rebalance --max-episodes 40
done

# 3. Scene-QA: train split for training (registry entry sceneqa_train), test split for evaluation.
navagent data sceneqa --split train --scenes "$QA_SCENES" --per-scene "$QA_PER_SCENE" --seed 0 --out "$DATA/sceneqa"
navagent data sceneqa --split test --seed 0 --out "$DATA/sceneqa"

# 4. Train (mixture builtin_r2r + easyvqa + sceneqa_train, see the config).
navagent train configs/train/default-agent.yaml --data.root "$DATA" --train.output_dir "$RUN"
cp configs/train/default-agent.yaml "$RUN/final/recipe.yaml"
cp "$RUN/train_config.yaml" "$RUN/final/train_config.yaml"
if [[ $SHIP == 1 ]]; then
  rm -rf checkpoints/navagent-default && mkdir -p checkpoints
  cp -r "$RUN/final" checkpoints/navagent-default
fi

# 5. Closed-loop VLN evaluation and baselines on both validation splits (the two splits run side by side).
for split in val_seen val_unseen; do
  navagent eval vln --checkpoint "$RUN/final" --episodes "$DATA/episodes" --split "$split" \
    --num-envs "$EVAL_ENVS" --max-episodes "$EVAL_EPISODES" --out "$RUN/eval/agent_$split" &
done
wait
for split in val_seen val_unseen; do
  for policy in random forward oracle; do
    navagent eval vln --policy "$policy" --episodes "$DATA/episodes" --split "$split" \
      --max-episodes "$EVAL_EPISODES" --out "$RUN/eval/${policy}_$split"
  done
done

# 6. Open-loop action accuracy on held-out oracle walks (first 600 records of each validation split).
for split in val_seen val_unseen; do
  navagent eval actions --checkpoint "$RUN/final" --records "$DATA/heldout_nav/${split}_nav.json" \
    --frames-root "$DATA/heldout_nav/frames" --max-records 600 --out "$RUN/eval/actions_$split.json"
done

# 7. VQA: easy-vqa test and the built-in scene-QA test split.
navagent eval vqa --tasks easyvqa --checkpoint "$RUN/final" --out "$RUN/eval/vqa_easyvqa"
navagent eval vqa --tasks sceneqa --checkpoint "$RUN/final" \
  --file "sceneqa.annotations=$DATA/sceneqa/test/sceneqa_test.json" --out "$RUN/eval/vqa_sceneqa"
