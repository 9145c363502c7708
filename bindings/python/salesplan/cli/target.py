"""salesplan target: plans and target sets from the shell (docs/cli.md, "salesplan target").

    salesplan target decompose   split a total down a hierarchy and over the year; save
    salesplan target show        print a saved set
    salesplan target compare     two saved sets side by side
    salesplan target replan      a new version from a saved one and the actuals so far
    salesplan target pace        on track? actuals to date against the saved set
"""
import contextlib
import decimal
import os

from . import add_command, add_input_options, add_module, add_output_options, date_arg, \
    int_arg, money_arg, rate_arg

NAME = "target"
HELP = "sales targets: decompose, show, compare, replan, pace"

MODULE_EPILOG = """\
examples:
  salesplan target decompose --store plans --plan FY2027 --hierarchy nodes.csv \\
      --settings settings.json --drivers drivers.csv --fiscal-year 2027 \\
      --currency CNY --total 1200000.00
  salesplan target show --store plans --plan FY2027 --format csv
  salesplan target compare --store plans --plan FY2027 base:1 base:2
  salesplan target replan --store plans --plan FY2027 --actuals facts.csv --closed 3
  salesplan target pace --store plans --plan FY2027 --actuals facts.csv --as-of 2027-04-01
"""

DECOMPOSE_EPILOG = """\
input files:
  --hierarchy  CSV with columns id, parent (empty for the root), and optionally level
               (the node's level name: levels are named in order of depth); one row per
               node, parents on earlier or later rows
  --drivers    CSV with column id and one integer column per driver (potential,
               headcount, ...); nodes not listed get 0
  --history    facts CSV (order lines: rep, day, amount[, id, product, customer]) of
               the years before the plan's: sets the built-in drivers prior_year and
               trailing_12m
  --settings   JSON: the plan's settings (docs/target.md, "Settings")

examples:
  salesplan target decompose --store plans --plan FY2027 --hierarchy nodes.csv \\
      --settings settings.json --drivers drivers.csv --fiscal-year 2027 \\
      --currency CNY --total 1200000.00
  salesplan target decompose --store plans --plan FY2027 --hierarchy nodes.csv \\
      --settings settings.json --fiscal-year 2027 --currency CNY --grain quarter \\
      --total 1200000.00 --scenario stretch --note "board ask" --format json -o set.json
  salesplan target decompose ... --encoding cp1252   # files exported by Excel
"""

SHOW_EPILOG = """\
examples:
  salesplan target show --store plans --plan FY2027                 # base, latest version
  salesplan target show --store plans --plan FY2027 --scenario stretch --version 2
  salesplan target show --store plans --plan FY2027 --format csv -o targets.csv
"""

COMPARE_EPILOG = """\
A and B name saved sets as SCENARIO or SCENARIO:VERSION (the latest version when the
version is left out).

examples:
  salesplan target compare --store plans --plan FY2027 base:1 base:2
  salesplan target compare --store plans --plan FY2027 base stretch --format csv
"""

FACTS_HELP = """\
facts CSV (--actuals): order lines, one per row, with columns rep (the id of the node the
  line is booked to), day (a date: ISO, or --date-format), amount (a decimal amount in
  the plan's currency), and optionally id (an integer: the line's own id), product,
  customer (ids)
"""

REPLAN_EPILOG = FACTS_HELP + """
examples:
  salesplan target replan --store plans --plan FY2027 --actuals facts.csv --closed 3
  salesplan target replan --store plans --plan FY2027 --scenario base --version 1 \\
      --actuals facts.csv --closed 6 --overshoot keep --note "after H1"
"""

PACE_EPILOG = FACTS_HELP + """
examples:
  salesplan target pace --store plans --plan FY2027 --actuals facts.csv --as-of 2027-04-01
  salesplan target pace --store plans --plan FY2027 --actuals facts.csv \\
      --as-of 2027-04-01 --threshold 0.05 --format json
"""


def _store_options(p, *, set_=True):
    g = p.add_argument_group("store")
    g.add_argument("--store", required=True, metavar="FILE",
                   help="the store file (made by target decompose)")
    g.add_argument("--plan", required=True, metavar="ID", help="the plan's id")
    if set_:
        g.add_argument("--scenario", default="base", help="the scenario (default base)")
        g.add_argument("--version", type=int_arg, default=0, metavar="N",
                       help="the version of the scenario's set (default the latest)")
    return g


def register(subparsers):
    """Add `salesplan target` and its commands."""
    commands = add_module(subparsers, NAME, HELP, __doc__.split("\n\n", 1)[1].rstrip(),
                          MODULE_EPILOG)

    p = add_command(commands, "decompose", decompose,
                    "split a total down a hierarchy and over the year; save the plan and "
                    "the set", epilog=DECOMPOSE_EPILOG)
    g = p.add_argument_group("store")
    g.add_argument("--store", required=True, metavar="FILE",
                   help="the store file (created when absent)")
    g.add_argument("--plan", required=True, metavar="ID", help="the plan's id")
    g.add_argument("--scenario", default="base",
                   help="the scenario the set is saved in (default base)")
    g.add_argument("--note", default=None, help="a note saved with the set")
    g = p.add_argument_group("plan")
    g.add_argument("--hierarchy", required=True, metavar="CSV",
                   help="the nodes: id, parent[, level]")
    g.add_argument("--settings", required=True, metavar="JSON",
                   help="the plan's settings (docs/target.md)")
    g.add_argument("--drivers", default=None, metavar="CSV",
                   help="driver columns: id, then one integer column per driver "
                        "(prior_year and trailing_12m are built in: --history)")
    g.add_argument("--history", default=None, metavar="CSV",
                   help="facts (order lines) of the years before: set the built-in drivers "
                        "prior_year and trailing_12m and the history seasonality reads")
    g.add_argument("--history-years", default=3, type=int_arg, metavar="N",
                   help="fiscal years of history to read (1..20; default 3)")
    g.add_argument("--fiscal-year", required=True, type=int_arg, metavar="Y",
                   help="the plan's fiscal year")
    g.add_argument("--currency", required=True, metavar="CODE",
                   help="ISO 4217 code of the amounts (CNY: 2 decimal places)")
    g.add_argument("--grain", default="month",
                   choices=("year", "half", "quarter", "month", "week"),
                   help="the periods of the year (default month)")
    g.add_argument("--name", default=None, help="the plan's display name")
    g.add_argument("--total", required=True, type=money_arg, metavar="AMOUNT",
                   help="the total to split, in major units (1200000.00)")
    add_input_options(p)
    add_output_options(p)

    p = add_command(commands, "show", show, "print a saved target set", epilog=SHOW_EPILOG)
    _store_options(p)
    add_output_options(p)

    p = add_command(commands, "compare", compare, "compare two saved target sets",
                    epilog=COMPARE_EPILOG)
    _store_options(p, set_=False)
    p.add_argument("a", metavar="A", help="the first set: SCENARIO[:VERSION]")
    p.add_argument("b", metavar="B", help="the second set: SCENARIO[:VERSION]")
    add_output_options(p)

    p = add_command(commands, "replan", replan,
                    "re-plan mid-year from a saved set and the actuals; save a new version",
                    epilog=REPLAN_EPILOG)
    _store_options(p)
    p.add_argument("--actuals", required=True, metavar="CSV", help="facts: order lines")
    p.add_argument("--closed", required=True, type=int_arg, metavar="N",
                   help="the periods closed (their actuals replace their targets)")
    p.add_argument("--overshoot", default="zero", choices=("zero", "keep_plan"),
                   help="what the open periods of a leaf that already beat its year get: "
                        "zero (the default) or keep_plan (the original split)")
    p.add_argument("--note", default=None, help="a note saved with the new set")
    add_input_options(p)
    add_output_options(p)

    p = add_command(commands, "pace", pace,
                    "actuals to date against a saved set: expected, projection, status",
                    epilog=PACE_EPILOG)
    _store_options(p)
    p.add_argument("--actuals", required=True, metavar="CSV", help="facts: order lines")
    p.add_argument("--as-of", required=True, type=date_arg, metavar="DATE",
                   help="the first day not elapsed (YYYY-MM-DD): actuals before it count")
    p.add_argument("--threshold", default=decimal.Decimal(0), type=rate_arg, metavar="RATE",
                   help="on track while within this share of the expected (0.05 or 5%%; "
                        "default 0: any difference counts)")
    p.add_argument("--elapsed", default="days", choices=("days", "working_days"),
                   help="how the elapsed part of a period is measured (default days)")
    p.add_argument("--projection", default="profile", choices=("profile", "linear"),
                   help="year-end projection: profile (seasonally adjusted, the default) "
                        "or linear")
    add_input_options(p)
    add_output_options(p)



# ---- reading the inputs ----

def _cols():
    from .csvin import Col
    nodes = [Col("id", "id", unique=True), Col("parent", "str"),
             Col("level", "id", required=False,
                 what="the node's level name (not empty)")]
    drivers = [Col("id", "id", unique=True)]
    facts = [Col("rep", "id"), Col("day", "date"), Col("amount", "money"),
             Col("id", "int", required=False), Col("product", "id", required=False),
             Col("customer", "id", required=False)]
    return nodes, drivers, facts


def read_hierarchy(path, args):
    """The nodes CSV checked: ids, parents (one root, no cycle, parents in the file),
    levels consistent by depth. Returns (ids, parents (None for the root), levels or
    None)."""
    from .csvin import quote, read_csv
    t = read_csv(path, _cols()[0], encoding=args.encoding, min_rows=1)
    ids, parents = t["id"], t["parent"]
    index = {n: i for i, n in enumerate(ids)}
    root = None
    for row, p in enumerate(parents):
        if p == "":
            if root is not None:
                raise t.error(row, "parent", f"the id of the parent (the root is "
                              f"{quote(ids[root])}, on line {t.lines[root]})",
                              "an empty field")
            root = row
        elif p not in index:
            raise t.error(row, "parent", "the id of a node in the file", quote(p))
    if root is None:
        raise t.error(0, "parent", "an empty field for the root (every node has a "
                      "parent: a cycle)", quote(parents[0]))
    depth = [None] * len(ids)
    depth[root] = 0
    for row in range(len(ids)):
        path_ = []
        at = row
        while depth[at] is None:
            if at in path_:
                raise t.error(row, "parent", "a chain of parents up to the root",
                              f"a cycle through {quote(ids[at])}")
            path_.append(at)
            at = index[parents[at]]
        for k, node in enumerate(reversed(path_)):
            depth[node] = depth[at] + k + 1
    levels = None
    if t.field("level"):
        by_depth = {}
        for row, lv in enumerate(t["level"]):
            first = by_depth.setdefault(depth[row], row)
            if t["level"][first] != lv:
                raise t.error(row, "level",
                              f"{quote(t['level'][first])} as the other nodes at depth "
                              f"{depth[row]} (line {t.lines[first]})", quote(lv))
        names = [t["level"][by_depth[d]] for d in sorted(by_depth)]
        for d, n in enumerate(names):
            if n in names[:d]:
                row = by_depth[d]
                raise t.error(row, "level", f"a level name not used at depth "
                              f"{names.index(n)}", quote(n))
        levels = names
    return ids, [None if p == "" else p for p in parents], levels


def read_drivers(path, args, ids):
    """{driver name: one int per node (0 where the node is not listed)}."""
    from .csvin import quote, read_csv
    t = read_csv(path, _cols()[1], encoding=args.encoding, extra="int")
    index = {n: i for i, n in enumerate(ids)}
    out = {name: [0] * len(ids) for name in t.extra}
    for row, node in enumerate(t["id"]):
        if node not in index:
            raise t.error(row, "id", "the id of a node of the hierarchy", quote(node))
        for name in t.extra:
            out[name][index[node]] = t[name][row]
    return out


def read_facts(path, args, node_ids, exponent, plan_id):
    """The order lines CSV as (MemoryFactSource, Dictionary); every rep must be a node
    of the plan."""
    import salesplan as sp
    from .csvin import quote, read_csv
    t = read_csv(path, _cols()[2], encoding=args.encoding, date_format=args.date_format,
                 exponent=exponent)
    known = set(node_ids)
    for row, rep in enumerate(t["rep"]):
        if rep not in known:
            raise t.error(row, "rep", f"the id of a node of plan {quote(plan_id)}",
                          quote(rep))
    d = sp.Dictionary()
    source = sp.MemoryFactSource()
    if len(t):
        from .._convert import to_minor
        cols = {"id": [row + 1 if v is None else v for row, v in enumerate(t["id"])],
                "rep": d.intern_all(t["rep"]), "day": t["day"],
                "amount": [to_minor(a, exponent, "amount") for a in t["amount"]]}
        for name in ("product", "customer"):
            if t.field(name):
                cols[name] = d.intern_all(t[name])
        for row, v in enumerate(cols["id"]):
            if not 0 <= v < 2**64:
                raise t.error(row, "id", "an id from 0 to 2^64-1", str(v))
        source.append("order_lines", **cols)
    return source, d


# ---- the store ----

def _open_store(path, *, create=False, readonly=False, made_by="target decompose"):
    """The FileStore at path; a missing file is an input error (exit 3) unless create."""
    import salesplan as sp
    if not create and not os.path.exists(path):
        from .errors import CliInputError
        raise CliInputError(path, None, None, f"a store (made by {made_by})",
                            "no such file")
    return sp.FileStore(path, create=create, readonly=readonly)


@contextlib.contextmanager
def _store_to_write(path):
    """The FileStore at path, created when absent, closed after the block; a store the
    block found absent is removed again unless the block completes (a failed command
    leaves no empty store behind)."""
    exists = os.path.exists(path)
    done = False
    store = _open_store(path, create=True)
    try:
        yield store
        done = True
    finally:
        store.close()
        if not exists and not done:
            try:
                os.unlink(path)
            except OSError:
                pass


# ---- output ----

def _period_names(grain, n):
    name = getattr(grain, "name", str(grain)).lower()
    if name == "year":
        return ["Y"] if n == 1 else [f"Y{i + 1}" for i in range(n)]
    prefix = {"half": "H", "quarter": "Q", "month": "M", "week": "W"}.get(name, "P")
    width = 2 if n >= 10 else 1
    return [f"{prefix}{i + 1:0{width}d}" for i in range(n)]


def set_result(tset, extra_meta=None):
    """A target set as a Result: node, level, annual, one column per period, parents
    before children."""
    from .out import Result
    info = tset.info
    rows = list(tset.rows())
    order = info.hierarchy.order()
    cols = ["node", "level", "annual"] + _period_names(info.grain, info.nperiods)
    out = [[rows[i].id, rows[i].level, rows[i].annual] + list(rows[i].periods)
           for i in order]
    meta = {"plan": info.plan_id, "scenario": info.scenario, "version": info.version}
    if info.note:
        meta["note"] = info.note
    if info.saved_day is not None:
        meta["saved"] = info.saved_day
    if info.based_on:
        meta["based_on"] = info.based_on
    if info.closed:
        meta["closed"] = info.closed
    meta.update(extra_meta or {})
    return Result(cols, out, meta)


def _render(args, result):
    from .out import Output, render
    text = render(result, args.format)
    return Output(args.output), text


def _with_bar(env, label, fn):
    from . import progress
    bar = env.bar(label)
    try:
        return fn(bar)
    finally:
        progress.finish(bar)


# ---- the commands ----

def _check_scenario(args, command):
    from . import CliUsageError
    n = len(args.scenario.encode("utf-8", "surrogatepass"))
    if not 1 <= n <= 255:
        raise CliUsageError(f"target {command}: argument --scenario: expected 1 to 255 bytes "
                            f"of UTF-8, found {n} (see 'salesplan target {command} --help')")


def decompose(args, env):
    """salesplan target decompose."""
    import salesplan as sp
    from .jsonin import read_json
    _check_scenario(args, "decompose")
    ids, parents, levels = read_hierarchy(args.hierarchy, args)
    _, settings_text = read_json(args.settings, encoding=args.encoding)
    drivers = read_drivers(args.drivers, args, ids) if args.drivers else {}
    h = sp.Hierarchy()
    h.add_all(ids, parents)
    if levels:
        h.set_levels(levels)
    h.validate()
    plan = sp.TargetPlan(args.plan, h, fiscal_year=args.fiscal_year, name=args.name,
                         currency=args.currency, grain=args.grain)
    for name, values in drivers.items():
        plan.set_driver(name, values)
    if args.history:
        source, d = read_facts(args.history, args, ids, plan.info.exponent, args.plan)
        _with_bar(env, "history", lambda bar: plan.load_history(
            source, d, years=args.history_years, progress=bar))
    plan.settings = settings_text
    tset = _with_bar(env, "decompose",
                     lambda bar: plan.decompose(args.total, progress=bar))
    exists = os.path.exists(args.store)
    with _store_to_write(args.store) as store:
        if exists:
            try:
                sp.TargetPlan.load(store, args.plan).close()
            except sp.NotFoundError:
                pass
            else:
                raise sp.ConflictError(f"target plan: plan {args.plan!r} is already in "
                                       f"{args.store} (decompose makes a new plan: choose "
                                       f"another id)")
        # Two transactions (the library's saves cannot share one): the plan, then the
        # set. Everything that can be checked is checked before the first.
        from .out import Output, render
        output = Output(args.output)
        with output:
            output.reserve()        # an output that cannot be written fails here
            plan.save(store)
            tset.save(store, args.scenario, note=args.note or "")
            output.prepare(render(set_result(tset), args.format))
            output.commit()
    return 0


def _load_set(store, args, scenario=None, version=None):
    import salesplan as sp
    return sp.TargetSet.load(store, args.plan, scenario or args.scenario,
                             args.version if version is None else version)


def show(args, env):
    """salesplan target show."""
    with _open_store(args.store, readonly=True) as store:
        tset = _load_set(store, args)
        output, text = _render(args, set_result(tset))
    with output:
        output.prepare(text)
        output.commit()
    return 0


def _set_spec(text, what):
    from . import CliUsageError
    scenario, _, version = text.partition(":")
    if not scenario or (version and not version.isdigit()):
        raise CliUsageError(f"target compare: argument {what}: expected SCENARIO or "
                            f"SCENARIO:VERSION, found {text!r} (see 'salesplan target "
                            f"compare --help')")
    return scenario, int(version) if version else 0


def compare(args, env):
    """salesplan target compare."""
    import salesplan as sp
    from .out import Result
    a_spec, b_spec = _set_spec(args.a, "A"), _set_spec(args.b, "B")
    with _open_store(args.store, readonly=True) as store:
        a = _load_set(store, args, *a_spec)
        b = _load_set(store, args, *b_spec)
        cmp = sp.compare(a, b)
        ia, ib = a.info, b.info
    IN_A, IN_B, NO_BASE = sp.CompareFlag.IN_A, sp.CompareFlag.IN_B, sp.CompareFlag.NO_BASE
    rows = []
    for node, va, vb, diff, rel, flags in cmp.rows():
        both = bool(flags & IN_A) and bool(flags & IN_B)
        rows.append([node, va if flags & IN_A else None, vb if flags & IN_B else None,
                     diff if both else None,
                     rel.normalize() if both and not flags & NO_BASE else None])
    meta = {"plan": args.plan, "a": f"{ia.scenario}:{ia.version}",
            "b": f"{ib.scenario}:{ib.version}", "only_in_a": cmp.only_in_a,
            "only_in_b": cmp.only_in_b}
    output, text = _render(args, Result(["node", "a", "b", "diff", "relative"], rows, meta))
    with output:
        output.prepare(text)
        output.commit()
    return 0


def _facts_for(plan, args):
    info = plan.info
    ids = info.hierarchy.ids()
    return read_facts(args.actuals, args, ids, info.exponent, info.id)


def replan(args, env):
    """salesplan target replan."""
    import salesplan as sp
    _check_scenario(args, "replan")
    with _open_store(args.store) as store:
        plan = sp.TargetPlan.load(store, args.plan)
        source, d = _facts_for(plan, args)
        base = _load_set(store, args)
        actuals = _with_bar(env, "actuals",
                            lambda bar: plan.load_actuals(source, d, progress=bar))
        new = plan.replan(base, actuals, args.closed, overshoot=args.overshoot)
        # the text is rendered and written to a temporary file before the store is
        # written (so an output error leaves the store as it was), and published after
        from .out import Output, render
        output = Output(args.output)
        with output:
            output.reserve()        # an output that cannot be written fails here
            new.save(store, args.scenario, note=args.note or "")
            output.prepare(render(set_result(new), args.format))
            output.commit()
    return 0


def pace(args, env):
    """salesplan target pace."""
    import salesplan as sp
    from .out import Result
    with _open_store(args.store, readonly=True) as store:
        plan = sp.TargetPlan.load(store, args.plan)
        source, d = _facts_for(plan, args)
        tset = _load_set(store, args)
        actuals = _with_bar(env, "actuals", lambda bar: plan.load_actuals(
            source, d, as_of=args.as_of, progress=bar))
        p = plan.pacing(tset, args.as_of, actuals, elapsed=args.elapsed,
                        projection=args.projection, threshold=args.threshold)
        info = tset.info
        order = info.hierarchy.order()
        annual = tset.annual
    rows = [[p.ids[i], annual[i], p.expected[i], p.actual[i], p.projection[i],
             p.status[i].name.lower()] for i in order]
    meta = {"plan": info.plan_id, "scenario": info.scenario, "version": info.version,
            "as_of": args.as_of}
    output, text = _render(args, Result(["node", "target", "expected", "actual",
                                         "projection", "status"], rows, meta))
    with output:
        output.prepare(text)
        output.commit()
    return 0
