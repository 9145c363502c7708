"""salesplan target: plans and target sets from the shell (docs/cli.md, "salesplan target").

    salesplan target decompose   split a total down a hierarchy and over the year; save
    salesplan target show        print a saved set
    salesplan target compare     two saved sets side by side
    salesplan target replan      a new version from a saved one and the actuals so far
    salesplan target pace        on track? actuals to date against the saved set
"""
import decimal

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
  --drivers    CSV with column id and one integer column per driver (prior_year,
               potential, headcount, ...); nodes not listed get 0
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
    g.add_argument("--store", required=True, metavar="DIR",
                   help="the file store (a directory; decompose creates it)")
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
    g.add_argument("--store", required=True, metavar="DIR",
                   help="the file store (a directory, created when absent)")
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
                   help="driver columns: id, then one integer column per driver")
    g.add_argument("--fiscal-year", required=True, type=int_arg, metavar="Y")
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


def _pending(args, env):
    from ..errors import SalesplanError
    raise SalesplanError(f"target {args.command}: not available in this build "
                         f"(the Python target API is missing)")


decompose = show = compare = replan = pace = _pending
