"""Hierarchies: trees of nodes named by the host's ids (salesplan/hierarchy.h).

Nodes get dense indexes 0, 1, 2, ... in the order they are added; every per-node column
(values, targets, commitments) is indexed by them. A node's level is its depth (the root
is level 0). docs/hierarchy.md is the C guide; docs/python.md the Python one.
"""
import ctypes
import decimal
from collections import namedtuple

from . import _convert, _ffi
from ._core import ENUMS, Context, Handle, cstr_in, enum_of, read_ids, text_in, text_out
from ._lib import lib
from .errors import InvalidError, NotFoundError

__all__ = ["Hierarchy", "Reconciliation"]

HierarchyState = ENUMS["sp_hierarchy_state"]

Reconciliation = namedtuple("Reconciliation", "bottom_up gap result")
Reconciliation.__doc__ = """The result of Hierarchy.reconcile, one column per output, each
indexed by node: bottom_up (the leaves' commitments rolled up), gap (bottom_up -
top_down) and result (the reconciled targets)."""


class Hierarchy(Handle):
    """A tree of nodes named by the host's ids (company, regions, grids, reps, ...).

    Add nodes in any order (a child may come before its parent) with add() or add_all(),
    optionally name the levels (set_levels), then validate(): exactly one root, every
    parent a node, no cycle. Reading (parent, children, order, ...), roll-ups and
    reconciliation need a validated hierarchy (InvalidError otherwise). Siblings are kept
    in canonical order (by their ids' UTF-8 bytes), so results never depend on the order
    nodes were added; indexes do follow that order.

    A hierarchy a target plan or set holds is FROZEN: it reads like any other, and every
    change raises ConflictError. Such a hierarchy is a view that keeps its holder alive.

        h = Hierarchy()
        h.add_all(["CN", "East", "West"], [None, "CN", "CN"])
        h.validate()
        h.children(h.find("CN"))       # [1, 2]
    """

    _free = "sp_hierarchy_free"
    _what = "hierarchy"
    _owner = None

    def __init__(self, *, ctx: "Context | None" = None):
        """An empty hierarchy (state OPEN) made within ctx (None: the thread's context)."""
        ctx = Context.of(ctx)
        ptr = ctypes.POINTER(_ffi.sp_hierarchy)()
        ctx.call(lib.sp_hierarchy_new, ctypes.byref(ptr), ctx)
        self._init_handle(ptr, ctx)

    @classmethod
    def _borrowed(cls, ptr, owner: Handle) -> "Hierarchy":
        """A non-owning view of a hierarchy that `owner` (a Handle: a target plan or set)
        holds and frees: the view keeps `owner` alive, never frees the pointer, and is
        unusable (ValueError) once `owner` is closed. For the package's own modules."""
        if not ptr:
            raise ValueError("salesplan: no hierarchy (NULL pointer)")
        self = cls.__new__(cls)
        self._owner = owner
        self._init_handle(ptr, owner.context, keep=(owner,), owns=False)
        return self

    @property
    def _as_parameter_(self):
        if self._ptr is None:
            raise ValueError("salesplan: the hierarchy is closed")
        if self._owner is not None and self._owner.closed:
            raise ValueError(f"salesplan: the hierarchy's holder ({self._owner._what}) is "
                             f"closed")
        return self._ptr

    @property
    def borrowed(self) -> bool:
        """True for a view of a hierarchy another object holds (and frees)."""
        return self._owner is not None


    # ---- building ----

    def add(self, id: str, parent: "str | None" = None) -> int:
        """Add one node under `parent` (None: a root candidate; the parent may be added
        later) and return its index.

        Raises ConflictError for an id already present (or a frozen hierarchy),
        InvalidError for an empty, too long or invalid id or parent id, TypeError for a
        non-str."""
        idb = text_in(id, "id")
        if parent is None:
            pb, plen = None, 0
        else:
            pb = text_in(parent, "parent")
            plen = len(pb)
        index = ctypes.c_uint32()
        self._ctx.call(lib.sp_hierarchy_add, self, idb, len(idb), pb, plen,
                       ctypes.byref(index))
        return index.value

    def add_all(self, ids: "Sequence[str]",
                parents: "Sequence[str | None] | None" = None) -> "list[int]":
        """Add n nodes at once, all or nothing, and return their (consecutive) indexes.

        ids: strs (a list, tuple, numpy or pandas string column); parents: the same
        length, None (or a missing value of a pandas column) marking a root candidate, or
        parents=None for n roots. A parent may be anywhere in the batch. The strings are
        packed into one buffer for sp_hierarchy_add_packed (the fast path: a million ids
        in well under a second).

        Raises TypeError for a non-str item ("ids[3]: expected str, not int"),
        InvalidError for an empty parent ("" is no id; None marks a root), lengths that
        differ, or what C refuses (an empty or invalid id, "hierarchy: ids[1]: id is
        empty"); ConflictError for a duplicate (in the batch or with the hierarchy)."""
        packed = _convert.pack_strings(ids, "ids")
        n = packed.count
        if parents is not None:
            plist = _convert._as_str_list(parents, "parents")
            pd = _convert.loaded("pandas")
            if not isinstance(plist, list):
                plist = list(plist)
            if pd is not None and isinstance(parents, (pd.Series, pd.Index)):
                isna = pd.isna
                plist = [None if v is not None and not isinstance(v, str) and isna(v) else v
                         for v in plist]
            if len(plist) != n:
                raise InvalidError(f"parents: {len(plist)} parents for {n} ids")
            if "" in plist:
                i = plist.index("")
                raise InvalidError(f"parents[{i}]: the parent id is empty (None marks a "
                                   f"root)")
            ppacked = _convert.pack_strings(plist, "parents", none_as_empty=True)
            pdata, plen, poff = ppacked.data_ptr, len(ppacked.data), ppacked.offsets_ptr
        else:
            ppacked, pdata, plen, poff = None, None, 0, None
        indices, iptr = _convert.column_out("uint32", n)
        self._ctx.call(lib.sp_hierarchy_add_packed, self, packed.data_ptr, len(packed.data),
                       packed.offsets_ptr, pdata, plen, poff, n, iptr)
        return list(range(indices[0], indices[0] + n)) if n else []  # consecutive (C)

    def set_levels(self, names: "Sequence[str]") -> None:
        """Name the levels from the root down ("company", "region", "grid", "rep"),
        replacing earlier names (an empty sequence removes them). On a validated hierarchy
        every node's depth must then have a name (InvalidError). Names: non-empty,
        distinct strs (InvalidError), ConflictError when frozen."""
        if isinstance(names, (str, bytes)):
            raise TypeError("names: expected a sequence of str, not a single str")
        encoded = [cstr_in(v, f"names[{i}]") for i, v in enumerate(names)]
        arr = (ctypes.c_char_p * max(len(encoded), 1))(*encoded)
        self._ctx.call(lib.sp_hierarchy_set_levels, self, arr, len(encoded))

    def validate(self) -> None:
        """Check the whole and make the hierarchy VALID: nodes exist, exactly one root,
        every parent a node, no cycle, every depth named (when levels are). InvalidError
        quoting the ids otherwise, with nothing changed. A frozen hierarchy passes as it
        is."""
        self._ctx.call(lib.sp_hierarchy_validate, self)

    @property
    def state(self) -> HierarchyState:
        """HierarchyState: OPEN (nodes may be added; not validated), VALID or FROZEN (held
        by a plan or set: immutable)."""
        return HierarchyState(self._ctx.call(lib.sp_hierarchy_get_state, self))

    # ---- ids and indexes ----

    def __len__(self) -> int:
        """The number of nodes."""
        return self._ctx.call(lib.sp_hierarchy_count, self)

    def find(self, id: str) -> int:
        """The index of node `id`; NotFoundError when absent."""
        idb = text_in(id, "id")
        index = ctypes.c_uint32()
        self._ctx.call(lib.sp_hierarchy_find, self, idb, len(idb), ctypes.byref(index))
        return index.value

    def __contains__(self, id) -> bool:
        """Whether a node has this id (False for anything not a str)."""
        if not isinstance(id, str):
            return False
        try:
            self.find(id)
        except (NotFoundError, InvalidError):
            return False
        return True

    def id(self, index: int) -> str:
        """The id of node `index`; NotFoundError beyond the nodes."""
        i = _convert.index_in(index, "index")
        raw, n = ctypes.c_char_p(), ctypes.c_size_t()
        self._ctx.call(lib.sp_hierarchy_id, self, i, ctypes.byref(raw), ctypes.byref(n))
        return text_out(ctypes.string_at(raw, n.value))

    def ids(self) -> "list[str]":
        """Every node's id, in index order."""
        return read_ids(self._ctx, lib.sp_hierarchy_ids_packed, self, len(self))

    def __iter__(self):
        """The ids in index order."""
        return iter(self.ids())

    # ---- the tree (validated hierarchies) ----

    def _node(self, node, what="node"):
        """A node given by its index or its id (str), as every module takes nodes."""
        if isinstance(node, str):
            return self.find(node)
        return _convert.index_in(node, what)

    @property
    def root(self) -> int:
        """The root's index (InvalidError before validation)."""
        out = ctypes.c_uint32()
        self._ctx.call(lib.sp_hierarchy_root, self, ctypes.byref(out))
        return out.value

    def parent(self, node: "int | str") -> "int | None":
        """The parent's index of `node` (an index or an id); None for the root.
        NotFoundError for an id that is not in the hierarchy."""
        out = ctypes.c_uint32()
        self._ctx.call(lib.sp_hierarchy_parent, self, self._node(node), ctypes.byref(out))
        return _convert.index_out(out.value)

    def children(self, node: "int | str") -> "list[int]":
        """The children of `node` (an index or an id) in canonical order (by their ids'
        bytes); [] for a leaf."""
        ptr, n = ctypes.POINTER(ctypes.c_uint32)(), ctypes.c_size_t()
        self._ctx.call(lib.sp_hierarchy_children, self, self._node(node), ctypes.byref(ptr),
                       ctypes.byref(n))
        return ptr[:n.value] if n.value else []

    def depth(self, node: "int | str") -> int:
        """The level of `node` (an index or an id; the root is 0)."""
        out = ctypes.c_uint32()
        self._ctx.call(lib.sp_hierarchy_depth, self, self._node(node), ctypes.byref(out))
        return out.value

    def order(self) -> "list[int]":
        """Every node, parents first: the root, then level 1, then level 2, ..., each
        level grouped by parent, siblings in canonical order. Walk it backwards to visit
        children before parents."""
        ptr, n = ctypes.POINTER(ctypes.c_uint32)(), ctypes.c_size_t()
        self._ctx.call(lib.sp_hierarchy_order, self, ctypes.byref(ptr), ctypes.byref(n))
        return ptr[:n.value] if n.value else []

    @property
    def level_count(self) -> int:
        """The number of levels in use: the greatest depth + 1 (validated only)."""
        out = ctypes.c_size_t()
        self._ctx.call(lib.sp_hierarchy_level_count, self, ctypes.byref(out))
        return out.value

    @property
    def levels(self) -> "list[str]":
        """The level names from the root down ([] when unnamed); works before validation."""
        names = []
        raw = ctypes.c_char_p()
        while True:
            try:
                self._ctx.call(lib.sp_hierarchy_level_name, self, len(names), ctypes.byref(raw))
            except NotFoundError:
                return names
            names.append(text_out(raw.value))

    def level_find(self, name: str) -> int:
        """The level (depth) named `name`; NotFoundError when no level has it."""
        nb = cstr_in(name, "name")
        out = ctypes.c_uint32()
        self._ctx.call(lib.sp_hierarchy_level_find, self, nb, ctypes.byref(out))
        return out.value

    # ---- roll-ups ----

    def rollup(self, values: "Sequence[int] | numpy.ndarray", own: bool = False, *,
               form: str = "list") -> "list | numpy.ndarray":
        """Sum a per-node column up the tree.

        values: one int per node (a sequence, array.array or numpy int64 column: no copy),
        of any sign; money in minor units or quantities (plain ints, never Decimal).
        own=False: a node's sum is the sum of its leaves' values (inner nodes' values are
        not read); own=True: its own value plus everything below it (house accounts).
        Returns a list (form="numpy": an int64 array; "array": an array.array).
        ExactOverflowError when a sum leaves int64, naming the node."""
        _convert.check_form(form)
        n = len(self)
        col = _convert.column_in(values, "int64", "values", count=n)
        out, optr = _convert.column_out("int64", n)
        self._ctx.call(lib.sp_hierarchy_rollup, self, col.ptr,
                       _ffi.ENUMS["sp_rollup_flags"]["SP_ROLLUP_OWN"] if own else 0, optr)
        return _convert.as_result(out, n, "int64", form)

    def level_totals(self, values: "Sequence[int] | numpy.ndarray", *,
                     form: str = "list") -> "list | numpy.ndarray":
        """totals[l] = the sum of values over the nodes of level l, for every level in use
        (values: one int per node, as for rollup). ExactOverflowError naming the level."""
        _convert.check_form(form)
        n = len(self)
        col = _convert.column_in(values, "int64", "values", count=n)
        levels = self.level_count
        out, optr = _convert.column_out("int64", levels)
        self._ctx.call(lib.sp_hierarchy_level_totals, self, col.ptr, optr, levels)
        return _convert.as_result(out, levels, "int64", form)

    def reconcile(self, top_down: "Sequence[int] | numpy.ndarray",
                  commitments: "Sequence[int] | numpy.ndarray", *,
                  mode: "ReconcileMode | str | int" = "top_down",
                  bottom_up_weight: "decimal.Decimal | int | str" = 0,
                  committed: "Sequence[bool] | numpy.ndarray | None" = None,
                  form: str = "list") -> Reconciliation:
        """Reconcile the leaves' bottom-up commitments with top-down targets.

        top_down: a target per node (ints >= 0), the children of every node summing to
        it; commitments: a value per node, read at the leaves only (>= 0); committed: None
        (every leaf committed) or a bool per node, False for a leaf that gave none (it
        counts with its top-down target). mode: ReconcileMode (or "top_down",
        "bottom_up", "blend"); bottom_up_weight: w in [0, 1] as a Decimal (9 places at
        most), used by "blend": w of bottom-up, 1 - w of top-down, split down exactly.
        Returns Reconciliation(bottom_up, gap, result), one column each (lists, or per
        `form`). InvalidError for targets that do not add up or negative values,
        ExactOverflowError when the blend's weights leave int64 (the messages name the
        node)."""
        _convert.check_form(form)
        n = len(self)
        td = _convert.column_in(top_down, "int64", "top_down", count=n)
        cm = _convert.column_in(commitments, "int64", "commitments", count=n)
        opts = _ffi.sp_reconcile_options()
        lib.sp_reconcile_options_init(ctypes.byref(opts), _ffi.SP_RECONCILE_OPTIONS_VERSION)
        opts.mode = enum_of("sp_reconcile_mode", mode, "mode")
        opts.bottom_up_weight = _convert.to_dec(bottom_up_weight, "bottom_up_weight")
        flags = None
        if committed is not None:
            flags = _convert.bools_in(committed, "committed", n)
            opts.committed = flags.ptr
        outs = [_convert.column_out("int64", n) for _ in range(3)]
        out = _ffi.sp_reconcile_output()
        lib.sp_reconcile_output_init(ctypes.byref(out), _ffi.SP_RECONCILE_OUTPUT_VERSION)
        out.bottom_up, out.gap, out.result = (p for _, p in outs)
        self._ctx.call(lib.sp_hierarchy_reconcile, self, td.ptr, cm.ptr, ctypes.byref(opts),
                       ctypes.byref(out))
        return Reconciliation(*(_convert.as_result(a, n, "int64", form) for a, _ in outs))

    def __repr__(self):
        if self._ptr is None:
            return "<salesplan.Hierarchy closed>"
        return f"<salesplan.Hierarchy {len(self)} nodes, {self.state.name.lower()}" \
               f"{', borrowed' if self._owner is not None else ''}>"
