"""salesplan commission: commission runs from the shell (docs/cli.md, "salesplan
commission").

    salesplan commission run       statements of one period: per payee and component
    salesplan commission explain   one statement's total, or one of its lines, traced
    salesplan commission plan      plans in a store: save a version, show one, list them
    salesplan commission close     close a posted period of a plan's ledger
    salesplan commission statement a payee's statement as the ledger holds it
    salesplan commission ledger    what a plan's ledger holds, by period
"""
import argparse
import re

from . import add_command, add_input_options, add_module, add_output_options, date_arg, \
    int_arg, rate_arg
from .errors import CliInputError, CliUsageError

NAME = "commission"
HELP = "sales commissions: run a period, explain a statement, store plans"

MODULE_EPILOG = """\
examples:
  salesplan commission run --plan plan.json --facts lines.csv --period 2027-01
  salesplan commission run --plan plan.json --facts lines.csv --refunds refunds.csv \\
      --period 2027-Q1 --quotas quotas.csv --lines --format csv -o lines.csv
  salesplan commission explain --plan plan.json --facts lines.csv --period 2027-01 \\
      --payee A --line 1
  salesplan commission plan save --store plans.spstore --plan plan.json
  salesplan commission plan versions --store plans.spstore --id AE
  salesplan commission run --plan plan.json --facts lines.csv --period 2027-01 \\
      --post --store ledger.spstore
  salesplan commission close --store ledger.spstore --plan AE --period 2027-01
  salesplan commission run --plan plan.json --facts lines.csv --period 2027-01 \\
      --post --store ledger.spstore --into 2027-02
  salesplan commission statement --store ledger.spstore --plan AE --period 2027-02 \\
      --payee B
  salesplan commission ledger --store ledger.spstore --plan AE
"""

PLAN_EPILOG = """\
A plan is stored as revisions 1, 2, 3, ...: each save of a version (a document with
"effective": {"from": ..., "to": ...}) makes the next revision, with the version added or
in place of the one with the same first day; every revision stays readable.

examples:
  salesplan commission plan save --store plans.spstore --plan ae-2027.json
  salesplan commission plan save --store plans.spstore --plan ae-2028.json --based-on 1
  salesplan commission plan versions --store plans.spstore --id AE
  salesplan commission plan show --store plans.spstore --id AE --day 2027-06-01
  salesplan commission plan show --store plans.spstore --id AE --day 2027-06-01 \\
      --revision 1 -o ae.json
"""

SAVE_EPILOG = """\
Saves the version into the plan's next revision (created with the store when absent):
--based-on is the revision the document was edited from (0, the default: a new plan);
another revision stored is refused (exit 1: someone saved since; show the latest, edit,
save again with its revision). The set of versions is checked: no overlap, no gap the
later version does not declare ("gap": "allowed"), one currency. Prints the versions of
the new revision.

examples:
  salesplan commission plan save --store plans.spstore --plan ae-2027.json
  salesplan commission plan save --store plans.spstore --plan ae-2028.json --based-on 1
"""

INPUT_HELP = """\
input files:
  --plan     JSON: one version of a commission plan (docs/commission.md, "Plan
             documents")
  --facts    CSV of order lines (the booking basis): rep, day, amount (a decimal amount
             in the plan's currency), and optionally id (an integer, unique; default the
             record's number), quantity (an integer), cost (an amount), product,
             customer, grid (ids; empty: none)
  --refunds  CSV of refunds: ref (the id of the order line refunded), day, amount (the
             money returned, 0 or more), and optionally id, quantity, cost
  --invoices CSV of invoice lines (the invoice basis), as --facts (day: the invoice's)
  --invoice-refunds
             CSV of credit notes and reversals, as --refunds (ref: an invoice line's id)
  --payments CSV of payments (the payment basis): ref (the id of the line paid: an
             invoice line of --invoices when given, else an order line of --facts), day,
             amount (signed: a negative payment reverses), and optionally id
  --lookback-from DATE
             the payment basis reads lines and payments from this day on (default the
             plan version's first day)
  --payees   CSV with a column payee: the payees, in the order printed (default: every
             rep of the order and invoice lines, in byte order; or --payee ID ...)
  --quotas   CSV: payee, then one column per component on attainment, named by its id
             (quota for a plan of one component), an amount for a money measure, an
             integer for a measure of units; rows of other payees are ignored
  --splits   CSV: fact (an order line's id), payee, share (0.5 or 50%); the shares of a
             fact sum to 100%

the period (the plan's fiscal calendar): --period 2027 (the year), 2027-Q2 (a quarter),
2027-03 (a month: the third of fiscal year 2027; for a civil calendar March), also as
the calendar labels them (FY2027-M03); or --year 2027 --grain quarter --index 1 (index
0-based)
"""

RUN_EPILOG = INPUT_HELP + """
output: per payee, each component's measure (and quota) and earnings, the draw's
figures when the plan has a draw, and the total; with --lines the statement lines (line:
the index explain --line takes).

examples:
  salesplan commission run --plan plan.json --facts lines.csv --period 2027-01
  salesplan commission run --plan plan.json --facts lines.csv --period 2027-Q1 \\
      --quotas quotas.csv --payees payees.csv --unknown error --format json
  salesplan commission run ... --lines --format csv -o lines.csv
  salesplan commission run ... --encoding cp1252 --date-format %d/%m/%Y
  salesplan commission run ... --post --store ledger.spstore [--into 2027-02]

--post --store FILE: post the statements (with their lines) to the plan's ledger in FILE
(created when absent), replacing an earlier draft of the period; a closed period is
refused (exit 1) unless --into names an open period, which then receives the corrections
(what the run changes of the closed period). Prints what was posted instead of the
statements: the period written into, the period corrected (empty: its own statements),
written (false: a correction found nothing to change), removed (earlier corrections
withdrawn), the ledger's revision, the payees, lines and total written.
"""

EXPLAIN_EPILOG = INPUT_HELP + """
output: the library's explanation as JSON (docs/commission.md, "Explain"): without
--line the statement's total, per component its measure, quota, tier and earnings; with
--line N the statement's line N (as run --lines numbers them, from 0): its fact, share,
measure before and after, tiers with their document paths, rate and the parts of what it
earned. Amounts in major units.

examples:
  salesplan commission explain --plan plan.json --facts lines.csv --period 2027-01 \\
      --payee A
  salesplan commission explain --plan plan.json --facts lines.csv --period 2027-01 \\
      --payee A --line 1 -o why.json
"""

_PERIOD = re.compile(r"(?:FY)?([0-9]{4})(?:-(?:Q([0-9]+)|M?([0-9]+)))?\Z")
_GRAINS = ("month", "quarter", "year")


def period_arg(text: str):
    """--period: (fiscal year, grain, 0-based index) of 2027, 2027-Q2, 2027-03 (or
    FY2027, FY2027-Q2, FY2027-M03)."""
    m = _PERIOD.match(text.strip())
    bad = argparse.ArgumentTypeError(f"expected YYYY, YYYY-Qn or YYYY-MM (a fiscal year, "
                                     f"quarter or month: 2027-03), found {text!r}")
    if not m:
        raise bad
    year = int(m.group(1))
    if m.group(2) is not None:
        q = int(m.group(2))
        if not 1 <= q <= 4:
            raise bad
        return year, "quarter", q - 1
    if m.group(3) is not None:
        month = int(m.group(3))
        if not 1 <= month <= 12 or len(m.group(3)) != 2:
            raise bad
        return year, "month", month - 1
    return year, "year", 0


def _inputs(p, explain):
    g = p.add_argument_group("inputs")
    g.add_argument("--plan", required=True, metavar="JSON", help="the plan version")
    g.add_argument("--facts", default=None, metavar="CSV",
                   help="the order lines (--facts or --invoices is required)")
    g.add_argument("--refunds", default=None, metavar="CSV", help="refunds of the lines")
    g.add_argument("--invoices", default=None, metavar="CSV",
                   help="the invoice lines (the invoice basis)")
    g.add_argument("--invoice-refunds", default=None, metavar="CSV",
                   help="credit notes and reversals of the invoice lines")
    g.add_argument("--payments", default=None, metavar="CSV",
                   help="payments of the invoice lines (or, without --invoices, of the "
                        "order lines)")
    g.add_argument("--lookback-from", type=date_arg, default=None, metavar="DATE",
                   help="the payment basis reads lines and payments from DATE on "
                        "(default the plan version's first day)")
    g.add_argument("--payees", default=None, metavar="CSV",
                   help="the payees (column payee); default every rep of the order and "
                        "invoice lines")
    if not explain:
        g.add_argument("--payee", action="append", default=None, metavar="ID",
                       dest="payee_ids", help="a payee (repeat for more), instead of --payees")
    g.add_argument("--quotas", default=None, metavar="CSV",
                   help="quotas of the components on attainment")
    g.add_argument("--splits", default=None, metavar="CSV",
                   help="split facts: fact, payee, share")
    g.add_argument("--unknown", default="skip", choices=("skip", "error"),
                   help="a line of a rep who is no payee: skipped and counted (skip, the "
                        "default) or an error")
    g = p.add_argument_group("period")
    g.add_argument("--period", type=period_arg, default=None, metavar="PERIOD",
                   help="2027, 2027-Q1 or 2027-01 (fiscal, of the plan's calendar)")
    g.add_argument("--year", type=int_arg, default=None, metavar="Y",
                   help="the fiscal year (instead of --period)")
    g.add_argument("--grain", default=None, choices=_GRAINS,
                   help="with --year: month (the default), quarter or year")
    g.add_argument("--index", type=int_arg, default=None, metavar="N",
                   help="with --year: the period of the year, 0-based (0: the first month "
                        "or quarter)")
    add_input_options(p)


def _plan_store_commands(commands):
    p = add_command(commands, "plan", None, "commission plans in a store: save, show, "
                    "versions", epilog=PLAN_EPILOG)
    sub = p.add_subparsers(dest="plan_command", metavar="<command>", title="commands")
    sub.required = True

    def store(q, create):
        g = q.add_argument_group("store")
        g.add_argument("--store", required=True, metavar="FILE",
                       help="the store file" + (" (created when absent)" if create else
                                                " (made by commission plan save)"))
        return g

    q = add_command(sub, "save", plan_save, "save a version as the plan's next revision",
                    epilog=SAVE_EPILOG)
    g = store(q, True)
    g.add_argument("--plan", required=True, metavar="JSON", help="the version's document")
    g.add_argument("--based-on", type=int_arg, default=0, metavar="REVISION",
                   help="the revision the document was edited from (default 0: a new "
                        "plan)")
    add_input_options(q)
    add_output_options(q)

    q = add_command(sub, "versions", plan_versions,
                    "the versions of a revision (default the latest)",
                    epilog="output: a row per version, from and to (empty: open-ended).")
    g = store(q, False)
    g.add_argument("--id", required=True, metavar="ID", help="the plan's id")
    g.add_argument("--revision", type=int_arg, default=0, metavar="N",
                   help="the revision (default the latest)")
    add_output_options(q)

    q = add_command(sub, "show", plan_show,
                    "the document of the version in effect on a day",
                    epilog="output: the canonical document, as indented JSON (save takes "
                           "it back).")
    g = store(q, False)
    g.add_argument("--id", required=True, metavar="ID", help="the plan's id")
    g.add_argument("--day", required=True, type=date_arg, metavar="DATE",
                   help="the day the version is in effect")
    g.add_argument("--revision", type=int_arg, default=0, metavar="N",
                   help="the revision (default the latest)")
    g = q.add_argument_group("output")
    g.add_argument("--output", "-o", default=None, metavar="FILE",
                   help="write the JSON to FILE (atomically) instead of stdout")


def register(subparsers):
    """Add `salesplan commission` and its commands."""
    commands = add_module(subparsers, NAME, HELP, __doc__.split("\n\n", 1)[1].rstrip(),
                          MODULE_EPILOG)
    p = add_command(commands, "run", run,
                    "the statements of one period: measures, earnings, totals (or lines)",
                    epilog=RUN_EPILOG)
    _inputs(p, explain=False)
    p.add_argument("--lines", action="store_true",
                   help="print every payee's statement lines instead of the totals")
    g = p.add_argument_group("the ledger")
    g.add_argument("--post", action="store_true",
                   help="post the statements to the plan's ledger in --store")
    g.add_argument("--store", default=None, metavar="FILE",
                   help="with --post: the store of the ledger (created when absent)")
    g.add_argument("--into", type=period_arg, default=None, metavar="PERIOD",
                   help="with --post, for a closed period: the open period that receives "
                        "its corrections (2027-02)")
    add_output_options(p)

    p = add_command(commands, "explain", explain,
                    "trace a payee's total, or one of its lines, to the plan and the facts",
                    epilog=EXPLAIN_EPILOG)
    _inputs(p, explain=True)
    p.add_argument("--payee", required=True, metavar="ID", help="the payee to explain")
    p.add_argument("--line", type=int_arg, default=None, metavar="N",
                   help="the statement line to explain (0-based, as run --lines numbers "
                        "them); default the total")
    g = p.add_argument_group("output")
    g.add_argument("--output", "-o", default=None, metavar="FILE",
                   help="write the JSON to FILE (atomically) instead of stdout")
    g.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="draw a progress bar on stderr (default: when it is a terminal)")
    g.add_argument("--no-progress", dest="progress", action="store_false",
                   help="never draw a progress bar")
    _plan_store_commands(commands)
    _ledger_commands(commands)


def _ledger_commands(commands):
    def ledger_store(q):
        g = q.add_argument_group("ledger")
        g.add_argument("--store", required=True, metavar="FILE",
                       help="the store of the ledger (made by commission run --post)")
        g.add_argument("--plan", required=True, metavar="ID", help="the plan's id")
        return g

    q = add_command(commands, "close", close, "close a posted period: frozen from then on",
                    epilog="A later run of a closed period is posted as corrections into an "
                           "open period (run --post --into).\noutput: the plan and the "
                           "period closed.\n\nexample:\n  salesplan commission close "
                           "--store ledger.spstore --plan AE --period 2027-01")
    g = ledger_store(q)
    g.add_argument("--period", required=True, type=period_arg, metavar="PERIOD",
                   help="the period: 2027-01, 2027-Q1 or 2027")
    add_output_options(q)

    q = add_command(commands, "statement", statement,
                    "a payee's statement for a period, as the ledger holds it",
                    epilog="output: a row per line of each part: part (0: the period's own "
                           "statement when it has one, then the corrections of closed "
                           "periods it holds), corrects (the period corrected; empty: its "
                           "own), then the line as run --lines prints it (base and rate "
                           "read as for a money measure: the ledger does not record "
                           "measures); the total, the parts' totals and whether the period "
                           "is closed follow.\n\nexample:\n  salesplan commission "
                           "statement --store ledger.spstore --plan AE --period 2027-02 "
                           "--payee B --format json")
    g = ledger_store(q)
    g.add_argument("--period", required=True, type=period_arg, metavar="PERIOD",
                   help="the period: 2027-01, 2027-Q1 or 2027")
    g.add_argument("--payee", required=True, metavar="ID", help="the payee")
    add_output_options(q)

    q = add_command(commands, "ledger", ledger, "what a plan's ledger holds, by period",
                    epilog="output: a row per statements object: period, corrects (the "
                           "closed period it corrects; empty: the period's own), closed, "
                           "revision, payees, lines and total_minor (the sum of its lines "
                           "in minor units: the ledger's entries do not record the "
                           "currency's decimals).\n\nexample:\n  salesplan commission "
                           "ledger --store ledger.spstore --plan AE")
    ledger_store(q)
    add_output_options(q)


# ---- reading the inputs ----

def _period(args):
    """(fiscal_year, grain, index) of --period or --year/--grain/--index."""
    cmd = f"commission {args.command}"
    if args.period is not None:
        if args.year is not None or args.grain is not None or args.index is not None:
            raise CliUsageError(f"{cmd}: argument --period: not allowed with --year, "
                                f"--grain or --index (see 'salesplan {cmd} --help')")
        return args.period
    if args.year is None:
        raise CliUsageError(f"{cmd}: the period is required: --period or --year (see "
                            f"'salesplan {cmd} --help')")
    grain = args.grain or "month"
    if args.index is None and grain != "year":
        raise CliUsageError(f"{cmd}: argument --index: required with --grain {grain} (see "
                            f"'salesplan {cmd} --help')")
    index = args.index or 0
    if index < 0:
        raise CliUsageError(f"{cmd}: argument --index: expected 0 or more, found {index} "
                            f"(see 'salesplan {cmd} --help')")
    return args.year, grain, index


def read_plan(path, args):
    """The plan document: a JSON error at its line and column (exit 3); the library's
    refusal names the file (exit 1)."""
    import salesplan as sp
    from .jsonin import read_json
    _, text = read_json(path, encoding=args.encoding)
    try:
        return sp.CommissionPlan(text)
    except sp.InvalidError as e:
        raise sp.InvalidError(f"{path}: {e}", e.code) from None


def _fact_cols(kind):
    """The columns of a CSV of "lines" (order or invoice lines), "refunds" or
    "payments"."""
    from .csvin import Col
    from decimal import Decimal
    cols = [Col("id", "int", required=False, unique=True,
                what="an integer id, unique in the file"),
            Col("day", "date"), Col("amount", "money")]
    if kind == "payments":
        return cols + [Col("ref", "int", what="the id of the line paid (an integer)")]
    cols += [Col("quantity", "int", required=False, default=0),
             Col("cost", "money", required=False, default=Decimal(0))]
    if kind == "refunds":
        return cols + [Col("ref", "int", what="the id of a line (an integer)")]
    return cols + [Col("rep", "id")] + [Col(n, "str", required=False)
                                        for n in ("product", "customer", "grid")]


def _ids(t):
    """The id column (the record's number where the file has none), each checked to fit
    uint64."""
    out = [row + 1 if v is None else v for row, v in enumerate(t["id"])]
    for row, v in enumerate(out):
        if not 0 <= v < 2**64:
            raise t.error(row, "id", "an id from 0 to 2^64-1", str(v))
    return out


class Facts:
    """What one source's CSV files hold: lines (a Table or None) and their ids, refunds
    and their ids, payments and their ids (None when not given)."""

    def __init__(self):
        self.lines = self.line_ids = self.refunds = self.refund_ids = None
        self.payments = self.payment_ids = None


def _read(path, kind, args, exponent):
    from .csvin import read_csv
    t = read_csv(path, _fact_cols(kind), encoding=args.encoding,
                 date_format=args.date_format, exponent=exponent)
    return t, _ids(t)


def _check_refs(t, path_of_lines, line_ids, noun):
    from .csvin import quote
    known = set(line_ids)
    for row, ref in enumerate(t["ref"]):
        if ref not in known:
            raise t.error(row, "ref", f"the id of {noun} of {path_of_lines}", quote(str(ref)))


def read_source(args, exponent, lines_path, refunds_path, noun):
    """The lines (lines_path, may be None), their refunds and, for the source the
    payments reference (the invoices when given, else the order lines), the payments."""
    from .csvin import quote
    f = Facts()
    if lines_path:
        f.lines, f.line_ids = _read(lines_path, "lines", args, exponent)
    if refunds_path:
        f.refunds, f.refund_ids = _read(refunds_path, "refunds", args, exponent)
        _check_refs(f.refunds, lines_path, f.line_ids or [], noun)
        for row, amount in enumerate(f.refunds["amount"]):
            if amount < 0:
                raise f.refunds.error(row, "amount", "the money returned, 0 or more",
                                      quote(str(amount)))
    return f


def read_facts(args, exponent):
    """(order lines Facts, invoice Facts): each source's lines and refunds, the payments
    with the invoices when given, else with the order lines."""
    if not args.facts and not args.invoices:
        raise CliUsageError(f"commission {args.command}: --facts or --invoices is required "
                            f"(the order lines, the invoice lines) (see 'salesplan "
                            f"commission {args.command} --help')")
    for given, needs in (("refunds", "facts"), ("invoice_refunds", "invoices")):
        if getattr(args, given) and not getattr(args, needs):
            raise CliUsageError(f"commission {args.command}: argument "
                                f"--{given.replace('_', '-')}: needs --{needs} (the lines "
                                f"refunded) (see 'salesplan commission {args.command} "
                                f"--help')")
    orders = read_source(args, exponent, args.facts, args.refunds, "an order line")
    invoices = read_source(args, exponent, args.invoices, args.invoice_refunds,
                           "an invoice line")
    if args.payments:
        paid = invoices if args.invoices else orders
        if paid.lines is None:
            raise CliUsageError(f"commission {args.command}: argument --payments: needs "
                                f"--facts or --invoices (the lines paid) (see 'salesplan "
                                f"commission {args.command} --help')")
        paid.payments, paid.payment_ids = _read(args.payments, "payments", args, exponent)
        _check_refs(paid.payments, args.invoices or args.facts, paid.line_ids,
                    "an invoice line" if args.invoices else "an order line")
    return orders, invoices


def read_payees(args, reps):
    """The payees' ids: --payees, --payee, or every rep of the order and invoice lines
    (`reps`; byte order); explain's --payee is added to the default."""
    from .csvin import Col, read_csv
    given = getattr(args, "payee_ids", None)
    if args.payees and given:
        raise CliUsageError(f"commission {args.command}: argument --payee: not allowed "
                            f"with --payees (see 'salesplan commission {args.command} "
                            f"--help')")
    if args.payees:
        t = read_csv(args.payees, [Col("payee", "id", unique=True)], encoding=args.encoding,
                     min_rows=1)
        payees = list(t["payee"])
    elif given:
        payees = list(dict.fromkeys(given))
    else:
        reps = set(reps)
        if args.command == "explain":
            reps.add(args.payee)
        payees = sorted(reps, key=lambda s: s.encode("utf-8", "surrogatepass"))
    if args.command == "explain" and args.payee not in payees:
        raise CliUsageError(f"commission explain: argument --payee: {args.payee!r} is none "
                            f"of the payees of {args.payees} (see 'salesplan commission "
                            f"explain --help')")
    return payees


def _is_money(component):
    import salesplan as sp
    return component.measure in (sp.CommissionMeasure.AMOUNT, sp.CommissionMeasure.MARGIN)


def read_quotas(path, args, plan, payees):
    """{payee: {component id: quota}} of the quotas CSV (rows of other payees are
    ignored)."""
    from .csvin import Col, quote, read_csv
    comps = plan.components
    by_id = {c.id: c for c in comps}
    t = read_csv(path, [Col("payee", "id", unique=True)], encoding=args.encoding,
                 exponent=plan.info.exponent, extra="money")
    names = {c.id: c.id for c in comps}
    if len(comps) == 1:
        names["quota"] = comps[0].id
    for name in t.extra:
        if name not in names:
            raise CliInputError(path, 1, t.field(name),
                                f"payee or a column named by a component of the plan "
                                f"({', '.join(names)})", quote(name))
    known = set(payees)
    out = {}
    for row, payee in enumerate(t["payee"]):
        if payee not in known:
            continue  # the file may hold every rep's quotas, the run some of them
        q = {}
        for name in t.extra:
            v = t[name][row]
            c = by_id[names[name]]
            if not _is_money(c):
                if v != v.to_integral_value():
                    raise t.error(row, name, f"a whole number (component {quote(c.id)} "
                                  f"measures {c.measure.name.lower()})", quote(str(v)))
                v = int(v)
            q[c.id] = v
        out[payee] = q
    for c in comps:
        if c.on_attainment:
            if not any(names[n] == c.id for n in t.extra):
                raise CliInputError(path, 1, 1, f"a column named {quote(c.id)} (the "
                                    f"component is on attainment)", ",".join(t.header))
            for p in payees:
                if p not in out:
                    raise CliInputError(path, None, None, f"a row for payee {quote(p)} (its "
                                        f"quota of component {quote(c.id)}, on attainment)",
                                        "none")
    return out


def read_splits(path, args, line_ids, payees):
    """(fact ids, payees, shares) of the splits CSV; the shares of a fact sum to 100 %.
    line_ids: the ids of the order and invoice lines."""
    from decimal import Decimal
    from .csvin import Col, quote, read_csv
    t = read_csv(path, [Col("fact", "int"), Col("payee", "id"),
                        Col("share", "str", what="a share: 0.5 or 50%")],
                 encoding=args.encoding)
    known_facts, known = set(line_ids), set(payees)
    files = " or ".join(f for f in (args.facts, args.invoices) if f)
    noun = ("an order or invoice line" if args.facts and args.invoices else
            "an order line" if args.facts else "an invoice line")
    shares, sums, first = [], {}, {}
    for row, (fact, payee, text) in enumerate(zip(t["fact"], t["payee"], t["share"])):
        if fact not in known_facts:
            raise t.error(row, "fact", f"the id of {noun} of {files}", quote(str(fact)))
        if payee not in known:
            raise t.error(row, "payee", "a payee of the run", quote(payee))
        try:
            share = rate_arg(text)
        except argparse.ArgumentTypeError:
            raise t.error(row, "share", "a share: 0.5 or 50%", quote(text)) from None
        if not 0 <= share <= 1 or share.as_tuple().exponent < -9:
            raise t.error(row, "share", "a share from 0 to 100% with at most 9 decimal "
                          "places (7 as a percentage)", quote(text))
        shares.append(share)
        sums[fact] = sums.get(fact, Decimal(0)) + share
        first.setdefault(fact, row)
    for fact, total in sums.items():
        if total != 1:
            raise t.error(first[fact], "share", f"the shares of fact {fact} summing to 100%",
                          f"a sum of {format(total * 100, 'f')}%")
    return list(t["fact"]), list(t["payee"]), shares


# ---- computing ----

def compute(args, env, *, lines):
    """Read and check every input, then compute the run. Returns (plan, run, payees)."""
    import salesplan as sp
    from .._convert import NONE, to_minor
    from . import progress
    year, grain, index = _period(args)
    plan = read_plan(args.plan, args)
    exponent = plan.info.exponent
    orders, invoices = read_facts(args, exponent)
    sources = [f for f in (orders, invoices) if f.lines is not None]
    payees = read_payees(args, [r for f in sources for r in f.lines["rep"]])
    if args.unknown == "error":
        known = set(payees)
        for f in sources:
            for row, rep in enumerate(f.lines["rep"]):
                if rep not in known:
                    from .csvin import quote
                    raise f.lines.error(row, "rep", "a payee of the run (--unknown error)",
                                        quote(rep))
    quotas = read_quotas(args.quotas, args, plan, payees) if args.quotas else None
    splits = (read_splits(args.splits, args, [i for f in sources for i in f.line_ids],
                          payees) if args.splits else None)

    ids = sp.Dictionary()
    ids.intern_all(payees)

    def money(t, name):
        return [to_minor(a, exponent, name) for a in t[name]]

    def columns(f):
        """The fact source's columns by kind, of one source's tables."""
        facts = {}
        t = f.lines
        if t is not None and len(t):
            cols = {"id": f.line_ids, "day": t["day"], "rep": ids.intern_all(t["rep"]),
                    "amount": money(t, "amount")}
            if t.field("quantity"):
                cols["quantity"] = t["quantity"]
            if t.field("cost"):
                cols["cost"] = money(t, "cost")
            for name in ("product", "customer", "grid"):
                if t.field(name):
                    col = t[name]
                    at = ids.intern_all([v for v in col if v])
                    it = iter(at)
                    cols[name] = [next(it) if v else NONE for v in col]
            facts["order_lines"] = cols
        t = f.refunds
        if t is not None and len(t):
            cols = {"id": f.refund_ids, "ref": t["ref"], "day": t["day"],
                    "amount": money(t, "amount")}
            if t.field("quantity"):
                cols["quantity"] = t["quantity"]
            if t.field("cost"):
                cols["cost"] = money(t, "cost")
            facts["refunds"] = cols
        t = f.payments
        if t is not None and len(t):
            facts["payments"] = {"id": f.payment_ids, "ref": t["ref"], "day": t["day"],
                                 "amount": money(t, "amount")}
        return facts or {"order_lines": []}

    run = sp.CommissionRun(plan, fiscal_year=year, grain=grain, index=index,
                           unknown=args.unknown, totals_only=not lines,
                           lookback_from=args.lookback_from)
    run.set_payees(payees, ids)
    if quotas is not None:
        run.set_quotas({p: quotas.get(p, {}) for p in payees})
    if splits is not None:
        run.set_splits(*splits)
    bar = env.bar("commission")
    try:
        run.compute(columns(orders), ids,
                    invoices=columns(invoices) if args.invoices else None, progress=bar)
    finally:
        progress.finish(bar)
    return plan, run, payees


def _meta(plan, run):
    info, ri = plan.info, run.info
    year, grain, index = run.period
    meta = {"plan": info.id, "period": info.calendar.label(year, grain, index)}
    if ri.first_day is not None:
        import datetime
        meta["from"] = ri.first_day
        meta["to"] = ri.end_day - datetime.timedelta(days=1)
    meta.update({"currency": info.currency, "rounding": info.rounding.name.lower(),
                 "policy": info.policy.name.lower(), "lines_read": ri.lines_read,
                 "refunds_read": ri.refunds_read, "payments_read": ri.payments_read,
                 "not_payee": ri.not_payee})
    return meta


# The lines whose rate is the schedule's (a money measure's: 0.05), not an amount.
_SCHEDULE_KINDS = ("ORDER", "REFUND", "PAYMENT")


def _rate(line, money):
    """A line's rate for printing: a money measure's rate without trailing zeros (0.05);
    an amount (per unit, per line, a cap, a draw) as it is (12.50)."""
    return line.rate.normalize() if money and line.kind.name in _SCHEDULE_KINDS else \
        line.rate


def totals_result(plan, run):
    """Per payee: each component's measure (quota when on attainment and given), its
    earnings, and the total."""
    from .out import Result
    comps = run.components
    stats = list(run.statements())
    has_quotas = bool(stats) and stats[0].quotas is not None
    cols = ["payee"]
    for c in comps:
        cols.append(f"{c.id}.measure")
        if has_quotas and c.on_attainment:
            cols.append(f"{c.id}.quota")
        cols.append(f"{c.id}.earned")
    draw = run.has_draw
    if draw:
        cols += ["draw.paid", "draw.recovered", "draw.forgiven", "draw.balance"]
    cols.append("total")
    rows = []
    for s in stats:
        row = [s.payee]
        for c in comps:
            row.append(s.measures[c.id])
            if has_quotas and c.on_attainment:
                row.append(s.quotas[c.id])
            row.append(s.components[c.id])
        if draw:
            row += [s.draw_paid, s.draw_recovered, s.draw_forgiven, s.draw_balance]
        rows.append(row + [s.total])
    meta = _meta(plan, run)
    from .._convert import from_minor
    meta["total"] = from_minor(sum(run.totals(minor=True).values()), plan.info.exponent)
    return Result(cols, rows, meta)


def lines_result(plan, run):
    """Every payee's statement lines."""
    from .out import Result
    money = {c.id: _is_money(c) for c in run.components}
    rows = []
    for s in run.statements():
        for i, l in enumerate(s.lines):
            rows.append([s.payee, i, l.component, l.kind.name.lower(), l.fact, l.day,
                         l.share.normalize(), l.base, _rate(l, money.get(l.component)),
                         l.tier_before, l.tier_after, l.earned, l.own, l.true_up])
    cols = ["payee", "line", "component", "kind", "fact", "day", "share", "base", "rate",
            "tier_before", "tier_after", "earned", "own", "true_up"]
    return Result(cols, rows, _meta(plan, run))


def run(args, env):
    """salesplan commission run."""
    from .out import Output, render
    if not args.post and (args.store is not None or args.into is not None):
        raise CliUsageError(f"commission run: argument {'--store' if args.store else '--into'}"
                            f": only with --post (see 'salesplan commission run --help')")
    if args.post and args.store is None:
        raise CliUsageError("commission run: argument --post: requires --store FILE (see "
                            "'salesplan commission run --help')")
    if args.post:
        return _run_post(args, env)
    plan, crun, _ = compute(args, env, lines=args.lines)
    result = lines_result(plan, crun) if args.lines else totals_result(plan, crun)
    output = Output(args.output, env.stdout)
    with output:
        output.prepare(render(result, args.format))
        output.commit()
    return 0


def period_text(period) -> str:
    """A period as --period takes it: 2027, 2027-Q2, 2027-03 (None: empty)."""
    if period is None:
        return None
    grain = period.grain.name.lower()
    if grain == "year":
        return f"{period.fiscal_year}"
    if grain == "quarter":
        return f"{period.fiscal_year}-Q{period.index + 1}"
    return f"{period.fiscal_year}-{period.index + 1:02d}"


def _run_post(args, env):
    """salesplan commission run --post: compute with lines, then post into the store."""
    from .out import Output, Result, render
    from .target import _store_to_write
    plan, crun, _ = compute(args, env, lines=True)
    with _store_to_write(args.store) as store:
        output = Output(args.output, env.stdout)
        with output:
            output.reserve()  # an output that cannot be written fails before the store
            p = crun.post(store, into=args.into)
            result = Result(["period", "corrects", "written", "removed", "revision",
                             "payees", "lines", "total"],
                            [[period_text(p.period), period_text(p.corrects), p.written,
                              p.removed, p.revision, p.npayees, p.nlines, p.total]],
                            {"plan": plan.info.id, "currency": plan.info.currency})
            output.prepare(render(result, args.format))
            output.commit()
    return 0


def pretty_json(value, indent: int = 0) -> str:
    """A parsed JSON value (numbers as int or Decimal, written as they were) as indented
    text."""
    import decimal
    import json
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{\n" + ",\n".join(f"{inner}{json.dumps(k, ensure_ascii=False)}: "
                                  f"{pretty_json(v, indent + 1)}"
                                  for k, v in value.items()) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(f"{inner}{pretty_json(v, indent + 1)}"
                                  for v in value) + f"\n{pad}]"
    if isinstance(value, decimal.Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def explain(args, env):
    """salesplan commission explain."""
    from .out import Output
    if args.line is not None and args.line < 0:
        raise CliUsageError(f"commission explain: argument --line: expected 0 or more, "
                            f"found {args.line} (see 'salesplan commission explain --help')")
    _, crun, _ = compute(args, env, lines=True)
    text = pretty_json(crun.explain(args.payee, args.line)) + "\n"
    output = Output(args.output, env.stdout)
    with output:
        output.prepare(text)
        output.commit()
    return 0


# ---- plans in a store ----

def _revision(args, name, value):
    if not 0 <= value < 2**32:
        raise CliUsageError(f"commission plan {args.plan_command}: argument --{name}: "
                            f"expected a revision, 0 or more, found {value} (see 'salesplan "
                            f"commission plan {args.plan_command} --help')")
    return value


def versions_result(store, plan_id, revision):
    """The versions of a stored revision: from, to (None: open-ended)."""
    import salesplan as sp
    from .out import Result
    versions, read = sp.commission_plan_versions(store, plan_id, revision)
    return Result(["from", "to"], [list(v) for v in versions],
                  {"plan": plan_id, "revision": read})


def plan_save(args, env):
    """salesplan commission plan save."""
    from .out import Output, render
    from .target import _store_to_write
    based_on = _revision(args, "based-on", args.based_on)
    plan = read_plan(args.plan, args)
    with _store_to_write(args.store) as store:
        output = Output(args.output, env.stdout)
        with output:
            output.reserve()  # an output that cannot be written fails before the store
            revision = plan.save(store, based_on)
            output.prepare(render(versions_result(store, plan.info.id, revision),
                                  args.format))
            output.commit()
    return 0


def plan_versions(args, env):
    """salesplan commission plan versions."""
    from .out import Output, render
    from .target import _open_store
    revision = _revision(args, "revision", args.revision)
    with _open_store(args.store, readonly=True, made_by="commission plan save") as store:
        result = versions_result(store, args.id, revision)
    output = Output(args.output, env.stdout)
    with output:
        output.prepare(render(result, args.format))
        output.commit()
    return 0


def plan_show(args, env):
    """salesplan commission plan show."""
    import salesplan as sp
    from .out import Output
    from .target import _open_store
    revision = _revision(args, "revision", args.revision)
    with _open_store(args.store, readonly=True, made_by="commission plan save") as store:
        plan = sp.CommissionPlan.load(store, args.id, args.day, revision)
    text = pretty_json(plan.as_dict()) + "\n"
    output = Output(args.output, env.stdout)
    with output:
        output.prepare(text)
        output.commit()
    return 0


# ---- the ledger ----

def _ledger_store(args, write=False):
    from .target import _open_store
    return _open_store(args.store, readonly=not write, made_by="commission run --post")


def _emit(args, env, result):
    from .out import Output, render
    output = Output(args.output, env.stdout)
    with output:
        output.prepare(render(result, args.format))
        output.commit()
    return 0


def close(args, env):
    """salesplan commission close."""
    import salesplan as sp
    from .out import Output, Result, render
    with _ledger_store(args, write=True) as store:
        output = Output(args.output, env.stdout)
        with output:
            output.reserve()
            sp.commission_close(store, args.plan, args.period)
            period = sp.CommissionPeriod(*args.period)
            output.prepare(render(Result(["plan", "period", "closed"],
                                         [[args.plan, period_text(period), True]]),
                                  args.format))
            output.commit()
    return 0


def statement(args, env):
    """salesplan commission statement."""
    import salesplan as sp
    from .out import Result
    with _ledger_store(args) as store:
        st = sp.commission_statement(store, args.plan, args.period, args.payee)
    rows = []
    for k, part in enumerate(st.parts):
        for i, l in enumerate(part.lines):
            rows.append([k, period_text(part.corrects), i, l.component,
                         l.kind.name.lower(), l.fact, l.day, l.share.normalize(), l.base,
                         _rate(l, True), l.tier_before, l.tier_after, l.earned, l.own,
                         l.true_up])
    cols = ["part", "corrects", "line", "component", "kind", "fact", "day", "share", "base",
            "rate", "tier_before", "tier_after", "earned", "own", "true_up"]
    meta = {"plan": st.plan, "period": period_text(st.period), "payee": st.payee,
            "closed": st.closed}
    if st.parts:
        meta["currency"] = st.parts[0].currency
    for k, part in enumerate(st.parts):
        meta[f"part {k}"] = ("own statement" if part.corrects is None else
                             f"corrections of {period_text(part.corrects)}")
        meta[f"part {k} total"] = part.total
    meta["total"] = st.total
    return _emit(args, env, Result(cols, rows, meta))


def ledger(args, env):
    """salesplan commission ledger."""
    import salesplan as sp
    from .out import Result
    with _ledger_store(args) as store:
        entries = sp.commission_ledger(store, args.plan)
    rows = [[period_text(e.period), period_text(e.corrects), e.closed, e.revision,
             e.npayees, e.nlines, e.total_minor] for e in entries]
    return _emit(args, env, Result(["period", "corrects", "closed", "revision", "payees",
                                    "lines", "total_minor"], rows, {"plan": args.plan}))
