// NS webhooks: CloudEvents subscriptions per virtual server (secret sealed at rest) and the durable delivery
// queue that the dispatchers of all instances claim from.
import type { Knex } from 'knex';
import { exactString, millis } from '../../auth-server/common/db/schema.js';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ns_webhooks', (t) => {
    exactString(knex, t, 'id', 32).primary();
    exactString(knex, t, 'server_id', 32)
      .notNullable()
      .references('id')
      .inTable('ns_virtual_servers')
      .onDelete('CASCADE');
    t.string('url', 2048).notNullable();
    // JSON array of event types, validated by the model on read.
    t.string('event_types', 255).notNullable();
    t.string('description', 200).nullable();
    // The signing secret sealed with NEXTAUTH_SECRET_KEY (context: the webhook id); never stored in clear.
    t.text('secret_sealed').notNullable();
    millis(t, 'created_at').notNullable();
    exactString(knex, t, 'created_by', 32).nullable();
    t.index(['server_id'], 'ns_webhooks_server_idx');
  });

  await knex.schema.createTable('ns_webhook_deliveries', (t) => {
    exactString(knex, t, 'id', 32).primary();
    exactString(knex, t, 'webhook_id', 32)
      .notNullable()
      .references('id')
      .inTable('ns_webhooks')
      .onDelete('CASCADE');
    exactString(knex, t, 'event_id', 32).notNullable();
    t.string('event_type', 32).notNullable();
    // The CloudEvent as sent (structured mode), fixed at enqueue time: every attempt sends the same body.
    t.text('payload').notNullable();
    // pending → delivering (claimed) → delivered | pending (retry) | failed.
    t.string('state', 16).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    millis(t, 'next_attempt_at').notNullable();
    // A claim: who holds it (random per claim) and until when; an expired lease is claimable again.
    exactString(knex, t, 'claim_token', 32).nullable();
    millis(t, 'lease_until').nullable();
    t.integer('last_status').nullable();
    t.string('last_error', 200).nullable();
    millis(t, 'created_at').notNullable();
    millis(t, 'updated_at').notNullable();
    millis(t, 'delivered_at').nullable();
    t.unique(['webhook_id', 'event_id'], { indexName: 'ns_webhook_deliveries_event_uq' });
    t.index(['state', 'next_attempt_at'], 'ns_webhook_deliveries_due_idx');
    t.index(['webhook_id', 'created_at'], 'ns_webhook_deliveries_webhook_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('ns_webhook_deliveries');
  await knex.schema.dropTable('ns_webhooks');
}
