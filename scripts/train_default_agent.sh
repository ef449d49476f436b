#!/usr/bin/env bash
# The default agent from nothing, in stages (docs/DEFAULT_AGENT.md): the exact command sequence that produced
# checkpoints/navagent-default and the figures of docs/RESULTS.md.
#   bash scripts/train_default_agent.sh [DATA_ROOT] [RUN_DIR]
# DATA_ROOT (default data/default-agent) receives every generated file; RUN_DIR (default runs/default-agent)
# the models and RUN_DIR/recipe.log (one line per stage: wall seconds, figures). Each stage that finishes
# writes RUN_DIR/stages/NAME.done, so a rerun after a kill resumes with the first unfinished stage (a stage's
# own outputs are written atomically; a half-done stage is redone). SHIP=1 copies the final model to
# checkpoints/navagent-default. EVAL=1 runs the evaluation stages after it (not part of the 120-minute budget).
#
# Stages (2 CPU cores: two independent stages run side by side, each on one core):
#   episodes   R2R-CE episodes (generator defaults): train 300 houses x 4; val_seen, val_unseen, val_unseen_lang 10 x 20
#   nav_data   route-expert walks of the train episodes -> NaVILA records + frames (+ recovery samples, STOP
#              labels within STOP_LABEL_DISTANCE (1.5 m) of the goal, each record's view labels and previous
#              move); held-out walks of 40 episodes per validation split (open-loop accuracy)
#   views      stage-0 data: labelled views of train houses (and unseen houses for the probes)
#   tower      stage 0: the nav-conv tower pretrained on the views + easy-vqa (probes on unseen houses); the
#              model is MODEL_PRESET (default configs/model/nav-conv-agent.yaml: recent frames, frame slots,
#              previous action)
#   features   stage 1: the frozen tower's outputs for every frame (+ mirrored twin), fp16 on disk
#   bc         stage 2: behaviour cloning of the LM + projector on cached features (mirrored, view questions)
#   daggerK_*  stage 3, round K = 1..DAGGER_ROUNDS: _rollouts: the latest model drives DAGGER_EPISODES train
#              episodes, the route expert labels its decisions (turn hysteresis, STOP as in nav_data); _features:
#              the new frames' features; _train: DAGGER_STEPS more steps on the expert walks + every round so far
#   ship       RUN/final = the last model (+ recipe files: the train config, recipe_settings.json with the
#              settings above, stage 0's recipe and probes); SHIP=1 copies it to checkpoints/navagent-default
set -euo pipefail

DATA=${1:-data/default-agent}
RUN=${2:-runs/default-agent}
TRAIN_SCENES=${TRAIN_SCENES:-300}
PER_SCENE=${PER_SCENE:-4}
MODEL_PRESET=${MODEL_PRESET:-configs/model/nav-conv-agent.yaml}  # the model stage 0 builds (tower, projector, LM)
RECOVERY=${RECOVERY:-2}
EVAL_SCENES=${EVAL_SCENES:-10}
EVAL_PER_SCENE=${EVAL_PER_SCENE:-20}
VIEW_SCENES=${VIEW_SCENES:-200}
VIEWS_PER_SCENE=${VIEWS_PER_SCENE:-32}
PROBE_SCENES=${PROBE_SCENES:-50}       # unseen houses for the stage-0 probes
PROBE_VIEWS_PER_SCENE=${PROBE_VIEWS_PER_SCENE:-24}
BC_STEPS=${BC_STEPS:-}              # empty: configs/train/default-agent.yaml's max_steps
DAGGER_ROUNDS=${DAGGER_ROUNDS:-1}      # at most 4 (registry entries dagger1..4_viewq_prev)
DAGGER_EPISODES=${DAGGER_EPISODES:-600}
DAGGER_STEPS=${DAGGER_STEPS:-3000}
DAGGER_MAX_STEPS=${DAGGER_MAX_STEPS:-300}  # low-level steps per DAgger rollout
STOP_LABEL_DISTANCE=${STOP_LABEL_DISTANCE:-1.5}  # STOP labels within this many metres of the goal (walks and DAgger)
SHIP=${SHIP:-0}
EVAL=${EVAL:-0}
EVAL_EPISODES=${EVAL_EPISODES:-200}
EVAL_ENVS=${EVAL_ENVS:-16}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 LP_NUM_THREADS=0
VALIDATION_SPLITS=(val_seen val_unseen val_unseen_lang)
mkdir -p "$RUN/stages"
LOG="$RUN/recipe.log"

stage() {  # stage NAME COMMAND...: run COMMAND unless NAME is done; log its wall time
  local name=$1; shift
  if [[ -f "$RUN/stages/$name.done" ]]; then echo "[recipe] $name: done before, skipped"; return; fi
  local start=$SECONDS
  echo "[recipe] $name: start $(date -u +%H:%M:%S)"
  "$@"
  local seconds=$((SECONDS - start))
  echo "$seconds" > "$RUN/stages/$name.done"
  echo "$(date -u +%FT%TZ) stage $name: ${seconds} s" | tee -a "$LOG"
}

episodes() {
  navagent data episodes --split train --scenes "$TRAIN_SCENES" --per-scene "$PER_SCENE" --seed 0 --out "$DATA/episodes"
  for split in "${VALIDATION_SPLITS[@]}"; do
    navagent data episodes --split "$split" --scenes "$EVAL_SCENES" --per-scene "$EVAL_PER_SCENE" --seed 0 --out "$DATA/episodes"
  done
}

nav_data() {
  navagent data trajectories --episodes "$DATA/episodes" --split train --out "$DATA/builtin_r2r" \
    --recovery "$RECOVERY" --no-rebalance --stop-label-distance "$STOP_LABEL_DISTANCE" --view-labels --seed 0
  for split in "${VALIDATION_SPLITS[@]}"; do
    navagent data trajectories --episodes "$DATA/episodes" --split "$split" --out "$DATA/heldout_nav" \
      --no-rebalance --max-episodes 40
  done
}

views() {
  navagent data views --split train --scenes "$VIEW_SCENES" --per-scene "$VIEWS_PER_SCENE" --seed 0 --out "$DATA/views"
  navagent data views --split val_unseen --scenes "$PROBE_SCENES" --per-scene "$PROBE_VIEWS_PER_SCENE" --seed 0 \
    --out "$DATA/views"
}

tower() {
  navagent pretrain-tower configs/train/stage0/tower-pretrain.yaml --model.preset "$MODEL_PRESET" \
    --data.views "$DATA/views/train/views_train.json" \
    --data.probe_views "$DATA/views/val_unseen/views_val_unseen.json" --train.output_dir "$RUN/tower"
  echo "$(date -u +%FT%TZ) tower probes (unseen houses): $(tr -d '\n ' < "$RUN/tower/probes.json")" >> "$LOG"
}

data_overrides() {  # the run's data root and cache (the configs' defaults are data/default-agent/...)
  printf '%s\n' --data.root "$DATA" --data.feature_cache "$DATA/features"
}

BC_MIXTURE=$(python -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["data"]["mixture"])' \
  configs/train/default-agent.yaml)

mixture() {  # mixture ROUND: the bc mixture plus the records of DAgger rounds 1..ROUND
  local mix=$BC_MIXTURE k
  for ((k = 1; k <= $1; k++)); do mix+="+dagger${k}_viewq_prev"; done
  echo "$mix"
}

features() {  # features ROUND MODEL: cache the frames of mixture ROUND (frames cached before are copied)
  mapfile -t extra < <(data_overrides)
  navagent data features configs/train/default-agent.yaml --model.path "$2" --data.mixture "$(mixture "$1")" \
    "${extra[@]}"
}

train_2proc() {  # two processes, one core each (DDP over gloo): twice the samples/s of one 2-thread process
  torchrun --nproc_per_node 2 --master_port "${MASTER_PORT:-29531}" "$(command -v navagent)" train "$@"
}

bc() {
  mapfile -t extra < <(data_overrides)
  [[ -n "$BC_STEPS" ]] && extra+=(--train.max_steps "$BC_STEPS")
  train_2proc configs/train/default-agent.yaml --model.path "$RUN/tower" --train.output_dir "$RUN/bc" "${extra[@]}"
}

model_after() {  # model_after ROUND: the model trained last by the end of DAgger round ROUND (0: bc)
  if (($1 == 0)); then echo "$RUN/bc/final"; else echo "$RUN/dagger$1/final"; fi
}

rollout_figures() {  # rollout_figures DIR: one line of a DAgger round's closed-loop figures and record count
  python - "$1" <<'PY'
import json, sys
summary = json.load(open(f"{sys.argv[1]}/rollouts/summary.json"))
records = len(json.load(open(f"{sys.argv[1]}/train_nav.json")))
print(f"{summary['episodes']} episodes, SR {summary['sr']:.3f}, OSR {summary['osr']:.3f}, "
      f"{summary['steps']:.0f} steps per episode; {records} records")
PY
}

dagger_rollouts() {  # dagger_rollouts K: the round-(K-1) model drives train episodes; the expert labels them
  local k=$1 driver pids=()
  driver=$(model_after $((k - 1)))
  rm -rf "$DATA/dagger$k"  # a rollout folder holds one model's rollouts: a half-done one restarts
  for shard in 0 1; do
    navagent data dagger --checkpoint "$driver" --episodes "$DATA/episodes" --split train \
      --max-episodes "$DAGGER_EPISODES" --max-steps "$DAGGER_MAX_STEPS" --num-envs 8 \
      --stop-label-distance "$STOP_LABEL_DISTANCE" --view-labels --out "$DATA/dagger$k" --prefix "dagger$k" \
      --shard "$shard/2" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  echo "$(date -u +%FT%TZ) dagger$k rollouts of $driver: $(rollout_figures "$DATA/dagger$k")" >> "$LOG"
}

dagger_train() {  # dagger_train K: DAGGER_STEPS more steps from the round-(K-1) model on mixture K
  local k=$1
  mapfile -t extra < <(data_overrides)
  train_2proc configs/train/default-agent.yaml --model.path "$(model_after $((k - 1)))" \
    --data.mixture "$(mixture "$k")" --train.max_steps "$DAGGER_STEPS" --train.output_dir "$RUN/dagger$k" \
    "${extra[@]}"
}

RECIPE_SETTINGS=(TRAIN_SCENES PER_SCENE MODEL_PRESET RECOVERY EVAL_SCENES EVAL_PER_SCENE VIEW_SCENES VIEWS_PER_SCENE
  PROBE_SCENES PROBE_VIEWS_PER_SCENE BC_STEPS DAGGER_ROUNDS DAGGER_EPISODES DAGGER_STEPS DAGGER_MAX_STEPS
  STOP_LABEL_DISTANCE)

recipe_settings() {  # the settings above as one JSON object {NAME: value}
  local name pairs=()
  for name in "${RECIPE_SETTINGS[@]}"; do pairs+=("$name=${!name}"); done
  python -c 'import json, sys; print(json.dumps(dict(a.split("=", 1) for a in sys.argv[1:]), indent=1))' "${pairs[@]}"
}

ship() {
  local last
  last=$(model_after "$DAGGER_ROUNDS")
  rm -rf "$RUN/final.tmp" && cp -r "$last" "$RUN/final.tmp"
  cp configs/train/default-agent.yaml "$RUN/final.tmp/recipe.yaml"
  recipe_settings > "$RUN/final.tmp/recipe_settings.json"
  cp "$RUN/tower/tower_pretrain.yaml" "$RUN/final.tmp/tower_recipe.yaml"
  cp "$RUN/tower/probes.json" "$RUN/final.tmp/tower_probes.json"
  rm -rf "$RUN/final" && mv "$RUN/final.tmp" "$RUN/final"
  if [[ $SHIP == 1 ]]; then
    rm -rf checkpoints/navagent-default.tmp && cp -r "$RUN/final" checkpoints/navagent-default.tmp
    rm -rf checkpoints/navagent-default && mv checkpoints/navagent-default.tmp checkpoints/navagent-default
  fi
}

evaluate() {
  for split in "${VALIDATION_SPLITS[@]}"; do
    navagent eval vln --checkpoint "$RUN/final" --episodes "$DATA/episodes" --split "$split" \
      --num-envs "$EVAL_ENVS" --max-episodes "$EVAL_EPISODES" --out "$RUN/eval/agent_$split"
  done
  for split in "${VALIDATION_SPLITS[@]}"; do
    for policy in random forward oracle; do
      navagent eval vln --policy "$policy" --episodes "$DATA/episodes" --split "$split" \
        --max-episodes "$EVAL_EPISODES" --out "$RUN/eval/${policy}_$split"
    done
    navagent eval actions --checkpoint "$RUN/final" --records "$DATA/heldout_nav/${split}_nav.json" \
      --frames-root "$DATA/heldout_nav/frames" --max-records 600 --out "$RUN/eval/actions_$split.json"
  done
  navagent eval vqa --tasks easyvqa --checkpoint "$RUN/final" --out "$RUN/eval/vqa_easyvqa"
  navagent data sceneqa --split test --seed 0 --out "$DATA/sceneqa"
  navagent eval vqa --tasks sceneqa --checkpoint "$RUN/final" \
    --file "sceneqa.annotations=$DATA/sceneqa/test/sceneqa_test.json" --out "$RUN/eval/vqa_sceneqa"
}

recipe_start=$SECONDS
stage episodes episodes
# two cores: the navigation walks and the stage-0 views + tower run side by side
( stage nav_data nav_data ) &
nav_pid=$!
( stage views views && stage tower tower ) &
tower_pid=$!
wait "$nav_pid"
wait "$tower_pid"
stage features features 0 "$RUN/tower"
stage bc bc
for ((round = 1; round <= DAGGER_ROUNDS; round++)); do
  stage "dagger${round}_rollouts" dagger_rollouts "$round"
  stage "dagger${round}_features" features "$round" "$(model_after $((round - 1)))"
  stage "dagger${round}_train" dagger_train "$round"
done
stage ship ship
echo "$(date -u +%FT%TZ) recipe (this invocation): $((SECONDS - recipe_start)) s" | tee -a "$LOG"
if [[ $EVAL == 1 ]]; then stage eval evaluate; fi
