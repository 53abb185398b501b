"""Gate use cases: a model's policy (with history), ``gate check``, and enforcement on promotion.

``check`` gathers the evidence about a version — its artifact's integrity, its predictions and
the production version's on an evaluation file, its last pilot — and lets the pure
``shipyard.gates.evaluate`` judge it; the report is stored on the version. Promotion to
production then requires a passing report made under the model's current policy; without one
it runs the checks that need no data and refuses if anything fails, listing every failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.artifacts import file_sha256
from shipyard.core.errors import (
    ArtifactNotFoundError,
    DataFileError,
    GatesFailedError,
    IntegrityError,
)
from shipyard.core.governance import CheckKind, GatePolicyRecord, VersionCheck
from shipyard.core.types import ModelVersion
from shipyard.flavors import Batch
from shipyard.gates import GateContext, GatePolicy, GateReport, evaluate
from shipyard.registry.datafiles import read_table
from shipyard.security.signing import trusted_signers, verify

if TYPE_CHECKING:
    from shipyard.registry.service import Registry

DEFAULT_POLICY_REVISION = 0
"""The revision number reported for a model that has no stored policy (the default applies)."""


@dataclass(frozen=True, slots=True)
class CurrentPolicy:
    """The policy in force for a model and the revision it comes from (0: the default)."""

    policy: GatePolicy
    revision: int
    record: GatePolicyRecord | None


class Gates:
    """Gate policies and checks of one registry, acting as the registry's actor."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    # -- policies -------------------------------------------------------------------------

    def set_policy(self, model: str, text: str, *, source: str = "gate policy") -> GatePolicyRecord:
        """Store ``text`` as the model's next policy revision (it must parse).

        Raises:
            GatePolicyError: naming the line and field; nothing is stored.
            ModelNotFoundError.
        """
        GatePolicy.parse(text, source=source)
        registry = self._registry
        now = registry.now()
        with registry.store.session(write=True) as s:
            s.models.lock_model(model)
            record = s.governance.add_policy(model, text, actor=registry.actor, at=now)
            s.audit.append(
                actor=registry.actor,
                action="gate_policy.set",
                target=model,
                details={"revision": record.revision, "text": text},
                at=now,
            )
        return record

    def policy(self, model: str) -> CurrentPolicy:
        """The model's policy in force (the default if none was set)."""
        history = self.policy_history(model)
        if not history:
            return CurrentPolicy(GatePolicy.default(), DEFAULT_POLICY_REVISION, None)
        latest = history[0]
        return CurrentPolicy(GatePolicy.parse(latest.text), latest.revision, latest)

    def policy_history(self, model: str) -> list[GatePolicyRecord]:
        """Every revision of the model's policy, newest first."""
        with self._registry.store.session() as s:
            s.models.get_model(model)
            return s.governance.policies(model)

    # -- checks ---------------------------------------------------------------------------

    def check(
        self,
        ref: str,
        *,
        data: Path | None = None,
        target: str | None = None,
        policy_text: str | None = None,
        policy_source: str = "gate policy",
        min_metrics: Mapping[str, float] | None = None,
        sensitive: Sequence[str] = (),
        store: bool = True,
        data_name: str | None = None,
    ) -> GateReport:
        """Check ``ref`` against its model's policy (or ``policy_text``), storing the report.

        Args:
            ref: The candidate version.
            data: Evaluation data (CSV/Parquet) with the label column.
            target: The label column; default: the target given at registration.
            policy_text: A policy to use instead of the stored one (a CI pipeline's file).
            policy_source: How messages name ``policy_text`` (its file name).
            min_metrics: Extra ``metric >= value`` thresholds (``--min-metric``).
            sensitive: Extra sensitive columns for the fairness checks.
            store: Keep the report on the version (False for a dry run).
            data_name: How messages and the evidence name ``data`` (default: its file name;
                the API passes the caller's file name for rows it received).

        Raises:
            GatePolicyError, DataFileError, ModelNotFoundError, VersionNotFoundError.
        """
        registry = self._registry
        version = registry.get_version(ref)
        if policy_text is not None:
            current = CurrentPolicy(GatePolicy.parse(policy_text, source=policy_source), -1, None)
        else:
            current = self.policy(version.model)
        policy = current.policy
        if min_metrics:
            policy = policy.with_min_metrics(min_metrics)
        if sensitive:
            policy = policy.with_sensitive(sensitive)

        integrity_ok, integrity_message = self._integrity(version)
        signature_verified, signature_message = self._signature(version, policy)
        champion = self._champion(version)
        evidence: dict[str, Any] = {}
        context_data: dict[str, Any] = {}
        if data is not None:
            context_data, evidence = self._measure(
                version, champion, policy, data, data_name or data.name, target
            )
        pilot = self.latest(version, CheckKind.PILOT)
        context = GateContext(
            ref=version.ref,
            integrity_ok=integrity_ok,
            integrity_message=integrity_message,
            champion_ref=champion.ref if champion else None,
            pilot_p99_ms=float(pilot.result["p99_ms"]) if pilot else None,
            signature=version.signature,
            champion_signature=champion.signature if champion else None,
            signature_verified=signature_verified,
            signature_message=signature_message,
            **context_data,
        )
        report = evaluate(policy, context)
        if store:
            self._store(version, report, current.revision, evidence)
        return report

    def latest(self, version: ModelVersion, kind: CheckKind) -> VersionCheck | None:
        """The newest evidence of ``kind`` on ``version``."""
        with self._registry.store.session() as s:
            found = s.governance.checks(version.model, version.version, kind, limit=1)
        return found[0] if found else None

    def checks(self, ref: str, kind: CheckKind | None = None) -> list[VersionCheck]:
        """Evidence stored on a version, newest first."""
        version = self._registry.get_version(ref)
        with self._registry.store.session() as s:
            return s.governance.checks(version.model, version.version, kind)

    def record(
        self, version: ModelVersion, kind: CheckKind, passed: bool | None, result: dict[str, Any]
    ) -> VersionCheck:
        """Store evidence gathered elsewhere (a pilot) on ``version``, audited."""
        registry = self._registry
        now = registry.now()
        with registry.store.session(write=True) as s:
            stored = s.governance.add_check(
                version.model,
                version.version,
                kind,
                passed=passed,
                result=result,
                actor=registry.actor,
                at=now,
            )
            s.audit.append(
                actor=registry.actor,
                action=f"version.{kind.value}",
                target=version.ref,
                details={"passed": passed, **_summary(result)},
                at=now,
            )
        return stored

    # -- enforcement ----------------------------------------------------------------------

    def enforce(self, version: ModelVersion) -> GateReport:
        """Make sure ``version`` passed its gates under the current policy before production.

        Uses the newest stored report if it was made under the current policy revision;
        otherwise runs the checks now, without evaluation data (a policy with data checks then
        fails, saying to run ``shipyard gate check … --data FILE``).

        Raises:
            GatesFailedError: listing every failed check.
        """
        current = self.policy(version.model)
        stored = self.latest(version, CheckKind.GATE)
        if stored is not None and stored.result.get("policy_revision") == current.revision:
            report = GateReport.from_dict(stored.result)
        else:
            report = self.check(version.ref)
        if not report.passed:
            failures = "; ".join(f"{c.name}: {c.message.rstrip('.')}" for c in report.failed())
            raise GatesFailedError(
                f"{version.ref} failed its gates and cannot go to production: {failures}. "
                f"Fix them and re-run `shipyard gate check {version.ref} --data FILE`."
            )
        return report

    # -- helpers --------------------------------------------------------------------------

    def _integrity(self, version: ModelVersion) -> tuple[bool, str]:
        try:
            self._registry.fetch_artifact(version)
        except (IntegrityError, ArtifactNotFoundError) as exc:
            return False, exc.message
        return True, f"artifact matches its SHA-256 {version.artifact.sha256[:12]}…"

    def _signature(
        self, version: ModelVersion, policy: GatePolicy
    ) -> tuple[bool | None, str | None]:
        signed = version.artifact_signature
        if signed is None or not policy.require_signature:
            return None, None  # unsigned, or nothing asks for a signature: nothing to check
        trusted = trusted_signers(self._registry.settings.trusted_signers)
        return verify(signed, version.artifact.sha256, trusted)

    def _champion(self, version: ModelVersion) -> ModelVersion | None:
        production = self._registry.get_model(version.model).production_version
        if production is None or production == version.version:
            return None
        return self._registry.get_version(version.model, production)

    def _measure(
        self,
        version: ModelVersion,
        champion: ModelVersion | None,
        policy: GatePolicy,
        data: Path,
        shown: str,
        target: str | None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        table = read_table(data)
        label = target or _registered_target(version)
        if label is None:
            raise DataFileError(
                f"Name the label column of {shown} with --target: {version.ref} was "
                "registered without one."
            )
        columns = table.column_names
        if label not in columns:
            raise DataFileError(
                f"{shown} has no label column {label!r}; its columns are: {', '.join(columns)}."
            )
        wanted = policy.fairness.sensitive if policy.fairness else ()
        context: dict[str, Any] = {
            "labels": Batch.from_arrow(table, [label]).column(label),
            "sensitive": {
                c: Batch.from_arrow(table, [c]).column(c) for c in wanted if c in columns
            },
        }
        predictions, probabilities, classes = _predict(self._registry, version, table, shown)
        context.update(predictions=predictions, probabilities=probabilities, classes=classes)
        if champion is not None:
            predictions, probabilities, classes = _predict(self._registry, champion, table, shown)
            context.update(
                champion_predictions=predictions,
                champion_probabilities=probabilities,
                champion_classes=classes,
            )
        evidence = {
            "file": shown,
            "sha256": file_sha256(data)[0],
            "rows": table.num_rows,
            "target": label,
        }
        return context, evidence

    def _store(
        self, version: ModelVersion, report: GateReport, revision: int, data: dict[str, Any]
    ) -> None:
        result = {**report.to_dict(), "policy_revision": revision, "data": data or None}
        self.record(version, CheckKind.GATE, report.passed, result)


def _predict(
    registry: Registry, version: ModelVersion, table: Any, shown: str
) -> tuple[np.ndarray, np.ndarray | None, list[Any] | None]:
    loaded = registry.load(version.model, version.version)
    predictor = loaded.predictor
    names = version.signature.input_names if version.signature else predictor.feature_names
    if not names:
        raise DataFileError(
            f"{version.ref} has no input signature, so the columns of {shown} it takes are "
            "unknown. Register it with --sample-data."
        )
    absent = [n for n in names if n not in table.column_names]
    if absent:
        raise DataFileError(
            f"{shown} lacks the input column(s) {', '.join(map(repr, absent))} that "
            f"{version.ref} needs."
        )
    batch = Batch.from_arrow(table, names)
    predictions = np.asarray(predictor.predict(batch))
    probabilities = None
    if predictor.has_proba:
        probabilities = np.asarray(predictor.predict_proba(batch), dtype=np.float64)
    classes = list(predictor.classes) if predictor.classes is not None else None
    return predictions, probabilities, classes


def _registered_target(version: ModelVersion) -> str | None:
    columns = (version.reference_profile or {}).get("columns", {})
    for name, stats in columns.items():
        if stats.get("role") == "target":
            return str(name)
    return None


def _summary(result: Mapping[str, Any]) -> dict[str, Any]:
    """What the audit log keeps of a check: its verdicts, not its whole payload."""
    keep = ("passed", "policy_revision", "p50_ms", "p99_ms", "throughput_rps", "errors")
    summary = {k: result[k] for k in keep if k in result}
    if "checks" in result:
        summary["failed"] = [c["name"] for c in result["checks"] if not c.get("passed", True)]
    return summary
