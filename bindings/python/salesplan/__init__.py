"""salesplan: sales planning arithmetic, exact to the cent, from Python.

A ctypes binding of libsalesplan (no compiled extension, the standard library only; numpy
and pandas are used when present). docs/python.md is the guide; help() on any name gives
its reference.

    import salesplan as sp
    ctx = sp.Context()                 # optional: each thread has one of its own
"""
from ._lib import LIBRARY_VERSION, PACKAGE_VERSION, LibraryVersionError, library_path
from ._core import ENUMS as _ENUMS, Context
from .errors import (BufferTooSmallError, CallbackError, CanceledError, ConflictError,
                     CorruptError, ExactOverflowError, InternalError, InvalidError,
                     NoMemoryError, NotFoundError, SalesplanError, StorageError, VersionError)

# storage.py: stores
from .storage import FileStore, MemoryStore, PythonStore, SQLiteStore, Store, StoreView
# facts.py: fact sources
from .facts import FactBatch, FactQuery, FactSource, MemoryFactSource

# targets.py: target plans and sets
from .targets import (Actuals, Comparison, HistoryReport, Pacing, PlanInfo, SetInfo,
                      TargetPlan, TargetReconciliation, TargetRow, TargetSet, compare,
                      target_plans, target_scenarios, target_set_versions)

__version__ = "%d.%d.%d" % PACKAGE_VERSION
library_version = "%d.%d.%d" % LIBRARY_VERSION

# The library's enumerations under Python names: sp_rounding -> Rounding, with members
# stripped of their common prefix (SP_ROUND_HALF_EVEN -> Rounding.HALF_EVEN).
globals().update({e.__name__: e for e in _ENUMS.values()})

__all__ = [
    "__version__", "library_version", "library_path", "LibraryVersionError", "Context",
    "SalesplanError", "InvalidError", "NoMemoryError", "ExactOverflowError", "NotFoundError",
    "ConflictError", "CorruptError", "StorageError", "CallbackError", "CanceledError",
    "VersionError", "BufferTooSmallError", "InternalError",
    # storage.py
    "Store", "MemoryStore", "FileStore", "PythonStore", "SQLiteStore", "StoreView",
    # targets.py
    "TargetPlan", "TargetSet", "PlanInfo", "SetInfo", "HistoryReport", "Actuals", "Pacing",
    "TargetReconciliation", "Comparison", "TargetRow", "compare", "target_plans",
    "target_scenarios", "target_set_versions",
    # facts.py
    "FactBatch", "FactQuery", "FactSource", "MemoryFactSource",
] + sorted(e.__name__ for e in _ENUMS.values())

# py-basics: hierarchies, calendars, dictionaries, days (hierarchy.py, calendar.py,
# dictionary.py, _convert.py)
from ._convert import date_of, day_of
from .calendar import Calendar, Period
from .dictionary import Dictionary
from .hierarchy import Hierarchy, Reconciliation

__all__ += ["day_of", "date_of", "Hierarchy", "Reconciliation", "Calendar", "Period",
            "Dictionary"]

# py-basics: money (money.py; its functions as salesplan.money.<name>)
from . import money

__all__ += ["money"]

# py-basics: the kernels of target_kernels.h (kernels.py)
from .kernels import (Decomposed, Decomposition, Lock, Rule, season_average_share,
                      season_ratio_to_ma, season_shares, timesplit)

__all__ += ["Decomposition", "Decomposed", "Rule", "Lock", "season_shares",
            "season_average_share", "season_ratio_to_ma", "timesplit"]

# py-commission: commission plans and runs (commission.py; the enumerations
# CommissionMeasure, CommissionPolicy, CommissionLineKind, CommissionUnknown and
# CommissionRunFlag come with every other enumeration above)
from .commission import (CommissionCarry, CommissionComponent, CommissionLine, CommissionPaid,
                         CommissionPlan, CommissionPlanInfo, CommissionPlanVersions,
                         CommissionRun, CommissionRunInfo, CommissionStatement,
                         commission_plan_remove_version, commission_plan_revisions,
                         commission_plan_versions, commission_plans,
                         register_commission_kind)

__all__ += ["CommissionPlan", "CommissionPlanInfo", "CommissionComponent", "CommissionRun",
            "CommissionRunInfo", "CommissionStatement", "CommissionLine", "CommissionCarry",
            "CommissionPaid",
            "CommissionPlanVersions", "commission_plan_versions", "commission_plan_revisions",
            "commission_plans", "commission_plan_remove_version", "register_commission_kind"]

# py-commission ledger: runs posted, periods closed, the ledger and stored statements read
# back (commission.py)
from .commission import (CommissionLedgerEntry, CommissionPeriod, CommissionPosted,
                         CommissionStoredPart, CommissionStoredStatement, commission_close,
                         commission_ledger, commission_statement)

__all__ += ["CommissionPeriod", "CommissionPosted", "CommissionLedgerEntry",
            "CommissionStoredPart", "CommissionStoredStatement", "commission_close",
            "commission_ledger", "commission_statement"]
