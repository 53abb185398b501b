#!/usr/bin/env bash
# The README's first command: train, register with lineage + reference profile, inspect,
# promote, score a file, then serve it with an API key — on the embedded default (SQLite +
# local files) under .demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=${DEMO_DIR:-.demo}
case "$DEMO" in /*) ;; *) DEMO="$PWD/$DEMO" ;; esac
export SHIPYARD_HOME=${SHIPYARD_HOME:-$DEMO/home}
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

# Serve it: REST v1 + Open Inference Protocol v2 + the control-plane API, with API keys.
KEY=$(shipyard keys create --role predictor --name demo-client --json | python -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
LOG="$DEMO/serve.log"
printf '\n\033[1m$ shipyard serve --port %s\033[0m\n' "${DEMO_PORT:-0}"
shipyard serve --port "${DEMO_PORT:-0}" >"$LOG" 2>&1 &
SERVER=$!
trap 'status=$?; kill -TERM $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; exit $status' EXIT
URL=""
for _ in $(seq 1 600); do
    URL=$(sed -n 's/.*Shipyard serving on \(http:[^ ]*\).*/\1/p' "$LOG" | head -n1)
    [ -n "$URL" ] && curl -sf "$URL/readyz" >/dev/null && break
    kill -0 $SERVER 2>/dev/null || { cat "$LOG"; exit 1; }
    sleep 0.1
done
BODY=$(python - "$DEMO/to_score.csv" <<'PY'
import csv, json, sys
with open(sys.argv[1]) as f:
    row = next(csv.DictReader(f))
print(json.dumps({"instances": [{k: float(v) for k, v in row.items()}], "return_probabilities": True}))
PY
)
printf '\n\033[1mServing breast-cancer:%s at %s\033[0m\n' "$VERSION" "$URL"
printf 'Predictor API key (shown once): %s\n' "$KEY"
printf 'Try it:\n\n  curl -s %s/v1/endpoints/breast-cancer/predict \\\n    -H "Authorization: Bearer %s" \\\n    -d '"'"'%s'"'"'\n\n' "$URL" "$KEY" "$BODY"
printf 'Answer: '
curl -s "$URL/v1/endpoints/breast-cancer/predict" -H "Authorization: Bearer $KEY" -d "$BODY"
printf '\n\nAlso: %s/docs (OpenAPI), %s/v2/models/breast-cancer (Open Inference Protocol v2), %s/metrics (Prometheus, any key).\n' "$URL" "$URL" "$URL"
printf 'State is in %s; run `SHIPYARD_HOME=%s shipyard models list` to look around.\n' "$SHIPYARD_HOME" "$SHIPYARD_HOME"
if [ -t 0 ] && [ -z "${DEMO_NO_WAIT:-}" ]; then
    printf '\nThe server keeps running; Ctrl-C stops it.\n'
    wait $SERVER
else
    printf '\nNot interactive: stopping the server (run `shipyard serve` to keep one up).\n'
fi
