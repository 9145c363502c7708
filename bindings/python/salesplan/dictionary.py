"""Dictionaries: the host's string ids <-> dense indexes (sp_dict, salesplan/storage.h).

Fact columns (rep, grid, product, customer, channel) carry dictionary indexes; a
Dictionary maps the host's ids to them and back. Indexes are 0, 1, 2, ... in order of
first addition and never change.
"""
import ctypes

from . import _convert, _ffi
from ._core import Context, Handle, read_ids, text_in, text_out
from ._lib import lib
from .errors import InvalidError, NotFoundError

__all__ = ["Dictionary"]


class Dictionary(Handle):
    """A dictionary of ids (UTF-8 strs of 1 to 65535 bytes) with dense indexes.

        d = Dictionary()
        d.intern_all(["rep-7", "rep-9", "rep-7"])   # [0, 1, 0]
        d.find("rep-9")                              # 1
        d.id(0)                                      # "rep-7"
    """

    _free = "sp_dict_free"
    _what = "dictionary"

    def __init__(self, ids: "Iterable[str] | None" = None, *, ctx: "Context | None" = None):
        """An empty dictionary made within ctx (None: the thread's context), or one
        holding `ids` (added with add_all: duplicates are ConflictError)."""
        ctx = Context.of(ctx)
        ptr = ctypes.POINTER(_ffi.sp_dict)()
        ctx.call(lib.sp_dict_new, ctypes.byref(ptr), ctx)
        self._init_handle(ptr, ctx)
        if ids is not None:
            try:
                self.add_all(ids)
            except BaseException:
                self.close()
                raise

    def add(self, id: str) -> int:
        """Add a new id and return its index. ConflictError when already present,
        InvalidError when empty, too long or not valid UTF-8."""
        b = text_in(id, "id")
        out = ctypes.c_uint32()
        self._ctx.call(lib.sp_dict_add, self, b, len(b), ctypes.byref(out))
        return out.value

    def intern(self, id: str) -> int:
        """The index of `id`, adding it when new."""
        b = text_in(id, "id")
        out = ctypes.c_uint32()
        self._ctx.call(lib.sp_dict_intern, self, b, len(b), ctypes.byref(out))
        return out.value

    def _packed(self, fn, ids, form):
        _convert.check_form(form)
        packed = _convert.pack_strings(ids, "ids")
        n = packed.count
        out, optr = _convert.column_out("uint32", n)
        self._ctx.call(fn, self, packed.data_ptr, len(packed.data), packed.offsets_ptr, n,
                       optr)
        return _convert.as_result(out, n, "uint32", form)

    def add_all(self, ids: "Iterable[str]", *, form: str = "list") -> "list | numpy.ndarray":
        """Add n new ids at once, all or nothing, and return their indexes (consecutive).
        ids: strs (list, tuple, numpy or pandas string column). ConflictError for an id
        repeated in the batch or already present, InvalidError for an invalid id
        ("dict: ids[4]: ..."), TypeError for a non-str item."""
        return self._packed(lib.sp_dict_add_packed, ids, form)

    def intern_all(self, ids: "Iterable[str]", *, form: str = "list") -> "list | numpy.ndarray":
        """The index of each id, adding the new ones in order (a repeat in the batch gets
        the index of its first occurrence); all or nothing."""
        return self._packed(lib.sp_dict_intern_packed, ids, form)

    def find(self, id: str) -> int:
        """The index of `id`; NotFoundError when absent."""
        b = text_in(id, "id")
        out = ctypes.c_uint32()
        self._ctx.call(lib.sp_dict_find, self, b, len(b), ctypes.byref(out))
        return out.value

    def find_all(self, ids: "Iterable[str]", *, form: str = "list") -> "tuple":
        """(indexes, missing_count): the index of each id, None for an absent one (in
        form="numpy" or "array", absent ids are 4294967295, SP_NONE); absence is no
        error."""
        _convert.check_form(form)
        packed = _convert.pack_strings(ids, "ids")
        n = packed.count
        out, optr = _convert.column_out("uint32", n)
        missing = ctypes.c_size_t()
        self._ctx.call(lib.sp_dict_find_packed, self, packed.data_ptr, len(packed.data),
                       packed.offsets_ptr, n, optr, ctypes.byref(missing))
        result = _convert.as_result(out, n, "uint32", form)
        if form == "list" and missing.value:
            none = _convert.NONE
            result = [None if v == none else v for v in result]
        return result, missing.value

    def id(self, index: int) -> str:
        """The id of `index`; NotFoundError beyond the ids."""
        i = _convert.index_in(index, "index")
        raw, n = ctypes.c_char_p(), ctypes.c_size_t()
        self._ctx.call(lib.sp_dict_id, self, i, ctypes.byref(raw), ctypes.byref(n))
        return text_out(ctypes.string_at(raw, n.value))

    def ids(self) -> "list[str]":
        """Every id, in index order."""
        return read_ids(self._ctx, lib.sp_dict_ids_packed, self, len(self))

    def __len__(self) -> int:
        """The number of ids."""
        return self._ctx.call(lib.sp_dict_count, self)

    def __contains__(self, id) -> bool:
        """Whether the dictionary holds `id` (False for anything not a str)."""
        if not isinstance(id, str):
            return False
        try:
            self.find(id)
        except (NotFoundError, InvalidError):
            return False
        return True

    def __iter__(self):
        """The ids in index order."""
        return iter(self.ids())

    def __repr__(self):
        if self._ptr is None:
            return "<salesplan.Dictionary closed>"
        return f"<salesplan.Dictionary {len(self)} ids>"
