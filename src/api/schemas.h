#pragma once

// The API's schemas: what each route takes and answers (rows in routes.cc), named where they
// are shared so that the OpenAPI document lists them once as components.

#include "util/json_schema.h"

namespace carrel {

struct ApiSchemas {
  // Shared answers.
  SchemaRef problem, patron, loan, hold, fine, item, user, session, principal, week_hours;
  SchemaRef policy_version, proposal, review, ruling, reviewable;
  SchemaRef schedule_version, retention_count, retention_run, legal_hold;
  SchemaRef case_summary, case_file, appointment, absence, permission, inbox, case_step;
  SchemaRef audit_entry, transparency, returned_loan, signing_key;
  // Small answers.
  SchemaRef health, system_status, scope_counts, retention_plan, hours, policy, policy_changes, status_text, id_done;

  // Request bodies.
  SchemaRef login, change_password, sign_statement, signature, create_user, password_only;
  SchemaRef new_patron, patron_search, patron_changes, pin_reset_finish, new_item, item_changes;
  SchemaRef checkout, item_barcode, place_hold, waive, computer_session, subscribe, token;
  SchemaRef change_pin, keep_history, sign_schedule, draft_schedule, place_legal_hold, appoint, absence_record;
  SchemaRef grant_permission, paper_permission, confirm_permission, add_document;
  SchemaRef propose, vote, close_vote, open_review, comment, rule;
  SchemaRef empty;  // {}

  // Kiosks (docs/sip2.md): what they send and are told.
  SchemaRef kiosk_status, kiosk_patron, kiosk_item, kiosk_loan, kiosk_checkin, kiosk_renew_all;
  SchemaRef kiosk_fees, kiosk_hold;
  SchemaRef kiosk_card, kiosk_card_item, kiosk_pay;

  // Pieces.
  SchemaRef password, card, item_code, reference;
};

const ApiSchemas& Schemas();

// The body of a request step's route: the step's payload, with the password for a signed step.
SchemaRef StepBodySchema(std::string_view action);

// A list answer: {"<key>": [items...], "next": the next page's path or null}.
SchemaRef ListOf(std::string_view key, SchemaRef items);

// The schema of a path parameter, by its name in the route's pattern ("{id}", "{ref}", ...).
SchemaRef PathParamSchema(std::string_view name);

}  // namespace carrel
