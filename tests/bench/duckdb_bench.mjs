// The benchmarks' DuckDB side (never a test): node duckdb_bench.mjs <workload> <folder>
// <runs> [args...], run by bench.h's bench_peer from tests/bench, where `npm ci` installed
// the pinned @duckdb/node-api (package-lock.json).
//
// DuckDB runs in memory with 2 threads (the machine's cores; salesplan uses one). The C
// side writes each column as a raw little-endian file; loading is appending those arrays
// to tables chunk by chunk (memcpy into DuckDB's vectors) and creating what a DBA would;
// compute is the queries up to their materialized result (ordered like the C side's
// arrays where it is dense), timed as bench.h times everything: one untimed run, then
// <runs> timed ones. Copying the result out of the binding's chunks is not timed (query()). For each result this prints
// "= <name> load <ms> min <ms> med <ms> max <ms>" and writes the values as raw int64 to
// <folder>/out.<name>, which the C side compares with salesplan's value by value.
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import {
  BIGINT,
  DuckDBDataChunk,
  DuckDBInstance,
  INTEGER,
  UINTEGER,
} from '@duckdb/node-api';

const [workload, folder, runsText, ...args] = process.argv.slice(2);
const runs = Number(runsText);

const TYPES = { BIGINT, INTEGER, UINTEGER };
const ARRAYS = { BIGINT: BigInt64Array, INTEGER: Int32Array, UINTEGER: Uint32Array };

/** A raw column file as a typed array (copied to an aligned buffer). */
function column(name, type) {
  const b = readFileSync(`${folder}/${name}`);
  const A = ARRAYS[type];
  return new A(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

/** CREATE TABLE name(cols) and append the arrays through one reused 2048-row chunk. */
async function load(con, table, cols) {
  await con.run(`CREATE TABLE ${table}(${cols.map((c) => `${c.name} ${c.type}`).join(', ')})`);
  const appender = await con.createAppender(table);
  const n = cols[0].data.length;
  const size = 2048;
  const chunk = DuckDBDataChunk.create(cols.map((c) => TYPES[c.type]), size);
  for (let at = 0; at < n; at += size) {
    const k = Math.min(size, n - at);
    if (k !== chunk.rowCount) chunk.rowCount = k;
    cols.forEach((c, j) => {
      const v = chunk.getColumnVector(j);
      v.items.set(c.data.subarray(at, at + k));
      v.flush();
    });
    appender.appendDataChunk(chunk);
  }
  appender.closeSync();
}

/**
 * Run a query to its materialized result (what is timed), and return a function that
 * copies the result's columns into BigInt64Arrays (every result here is BIGINT). The
 * copy is not timed: it is the node binding's cost (a wrapper object per chunk and
 * column), not DuckDB's; a C host reads DuckDB's vectors in place.
 */
async function query(con, sql) {
  const result = await con.run(sql);
  return () => columns(result);
}

function columns(result) {
  const n = result.columnCount;
  const chunks = [];
  let rows = 0;
  for (let i = 0; i < result.chunkCount; i++) {
    const chunk = result.getChunk(i);
    chunks.push(chunk);
    rows += chunk.rowCount;
  }
  const out = Array.from({ length: n }, () => new BigInt64Array(rows));
  let at = 0;
  for (const chunk of chunks) {
    for (let j = 0; j < n; j++) out[j].set(chunk.getColumnVector(j).items, at);
    at += chunk.rowCount;
  }
  return out;
}

async function timed(fn) {
  const t0 = performance.now();
  const out = await fn();
  return [out, performance.now() - t0];
}

/** One untimed run, then `runs` timed ones; prints the line and writes out.<name>.
 * fn runs the work and returns a function that makes its result, untimed. */
async function measure(name, loadMs, fn) {
  let out = (await fn())();
  const times = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const finish = await fn();
    times.push(performance.now() - t0);
    out = finish();
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const med = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  writeFileSync(`${folder}/out.${name}`, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
  console.log(`= ${name} load ${loadMs.toFixed(3)} min ${times[0].toFixed(3)} ` +
    `med ${med.toFixed(3)} max ${times[times.length - 1].toFixed(3)}`);
}

/** Scatter (index, value) rows into a dense array of n values (0 where no row). */
function dense(n, index, value) {
  const out = new BigInt64Array(n);
  for (let i = 0; i < index.length; i++) out[Number(index[i])] = value[i];
  return out;
}

/** One untimed run of `once` (returning [load ms, compute ms, result]), then `runs`
 * timed ones; prints <name>.total (load + compute per run, setup included) and <name>
 * (compute alone), both with the median load. */
async function measureWithLoad(names, once) {
  await once();
  const loads = [];
  const computes = [];
  let out;
  for (let r = 0; r < runs; r++) {
    let l;
    let c;
    [l, c, out] = await once();
    loads.push(l);
    computes.push(c);
  }
  const median = (v) => {
    const s = [...v].sort((a, b) => a - b);
    const mid = s.length >> 1;
    return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  };
  const line = (name, times) => {
    writeFileSync(`${folder}/out.${name}`, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    console.log(`= ${name} load ${median(loads).toFixed(3)} min ${Math.min(...times).toFixed(3)} ` +
      `med ${median(times).toFixed(3)} max ${Math.max(...times).toFixed(3)}`);
  };
  line(names[0], loads.map((l, r) => l + computes[r]));
  line(names[1], computes);
}

// ---- the SQL of bench_sql.h and bench_target_plan.c in DuckDB's dialect: `//` is integer
// division (`/` gives a DOUBLE), SUM of BIGINT is a HUGEINT (cast back), a boolean is
// cast to add it ----

/** target(id, t) of the nodes at `level`: each parent's target split by w, largest
 * remainder within each parent, the lower id among equals. */
const splitLevel = (level) => `INSERT INTO target(id, t)
  WITH g AS (SELECT n.id, n.parent, n.w, p.t AS pt,
                    SUM(n.w) OVER (PARTITION BY n.parent)::BIGINT AS ws
             FROM node n JOIN target p ON p.id = n.parent WHERE n.level = ${level}),
  q AS (SELECT id, parent, pt, (w * pt) // ws AS fl, (w * pt) % ws AS rem FROM g),
  k AS (SELECT id, fl, pt - SUM(fl) OVER (PARTITION BY parent)::BIGINT AS lft,
               ROW_NUMBER() OVER (PARTITION BY parent ORDER BY rem DESC, id) AS rn FROM q)
  SELECT id, fl + CAST(rn <= lft AS BIGINT) FROM k`;

/** (i, m, v): the amount a of each row (i, pid, a) of `source` over the months of its
 * profile, largest remainder, the earlier month among equals. */
const timeSplit = (source) => `
  WITH s AS (SELECT pid, SUM(w)::BIGINT AS wsum FROM profile GROUP BY pid),
  q AS (SELECT a.i, p.m, a.a, (a.a * p.w) // s.wsum AS fl, (a.a * p.w) % s.wsum AS rem
        FROM ${source} a JOIN s ON s.pid = a.pid JOIN profile p ON p.pid = a.pid),
  r AS (SELECT i, m, fl, a - SUM(fl) OVER (PARTITION BY i)::BIGINT AS k,
               ROW_NUMBER() OVER (PARTITION BY i ORDER BY rem DESC, m) AS rn FROM q)
  SELECT i, m, fl + CAST(rn <= k AS BIGINT) AS v FROM r`;

const ONE = 1000000000n; // sp_dec 1

const GROWTH_SUMS = `par AS (SELECT g.parent,
    ANY_VALUE(t.t) - SUM(CASE g.st WHEN 1 THEN g.lo WHEN 2 THEN g.hi ELSE 0 END)::BIGINT AS r0,
    SUM(CASE WHEN g.st = 0 THEN g.b ELSE 0 END)::BIGINT AS w0
  FROM grow g JOIN target t ON t.id = g.parent GROUP BY g.parent)`;

/** Growth at `level` by sp_allocate's clamping rounds (bench_target_plan.c's SQLite
 * version, statement for statement). Returns the rounds. */
async function growthLevel(con, level) {
  await con.run(`CREATE OR REPLACE TEMP TABLE grow AS SELECT id, parent, b,
    (b * (${ONE} + f) + ${ONE - 1n}) // ${ONE} AS lo, (b * (${ONE} + c)) // ${ONE} AS hi,
    0 AS st FROM node WHERE level = ${level}`);
  let rounds = 0;
  for (;;) {
    rounds++;
    const r = await con.run(`UPDATE grow SET st = x.nst FROM (
      WITH ${GROWTH_SUMS},
      d AS (SELECT g.id, g.parent, g.b * p.r0 AS bp, g.hi * p.w0 AS hw, g.lo * p.w0 AS lw
            FROM grow g JOIN par p ON p.parent = g.parent WHERE g.st = 0),
      e AS (SELECT parent, SUM(CASE WHEN bp > hw THEN bp - hw ELSE 0 END) AS ex,
                   SUM(CASE WHEN bp < lw THEN lw - bp ELSE 0 END) AS sh FROM d GROUP BY parent)
      SELECT d.id, CASE WHEN d.bp > d.hw THEN 2 ELSE 1 END AS nst
      FROM d JOIN e ON e.parent = d.parent
      WHERE (d.bp > d.hw AND e.ex >= e.sh) OR (d.bp < d.lw AND e.sh >= e.ex)) x
      WHERE grow.id = x.id`);
    if (r.rowsChanged === 0) break;
  }
  await con.run(`INSERT INTO target(id, t)
    WITH ${GROWTH_SUMS},
    q AS (SELECT g.id, g.parent, g.st, g.lo, g.hi, p.r0,
                 CASE WHEN g.st = 0 THEN (g.b * p.r0) // p.w0 END AS fl,
                 CASE WHEN g.st = 0 THEN (g.b * p.r0) % p.w0 END AS rem
          FROM grow g JOIN par p ON p.parent = g.parent),
    k AS (SELECT id, st, lo, hi, fl, r0 - SUM(fl) OVER (PARTITION BY parent)::BIGINT AS lft,
                 ROW_NUMBER() OVER (PARTITION BY parent ORDER BY st, rem DESC, id) AS rn FROM q)
    SELECT id, CASE st WHEN 1 THEN lo WHEN 2 THEN hi ELSE fl + CAST(rn <= lft AS BIGINT) END
    FROM k`);
  return rounds;
}

const workloads = {
  // Amount per rep (all rows, 2026) and 2026 per rep and month (by the day table cal).
  async facts(con) {
    const [reps, lo, hi] = args.map(Number);
    const monthOf = column('month_of', 'BIGINT');
    const [, loadMs] = await timed(async () => {
      await load(con, 'lines', [
        { name: 'rep', type: 'UINTEGER', data: column('rep', 'UINTEGER') },
        { name: 'day', type: 'INTEGER', data: column('day', 'INTEGER') },
        { name: 'amount', type: 'BIGINT', data: column('amount', 'BIGINT') },
      ]);
      await load(con, 'cal', [
        { name: 'day', type: 'BIGINT', data: BigInt64Array.from(monthOf, (_, d) => BigInt(lo + d)) },
        { name: 'm', type: 'BIGINT', data: monthOf },
      ]);
    });
    await measure('rep', loadMs, async () => {
      const get = await query(con, 'SELECT rep::BIGINT, SUM(amount)::BIGINT FROM lines GROUP BY rep');
      return () => dense(reps, ...get());
    });
    await measure('rep2026', loadMs, async () => {
      const get = await query(con, 'SELECT rep::BIGINT, SUM(amount)::BIGINT FROM lines ' +
        `WHERE day >= ${lo} AND day < ${hi} GROUP BY rep`);
      return () => dense(reps, ...get());
    });
    await measure('actuals', loadMs, async () => {
      const get = await query(con, 'SELECT (l.rep * 12 + c.m)::BIGINT, SUM(l.amount)::BIGINT ' +
        `FROM lines l JOIN cal c ON c.day = l.day WHERE l.day >= ${lo} AND l.day < ${hi} ` +
        'GROUP BY l.rep, c.m');
      return () => dense(reps * 12, ...get());
    });
  },

  // Each rep's commission for the quarter (bench_commission): the sum by rep, then a
  // 3-tier marginal plan (3 % to 5,000.00, 5 % to 10,000.00, 8 % above) in exact integer
  // arithmetic, cents x basis points, rounded half even to the cent by `//` and `%`.
  async commission(con) {
    const reps = Number(args[0]);
    const [, loadMs] = await timed(() => load(con, 'lines', [
      { name: 'rep', type: 'UINTEGER', data: column('rep', 'UINTEGER') },
      { name: 'amount', type: 'BIGINT', data: column('amount', 'BIGINT') },
    ]));
    await measure('commission', loadMs, async () => {
      const get = await query(con, `
        WITH s AS (SELECT rep::BIGINT AS rep, SUM(amount)::BIGINT AS x FROM lines GROUP BY rep),
        v AS (SELECT rep, CASE WHEN x < 500000 THEN x * 300
                               WHEN x < 1000000 THEN 150000000 + (x - 500000) * 500
                               ELSE 400000000 + (x - 1000000) * 800 END AS v FROM s)
        SELECT rep, v // 10000 + CASE WHEN v % 10000 > 5000
                                      OR (v % 10000 = 5000 AND (v // 10000) % 2 = 1)
                                 THEN 1 ELSE 0 END FROM v`);
      return () => dense(reps, ...get());
    });
  },

  // Every statement line of bench_commission's split workload: the order lines with a
  // product each (products 0..9 of table products: component 0, core; 10..19: 1, addon)
  // and a split table (two entries per split line: payee and percent, the entry order the
  // tie rule). The split lines' parts by exact allocation (floors of amount x percent /
  // 100, the units left over to the largest remainders, ties to the first entry), the
  // other lines whole to their rep; each part's measure to date by a window sum per
  // (payee, component) in the order (day, id); the marginal payout at c + m and at c in
  // cents x basis points (core 3 % to 200,000.00, 5 % to 400,000.00, 8 % above; addon 4 %
  // to 300,000.00, 6.5 % above), each rounded half even, the difference. The result is
  // the table (payee, component, fact, base, earned, tier) in any row order, its columns
  // one after another; the C side finds each row among the engine's (untimed) to compare.
  async commission_split(con) {
    const [, loadMs] = await timed(async () => {
      await load(con, 'lines', [
        { name: 'id', type: 'BIGINT', data: column('id', 'BIGINT') },
        { name: 'rep', type: 'UINTEGER', data: column('rep', 'UINTEGER') },
        { name: 'day', type: 'INTEGER', data: column('day', 'INTEGER') },
        { name: 'product', type: 'UINTEGER', data: column('product', 'UINTEGER') },
        { name: 'amount', type: 'BIGINT', data: column('amount', 'BIGINT') },
      ]);
      await load(con, 'splits', [
        { name: 'id', type: 'BIGINT', data: column('s_id', 'BIGINT') },
        { name: 'entry', type: 'INTEGER', data: column('s_entry', 'INTEGER') },
        { name: 'payee', type: 'UINTEGER', data: column('s_payee', 'UINTEGER') },
        { name: 'pct', type: 'BIGINT', data: column('s_pct', 'BIGINT') },
      ]);
      await load(con, 'products', [
        { name: 'product', type: 'UINTEGER', data: column('p_product', 'UINTEGER') },
        { name: 'comp', type: 'INTEGER', data: column('p_comp', 'INTEGER') },
      ]);
    });
    const P = (x) => `CASE WHEN comp = 0 THEN CASE WHEN ${x} < 20000000 THEN ${x} * 300
        WHEN ${x} < 40000000 THEN 6000000000 + (${x} - 20000000) * 500
        ELSE 16000000000 + (${x} - 40000000) * 800 END
      ELSE CASE WHEN ${x} < 30000000 THEN ${x} * 400
        ELSE 12000000000 + (${x} - 30000000) * 650 END END`;
    const R = (v) => `${v} // 10000 + CASE WHEN ${v} % 10000 > 5000
        OR (${v} % 10000 = 5000 AND (${v} // 10000) % 2 = 1) THEN 1 ELSE 0 END`;
    await measure('commission_split', loadMs, async () => {
      const get = await query(con, `
        WITH l AS (SELECT l.id, l.rep::BIGINT AS rep, l.day, l.amount, p.comp::BIGINT AS comp
                   FROM lines l JOIN products p ON p.product = l.product),
        s AS (SELECT l.id, l.day, l.comp, l.amount, s.entry, s.payee::BIGINT AS payee,
                     (l.amount * s.pct) // 100 AS fl, (l.amount * s.pct) % 100 AS rem
              FROM l JOIN splits s ON s.id = l.id),
        parts AS (SELECT rep AS payee, comp, id, day, amount AS base FROM l
                  ANTI JOIN splits s ON s.id = l.id
                  UNION ALL
                  SELECT payee, comp, id, day, fl + CAST(ROW_NUMBER() OVER (PARTITION BY id
                      ORDER BY rem DESC, entry) <= amount - SUM(fl) OVER (PARTITION BY id)::BIGINT
                      AS BIGINT)
                  FROM s),
        cum AS (SELECT payee, comp, id, base, SUM(base) OVER (PARTITION BY payee, comp
                       ORDER BY day, id ROWS UNBOUNDED PRECEDING)::BIGINT AS x FROM parts),
        v AS (SELECT payee, comp, id, base, x, ${P('x')} AS vx, ${P('(x - base)')} AS vc FROM cum)
        SELECT payee, comp, id, base, (${R('vx')}) - (${R('vc')}),
               CASE WHEN comp = 0 THEN CAST(x >= 20000000 AS BIGINT) + CAST(x >= 40000000 AS BIGINT)
                    ELSE CAST(x >= 30000000 AS BIGINT) END
        FROM v`);
      return () => {
        const cols = get();
        const n = cols[0].length;
        const out = new BigInt64Array(cols.length * n);
        cols.forEach((c, j) => out.set(c, j * n));
        return out;
      };
    });
  },

  // Exact allocation of a total over the weights w: one largest-remainder split.
  async allocate(con) {
    const total = BigInt(args[0]);
    const w = column('w', 'BIGINT');
    const [, loadMs] = await timed(() => load(con, 'w', [
      { name: 'i', type: 'BIGINT', data: BigInt64Array.from(w, (_, i) => BigInt(i)) },
      { name: 'w', type: 'BIGINT', data: w },
    ]));
    await measure('allocate', loadMs, async () => {
      const get = await query(con, `
        WITH s AS (SELECT SUM(w)::BIGINT AS wsum FROM w),
        q AS (SELECT i, (w * ${total}) // wsum AS fl, (w * ${total}) % wsum AS rem FROM w, s),
        k AS (SELECT ${total} - SUM(fl)::BIGINT AS k FROM q),
        r AS (SELECT i, fl, ROW_NUMBER() OVER (ORDER BY rem DESC, i) AS rn FROM q)
        SELECT fl + CAST(rn <= (SELECT k FROM k) AS BIGINT) FROM r ORDER BY i`);
      return () => get()[0];
    });
  },

  // Annual amounts over 12 months by one profile (the profile weights in args).
  async time_split(con) {
    const weights = args.map(BigInt);
    const a = column('annual', 'BIGINT');
    const [, loadMs] = await timed(async () => {
      await load(con, 'annual', [
        { name: 'i', type: 'BIGINT', data: BigInt64Array.from(a, (_, i) => BigInt(i)) },
        { name: 'pid', type: 'BIGINT', data: new BigInt64Array(a.length) },
        { name: 'a', type: 'BIGINT', data: a },
      ]);
      await load(con, 'profile', [
        { name: 'pid', type: 'BIGINT', data: new BigInt64Array(weights.length) },
        { name: 'm', type: 'BIGINT', data: BigInt64Array.from(weights, (_, m) => BigInt(m)) },
        { name: 'w', type: 'BIGINT', data: BigInt64Array.from(weights) },
      ]);
    });
    await measure('time_split', loadMs, async () => {
      const get = await query(con, `SELECT v FROM (${timeSplit('annual')}) ORDER BY i, m`);
      return () => get()[0];
    });
  },

  // The company's targets level by level by the weight w (bench_decompose).
  async decompose(con) {
    const total = BigInt(args[0]);
    const parent = column('parent', 'BIGINT');
    const [, loadMs] = await timed(async () => {
      await load(con, 'node', [
        { name: 'id', type: 'BIGINT', data: BigInt64Array.from(parent, (_, i) => BigInt(i)) },
        { name: 'parent', type: 'BIGINT', data: parent },
        { name: 'level', type: 'BIGINT', data: column('level', 'BIGINT') },
        { name: 'w', type: 'BIGINT', data: column('w', 'BIGINT') },
      ]);
    });
    await measure('decompose', loadMs, async () => {
      await con.run('CREATE OR REPLACE TABLE target(id BIGINT, t BIGINT)');
      await con.run(`INSERT INTO target VALUES (0, ${total})`);
      for (let level = 1; level <= 3; level++) await con.run(splitLevel(level));
      const get = await query(con, 'SELECT t FROM target ORDER BY id');
      return () => get()[0];
    });
  },

  // The plan's decomposition, both steps (bench_target_plan), setup included: every run
  // loads the tables from the arrays again.
  async target_plan(con) {
    const total = BigInt(args[0]);
    const names = ['parent', 'level', 'w', 'b', 'f', 'c', 'pid'];
    const cols = Object.fromEntries(names.map((k) => [k, column(k, 'BIGINT')]));
    const n = cols.parent.length;
    const id = BigInt64Array.from(cols.parent, (_, i) => BigInt(i));
    const shares = column('profiles', 'BIGINT');
    const months = 12;
    await measureWithLoad(['total', 'decompose'], async () => {
      for (const t of ['node', 'profile', 'target', 'cell']) await con.run(`DROP TABLE IF EXISTS ${t}`);
      const t0 = performance.now();
      await load(con, 'node', [{ name: 'id', type: 'BIGINT', data: id },
        ...names.map((k) => ({ name: k, type: 'BIGINT', data: cols[k] }))]);
      await load(con, 'profile', [
        { name: 'pid', type: 'BIGINT', data: BigInt64Array.from(shares, (_, k) => BigInt(Math.floor(k / months))) },
        { name: 'm', type: 'BIGINT', data: BigInt64Array.from(shares, (_, k) => BigInt(k % months)) },
        { name: 'w', type: 'BIGINT', data: shares },
      ]);
      const t1 = performance.now();
      await con.run('CREATE TABLE target(id BIGINT, t BIGINT)');
      await con.run(`INSERT INTO target VALUES (0, ${total})`);
      await con.run(splitLevel(1));
      await growthLevel(con, 2);
      await con.run(splitLevel(3));
      await con.run(`CREATE TABLE cell AS ${timeSplit(
        '(SELECT n.id AS i, n.pid, t.t AS a FROM node n JOIN target t ON t.id = n.id WHERE n.level = 3)')}`);
      for (let level = 3; level >= 1; level--) {
        await con.run(`INSERT INTO cell SELECT n.parent, c.m, SUM(c.v)::BIGINT FROM node n
          JOIN cell c ON c.i = n.id WHERE n.level = ${level} GROUP BY n.parent, c.m`);
      }
      const get = await query(con, 'SELECT v FROM cell ORDER BY i, m');
      const t2 = performance.now();
      return [t1 - t0, t2 - t1, get()[0]];
    });
  },
};

const run = workloads[workload];
if (run === undefined) {
  console.error(`duckdb_bench.mjs: unknown workload ${workload}`);
  process.exit(2);
}
const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
const con = await instance.connect();
await con.run('SET threads = 2');
await run(con);
con.closeSync();
