//! The cases, grouped by the part of the contract they check.

use anyhow::{Context, Result};
use tessera_crdt::token::Scope;

use crate::{fresh_doc, Case, Target};

mod admin;
mod bad_input;
mod blobs;
mod files;
mod history;
mod ops;
mod paths;
mod presence;
mod read_only;
mod sync;
mod tokens;
mod write_paths;

/// `case!("name", function)`: a case whose body is `async fn(Target) -> Result<()>`.
macro_rules! case {
    ($name:literal, $f:path) => {
        Case {
            name: $name,
            run: |t| -> futures_util::future::BoxFuture<'static, anyhow::Result<()>> {
                Box::pin($f(t))
            },
        }
    };
}

/// Every case, in report order.
pub fn all() -> Vec<Case> {
    vec![
        // Operations endpoints first: if these fail, nothing else will work.
        case!("healthz answers 200 ok", ops::healthz_answers_ok),
        case!(
            "readyz answers 200 with the documented JSON",
            ops::readyz_answers_ready_json
        ),
        case!(
            "metrics are Prometheus text with tessera_ series",
            ops::metrics_are_prometheus_text
        ),
        case!(
            "CORS preflight from the Obsidian origins is allowed",
            ops::cors_preflight_from_obsidian_is_allowed
        ),
        case!(
            "an unknown route is 404 not-found",
            ops::unknown_route_is_not_found
        ),
        // The vault endpoint.
        case!(
            "vault endpoint greets with hello naming the token's scope",
            sync::hello_names_the_scope
        ),
        case!(
            "a note written on one vault socket appears on another",
            sync::note_written_on_one_socket_appears_on_another
        ),
        case!(
            "a device that connects later receives the note on sync",
            sync::late_device_receives_note_on_sync
        ),
        case!(
            "many docs share one vault socket",
            sync::many_docs_share_one_socket
        ),
        case!(
            "acks arrive and count the writes per doc",
            sync::acks_count_writes_per_doc
        ),
        case!("a duplicate write is acked", sync::duplicate_write_is_acked),
        case!(
            "changes-since lists only docs changed after the cursor",
            sync::changes_since_lists_only_later_changes
        ),
        case!(
            "changes-since with a wrong epoch resets and lists every doc",
            sync::changes_since_wrong_epoch_resets
        ),
        case!(
            "no changes frame reaches a vault session before its first changes-since is answered",
            sync::no_announcement_before_the_first_changes_since_is_answered
        ),
        // The doc endpoint.
        case!(
            "doc endpoint sends sync step 1 as its first frame",
            sync::doc_endpoint_first_frame_is_step1
        ),
        case!(
            "doc endpoint echoes an update to its sender",
            sync::doc_endpoint_echoes_to_sender
        ),
        case!(
            "doc-endpoint and vault clients see each other's edits",
            sync::doc_and_vault_clients_see_each_other
        ),
        // Presence.
        case!(
            "awareness is forwarded to the doc's other clients",
            presence::awareness_is_forwarded
        ),
        case!(
            "a read-only client's presence is forwarded",
            presence::read_only_presence_is_forwarded
        ),
        case!(
            "a disconnect removes the client's presence",
            presence::disconnect_removes_presence
        ),
        case!(
            "doc endpoint sends current awareness after sync step 1",
            presence::doc_endpoint_sends_awareness_after_step1
        ),
        // Read-only tokens.
        case!(
            "a read-only vault client syncs down",
            read_only::read_only_vault_client_syncs_down
        ),
        case!(
            "a read-only vault write is refused with permission-denied naming its seq",
            read_only::read_only_vault_write_is_refused
        ),
        case!(
            "a refused read-only write changes nothing for others",
            read_only::refused_write_changes_nothing
        ),
        case!(
            "a read-only doc-endpoint write gets the auth permission-denied message",
            read_only::read_only_doc_write_gets_permission_denied
        ),
        // The path policy.
        case!(
            "a hostile index path on the vault endpoint is refused with bad-path",
            paths::hostile_index_entry_on_the_vault_endpoint_is_refused_with_bad_path
        ),
        case!(
            "a hostile index path on the doc endpoint gets permission-denied naming bad-path",
            paths::hostile_index_entry_on_the_doc_endpoint_is_refused_like_a_read_only_write
        ),
        // Path-limited write tokens.
        case!(
            "a path-limited token writes under its prefix",
            write_paths::a_path_limited_token_writes_under_its_prefix
        ),
        case!(
            "a path-limited index write outside its prefixes gets path-not-allowed",
            write_paths::a_path_limited_index_write_outside_its_prefixes_gets_path_not_allowed
        ),
        case!(
            "a path-limited note edit outside its prefixes gets path-not-allowed",
            write_paths::a_path_limited_note_edit_outside_its_prefixes_gets_path_not_allowed
        ),
        case!(
            "a path-limited write on the doc endpoint gets permission-denied",
            write_paths::a_path_limited_write_on_the_doc_endpoint_gets_permission_denied
        ),
        case!(
            "tokens minted over HTTP carry their paths, for write tokens only",
            write_paths::tokens_minted_over_http_carry_their_paths_and_only_for_write
        ),
        case!(
            "an admin lists the tokens minted for the vault",
            write_paths::an_admin_lists_the_tokens_minted_for_the_vault
        ),
        case!(
            "a path-limited token writes files over REST only under its prefix",
            write_paths::a_path_limited_token_writes_files_over_rest_only_under_its_prefix
        ),
        // Bad input.
        case!(
            "malformed vault frames close with 4400",
            bad_input::malformed_vault_frames_close_4400
        ),
        case!(
            "malformed doc-endpoint frames close with 4400",
            bad_input::malformed_doc_frames_close_4400
        ),
        case!(
            "an oversized frame closes with 4413",
            bad_input::oversized_frame_closes_4413
        ),
        case!(
            "a bad doc id in a vault frame gets error bad-doc-id and the socket stays",
            bad_input::bad_doc_id_in_vault_frame
        ),
        case!(
            "an update yrs cannot decode is refused as malformed naming its seq",
            bad_input::undecodable_update_is_refused
        ),
        case!(
            "a bad vault id in the URL is 400 bad-vault-id",
            bad_input::bad_vault_id_in_url
        ),
        case!(
            "a doc name outside [A-Za-z0-9._-]{1,128} in the doc endpoint URL is 400 bad-doc-id",
            bad_input::bad_doc_id_in_url
        ),
        // Tokens.
        case!(
            "bad tokens are refused on the vault endpoint before the upgrade",
            tokens::bad_tokens_refused_on_vault_endpoint
        ),
        case!(
            "bad tokens are refused on the doc endpoint before the upgrade",
            tokens::bad_tokens_refused_on_doc_endpoint
        ),
        case!(
            "bad tokens are refused on the HTTP API",
            tokens::bad_tokens_refused_on_http
        ),
        case!(
            "a token in the Authorization header is accepted",
            tokens::bearer_header_is_accepted
        ),
        case!(
            "a token offered as a WebSocket subprotocol is accepted and tessera is selected",
            tokens::subprotocol_token_is_accepted_and_tessera_selected
        ),
        // Blobs.
        case!(
            "a blob round-trips: PUT 201, PUT again 200, GET and HEAD 200",
            blobs::blob_round_trip
        ),
        case!(
            "an unknown blob is 404 not-found",
            blobs::unknown_blob_is_404
        ),
        case!(
            "a blob whose bytes do not match its hash is 422 and not stored",
            blobs::wrong_hash_is_422
        ),
        case!(
            "a blob over the size limit is 413 limit-exceeded",
            blobs::oversized_blob_is_413
        ),
        case!(
            "a malformed blob hash is 400 bad-hash",
            blobs::malformed_hash_is_400
        ),
        case!(
            "a read token cannot upload a blob",
            blobs::read_token_cannot_upload
        ),
        // Files over REST.
        case!(
            "files: PUT then GET round-trips Markdown with the version as ETag",
            files::put_then_get_round_trips_markdown_with_an_etag
        ),
        case!(
            "files: a missing file is 404 with a JSON body",
            files::a_missing_file_is_404_with_a_json_body
        ),
        case!(
            "files: a PUT racing a device typing into the note keeps both edits",
            files::a_put_racing_a_device_keeps_both_edits
        ),
        case!(
            "files: a PUT reaches a connected vault-socket device live",
            files::a_put_reaches_a_connected_device_live
        ),
        case!(
            "files: If-Match on a note that moved on is 412 and changes nothing",
            files::if_match_on_a_moved_note_is_412_and_changes_nothing
        ),
        case!(
            "files: append adds a line and creates the note",
            files::append_adds_a_line_and_creates_the_note
        ),
        case!(
            "files: DELETE tombstones and ?since= lists the deletion",
            files::delete_tombstones_and_since_lists_the_deletion
        ),
        case!(
            "files: bad paths are refused 400 bad-path and nothing is applied",
            files::bad_paths_are_refused_with_bad_path_and_nothing_applied
        ),
        case!(
            "files: a read token cannot PUT, append or DELETE (403)",
            files::a_read_token_cannot_put_append_or_delete
        ),
        case!(
            "files: without a token every files route is 401, even with a body over the limit",
            files::without_a_token_every_files_route_is_401_even_with_a_body_over_the_limit
        ),
        case!(
            "files: a note body over the limit is 413 and nothing is applied",
            files::a_note_body_over_the_limit_is_413
        ),
        case!(
            "files: a body that is not UTF-8 is 400 bad-text",
            files::a_body_that_is_not_utf8_is_400_bad_text
        ),
        case!(
            "files: an attachment is served as its bytes and refuses a text PUT (409)",
            files::an_attachment_is_served_as_its_bytes_and_refuses_text
        ),
        case!(
            "a free-form doc name serves stock Yjs apps, apart from the vault's docs",
            files::a_free_form_doc_name_serves_stock_yjs_apps_apart_from_the_vault
        ),
        case!(
            "a doc name with bad characters or 129 characters is 400 bad-doc-id",
            files::a_doc_name_with_bad_characters_or_129_chars_is_400
        ),
        // Admin.
        case!(
            "an admin mints a token over HTTP that opens the vault",
            admin::admin_mints_working_token
        ),
        case!(
            "a write token cannot mint tokens",
            admin::write_token_cannot_mint
        ),
        case!(
            "revoking a token closes its socket with 4403 and later connects get 403",
            admin::revoke_closes_socket_and_refuses_later
        ),
        case!(
            "a socket is closed with 4401 when its token expires",
            tokens::socket_closes_when_its_token_expires
        ),
        // History.
        case!(
            "history lists a snapshot after the debounce",
            history::history_lists_snapshot
        ),
        case!(
            "restore brings old text back as an edit a connected client sees",
            history::restore_brings_old_text_back
        ),
        case!(
            "history of a path not in the index is 404",
            history::history_of_unknown_path_is_404
        ),
    ]
}

/// After a misbehaving client: a well-behaved writer and reader on the same
/// vault still sync and get acks.
pub(crate) async fn vault_still_works(t: &Target, vault: &str) -> Result<()> {
    let check = async {
        let doc = fresh_doc();
        let mut reader = t.vault_client(vault, Scope::Write).await?;
        reader.open_and_sync(&doc).await?;
        let mut writer = t.vault_client(vault, Scope::Write).await?;
        let seq = writer.append(&doc, "still works").await?;
        writer.wait_ack(&doc, seq).await?;
        reader.wait_text(&doc, "still works").await?;
        writer.close().await?;
        reader.close().await
    };
    check
        .await
        .context("afterwards, a well-behaved client on the same vault did not work")
}

/// Fails with `what` unless `cond`.
pub(crate) fn ensure(cond: bool, what: impl FnOnce() -> String) -> Result<()> {
    if cond {
        Ok(())
    } else {
        Err(anyhow::anyhow!(what()))
    }
}
