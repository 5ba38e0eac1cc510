// An application's writes and reads with node-postgres, through tsmigrate proxy.
// Usage: node client.mjs CONNECTION_STRING FIRST_ID
// Prints one JSON document: what the application read back.
import pg from 'pg';

const [connectionString, firstArg] = process.argv.slice(2);
const first = Number(firstArg);
const client = new pg.Client({ connectionString });
await client.connect();
try {
  // Extended protocol, unnamed statements, text parameters; an enum and a NULL.
  await client.query('INSERT INTO readings (id, device, at, value, mood, note) VALUES ($1, $2, $3, $4, $5, $6)',
    [first, 'node', '2026-05-01T00:00:00Z', 1.25, 'odd', null]);
  // A named (prepared) statement used twice.
  for (let i = 1; i <= 2; i++) {
    await client.query({ name: 'ins', text: 'INSERT INTO readings (id, device, at, value) VALUES ($1, $2, $3, $4)',
      values: [first + i, 'node prepared', new Date(Date.UTC(2026, 4, 1, 0, i)), i * 10] });
  }
  // A transaction that commits and one that rolls back.
  await client.query('BEGIN');
  await client.query('UPDATE readings SET value = value + 1 WHERE id = $1', [first]);
  await client.query('COMMIT');
  await client.query('BEGIN');
  await client.query('DELETE FROM readings WHERE id = $1', [first + 1]);
  await client.query('ROLLBACK');
  const read = await client.query('SELECT id, device, value, mood FROM readings WHERE id BETWEEN $1 AND $2 ORDER BY id',
    [first, first + 9]);
  console.log(JSON.stringify(read.rows));
} finally {
  await client.end();
}
