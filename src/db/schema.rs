//! Table definitions shared by both backends: ids as Text or BigInt, times as UTC Timestamp,
//! money as BigInt fen — the subset that diesel's MultiConnection carries.

diesel::table! {
    fines (decision_no) {
        decision_no -> Text,
        district_code -> Text,
        verification_code -> Text,
        violation_code -> Text,
        subject_kind -> Text,
        plate -> Nullable<Text>,
        plate_type -> Nullable<Text>,
        location -> Text,
        occurred_at -> Timestamp,
        delivery -> Text,
        amount_fen -> BigInt,
        points -> Integer,
        status -> Text,
        credential_id -> Text,
        officer_id -> Text,
        device_id -> Text,
        issued_at -> Timestamp,
        qr_expires_at -> Nullable<Timestamp>,
        qr_key_id -> Nullable<Integer>,
        paid_at -> Nullable<Timestamp>,
        paid_channel -> Nullable<Text>,
        voided_at -> Nullable<Timestamp>,
        void_reason -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    decision_serials (district_code, issue_date) {
        district_code -> Text,
        issue_date -> Date,
        last_serial -> BigInt,
    }
}

diesel::table! {
    credentials (id) {
        id -> Text,
        role -> Text,
        token_hash -> Text,
        officer_id -> Nullable<Text>,
        device_id -> Nullable<Text>,
        district_code -> Nullable<Text>,
        bank_code -> Nullable<Text>,
        name -> Nullable<Text>,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    idempotency_keys (credential_id, idempotency_key) {
        credential_id -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        decision_no -> Nullable<Text>,
        details -> Text,
    }
}

diesel::table! {
    channel_orders (out_trade_no) {
        out_trade_no -> Text,
        decision_no -> Text,
        channel -> Text,
        flow -> Text,
        payer -> Nullable<Text>,
        amount_fen -> BigInt,
        pay_by -> Timestamp,
        opened_at -> Timestamp,
        pay_url -> Nullable<Text>,
        status -> Text,
        closed_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    payments (channel, channel_txn_id) {
        channel -> Text,
        channel_txn_id -> Text,
        out_trade_no -> Text,
        decision_no -> Text,
        amount_fen -> BigInt,
        paid_at -> Timestamp,
        received_at -> Timestamp,
        source -> Text,
        outcome -> Text,
        receipt_no -> Nullable<Text>,
    }
}

diesel::table! {
    rate_limits (scope, key) {
        scope -> Text,
        key -> Text,
        refilled_at -> Timestamp,
    }
}

diesel::table! {
    refunds (out_refund_no) {
        out_refund_no -> Text,
        channel -> Text,
        channel_txn_id -> Text,
        out_trade_no -> Text,
        decision_no -> Text,
        paid_fen -> BigInt,
        amount_fen -> BigInt,
        reason -> Text,
        status -> Text,
        requested_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        channel_refund_id -> Nullable<Text>,
        completed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    job_leases (job) {
        job -> Text,
        holder -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        last_started_at -> Nullable<Timestamp>,
        last_finished_at -> Nullable<Timestamp>,
        last_outcome -> Nullable<Text>,
        runs -> BigInt,
    }
}

diesel::table! {
    reconciliation_reports (statement_date, channel) {
        statement_date -> Date,
        channel -> Text,
        status -> Text,
        statement_payments -> BigInt,
        statement_payments_fen -> BigInt,
        statement_refunds -> BigInt,
        statement_refunds_fen -> BigInt,
        finepay_payments -> BigInt,
        finepay_payments_fen -> BigInt,
        matched -> BigInt,
        applied -> BigInt,
        exceptions -> BigInt,
        error -> Nullable<Text>,
        reconciled_at -> Timestamp,
    }
}

diesel::table! {
    exceptions (id) {
        id -> BigInt,
        kind -> Text,
        source -> Text,
        reference -> Text,
        decision_no -> Nullable<Text>,
        statement_date -> Nullable<Date>,
        amount_fen -> Nullable<BigInt>,
        expected_fen -> Nullable<BigInt>,
        details -> Text,
        raised_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        resolved_by -> Nullable<Text>,
        resolution -> Nullable<Text>,
    }
}

diesel::table! {
    bank_payments (bank_code, reference) {
        bank_code -> Text,
        reference -> Text,
        source -> Text,
        statement_id -> Nullable<BigInt>,
        decision_no -> Nullable<Text>,
        amount_fen -> BigInt,
        due_fen -> Nullable<BigInt>,
        paid_at -> Timestamp,
        method -> Text,
        outcome -> Text,
        transaction_ref -> Nullable<Text>,
        counterpart -> Nullable<Text>,
        reversed_by -> Nullable<Text>,
        received_at -> Timestamp,
    }
}

diesel::table! {
    bank_statements (id) {
        id -> BigInt,
        bank_code -> Text,
        format -> Text,
        file_name -> Text,
        file_sha256 -> Text,
        file_bytes -> BigInt,
        status -> Text,
        report -> Text,
        imported_at -> Timestamp,
        touched_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    oauth_states (state) {
        state -> Text,
        decision_no -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    admin_sessions (id_hash) {
        id_hash -> Text,
        credential_id -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(channel_orders -> fines (decision_no));
diesel::joinable!(admin_sessions -> credentials (credential_id));
diesel::joinable!(payments -> fines (decision_no));

diesel::allow_tables_to_appear_in_same_query!(
    fines,
    decision_serials,
    credentials,
    idempotency_keys,
    audit_log,
    channel_orders,
    payments,
    refunds,
    job_leases,
    reconciliation_reports,
    exceptions,
    bank_payments,
    bank_statements,
    rate_limits,
    admin_sessions
);
