#!/usr/bin/env bash
# The README's first command: train, register with lineage + reference profile, inspect,
# promote and score — on the embedded default (SQLite + local files) under .demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=${DEMO_DIR:-.demo}
export SHIPYARD_HOME=${SHIPYARD_HOME:-$PWD/$DEMO/home}
unset SHIPYARD_DATABASE_URL SHIPYARD_ARTIFACT_URI
run() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

run python examples/train_breast_cancer.py "$DEMO"
# shellcheck disable=SC1091
source "$DEMO/metrics.env"
run shipyard init
run shipyard register breast-cancer "$DEMO/model.skops" \
    --sample-data "$DEMO/validation.csv" --target target \
    --metric accuracy="$ACCURACY" --metric roc_auc="$AUC" \
    --param model=LogisticRegression --param C=0.5 \
    --data-version sklearn-breast-cancer-v1 \
    --description "Flags malignant tumours from 30 cell-nucleus measurements." \
    --intended-use "Demo of Shipyard; not for clinical use." \
    --limitations "Trained on 398 rows of one public dataset." \
    --owner ml-platform
VERSION=$(shipyard models show breast-cancer:latest --json | python -c 'import json,sys; print(json.load(sys.stdin)["version"])')
run shipyard promote "breast-cancer:$VERSION" --to staging --reason "demo: validation passed"
run shipyard promote "breast-cancer:$VERSION" --to production --reason "demo: approved"
run shipyard models list
run shipyard models show breast-cancer:production
run shipyard predict breast-cancer:production --input "$DEMO/to_score.csv" --output "$DEMO/scored.csv"
printf '\nFirst scored rows (prediction, probabilities):\n'
python - "$DEMO/scored.csv" <<'PY'
import csv, sys
with open(sys.argv[1]) as f:
    rows = list(csv.DictReader(f))
for row in rows[:5]:
    print(f"  prediction={row['prediction']}  proba_0={float(row['proba_0']):.3f}  proba_1={float(row['proba_1']):.3f}")
print(f"  … {len(rows)} rows in {sys.argv[1]}")
PY
run shipyard audit list --limit 5
run shipyard audit verify
printf '\nDone. State is in %s; run `SHIPYARD_HOME=%s shipyard models list` to look around.\n' "$SHIPYARD_HOME" "$SHIPYARD_HOME"
