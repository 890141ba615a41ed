/**
 * Statements that go to a Postgres server as named (prepared) statements.
 *
 * An unnamed statement is parsed and planned by the server every time it is sent. For the write
 * path's batch create (a four-table statement with 17 parameters per object) that was most of
 * Postgres's work per batch: in the write-path benchmark, sending it prepared took Postgres's CPU
 * per object from ~0.24 to ~0.15 ms (e2e/src/bench/README.md). A connection parses a named
 * statement once, and after a few runs the server keeps one plan for it.
 *
 * A statement is registered by its text (`prepared(name, text)`); a connection whose `query` was
 * wrapped by `namePreparedStatements` sends any registered text under its name, everything else as
 * before. The text is the key, so a caller keeps sending the same text through kysely
 * (`CompiledQuery.raw`) or `pg`, and nothing else about the query changes. Names are per
 * connection on the server; `pg` remembers which names each connection has prepared.
 */
import type pg from 'pg';

const namesByText = new Map<string, string>();
const textsByName = new Map<string, string>();

/** Registers `text` to be sent prepared as `name`; returns `text`. A name stands for one text only. */
export function prepared(name: string, text: string): string {
  const known = textsByName.get(name);
  if (known !== undefined && known !== text) throw new Error(`prepared statement ${name} is registered with another text`);
  textsByName.set(name, text);
  namesByText.set(text, name);
  return text;
}

/** The name `text` is sent under, if it is registered. */
export function preparedName(text: string): string | undefined {
  return namesByText.get(text);
}

/** `text` and `values` as a `pg` query, named when `text` is registered (for callers of `pg` itself). */
export function preparedQuery(text: string, values: unknown[]): pg.QueryConfig {
  const name = namesByText.get(text);
  return name === undefined ? { text, values } : { name, text, values };
}

/**
 * Makes `client.query(text, values)` send registered texts as named statements. Only that call
 * form (a text and a parameter array, no callback: how kysely and the relay query) is touched.
 */
export function namePreparedStatements(client: Pick<pg.ClientBase, 'query'>): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((...args: unknown[]) => {
    const [text, values] = args;
    if (args.length === 2 && typeof text === 'string' && Array.isArray(values)) {
      const name = namesByText.get(text);
      if (name !== undefined) return query({ name, text, values });
    }
    return query(...args);
  }) as pg.ClientBase['query'];
}
