"""SQL implementation of AlertRepository and LeaseRepository.

Firing is an insert guarded by a partial unique index (one firing alert per rule), resolving a
compare-and-set on the alert's state, so however many processes check a rule at the same
moment, it fires once and resolves once. Both run in a savepoint so a lost race leaves the
surrounding transaction usable.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from shipyard.core.alerts import (
    Alert,
    AlertRule,
    AlertState,
    Comparison,
    Delivery,
    MetricFamily,
)
from shipyard.core.errors import AlertNotFoundError, AlertRuleNotFoundError, ConflictError
from shipyard.store.schema import alert_deliveries as d
from shipyard.store.schema import alert_rules as r
from shipyard.store.schema import alerts as a
from shipyard.store.schema import leases as lease_table


class SqlAlertRepository:
    """AlertRepository over one SQLAlchemy connection (inside a transaction)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._c = connection

    # -- rules -----------------------------------------------------------------------------

    def add_rule(self, rule: AlertRule) -> AlertRule:
        """See AlertRepository.add_rule (``rule.id`` is ignored)."""
        if self._find_rule(rule.endpoint, rule.name) is not None:
            raise ConflictError(
                f"Endpoint {rule.endpoint!r} already has an alert rule named {rule.name!r}. "
                f"Delete it first (`shipyard alerts delete {rule.endpoint} {rule.name}`) or "
                "choose another name."
            )
        rule_id = self._c.execute(
            sa.insert(r)
            .values(
                endpoint=rule.endpoint,
                name=rule.name,
                metric=rule.metric,
                family=rule.family.value,
                comparison=rule.comparison.value,
                threshold=rule.threshold,
                window_seconds=rule.window_seconds,
                min_samples=rule.min_samples,
                version=rule.version,
                sensitive=rule.sensitive,
                webhooks=list(rule.webhooks),
                created_by=rule.created_by,
                created_at=rule.created_at,
            )
            .returning(r.c.id)
        ).scalar_one()
        return self.rule_by_id(int(rule_id))

    def rules(self, endpoint: str | None = None) -> list[AlertRule]:
        """See AlertRepository.rules."""
        query = sa.select(r).where(r.c.deleted_at.is_(None))
        if endpoint is not None:
            query = query.where(r.c.endpoint == endpoint)
        return [_rule(row) for row in self._c.execute(query.order_by(r.c.endpoint, r.c.name))]

    def rule(self, endpoint: str, name: str) -> AlertRule:
        """See AlertRepository.rule."""
        found = self._find_rule(endpoint, name)
        if found is None:
            raise AlertRuleNotFoundError(
                f"Endpoint {endpoint!r} has no alert rule named {name!r}. "
                f"`shipyard alerts rules {endpoint}` lists them."
            )
        return found

    def rule_by_id(self, rule_id: int) -> AlertRule:
        """The rule with store id ``rule_id``, deleted or not."""
        return _rule(self._c.execute(sa.select(r).where(r.c.id == rule_id)).one())

    def lock_live_rule(self, rule_id: int) -> bool:
        """See AlertRepository.lock_live_rule."""
        row = self._c.execute(
            sa.select(r.c.deleted_at).where(r.c.id == rule_id).with_for_update()
        ).one_or_none()
        return row is not None and row.deleted_at is None

    def delete_rule(self, rule_id: int, at: datetime) -> None:
        """See AlertRepository.delete_rule."""
        self._c.execute(
            sa.update(r).where(r.c.id == rule_id, r.c.deleted_at.is_(None)).values(deleted_at=at)
        )

    def _find_rule(self, endpoint: str, name: str) -> AlertRule | None:
        # Locked (PostgreSQL; SQLite serialises writers): a check firing this rule waits for a
        # delete in progress, then sees the rule gone (``lock_live_rule``).
        row = self._c.execute(
            sa.select(r)
            .where(r.c.endpoint == endpoint, r.c.name == name, r.c.deleted_at.is_(None))
            .with_for_update()
        ).one_or_none()
        return None if row is None else _rule(row)

    # -- alerts ----------------------------------------------------------------------------

    def firing(self, rule_id: int) -> Alert | None:
        """See AlertRepository.firing."""
        row = self._c.execute(
            self._alerts().where(a.c.rule_id == rule_id, a.c.state == AlertState.FIRING.value)
        ).one_or_none()
        return None if row is None else self._with_deliveries([row])[0]

    def fire(
        self,
        rule: AlertRule,
        *,
        value: float | None,
        samples: int,
        detail: dict[str, Any],
        at: datetime,
    ) -> Alert | None:
        """See AlertRepository.fire."""
        try:
            with self._c.begin_nested():
                alert_id = self._c.execute(
                    sa.insert(a)
                    .values(
                        rule_id=rule.id,
                        state=AlertState.FIRING.value,
                        value=value,
                        threshold=rule.threshold,
                        comparison=rule.comparison.value,
                        samples=samples,
                        detail=detail,
                        fired_at=at,
                    )
                    .returning(a.c.id)
                ).scalar_one()
        except sa.exc.IntegrityError:
            return None  # another process fired it first
        return self.get(int(alert_id))

    def resolve(self, alert_id: int, *, value: float | None, at: datetime) -> Alert | None:
        """See AlertRepository.resolve."""
        changed = self._c.execute(
            sa.update(a)
            .where(a.c.id == alert_id, a.c.state == AlertState.FIRING.value)
            .values(state=AlertState.RESOLVED.value, resolved_at=at, resolved_value=value)
        ).rowcount
        return self.get(alert_id) if changed else None

    def get(self, alert_id: int) -> Alert:
        """See AlertRepository.get."""
        row = self._c.execute(self._alerts().where(a.c.id == alert_id)).one_or_none()
        if row is None:
            raise AlertNotFoundError(
                f"No alert with id {alert_id}. `shipyard alerts list --state all` lists them."
            )
        return self._with_deliveries([row])[0]

    def find(
        self,
        *,
        endpoint: str | None = None,
        state: AlertState | None = None,
        limit: int = 50,
    ) -> list[Alert]:
        """See AlertRepository.find."""
        query = self._alerts()
        if endpoint is not None:
            query = query.where(r.c.endpoint == endpoint)
        if state is not None:
            query = query.where(a.c.state == state.value)
        rows = list(self._c.execute(query.order_by(a.c.id.desc()).limit(limit)))
        return self._with_deliveries(rows)

    def add_delivery(self, delivery: Delivery) -> None:
        """See AlertRepository.add_delivery."""
        self._c.execute(
            sa.insert(d).values(
                alert_id=delivery.alert_id,
                event=delivery.event.value,
                kind=delivery.kind,
                target=delivery.target,
                attempts=delivery.attempts,
                delivered=delivery.delivered,
                status=delivery.status,
                error=delivery.error,
                at=delivery.at,
            )
        )

    def _alerts(self) -> sa.Select[Any]:
        return sa.select(a, r.c.name.label("rule_name"), r.c.endpoint, r.c.metric).select_from(
            a.join(r, r.c.id == a.c.rule_id)
        )

    def _with_deliveries(self, rows: list[Any]) -> list[Alert]:
        by_alert: dict[int, list[Delivery]] = defaultdict(list)
        ids = [row.id for row in rows]
        if ids:
            for row in self._c.execute(sa.select(d).where(d.c.alert_id.in_(ids)).order_by(d.c.id)):
                by_alert[row.alert_id].append(_delivery(row))
        return [_alert(row, tuple(by_alert[row.id])) for row in rows]


class SqlLeaseRepository:
    """LeaseRepository over one SQLAlchemy connection (inside a transaction)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._c = connection

    def acquire(self, name: str, holder: str, *, ttl: float, now: datetime) -> bool:
        """See LeaseRepository.acquire."""
        expires = now + timedelta(seconds=ttl)
        taken = self._c.execute(
            sa.update(lease_table)
            .where(
                lease_table.c.name == name,
                sa.or_(lease_table.c.holder == holder, lease_table.c.expires_at <= now),
            )
            .values(holder=holder, expires_at=expires)
        ).rowcount
        if taken:
            return True
        try:
            with self._c.begin_nested():
                self._c.execute(
                    sa.insert(lease_table).values(name=name, holder=holder, expires_at=expires)
                )
        except sa.exc.IntegrityError:
            return False  # held by someone else, and not expired
        return True

    def release(self, name: str, holder: str) -> None:
        """See LeaseRepository.release."""
        self._c.execute(
            sa.delete(lease_table).where(lease_table.c.name == name, lease_table.c.holder == holder)
        )


def _rule(row: Any) -> AlertRule:
    return AlertRule(
        id=row.id,
        endpoint=row.endpoint,
        name=row.name,
        metric=row.metric,
        family=MetricFamily(row.family),
        comparison=Comparison(row.comparison),
        threshold=row.threshold,
        window_seconds=row.window_seconds,
        min_samples=row.min_samples,
        version=row.version,
        sensitive=row.sensitive,
        webhooks=tuple(row.webhooks or ()),
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _alert(row: Any, deliveries: tuple[Delivery, ...]) -> Alert:
    return Alert(
        id=row.id,
        rule=row.rule_name,
        endpoint=row.endpoint,
        metric=row.metric,
        state=AlertState(row.state),
        value=row.value,
        threshold=row.threshold,
        comparison=Comparison(row.comparison),
        samples=row.samples,
        fired_at=row.fired_at,
        resolved_at=row.resolved_at,
        resolved_value=row.resolved_value,
        detail=row.detail or {},
        deliveries=deliveries,
        rule_id=row.rule_id,
    )


def _delivery(row: Any) -> Delivery:
    return Delivery(
        alert_id=row.alert_id,
        event=AlertState(row.event),
        kind=row.kind,
        target=row.target,
        attempts=row.attempts,
        delivered=row.delivered,
        status=row.status,
        error=row.error,
        at=row.at,
    )
