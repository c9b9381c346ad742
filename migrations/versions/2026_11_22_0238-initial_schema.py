"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 02:38:46.458935+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "institution",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("stationed", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "bin_prefixes",
            postgresql.ARRAY(sa.String(length=10)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "adapter",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("callback_secret", sa.String(length=128), nullable=False),
        sa.Column("sla_s", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('bank', 'payment_institution', 'national_platform')",
            name=op.f("ck_institution_kind"),
        ),
        sa.CheckConstraint("sla_s > 0", name=op.f("ck_institution_sla_s")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_institution")),
        sa.UniqueConstraint("code", name=op.f("uq_institution_code")),
    )
    op.create_table(
        "unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('municipal_centre', 'district_centre', 'police_station')",
            name=op.f("ck_unit_kind"),
        ),
        sa.ForeignKeyConstraint(["parent_id"], ["unit.id"], name=op.f("fk_unit_parent_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit")),
        sa.UniqueConstraint("code", name=op.f("uq_unit_code")),
    )
    op.create_index(op.f("ix_unit_parent_id"), "unit", ["parent_id"], unique=False)
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("account_no", sa.String(length=64), nullable=False),
        sa.Column("account_no_norm", sa.String(length=64), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('bank_card', 'bank_account', 'payment_account')", name=op.f("ck_account_kind")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_account_institution_id_institution"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
        sa.UniqueConstraint(
            "institution_id",
            "account_no_norm",
            name=op.f("uq_account_institution_id_account_no_norm"),
        ),
    )
    op.create_index(
        op.f("ix_account_account_no_norm"), "account", ["account_no_norm"], unique=False
    )
    op.create_table(
        "user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), server_default="zh-CN", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("language IN ('zh-CN', 'en')", name=op.f("ck_user_language")),
        sa.CheckConstraint(
            "role IN ('call_taker', 'supervisor', 'admin')", name=op.f("ck_user_role")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_user_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user")),
        sa.UniqueConstraint("username", name=op.f("uq_user_username")),
    )
    op.create_index(op.f("ix_user_unit_id"), "user", ["unit_id"], unique=False)
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_api_token_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_index(op.f("ix_api_token_user_id"), "api_token", ["user_id"], unique=False)
    op.create_table(
        "case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_no", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("victim_name", sa.String(length=200), nullable=False),
        sa.Column("victim_id_no", sa.String(length=32), nullable=True),
        sa.Column("victim_phone", sa.String(length=32), nullable=True),
        sa.Column(
            "victim_is_enterprise", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("victim_enterprise_name", sa.String(length=200), nullable=True),
        sa.Column("fraud_type", sa.String(length=40), nullable=False),
        sa.Column("narrative", sa.Text(), server_default="", nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="stopping", nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("call_taker_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "channel IN ('phone_call', 'walk_in', 'online', 'bank_referral')",
            name=op.f("ck_case_channel"),
        ),
        sa.CheckConstraint(
            "fraud_type IN ('impersonate_authority', 'impersonate_customer_service', 'impersonate_boss', 'impersonate_acquaintance', 'fake_tax_refund', 'impersonate_bank_staff', 'fake_prize', 'insider_tips', 'fake_loan', 'phishing_site', 'contraband', 'fake_kidnapping', 'brushing_rebate', 'romance_investment', 'fake_investment_platform', 'online_gambling', 'other')",
            name=op.f("ck_case_fraud_type"),
        ),
        sa.CheckConstraint(
            "priority IN ('special', 'high', 'medium', 'low')", name=op.f("ck_case_priority")
        ),
        sa.CheckConstraint(
            "status IN ('stopping', 'stopped', 'partly_stopped', 'nothing_stopped', 'closed')",
            name=op.f("ck_case_status"),
        ),
        sa.ForeignKeyConstraint(
            ["call_taker_id"], ["user.id"], name=op.f("fk_case_call_taker_id_user")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_case_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case")),
        sa.UniqueConstraint("case_no", name=op.f("uq_case_case_no")),
    )
    op.create_index(op.f("ix_case_call_taker_id"), "case", ["call_taker_id"], unique=False)
    op.create_index(op.f("ix_case_fraud_type"), "case", ["fraud_type"], unique=False)
    op.create_index(op.f("ix_case_received_at"), "case", ["received_at"], unique=False)
    op.create_index("ix_case_status_priority", "case", ["status", "priority"], unique=False)
    op.create_index(op.f("ix_case_unit_id"), "case", ["unit_id"], unique=False)
    op.create_table(
        "user_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_user_session_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
    )
    op.create_index(op.f("ix_user_session_user_id"), "user_session", ["user_id"], unique=False)
    op.create_table(
        "case_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(role = 'victim') = (level = 0)", name=op.f("ck_case_account_victim_level")
        ),
        sa.CheckConstraint("role IN ('victim', 'suspect')", name=op.f("ck_case_account_role")),
        sa.CheckConstraint("level >= 0", name=op.f("ck_case_account_level")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_case_account_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_case_account_case_id_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_account")),
        sa.UniqueConstraint(
            "case_id", "account_id", name=op.f("uq_case_account_case_id_account_id")
        ),
    )
    op.create_index(
        op.f("ix_case_account_account_id"), "case_account", ["account_id"], unique=False
    )
    op.create_table(
        "instruction",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=12), server_default="pending", nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("amount_requested", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("amount_stopped", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("balance", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("mismatch_field", sa.String(length=32), nullable=True),
        sa.Column("document_no", sa.String(length=64), nullable=True),
        sa.Column("institution_ref", sa.String(length=100), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("first_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind = 'register' OR account_id IS NOT NULL",
            name=op.f("ck_instruction_account_required"),
        ),
        sa.CheckConstraint(
            "kind IN ('stop_payment', 'freeze', 'query', 'release', 'register')",
            name=op.f("ck_instruction_kind"),
        ),
        sa.CheckConstraint(
            "outcome IN ('stopped_full', 'stopped_partial', 'frozen_full', 'frozen_partial', 'released', 'answered', 'registered', 'no_funds', 'mismatch', 'account_not_found', 'rejected')",
            name=op.f("ck_instruction_outcome"),
        ),
        sa.CheckConstraint(
            "state <> 'done' OR outcome IS NOT NULL", name=op.f("ck_instruction_done_has_outcome")
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'done', 'escalated', 'expired')",
            name=op.f("ck_instruction_state"),
        ),
        sa.CheckConstraint("amount_requested >= 0", name=op.f("ck_instruction_amount_requested")),
        sa.CheckConstraint("amount_stopped >= 0", name=op.f("ck_instruction_amount_stopped")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_instruction_attempts")),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_instruction_balance")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_instruction_account_id_account")
        ),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_instruction_case_id_case")),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_instruction_institution_id_institution"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["instruction.id"], name=op.f("fk_instruction_parent_id_instruction")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instruction")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_instruction_idempotency_key")),
    )
    op.create_index(op.f("ix_instruction_account_id"), "instruction", ["account_id"], unique=False)
    op.create_index(
        "ix_instruction_active_expiry",
        "instruction",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("state = 'done' AND expires_at IS NOT NULL"),
    )
    op.create_index(op.f("ix_instruction_case_id"), "instruction", ["case_id"], unique=False)
    op.create_index(
        "ix_instruction_state_institution_id",
        "instruction",
        ["state", "institution_id"],
        unique=False,
    )
    op.create_table(
        "suspect_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('phone', 'qq', 'wechat', 'url', 'app', 'other')",
            name=op.f("ck_suspect_contact_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case.id"], name=op.f("fk_suspect_contact_case_id_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suspect_contact")),
    )
    op.create_index(
        op.f("ix_suspect_contact_case_id"), "suspect_contact", ["case_id"], unique=False
    )
    op.create_index(
        "ix_suspect_contact_kind_value", "suspect_contact", ["kind", "value"], unique=False
    )
    op.create_table(
        "transfer",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("from_account_id", sa.Integer(), nullable=False),
        sa.Column("to_account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), server_default="reported", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "channel IN ('online_banking', 'mobile_banking', 'payment_app', 'atm', 'counter', 'pos', 'other')",
            name=op.f("ck_transfer_channel"),
        ),
        sa.CheckConstraint(
            "source IN ('reported', 'callback', 'query')", name=op.f("ck_transfer_source")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_transfer_amount")),
        sa.CheckConstraint(
            "from_account_id <> to_account_id", name=op.f("ck_transfer_distinct_accounts")
        ),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_transfer_case_id_case")),
        sa.ForeignKeyConstraint(
            ["from_account_id"], ["account.id"], name=op.f("fk_transfer_from_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["to_account_id"], ["account.id"], name=op.f("fk_transfer_to_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer")),
    )
    op.create_index(op.f("ix_transfer_case_id"), "transfer", ["case_id"], unique=False)
    op.create_index(
        op.f("ix_transfer_from_account_id"), "transfer", ["from_account_id"], unique=False
    )
    op.create_index(op.f("ix_transfer_to_account_id"), "transfer", ["to_account_id"], unique=False)
    op.create_table(
        "callback_inbox",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.String(length=128), nullable=False),
        sa.Column("webhook_timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("instruction_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institution.id"],
            name=op.f("fk_callback_inbox_institution_id_institution"),
        ),
        sa.ForeignKeyConstraint(
            ["instruction_id"],
            ["instruction.id"],
            name=op.f("fk_callback_inbox_instruction_id_instruction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_inbox")),
        sa.UniqueConstraint(
            "institution_id", "webhook_id", name=op.f("uq_callback_inbox_institution_id_webhook_id")
        ),
    )
    op.create_index(
        op.f("ix_callback_inbox_instruction_id"), "callback_inbox", ["instruction_id"], unique=False
    )
    op.create_table(
        "event",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("actor_kind", sa.String(length=12), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("institution_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("instruction_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "actor_kind IN ('user', 'system', 'institution')", name=op.f("ck_event_actor_kind")
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["user.id"], name=op.f("fk_event_actor_user_id_user")
        ),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_event_case_id_case")),
        sa.ForeignKeyConstraint(
            ["institution_id"], ["institution.id"], name=op.f("fk_event_institution_id_institution")
        ),
        sa.ForeignKeyConstraint(
            ["instruction_id"], ["instruction.id"], name=op.f("fk_event_instruction_id_instruction")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    op.create_index(
        "ix_event_case_id_occurred_at", "event", ["case_id", "occurred_at"], unique=False
    )
    op.create_index(op.f("ix_event_instruction_id"), "event", ["instruction_id"], unique=False)
    op.create_index(op.f("ix_event_kind"), "event", ["kind"], unique=False)
    op.create_index(op.f("ix_event_occurred_at"), "event", ["occurred_at"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("instruction_id", sa.BigInteger(), nullable=False),
        sa.Column("task", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("publish_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["instruction_id"],
            ["instruction.id"],
            name=op.f("fk_outbox_instruction_id_instruction"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("instruction_id", name=op.f("uq_outbox_instruction_id")),
    )
    op.create_index(
        "ix_outbox_unconfirmed",
        "outbox",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("confirmed_at IS NULL"),
    )

    # The audit trail is append-only: the database itself refuses to edit or delete it.
    op.execute(
        """
        CREATE FUNCTION event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the audit trail (event) is append-only';
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON event "
        "FOR EACH STATEMENT EXECUTE FUNCTION event_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER event_append_only ON event")
    op.execute("DROP FUNCTION event_append_only()")
    op.drop_index(
        "ix_outbox_unconfirmed",
        table_name="outbox",
        postgresql_where=sa.text("confirmed_at IS NULL"),
    )
    op.drop_table("outbox")
    op.drop_index(op.f("ix_event_occurred_at"), table_name="event")
    op.drop_index(op.f("ix_event_kind"), table_name="event")
    op.drop_index(op.f("ix_event_instruction_id"), table_name="event")
    op.drop_index("ix_event_case_id_occurred_at", table_name="event")
    op.drop_table("event")
    op.drop_index(op.f("ix_callback_inbox_instruction_id"), table_name="callback_inbox")
    op.drop_table("callback_inbox")
    op.drop_index(op.f("ix_transfer_to_account_id"), table_name="transfer")
    op.drop_index(op.f("ix_transfer_from_account_id"), table_name="transfer")
    op.drop_index(op.f("ix_transfer_case_id"), table_name="transfer")
    op.drop_table("transfer")
    op.drop_index("ix_suspect_contact_kind_value", table_name="suspect_contact")
    op.drop_index(op.f("ix_suspect_contact_case_id"), table_name="suspect_contact")
    op.drop_table("suspect_contact")
    op.drop_index("ix_instruction_state_institution_id", table_name="instruction")
    op.drop_index(op.f("ix_instruction_case_id"), table_name="instruction")
    op.drop_index(
        "ix_instruction_active_expiry",
        table_name="instruction",
        postgresql_where=sa.text("state = 'done' AND expires_at IS NOT NULL"),
    )
    op.drop_index(op.f("ix_instruction_account_id"), table_name="instruction")
    op.drop_table("instruction")
    op.drop_index(op.f("ix_case_account_account_id"), table_name="case_account")
    op.drop_table("case_account")
    op.drop_index(op.f("ix_user_session_user_id"), table_name="user_session")
    op.drop_table("user_session")
    op.drop_index(op.f("ix_case_unit_id"), table_name="case")
    op.drop_index("ix_case_status_priority", table_name="case")
    op.drop_index(op.f("ix_case_received_at"), table_name="case")
    op.drop_index(op.f("ix_case_fraud_type"), table_name="case")
    op.drop_index(op.f("ix_case_call_taker_id"), table_name="case")
    op.drop_table("case")
    op.drop_index(op.f("ix_api_token_user_id"), table_name="api_token")
    op.drop_table("api_token")
    op.drop_index(op.f("ix_user_unit_id"), table_name="user")
    op.drop_table("user")
    op.drop_index(op.f("ix_account_account_no_norm"), table_name="account")
    op.drop_table("account")
    op.drop_index(op.f("ix_unit_parent_id"), table_name="unit")
    op.drop_table("unit")
    op.drop_table("institution")
