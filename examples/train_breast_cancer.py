"""Train the demo model on scikit-learn's bundled breast-cancer data (no download).

Writes, into the directory given as the only argument:
  model.skops       the fitted pipeline, saved with skops (a safe format)
  validation.csv    held-out rows with the `target` column (sample data + reference profile)
  to_score.csv      the same rows without the target (what `shipyard predict` scores)
  metrics.env       ACCURACY=… and AUC=… for `--metric`
"""

import sys
from pathlib import Path

import skops.io as sio
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".demo")
out.mkdir(parents=True, exist_ok=True)
data = load_breast_cancer(as_frame=True)
frame = data.frame
features = frame.drop(columns="target")
X_train, X_val, y_train, y_val = train_test_split(
    features, frame["target"], test_size=0.3, random_state=0, stratify=frame["target"]
)
model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000))
model.fit(X_train, y_train)
accuracy = accuracy_score(y_val, model.predict(X_val))
auc = roc_auc_score(y_val, model.predict_proba(X_val)[:, 1])
sio.dump(model, out / "model.skops")
X_val.assign(target=y_val).to_csv(out / "validation.csv", index=False)
X_val.to_csv(out / "to_score.csv", index=False)
(out / "metrics.env").write_text(f"ACCURACY={accuracy:.4f}\nAUC={auc:.4f}\n")
print(f"trained LogisticRegression pipeline: accuracy {accuracy:.4f}, ROC AUC {auc:.4f} → {out}")
