//! The one diesel schema both backends share. Only portable column types are
//! used (Text, BigInt, Nullable), so the same queries compile for SQLite and
//! PostgreSQL through [`crate::db::DbConn`].

diesel::table! {
    organisations (id) {
        id -> Text,
        name -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        org_id -> Text,
        email -> Text,
        display_name -> Text,
        role -> Text,
        password_hash -> Text,
        time_zone -> Text,
        disabled_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    teams (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    team_members (team_id, user_id) {
        team_id -> Text,
        user_id -> Text,
        org_id -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    console_sessions (session_id) {
        session_id -> Text,
        token_hash -> Text,
        csrf_token -> Text,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        org_id -> Text,
        user_id -> Text,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        session_id -> Text,
        token_hash -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    phones (id) {
        id -> Text,
        org_id -> Text,
        number_e164 -> Text,
        extension -> Text,
        label -> Text,
        vendor -> Nullable<Text>,
        model -> Nullable<Text>,
        disabled_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        driver -> Nullable<Text>,
    }
}

diesel::table! {
    phone_provisioning_codes (code_hash) {
        code_hash -> Text,
        phone_id -> Text,
        org_id -> Text,
        created_by -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    phone_credentials (id) {
        id -> Text,
        phone_id -> Text,
        org_id -> Text,
        secret_hash -> Text,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    binding_policies (org_id) {
        org_id -> Text,
        takeover -> Text,
        duration -> Text,
        duration_hours -> Nullable<BigInt>,
        workday_end -> Text,
        max_phones_per_user -> BigInt,
        updated_at -> BigInt,
        updated_by -> Nullable<Text>,
    }
}

diesel::table! {
    phone_grants (id) {
        id -> Text,
        phone_id -> Text,
        org_id -> Text,
        grantee_kind -> Text,
        user_id -> Nullable<Text>,
        team_id -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    bindings (id) {
        id -> Text,
        org_id -> Text,
        phone_id -> Text,
        user_id -> Text,
        via -> Text,
        started_at -> BigInt,
        expires_at -> Nullable<BigInt>,
        ended_at -> Nullable<BigInt>,
        end_reason -> Nullable<Text>,
    }
}

diesel::table! {
    binding_tokens (id) {
        id -> Text,
        org_id -> Text,
        phone_id -> Text,
        code_hash -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        used_by -> Nullable<Text>,
    }
}

diesel::table! {
    binding_events (seq) {
        seq -> BigInt,
        org_id -> Text,
        binding_id -> Text,
        phone_id -> Text,
        user_id -> Text,
        action -> Text,
        via -> Nullable<Text>,
        reason -> Nullable<Text>,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        previous_user_id -> Nullable<Text>,
        at -> BigInt,
    }
}

diesel::table! {
    dial_commands (id) {
        id -> Text,
        org_id -> Text,
        user_id -> Text,
        phone_id -> Text,
        binding_id -> Text,
        number -> Text,
        state -> Text,
        failure -> Nullable<Text>,
        idempotency_key -> Nullable<Text>,
        request_hash -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        delivered_at -> Nullable<BigInt>,
        updated_at -> BigInt,
        contact_id -> Nullable<Text>,
    }
}

diesel::table! {
    dial_policies (org_id) {
        org_id -> Text,
        updated_at -> BigInt,
        updated_by -> Nullable<Text>,
    }
}

diesel::table! {
    dial_rule_sets (org_id) {
        org_id -> Text,
        version -> BigInt,
        rules -> Text,
        updated_at -> BigInt,
        updated_by -> Nullable<Text>,
    }
}

diesel::table! {
    app_events (seq) {
        seq -> BigInt,
        org_id -> Text,
        user_id -> Text,
        kind -> Text,
        payload -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    sync_counters (org_id) {
        org_id -> Text,
        last_seq -> BigInt,
    }
}

diesel::table! {
    recordings (id) {
        id -> Text,
        org_id -> Text,
        phone_id -> Text,
        call_id -> Text,
        storage_key -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        format -> Text,
        duration_ms -> Nullable<BigInt>,
        uploaded_at -> BigInt,
        uploaded_by -> Nullable<Text>,
        store_id -> Nullable<Text>,
        purging_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    call_records (id) {
        id -> Text,
        org_id -> Text,
        phone_id -> Text,
        call_id -> Text,
        user_id -> Nullable<Text>,
        dial_id -> Nullable<Text>,
        direction -> Text,
        local_number -> Nullable<Text>,
        local_e164 -> Nullable<Text>,
        remote_number -> Text,
        remote_e164 -> Nullable<Text>,
        started_at -> BigInt,
        answered_at -> Nullable<BigInt>,
        ended_at -> Nullable<BigInt>,
        duration_secs -> Nullable<BigInt>,
        result -> Nullable<Text>,
        recording_id -> Nullable<Text>,
        phone_reported_at -> Nullable<BigInt>,
        app_reported_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        sync_seq -> BigInt,
        remote_digits -> Text,
        blocked -> Bool,
        contact_id -> Nullable<Text>,
    }
}

diesel::table! {
    recording_uploads (id) {
        id -> Text,
        org_id -> Text,
        phone_id -> Text,
        call_id -> Text,
        storage_key -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        user_id -> Nullable<Text>,
        call_started_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    push_devices (id) {
        id -> Text,
        org_id -> Text,
        user_id -> Text,
        platform -> Text,
        token -> Text,
        created_at -> BigInt,
        last_sent_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    push_dead_tokens (token_sha256) {
        token_sha256 -> Text,
        dead_at -> BigInt,
    }
}

diesel::table! {
    push_default_schedules (org_id) {
        org_id -> Text,
        daily_at -> Nullable<Text>,
        every_minutes -> Nullable<BigInt>,
        on_missed_call -> BigInt,
        on_new_records -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    push_schedules (user_id) {
        user_id -> Text,
        org_id -> Text,
        custom -> BigInt,
        daily_at -> Nullable<Text>,
        every_minutes -> Nullable<BigInt>,
        on_missed_call -> BigInt,
        on_new_records -> BigInt,
        pushed_seq -> BigInt,
        last_pushed_at -> Nullable<BigInt>,
        next_due_at -> Nullable<BigInt>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        kind -> Text,
        org_id -> Text,
        user_id -> Nullable<Text>,
        device_id -> Nullable<Text>,
        topic -> Text,
        payload -> Text,
        run_at -> BigInt,
        attempts -> BigInt,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
        in_flight -> BigInt,
        possible_duplicates -> BigInt,
        outcome -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        finished_at -> Nullable<BigInt>,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        org_id -> Text,
        action -> Text,
        subject_type -> Text,
        subject_id -> Text,
        user_id -> Nullable<Text>,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        details -> Text,
        at -> BigInt,
    }
}

// Contacts (migration 000014, docs/contacts.md).
diesel::table! {
    contacts (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        company -> Nullable<Text>,
        notes -> Nullable<Text>,
        email -> Nullable<Text>,
        tags -> Text,
        external_id -> Nullable<Text>,
        owner_id -> Nullable<Text>,
        custom_fields -> Text,
        source -> Text,
        score -> BigInt,
        search_text -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        score_version -> Nullable<BigInt>,
    }
}

diesel::table! {
    contact_numbers (org_id, e164) {
        org_id -> Text,
        e164 -> Text,
        contact_id -> Text,
        raw -> Text,
        digits -> Text,
        position -> BigInt,
    }
}

diesel::table! {
    contact_settings (org_id) {
        org_id -> Text,
        visibility -> Text,
        updated_at -> BigInt,
        updated_by -> Text,
    }
}

diesel::joinable!(users -> organisations (org_id));
diesel::joinable!(teams -> organisations (org_id));
diesel::joinable!(team_members -> teams (team_id));
diesel::joinable!(team_members -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(console_sessions -> sessions (session_id));
diesel::joinable!(phones -> organisations (org_id));
diesel::joinable!(phone_provisioning_codes -> phones (phone_id));
diesel::joinable!(phone_credentials -> phones (phone_id));
diesel::joinable!(phone_grants -> phones (phone_id));
diesel::joinable!(bindings -> phones (phone_id));
diesel::joinable!(bindings -> users (user_id));
diesel::joinable!(binding_tokens -> phones (phone_id));
diesel::joinable!(dial_commands -> bindings (binding_id));
diesel::joinable!(call_records -> recordings (recording_id));
diesel::joinable!(push_devices -> users (user_id));
diesel::joinable!(push_schedules -> users (user_id));
diesel::joinable!(contact_numbers -> contacts (contact_id));

diesel::allow_tables_to_appear_in_same_query!(
    console_sessions,
    organisations,
    users,
    teams,
    team_members,
    sessions,
    refresh_tokens,
    phones,
    phone_provisioning_codes,
    phone_credentials,
    binding_policies,
    phone_grants,
    bindings,
    binding_tokens,
    binding_events,
    dial_commands,
    dial_policies,
    dial_rule_sets,
    app_events,
    sync_counters,
    recordings,
    call_records,
    recording_uploads,
    push_devices,
    push_dead_tokens,
    push_default_schedules,
    push_schedules,
    jobs,
    audit_events,
    blocklist_entries,
    contacts,
    contact_numbers,
    contact_settings,
);

diesel::table! {
    blocklist_entries (id) {
        id -> Text,
        org_id -> Text,
        kind -> Text,
        scope -> Text,
        scope_id -> Text,
        pattern -> Text,
        value -> Text,
        label -> Text,
        reason -> Text,
        expires_at -> Nullable<BigInt>,
        created_at -> BigInt,
        created_by -> Nullable<Text>,
        updated_at -> BigInt,
    }
}
// What came of a call (migration 000016, docs/call-outcomes.md).
diesel::table! {
    dispositions (id) {
        id -> Text,
        org_id -> Text,
        code -> Text,
        label -> Text,
        reached -> BigInt,
        sale -> BigInt,
        do_not_call -> BigInt,
        callback -> BigInt,
        sort_order -> BigInt,
        archived_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    call_annotations (call_record_id) {
        call_record_id -> Text,
        org_id -> Text,
        notes -> Nullable<Text>,
        tags -> Text,
        disposition_id -> Nullable<Text>,
        callback_at -> Nullable<BigInt>,
        private -> BigInt,
        version -> BigInt,
        updated_by -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    call_annotation_edits (id) {
        id -> Text,
        call_record_id -> Text,
        org_id -> Text,
        editor_id -> Text,
        version -> BigInt,
        changes -> Text,
        edited_at -> BigInt,
    }
}

diesel::table! {
    call_settings (org_id) {
        org_id -> Text,
        allow_private -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    call_records,
    call_annotations,
    dispositions,
    call_annotation_edits,
    call_settings,
);

// Contact scoring (migration 000019, docs/scoring.md).
diesel::table! {
    score_rule_sets (org_id, version) {
        org_id -> Text,
        version -> BigInt,
        rules -> Text,
        created_at -> BigInt,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    score_events (seq) {
        seq -> BigInt,
        org_id -> Text,
        contact_id -> Text,
        rule_version -> BigInt,
        rule_key -> Text,
        trigger_key -> Text,
        call_record_id -> Nullable<Text>,
        points -> BigInt,
        label -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    score_recomputes (id) {
        id -> Text,
        org_id -> Text,
        rule_version -> BigInt,
        state -> Text,
        contacts_total -> BigInt,
        contacts_done -> BigInt,
        cursor -> Nullable<Text>,
        created_at -> BigInt,
        finished_at -> Nullable<BigInt>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(score_events, score_rule_sets, score_recomputes,);

// Presence (migration 000023, docs/presence.md): what users chose; the
// live parts are not stored.
diesel::table! {
    user_presence (user_id) {
        user_id -> Text,
        org_id -> Text,
        chosen -> Text,
        status_text -> Nullable<Text>,
        until_at -> Nullable<BigInt>,
        last_active_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    presence_settings (org_id) {
        org_id -> Text,
        hide_status_text -> Bool,
        auto_away_after_secs -> Nullable<BigInt>,
        updated_at -> BigInt,
        updated_by -> Text,
    }
}

// The presence state last reported to webhooks (migration 000038).
diesel::table! {
    presence_reported (user_id) {
        user_id -> Text,
        org_id -> Text,
        state -> Text,
        changed_at -> BigInt,
    }
}

diesel::table! {
    presence_minutes (user_id, day, state) {
        user_id -> Text,
        day -> Text,
        state -> Text,
        org_id -> Text,
        minutes -> BigInt,
    }
}

diesel::table! {
    presence_sampling (id) {
        id -> BigInt,
        sampled_minute -> BigInt,
    }
}

// Call lists (migration 000026, docs/call-lists.md, decision 0031).
diesel::table! {
    call_lists (id) {
        id -> Text,
        org_id -> Text,
        owner_id -> Text,
        name -> Text,
        state -> Text,
        mode -> Text,
        order_by -> Text,
        settings -> Text,
        pool_team_id -> Nullable<Text>,
        version -> BigInt,
        next_seq -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    call_list_members (list_id, user_id) {
        list_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    call_list_tasks (id) {
        id -> Text,
        list_id -> Text,
        org_id -> Text,
        seq -> BigInt,
        dedupe_key -> Text,
        external_id -> Nullable<Text>,
        number -> Text,
        number_e164 -> Nullable<Text>,
        name -> Nullable<Text>,
        payload -> Text,
        priority -> BigInt,
        window_from -> Nullable<BigInt>,
        window_to -> Nullable<BigInt>,
        assignee_id -> Nullable<Text>,
        state -> Text,
        state_reason -> Nullable<Text>,
        due_at -> BigInt,
        leased_by -> Nullable<Text>,
        leased_until -> Nullable<BigInt>,
        attempts -> BigInt,
        busy_retries -> BigInt,
        no_answer_retries -> BigInt,
        failed_retries -> BigInt,
        not_completed_retries -> BigInt,
        last_attempt_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        open_dial_id -> Nullable<Text>,
        held_for -> Nullable<Text>,
        held_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    call_list_absences (user_id) {
        user_id -> Text,
        since -> BigInt,
    }
}

diesel::table! {
    call_list_completions (id) {
        id -> Text,
        org_id -> Text,
        list_id -> Text,
        user_id -> Text,
        report -> Nullable<Text>,
        created_at -> BigInt,
        deliver_after -> BigInt,
        delivered_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    call_list_attempts (id) {
        id -> Text,
        task_id -> Text,
        list_id -> Text,
        user_id -> Text,
        outcome -> Text,
        reason -> Nullable<Text>,
        at -> BigInt,
        dial_id -> Nullable<Text>,
        call_record_id -> Nullable<Text>,
        disposition_id -> Nullable<Text>,
        talk_secs -> Nullable<BigInt>,
        settled_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(call_list_tasks -> call_lists (list_id));
diesel::allow_tables_to_appear_in_same_query!(
    call_lists,
    call_list_members,
    call_list_tasks,
    call_list_attempts,
    call_list_absences,
    team_members,
);
diesel::allow_tables_to_appear_in_same_query!(call_list_attempts, dispositions);

// API keys for integrations (migration 000031, docs/integrations.md).
diesel::table! {
    api_keys (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        scopes -> Text,
        prefix -> Text,
        secret_hash -> Text,
        created_by -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        revoked_by -> Nullable<Text>,
    }
}

// Signed webhooks (migration 000032, docs/integrations.md).
diesel::table! {
    webhook_endpoints (id) {
        id -> Text,
        org_id -> Text,
        url -> Text,
        description -> Nullable<Text>,
        event_types -> Text,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<BigInt>,
        disabled_at -> Nullable<BigInt>,
        disabled_reason -> Nullable<Text>,
        created_by -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    webhook_messages (seq) {
        seq -> BigInt,
        id -> Text,
        org_id -> Text,
        event_type -> Text,
        ordering_key -> Text,
        payload -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        message_seq -> BigInt,
        endpoint_id -> Text,
        org_id -> Text,
        ordering_key -> Text,
        state -> Text,
        attempts -> BigInt,
        next_attempt_at -> Nullable<BigInt>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
        last_status -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        last_attempt_at -> Nullable<BigInt>,
        delivered_at -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::joinable!(webhook_deliveries -> webhook_messages (message_seq));
diesel::allow_tables_to_appear_in_same_query!(
    webhook_endpoints,
    webhook_messages,
    webhook_deliveries
);

// Retention and legal holds (migration 000033, docs/retention.md).
diesel::table! {
    retention_policies (org_id) {
        org_id -> Text,
        call_record_days -> Nullable<BigInt>,
        recording_days -> Nullable<BigInt>,
        updated_at -> BigInt,
        updated_by -> Text,
        export_days -> Nullable<BigInt>,
    }
}

diesel::table! {
    legal_holds (id) {
        id -> Text,
        org_id -> Text,
        subject_type -> Text,
        subject_id -> Text,
        reason -> Text,
        created_by -> Text,
        created_at -> BigInt,
        released_at -> Nullable<BigInt>,
        released_by -> Nullable<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(legal_holds, call_records);
diesel::allow_tables_to_appear_in_same_query!(legal_holds, recordings);

diesel::table! {
    call_archives (id) {
        id -> Text,
        org_id -> Text,
        month -> Text,
        storage_key -> Text,
        store_id -> Nullable<Text>,
        records -> BigInt,
        size_bytes -> BigInt,
        first_started_at -> BigInt,
        last_started_at -> BigInt,
        created_at -> BigInt,
        completed_at -> Nullable<BigInt>,
        abandoned_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    call_rollups (org_id, bucket_start, user_id, phone_id, direction, result, disposition_id, private) {
        org_id -> Text,
        bucket_start -> BigInt,
        user_id -> Text,
        phone_id -> Text,
        direction -> Text,
        result -> Text,
        disposition_id -> Text,
        private -> BigInt,
        calls -> BigInt,
        answered -> BigInt,
        talk_secs -> BigInt,
    }
}

diesel::table! {
    exports (id) {
        id -> Text,
        org_id -> Text,
        user_id -> Text,
        kind -> Text,
        filter -> Text,
        state -> Text,
        items_done -> BigInt,
        items_total -> Nullable<BigInt>,
        storage_key -> Nullable<Text>,
        store_id -> Nullable<Text>,
        size_bytes -> Nullable<BigInt>,
        error -> Nullable<Text>,
        created_at -> BigInt,
        started_at -> Nullable<BigInt>,
        finished_at -> Nullable<BigInt>,
        expires_at -> Nullable<BigInt>,
    }
}

// Vendor phones' direct mode: the event token and the call tracker
// (migration 000040).
diesel::table! {
    vendor_links (phone_id) {
        phone_id -> Text,
        org_id -> Text,
        token_hash -> Text,
        mac -> Nullable<Text>,
        tracker -> Text,
        open_calls -> BigInt,
        events_accepted -> BigInt,
        last_event_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(vendor_links, phones);
